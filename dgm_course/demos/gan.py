"""Chapter 7 demo: a GAN learning the ring of 8 Gaussians, with a choice of loss.

``demo = gan_demo(); demo.widget`` shows the generator's samples (red) over the
discriminator's view of the plane (shaded: :math:`D(x)` for the original game, the critic's
score for a Wasserstein GAN) after a chosen number of training steps. All four losses are
trained once when the demo is built (a few seconds) and every snapshot is kept, so moving
the slider or switching the loss only redraws (well under 0.3 s).
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import clear_output, display

from dgm_course import gan, training
from dgm_course.demos.projector import CSS, DemoBox, figure_preview, one_thread
from dgm_course.evaluation import mode_coverage
from dgm_course.validation import check_int

STEPS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000)
"""The training steps (discriminator updates) the slider offers, up to ``max_steps``. The
Wasserstein GANs update their generator every 5th step, the others at every step."""

LABELS = {"minimax": "minimax (saturating)", "non_saturating": "non-saturating",
          "wasserstein_clip": "WGAN, clipping", "wasserstein_gp": "WGAN-GP"}


class GANDemo:
    """Widgets and figure of the GAN demo; build it with :func:`gan_demo`.

    Attributes
    ----------
    controls : dict of ``"loss"`` (toggle buttons) and ``"steps"`` (selection slider)
    snapshots : dict loss -> dict step -> (samples (n, 2), discriminator image (grid, grid))
    coverage : dict loss -> dict step -> ModeCoverage of the snapshot's samples
    widget : the ipywidgets box to display
    """

    def __init__(self, *, max_steps=500, n_samples=500, grid=60, lim=3.0, seed=0):
        max_steps = check_int(max_steps, "max_steps", 1)
        self.steps = tuple(s for s in STEPS if s <= max_steps)
        self.toy = gan.veegan_toys()["ring"]
        self.lim = lim
        ticks = torch.linspace(-lim, lim, check_int(grid, "grid", 2))
        gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")
        self._grid = torch.stack([gx.flatten(), gy.flatten()], 1)  # (grid*grid, 2), rows are y
        self._shape = (grid, grid)
        self.snapshots, self.coverage = {}, {}
        with one_thread():  # small networks: 6 times faster than two threads here
            for loss in gan.LOSSES:
                self.snapshots[loss] = self._train(loss, max(self.steps), n_samples, seed)
                self.coverage[loss] = {
                    step: mode_coverage(s, self.toy.means, float(self.toy.stds[0]))
                    for step, (s, _) in self.snapshots[loss].items()}
        self.controls = {
            "loss": widgets.ToggleButtons(options=[(LABELS[k], k) for k in gan.LOSSES],
                                          value="non_saturating", description="loss",
                                          # wide enough for "minimax (saturating)"
                                          style={"description_width": "initial",
                                                 "button_width": "auto"}),
            "steps": widgets.SelectionSlider(options=self.steps, value=self.steps[-1],
                                             description="training steps (D updates)",
                                             style={"description_width": "initial"},
                                             layout=widgets.Layout(width="600px")),
        }
        self.reset = widgets.Button(description="reset")
        self.reset.on_click(self.on_reset)
        self.output = widgets.Output()
        self.fig, self.ax = plt.subplots(figsize=(6.4, 6.4))
        plt.close(self.fig)  # shown through self.output only
        self._image = self.ax.imshow(np.zeros(self._shape), origin="lower", cmap="Blues",
                                     extent=(-lim, lim, -lim, lim), vmin=0, vmax=1,
                                     interpolation="nearest")  # cheapest to redraw
        means = self.toy.means.numpy()
        self.ax.scatter(means[:, 0], means[:, 1], marker="x", s=120, color="k", linewidths=2.5,
                        label="true modes")
        self._scatter = self.ax.scatter(np.zeros(n_samples), np.zeros(n_samples), s=14,
                                        color="C3", alpha=0.6, linewidths=0, label="generated")
        self.ax.set_xlim(-lim, lim)
        self.ax.set_ylim(-lim, lim)
        self.ax.set_aspect("equal")
        self.ax.set_xlabel("$x_1$", fontsize=14)
        self.ax.set_ylabel("$x_2$", fontsize=14)
        self.ax.tick_params(labelsize=12)
        self.ax.legend(loc="upper right", fontsize=12)
        self.fig.tight_layout()
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.widget = DemoBox([widgets.HTML(CSS), self.controls["loss"],
                               widgets.HBox([self.controls["steps"], self.reset]),
                               self.output],
                              name="GAN demo (chapter 7)", preview=lambda: figure_preview(self.fig))
        self.update()

    def _train(self, loss, n_steps, n_samples, seed):
        """Train one small GAN on the ring with ``loss``; keep (samples, image) at self.steps."""
        model = gan.toy_gan(n_hidden=64, n_layers=2, generator=seed)
        wasserstein = loss.startswith("wasserstein")  # 5 critic steps per generator step
        recipe = gan.Recipe(loss=loss, k=5 if wasserstein else 1, n_steps=n_steps,
                            batch_size=128, lr=1e-3 if wasserstein else 2e-3, final_lr=1.0,
                            clip=0.05)
        step = gan.make_step(model, recipe)
        z = torch.randn(n_samples, model.G.n_latent, generator=torch.Generator().manual_seed(seed))
        snapshots = {}

        def snapshot(at):
            with torch.no_grad():
                score = model.D(self._grid)
                image = torch.sigmoid(score) if not loss.startswith("wasserstein") else score
                snapshots[at] = (model.G(z).numpy(), image.reshape(self._shape).numpy())

        def recording_step(batch, ctx):
            out = step(batch, ctx)
            if ctx.step + 1 in self.steps:
                snapshot(ctx.step + 1)
            return out

        snapshot(0)
        x = self.toy.sample(n_steps * 128, generator=seed + 1)
        training.fit(model, recording_step, x, batch_size=128, generator=seed + 2, progress=False)
        return snapshots

    def settings(self):
        return {name: control.value for name, control in self.controls.items()}

    def draw(self, ax, loss, steps, live=False):
        """Draw one setting into ``ax``; ``live=True`` updates the demo's own artists."""
        samples, image = self.snapshots[loss][steps]
        cov = self.coverage[loss][steps]
        if loss.startswith("wasserstein"):  # the critic's score, rescaled to [0, 1] for shading
            image = (image - image.min()) / max(float(image.max() - image.min()), 1e-12)
        if live:
            self._image.set_data(image)
            self._scatter.set_offsets(samples)
        else:
            ax.imshow(image, origin="lower", cmap="Blues", extent=(-self.lim, self.lim, -self.lim, self.lim),
                      vmin=0, vmax=1)
            means = self.toy.means.numpy()
            ax.scatter(means[:, 0], means[:, 1], marker="x", s=60, color="k", linewidths=2)
            ax.scatter(samples[:, 0], samples[:, 1], s=6, color="C3", alpha=0.6, linewidths=0)
            ax.set_xlim(-self.lim, self.lim)
            ax.set_ylim(-self.lim, self.lim)
            ax.set_aspect("equal")
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        ax.set_title(f"{LABELS[loss]}, {steps} steps\n{cov.modes} of 8 modes, "
                     f"{100 * cov.high_quality:.3g} % high quality", fontsize=14 if live else 11)
        return samples, image

    def update(self, change=None):
        """Redraw the figure for the controls' current values."""
        self.last_samples, self.last_image = self.draw(self.ax, live=True, **self.settings())
        with self.output:
            clear_output(wait=True)
            display(self.fig)

    def on_reset(self, button=None):
        """Back to the starting state: non-saturating loss, all steps."""
        self.controls["loss"].value = "non_saturating"
        self.controls["steps"].value = self.steps[-1]

    def figure(self, settings=None):
        """A static figure with one panel per setting (dicts of control values), for the book."""
        if settings is None:
            early = max(s for s in self.steps if s <= max(self.steps[-1] // 10, 1))
            settings = [dict(loss=loss, steps=steps) for steps in (early, self.steps[-1])
                        for loss in gan.LOSSES]
        ncols = min(4, len(settings))
        nrows = -(-len(settings) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.6 * nrows), squeeze=False)
        for ax, setting in zip(axes.flat, settings):
            self.draw(ax, **{**self.settings(), **setting})
        for ax in list(axes.flat)[len(settings):]:
            ax.set_axis_off()
        fig.tight_layout()
        return fig


def gan_demo(**kwargs):
    """Build the GAN demo (see :class:`GANDemo`); display ``demo.widget``."""
    return GANDemo(**kwargs)
