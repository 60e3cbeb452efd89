"""Lecture demo for chapter 8: what a denoising autoencoder learns, and its sampling chain.

    demo = dae_demo()                 # trains its own small DAEs (a few seconds)
    demo.widget                       # a slider over sigma, a step slider, a reset button
    demo.sliders["sigma"].value = 0.4 # what a test (or a lecturer) can do programmatically
    demo.figure()                     # the static version for the book

Left: the score estimated by a DAE trained with Gaussian corruption of standard deviation
sigma, :math:`(r(x) - x)/\\sigma^2`, as arrows over the true density of a ring of Gaussians,
with its mean cosine similarity to the exact score :math:`\\nabla \\log p`. Right: chains of
a salt-and-pepper DAE on the binarised digits after a chosen number of corrupt–sample
steps (the mean of :math:`P(x \\mid \\tilde x)` at that step). One DAE per sigma is trained
and every chain is run when the demo is built, so moving a slider only swaps data.
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dgm_course import dae, data
from dgm_course.demos.projector import FONT, Demo, new_figure, one_thread, step_slider
from dgm_course.plotting import image_grid
from dgm_course.validation import check_int

PIXEL = 8  # screen pixels per image pixel: 8x8 digits become 64-pixel tiles
SIGMAS = (0.05, 0.1, 0.2, 0.4, 0.8)
"""The corruption levels the demo's slider offers (one DAE each)."""


def tile(images, ncols):
    """Flattened 8x8 images (n, 64) as one array, a blank (NaN) line between tiles."""
    images = np.asarray(images)
    nrows = -(-len(images) // ncols)
    canvas = np.full((nrows * 9 - 1, ncols * 9 - 1), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[9 * r: 9 * r + 8, 9 * c: 9 * c + 8] = img.reshape(8, 8)
    return canvas


def train_demo_models(*, sigmas=SIGMAS, field_steps=150, digit_steps=300, generator=0):
    """Small DAEs for the demo, trained on one thread in a few seconds: one per ``sigma`` on
    the ring of 8 Gaussians (std 0.3), and one salt-and-pepper DAE (noise 0.3) on the
    binarised training digits. Returns ``(toy, {sigma: dae}, digit_dae)``."""
    toy = data.toy_distribution("ring", std=0.3)
    x = toy.sample(50_000, generator=1)
    digits = data.load_digits("train", binary=True)
    fields = {}
    with one_thread():
        for sigma in sigmas:
            fields[sigma] = dae.DenoisingAutoencoder(2, noise=sigma, n_hidden=64,
                                                     generator=generator)
            dae.train(fields[sigma], x, dae.Recipe(n_steps=field_steps, batch_size=512, lr=3e-3),
                      generator=generator, progress=False)
        digit = dae.DenoisingAutoencoder(64, corruption="salt_and_pepper", noise=0.3,
                                         n_hidden=128, generator=generator)
        dae.train(digit, digits, dae.Recipe(n_steps=digit_steps, batch_size=100),
                  generator=generator, progress=False)
    return toy, fields, digit


class DAEDemo(Demo):
    """The learned score field for a choice of sigma, and a digit chain stepping forward.

    Attributes
    ----------
    sliders : dict
        ``"sigma"`` (a ``SelectionSlider`` over the trained corruption levels) and ``"step"``
        (a ``SelectionSlider`` over 0, 1, 2, 3, 5, ... steps of the chain).
    fields : dict of float -> (arrows (g*g, 2), cosine similarity)
        The drawn arrows and the mean cosine similarity with the exact score, per sigma.
    chains : array of shape (n_steps + 1, n_chains, 64)
        The digit chains (step 0: the noise they start from).
    last_arrows, last_image : numpy arrays drawn last
    """

    name = "Denoising autoencoder demo (chapter 8)"

    def __init__(self, toy, field_models, digit_model, *, n_chains=10, n_steps=200, grid=17,
                 lim=3.0, ncols=5, generator=0):
        if not isinstance(toy, data.GaussianMixture2D):
            raise ValueError(f"toy must be a GaussianMixture2D, got {type(toy).__name__}")
        if not isinstance(field_models, dict) or not field_models or not all(
                isinstance(m, dae.DenoisingAutoencoder) and not m.binary
                for m in field_models.values()):
            raise ValueError("field_models must be a non-empty dict of sigma -> Gaussian "
                             f"DenoisingAutoencoder, got {type(field_models).__name__}")
        if not isinstance(digit_model, dae.DenoisingAutoencoder) or not digit_model.binary:
            raise ValueError("digit_model must be a salt-and-pepper DenoisingAutoencoder, got "
                             f"{type(digit_model).__name__}")
        n_chains = check_int(n_chains, "n_chains", 1)
        n_steps = check_int(n_steps, "n_steps", 1)
        grid = check_int(grid, "grid", 2)
        self.ncols = check_int(ncols, "ncols", 1)
        self.lim = lim
        ticks = torch.linspace(-lim, lim, grid)
        gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")
        self._points = torch.stack([gx.flatten(), gy.flatten()], 1)  # (grid*grid, 2)
        self.fields = {}
        with one_thread():
            support = toy.sample(2000, generator=2)  # where the density is non-negligible
            exact = toy.score(support).float()
            for sigma, model in sorted(field_models.items()):
                s = model.score(self._points).numpy()  # (grid*grid, 2)
                arrows = s / (1 + np.linalg.norm(s, axis=1, keepdims=True))  # length < 1
                cos = torch.nn.functional.cosine_similarity(model.score(support), exact)
                self.fields[sigma] = (0.35 * arrows, float(cos.mean()))
            self.chains = digit_model.sample(n_chains, n_steps=n_steps, generator=generator,
                                             return_chain=True, return_mean=True).numpy()
        sigmas = list(self.fields)
        self.sliders = {
            "sigma": widgets.SelectionSlider(options=sigmas, value=sigmas[len(sigmas) // 2],
                                             description="corruption σ",
                                             style={"description_width": "130px"},
                                             layout=widgets.Layout(width="420px")),
            "step": step_slider("chain step", value=0, max_steps=n_steps,
                                description_width=130),
        }
        self.layout_rows = [[self.sliders["sigma"], self.sliders["step"]]]
        self._build_figure(toy)
        self._finish()

    def _build_figure(self, toy):
        self.fig = new_figure(1000, 520)
        ax = self.fig.add_axes([0.07, 0.1, 0.42, 0.74])
        n = 200
        ticks = torch.linspace(-self.lim, self.lim, n)
        gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")
        density = toy.log_prob(torch.stack([gx.flatten(), gy.flatten()], 1)).exp()
        self._density = density.reshape(n, n).numpy()
        ax.imshow(self._density, origin="lower", cmap="Blues",
                  extent=(-self.lim, self.lim, -self.lim, self.lim))
        pts = self._points.numpy()
        self._quiver = ax.quiver(pts[:, 0], pts[:, 1], np.zeros(len(pts)), np.zeros(len(pts)),
                                 angles="xy", scale_units="xy", scale=1, color="C3",
                                 width=0.006, animated=True)
        ax.set_xlim(-self.lim, self.lim)
        ax.set_ylim(-self.lim, self.lim)
        ax.set_xlabel("$x_1$", fontsize=FONT["label"])
        ax.set_ylabel("$x_2$", fontsize=FONT["label"])
        ax.tick_params(labelsize=FONT["ticks"])
        shape = tile(self.chains[0], self.ncols).shape
        width, height = shape[1] * PIXEL / 1000, shape[0] * PIXEL / 520
        right = self.fig.add_axes([0.56 + (0.42 - width) / 2, 0.1 + (0.74 - height) / 2,
                                   width, height])
        right.set_axis_off()
        cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
        self._image = right.imshow(np.zeros(shape), cmap=cmap, vmin=0, vmax=1,
                                   interpolation="nearest", aspect="auto", animated=True)
        self._left_title = self.fig.text(0.28, 0.97, " ", ha="center", va="top",
                                         fontsize=FONT["title"], animated=True)
        self._right_title = self.fig.text(0.77, 0.97, " ", ha="center", va="top",
                                          fontsize=FONT["title"], animated=True)
        self.dynamic = [self._quiver, self._image, self._left_title, self._right_title]

    def draw(self, sigma, step):
        """Show the score field of the DAE trained at ``sigma`` and the chains at ``step``."""
        arrows, cos = self.fields[sigma]
        self.last_arrows = arrows
        self._quiver.set_UVC(arrows[:, 0], arrows[:, 1])
        self.last_image = tile(self.chains[step], self.ncols)
        self._image.set_data(self.last_image)
        self._left_title.set_text(f"score of the DAE, σ = {sigma:.3g}\n"
                                  f"cosine with the exact score {cos:.3g}")
        self._right_title.set_text(f"digit chains after {step} steps\n"
                                   "(mean of P(x | x̃))")

    def figure(self, sigmas=None, steps=(0, 1, 2, 5, 20, 100, 200)):
        """A static figure for the book: the field at each of ``sigmas`` (first row) and the
        chains at each of ``steps`` (second row)."""
        sigmas = list(self.fields) if sigmas is None else list(sigmas)
        steps = [s for s in steps if s < len(self.chains)]
        fig = plt.figure(figsize=(2.3 * max(len(sigmas), len(steps)), 5.2))
        top = fig.subfigures(2, 1, height_ratios=[1.25, 1])
        axes = top[0].subplots(1, len(sigmas), squeeze=False)[0]
        pts = self._points.numpy()
        for i, (ax, sigma) in enumerate(zip(axes, sigmas)):
            ax.imshow(self._density, origin="lower", cmap="Blues",
                      extent=(-self.lim, self.lim, -self.lim, self.lim))
            arrows, cos = self.fields[sigma]
            ax.quiver(pts[:, 0], pts[:, 1], arrows[:, 0], arrows[:, 1], angles="xy",
                      scale_units="xy", scale=1, color="C3", width=0.008)
            ax.set_xlim(-self.lim, self.lim)
            ax.set_ylim(-self.lim, self.lim)
            ax.set_aspect("equal")
            ax.set_title(f"σ = {sigma:g}, cos {cos:.2f}", fontsize=10)
            ax.set_xlabel("$x_1$")
            if i == 0:
                ax.set_ylabel("$x_2$")
        axes = top[1].subplots(1, len(steps), squeeze=False)[0]
        for ax, step in zip(axes, steps):
            image_grid(self.chains[step][:4], ncols=2, ax=ax, vmin=0, vmax=1,
                       title=f"step {step}")
        return fig


def dae_demo(toy=None, field_models=None, digit_model=None, **kwargs):
    """Build a :class:`DAEDemo` from a toy, its DAEs by sigma and a digit DAE (the chapter
    passes its own); with none of the three, those of :func:`train_demo_models`. Show
    ``.widget``."""
    if toy is None and field_models is None and digit_model is None:
        toy, field_models, digit_model = train_demo_models()
    return DAEDemo(toy, field_models, digit_model, **kwargs)
