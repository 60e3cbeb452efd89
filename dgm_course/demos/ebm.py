r"""Chapter 2 demo: Langevin chains stepping on a 2-D energy landscape.

``demo = langevin_demo(); demo.widget`` shows many chains, all started from the same
uniform random points, after ``n_steps`` steps of unadjusted Langevin (ULA) or MALA on the
tempered density :math:`p(x)^{1/T}` of a ring of Gaussians: on the left the chains over
that density, with the path of one chain; on the right the histogram of the chains'
distance from the centre against its exact density. A large step makes ULA's samples too
wide (its bias, seen on the right); MALA's rejections remove it; a high temperature
flattens the landscape so chains cross between modes.

Controls: step size, temperature, number of steps (0, 1, 2, 3, 5, ..., 200), sampler, reset.
The chains of one (sampler, step size, temperature) are run once, for the most steps, and
cached: moving the steps slider only slices them. The heaviest redraw (a new setting with
MALA) runs ``max_steps`` steps of ``n_chains`` chains; both are capped so that it stays
under the projector standard's 0.3 s.
"""
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dgm_course.data import toy_distribution
from dgm_course.demos.projector import FONT, Demo, control_style, new_figure, step_slider
from dgm_course.evaluation import grid_log_normalizer
from dgm_course.mcmc import langevin, mala
from dgm_course.utils import make_generator
from dgm_course.validation import check_int

STEP_SIZES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2)
TEMPERATURES = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def _labelled(values):
    """Options of a ``SelectionSlider`` whose readouts are formatted as in the title."""
    return [(f"{value:.3g}", value) for value in values]


def _title(sampler, step_size, temperature, n_steps, accept_rate):
    """The two title lines (always two, so the figure never moves)."""
    first = f"{sampler}, ε = {step_size:.3g}, T = {temperature:.3g}, {n_steps} steps"
    if sampler == "MALA":
        second = f"acceptance {accept_rate:.0%}" if n_steps else "acceptance: no step yet"
    else:
        second = "no accept/reject step (biased)"
    return f"{first}\n{second}"


class LangevinDemo(Demo):
    """Widgets and figure of the Langevin demo; build it with :func:`langevin_demo`.

    Attributes
    ----------
    sliders : dict
        ``"step_size"``, ``"temperature"``, ``"n_steps"`` (``SelectionSlider``) and
        ``"sampler"`` (``ToggleButtons``, ULA or MALA).
    widget : the ipywidgets box to display
    last_image : array (grid, grid), the tempered density last drawn
    last_samples : array (n_chains, 2), the chain states last drawn
    last_accept_rate : float, MALA's acceptance over the steps drawn (1.0 for ULA)
    """

    name = "Langevin demo (chapter 2)"

    def __init__(self, toy=None, *, n_chains=400, max_steps=200, lim=3.5, grid=120, seed=0):
        self.n_chains = check_int(n_chains, "n_chains", 1)
        self.max_steps = check_int(max_steps, "max_steps", 1)
        self.toy = toy if toy is not None else toy_distribution("ring", std=0.3)
        self.lim = lim
        self.seed = seed
        self.x0 = (2 * torch.rand(n_chains, 2, generator=make_generator(seed), dtype=torch.float64) - 1) * lim
        _, points, log_p = grid_log_normalizer(self.toy.log_prob, lim=lim, n=grid)
        self._log_p = log_p.reshape(grid, grid)  # (grid, grid), rows are y
        self._cell = (2 * lim / grid) ** 2
        self._radius = points.norm(dim=1).numpy()  # (grid * grid,) distance of each cell
        self.bins = np.linspace(0, lim, 36)
        self._chains = {}  # (sampler, step size, temperature) -> Chain of max_steps steps

        self.sliders = {
            "step_size": widgets.SelectionSlider(options=_labelled(STEP_SIZES), value=0.01, description="step size ε",
                                                 continuous_update=False, **control_style(140)),
            "temperature": widgets.SelectionSlider(options=_labelled(TEMPERATURES), value=1.0, description="temperature T",
                                                   continuous_update=False, **control_style(140)),
            "n_steps": step_slider("steps", value=100, max_steps=max_steps, description_width=140),
            "sampler": widgets.ToggleButtons(options=["ULA", "MALA"], value="ULA", description="sampler",
                                             style={"description_width": "80px", "button_width": "80px"}),
        }
        self.layout_rows = [[self.sliders["step_size"], self.sliders["temperature"]],
                            [self.sliders["n_steps"], self.sliders["sampler"]]]
        self._build_figure(grid)
        self._finish()

    def _build_figure(self, grid):
        self.fig = new_figure(860, 450)
        left = self.fig.add_axes([0.06, 0.13, 0.42, 0.68])
        right = self.fig.add_axes([0.59, 0.17, 0.38, 0.64])
        lim = self.lim
        self._image = left.imshow(np.zeros((grid, grid)), origin="lower", extent=(-lim, lim, -lim, lim),
                                  cmap="Blues", interpolation="bilinear")
        self._path, = left.plot([], [], color="C1", lw=1.5, animated=True)
        self._scatter = left.scatter(np.zeros(self.n_chains), np.zeros(self.n_chains), s=22, color="C3",
                                     edgecolors="white", linewidths=0.5, animated=True)
        left.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        left.set_xlabel("x₁", fontsize=FONT["label"])
        left.set_ylabel("x₂", fontsize=FONT["label"])
        self._exact, = right.stairs(np.zeros(len(self.bins) - 1), self.bins, color="k", lw=2,
                                    label="exact"),
        self._hist, = right.stairs(np.zeros(len(self.bins) - 1), self.bins, fill=True, color="C3", alpha=0.6,
                                   label="chains", animated=True),
        right.set_xlim(0, lim)
        right.set_xlabel("distance from the centre |x|", fontsize=FONT["label"])
        right.set_ylabel("density", fontsize=FONT["label"])
        right.legend(fontsize=FONT["label"], loc="upper left", frameon=False)
        for ax in (left, right):
            ax.tick_params(labelsize=FONT["ticks"])
        self._right = right
        self._title = self.fig.suptitle(" \n ", fontsize=FONT["title"], y=0.98, va="top", animated=True)
        self.dynamic = [self._path, self._scatter, self._hist, self._title]

    def background_key(self, temperature, **settings):
        """The density image and the histogram's exact curve and scale change with T only."""
        return float(temperature)

    # ------------------------------------------------------------------ computing
    def tempered_density(self, temperature):
        r"""The normalised density :math:`p^{1/T} / \int p^{1/T}` on the grid: (grid, grid)."""
        log_q = self._log_p / temperature
        return torch.exp(log_q - torch.logsumexp(log_q.flatten(), 0) - math.log(self._cell)).numpy()

    def chain(self, sampler, step_size, temperature):
        """The chains for one setting, ``max_steps`` long, run once and then cached."""
        key = (sampler, float(step_size), float(temperature))
        if key not in self._chains:
            method = mala if sampler == "MALA" else langevin
            self._chains[key] = method(self.toy.log_prob, self.x0, step_size=float(step_size),
                                       n_steps=self.max_steps, temperature=float(temperature),
                                       score=self.toy.score, generator=self.seed + 1)
        return self._chains[key]

    def clear_cache(self):
        """Forget the chains run so far (the next redraw runs its chains again)."""
        self._chains.clear()

    def run(self, step_size, temperature, n_steps, sampler):
        """States after ``n_steps`` and MALA's acceptance rate over those steps.

        Returns ``(states, accept_rate)``; ``states`` has shape (n_steps + 1, n_chains, 2).
        A rejected proposal leaves a chain exactly where it was, so the acceptance over the
        first ``n_steps`` steps is the fraction of steps in which a chain moved.
        """
        n_steps = check_int(n_steps, "n_steps", 0, self.max_steps)
        states = self.chain(sampler, step_size, temperature).states[: n_steps + 1]
        moved = (states[1:] != states[:-1]).any(dim=2)  # (n_steps, n_chains)
        return states, float(moved.double().mean()) if n_steps else 1.0

    def radial_densities(self, temperature, samples):
        """Histograms of the distance from the centre: exact (from the grid) and of ``samples``."""
        width = np.diff(self.bins)
        exact = np.histogram(self._radius, self.bins, weights=self.tempered_density(temperature).ravel())[0]
        exact = exact * self._cell / width
        radius = np.linalg.norm(samples, axis=1)
        return exact, np.histogram(radius, self.bins)[0] / (len(samples) * width)

    # ------------------------------------------------------------------ drawing
    def draw(self, step_size, temperature, n_steps, sampler):
        """Update the figure for one setting."""
        states, accept_rate = self.run(step_size, temperature, n_steps, sampler)
        self.last_samples = states[-1].numpy()
        self.last_accept_rate = accept_rate
        self.last_image = self.tempered_density(temperature)
        path = states[:, 0].numpy()
        self._image.set_data(self.last_image)
        self._image.set_clim(0, self.last_image.max())
        self._path.set_data(path[:, 0], path[:, 1])
        self._scatter.set_offsets(self.last_samples)
        exact, hist = self.radial_densities(temperature, self.last_samples)
        self._exact.set_data(exact)
        self._hist.set_data(hist)
        self._right.set_ylim(0, 1.5 * exact.max())
        self._title.set_text(_title(sampler, step_size, temperature, n_steps, accept_rate))

    def figure(self, settings=None):
        """A static figure with one panel per setting (dicts of control values), for the book."""
        if settings is None:
            settings = [dict(step_size=0.01, temperature=1.0, n_steps=0, sampler="ULA"),
                        dict(step_size=0.01, temperature=1.0, n_steps=200, sampler="ULA"),
                        dict(step_size=0.15, temperature=1.0, n_steps=200, sampler="ULA"),
                        dict(step_size=0.15, temperature=1.0, n_steps=200, sampler="MALA"),
                        dict(step_size=0.01, temperature=3.0, n_steps=200, sampler="ULA")]
        fig, axes = plt.subplots(1, len(settings), figsize=(2.9 * len(settings), 3.6), squeeze=False)
        lim = self.lim
        for ax, setting in zip(axes[0], settings):
            setting = {**self.settings(), **setting}
            states, accept_rate = self.run(**setting)
            image, samples = self.tempered_density(setting["temperature"]), states[-1].numpy()
            ax.imshow(image, origin="lower", extent=(-lim, lim, -lim, lim), cmap="Blues",
                      interpolation="bilinear", vmin=0)
            ax.plot(states[:, 0, 0], states[:, 0, 1], color="C1", lw=0.8)
            ax.scatter(samples[:, 0], samples[:, 1], s=4, color="C3", alpha=0.7, linewidths=0)
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
            ax.set_title(_title(setting["sampler"], setting["step_size"], setting["temperature"],
                                setting["n_steps"], accept_rate), fontsize=9)
        fig.tight_layout()
        return fig


def langevin_demo(toy=None, **kwargs):
    """Build the Langevin demo (see :class:`LangevinDemo`); display ``demo.widget``."""
    return LangevinDemo(toy, **kwargs)
