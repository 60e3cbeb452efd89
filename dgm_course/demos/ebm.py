"""Chapter 2 demo: Langevin chains stepping on a 2-D energy landscape.

``demo = langevin_demo(); demo.widget`` shows many chains, all started from the same
uniform random points, after ``n_steps`` steps of unadjusted Langevin (ULA) or MALA on the
tempered density :math:`p(x)^{1/T}` of a ring of Gaussians, over that density, with the path
of one chain. Sliders: step size, temperature, number of steps; buttons: the sampler.
A large step makes ULA's samples too wide (its bias); MALA's rejections remove it; a high
temperature flattens the landscape so chains cross between modes.
"""
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import clear_output, display

from dgm_course.data import toy_distribution
from dgm_course.evaluation import grid_log_normalizer
from dgm_course.mcmc import langevin, mala
from dgm_course.utils import make_generator


class LangevinDemo:
    """Widgets and figure of the Langevin demo; build it with :func:`langevin_demo`.

    Attributes
    ----------
    sliders : dict of ``"step_size"``, ``"temperature"``, ``"n_steps"``, ``"sampler"`` widgets
    widget : the ipywidgets box to display
    last_image : array (grid, grid), the tempered density last drawn
    last_samples : array (n_chains, 2), the chain states last drawn
    last_chain : Chain, the chains last run
    """

    def __init__(self, toy=None, *, n_chains=400, lim=3.5, grid=120, seed=0):
        self.toy = toy if toy is not None else toy_distribution("ring", std=0.3)
        self.lim = lim
        gen = make_generator(seed)
        self.x0 = (2 * torch.rand(n_chains, 2, generator=gen, dtype=torch.float64) - 1) * lim  # (n_chains, 2)
        self.seed = seed
        _, _, log_p = grid_log_normalizer(self.toy.log_prob, lim=lim, n=grid)
        self._log_p = log_p.reshape(grid, grid)  # (grid, grid), rows are y
        self._cell = (2 * lim / grid) ** 2
        self.sliders = {
            "step_size": widgets.FloatLogSlider(value=0.01, base=10, min=-3, max=-0.5, step=0.1,
                                                description="step size ε", readout_format=".3f"),
            "temperature": widgets.FloatSlider(value=1.0, min=0.25, max=4.0, step=0.25, description="temperature T"),
            "n_steps": widgets.IntSlider(value=100, min=0, max=500, step=10, description="steps"),
            "sampler": widgets.ToggleButtons(options=["ULA", "MALA"], value="ULA", description="sampler"),
        }
        self.output = widgets.Output()
        self.fig, self.ax = plt.subplots(figsize=(4.6, 4.6))
        plt.close(self.fig)  # shown through self.output only
        self._image = self.ax.imshow(np.zeros((grid, grid)), origin="lower", extent=(-lim, lim, -lim, lim),
                                     cmap="Blues", interpolation="bilinear")
        self._path, = self.ax.plot([], [], color="C1", lw=0.8, alpha=0.9)
        self._scatter = self.ax.scatter(np.zeros(n_chains), np.zeros(n_chains), s=4, color="C3", alpha=0.6,
                                        linewidths=0)
        self.ax.set_xlim(-lim, lim)
        self.ax.set_ylim(-lim, lim)
        self.ax.set_aspect("equal")
        for slider in self.sliders.values():
            slider.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.sliders["step_size"], self.sliders["temperature"]]),
                                    widgets.HBox([self.sliders["n_steps"], self.sliders["sampler"]]), self.output])
        self.update()

    def tempered_density(self, temperature):
        r"""The normalised density :math:`p^{1/T} / \int p^{1/T}` on the grid: (grid, grid)."""
        log_q = self._log_p / temperature
        return torch.exp(log_q - torch.logsumexp(log_q.flatten(), 0) - math.log(self._cell)).numpy()

    def run(self, step_size, temperature, n_steps, sampler):
        """Run the chains from their fixed starts with the given settings; returns a Chain."""
        method = mala if sampler == "MALA" else langevin
        return method(self.toy.log_prob, self.x0, step_size=float(step_size), n_steps=int(n_steps),
                      temperature=float(temperature), score=self.toy.score, generator=self.seed + 1)

    def draw(self, ax, step_size, temperature, n_steps, sampler, live=False):
        """Draw one setting into ``ax``; ``live=True`` updates the demo's own artists in place."""
        chain = self.run(step_size, temperature, n_steps, sampler)
        image, samples, path = self.tempered_density(temperature), chain.last.numpy(), chain.states[:, 0].numpy()
        title = f"{sampler}, ε = {step_size:.3g}, T = {temperature:g}, {n_steps} steps"
        if sampler == "MALA" and n_steps:
            title += f"\nacceptance {chain.accept_rate:.0%}"
        if not live:
            ax.imshow(image, origin="lower", extent=(-self.lim, self.lim, -self.lim, self.lim), cmap="Blues",
                      interpolation="bilinear", vmin=0)
            ax.plot(path[:, 0], path[:, 1], color="C1", lw=0.8)
            ax.scatter(samples[:, 0], samples[:, 1], s=3, color="C3", alpha=0.6, linewidths=0)
            ax.set_xlim(-self.lim, self.lim)
            ax.set_ylim(-self.lim, self.lim)
            ax.set_aspect("equal")
        else:
            self._image.set_data(image)
            self._image.set_clim(0, image.max())
            self._path.set_data(path[:, 0], path[:, 1])
            self._scatter.set_offsets(samples)
        ax.set_title(title, fontsize=9)
        return chain, image, samples

    def settings(self):
        return {name: slider.value for name, slider in self.sliders.items()}

    def update(self, change=None):
        """Redraw the figure for the sliders' current values."""
        self.last_chain, self.last_image, self.last_samples = self.draw(self.ax, live=True, **self.settings())
        with self.output:
            clear_output(wait=True)
            display(self.fig)

    def figure(self, settings=None):
        """A static figure with one panel per setting (dicts of slider values), for the book."""
        if settings is None:
            settings = [dict(step_size=0.01, temperature=1.0, n_steps=0, sampler="ULA"),
                        dict(step_size=0.01, temperature=1.0, n_steps=200, sampler="ULA"),
                        dict(step_size=0.15, temperature=1.0, n_steps=200, sampler="ULA"),
                        dict(step_size=0.15, temperature=1.0, n_steps=200, sampler="MALA"),
                        dict(step_size=0.01, temperature=3.0, n_steps=200, sampler="ULA")]
        fig, axes = plt.subplots(1, len(settings), figsize=(2.9 * len(settings), 3.5), squeeze=False)
        for ax, setting in zip(axes[0], settings):
            self.draw(ax, **{**self.settings(), **setting})
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        return fig


def langevin_demo(toy=None, **kwargs):
    """Build the Langevin demo (see :class:`LangevinDemo`); display ``demo.widget``."""
    return LangevinDemo(toy, **kwargs)
