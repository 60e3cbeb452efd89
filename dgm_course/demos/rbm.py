"""Lecture demo for chapter 3: step through a Gibbs chain of a trained RBM, CD-1 or PCD.

    demo = gibbs_chain_demo({"CD-1": rbm_cd, "PCD": rbm_pcd})
    demo.widget                      # a slider over the Gibbs steps and a toggle between the models
    demo.sliders["step"].value = 50  # what a test (or a lecturer) can do programmatically
    demo.figure(steps=(0, 1, 10, 100))  # the static version for the book

The chains are run once when the demo is built (one per model, from the same starting images and
the same random numbers), so moving the slider only swaps the picture's data.
"""
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import clear_output, display
from matplotlib.figure import Figure

from dgm_course.plotting import image_grid
from dgm_course.rbm import RBM
from dgm_course.utils import make_generator


def _tile(images, ncols, shape=(8, 8)):
    """Flattened images (n, h*w) as one array with a blank line between tiles (NaN)."""
    h, w = shape
    nrows = math.ceil(len(images) / ncols)
    canvas = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), np.nan)
    for i, img in enumerate(images):
        r, col = divmod(i, ncols)
        canvas[r * (h + 1): r * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = img.reshape(h, w)
    return canvas


class GibbsChainDemo:
    """A Gibbs chain of one of several trained RBMs, as a grid of digit images, one per chain.

    Attributes
    ----------
    sliders : dict
        ``"step"`` (an ``IntSlider`` over the Gibbs steps) and ``"model"`` (``ToggleButtons`` over the
        models' names).
    chains : dict of str -> tensor of shape (n_steps + 1, n_chains, n_visible)
        The recorded means :math:`P(v = 1 \\mid h)` of each model's chains (step 0: the start).
    last_image : numpy array
        The tiled picture drawn last.
    widget : ipywidgets.VBox
        What to display.
    """

    def __init__(self, models, *, n_chains=20, n_steps=200, v0=None, generator=0, ncols=10):
        if not isinstance(models, dict) or not models or not all(isinstance(m, RBM) for m in models.values()):
            raise ValueError(f"models must be a non-empty dict of name -> RBM, got {type(models).__name__}")
        n_visible = next(iter(models.values())).n_visible
        if v0 is None:  # random binary images
            v0 = torch.bernoulli(torch.full((n_chains, n_visible), 0.5), generator=make_generator(generator))
        self.ncols = ncols
        self.chains = {}
        for name, rbm in models.items():  # the same start and the same seed for every model
            self.chains[name] = rbm.gibbs_chain(v0, n_steps, generator=make_generator(generator)).numpy()
        names = list(models)
        self.sliders = {
            "step": widgets.IntSlider(value=0, min=0, max=n_steps, description="Gibbs step",
                                      continuous_update=True),
            "model": widgets.ToggleButtons(options=names, value=names[0], description="trained by"),
        }
        self.fig = Figure(figsize=(0.45 * ncols + 0.3, 0.45 * math.ceil(len(v0) / ncols) + 0.6))
        self.ax = self.fig.subplots()
        self.ax.set_axis_off()
        cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
        self.last_image = self.frame(names[0], 0)
        self._image = self.ax.imshow(self.last_image, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        self.output = widgets.Output()
        for slider in self.sliders.values():
            slider.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.sliders["model"], self.sliders["step"]]), self.output])
        self.update()

    def frame(self, model, step):
        """The tiled picture of ``model``'s chains at Gibbs step ``step``."""
        return _tile(self.chains[model][step], self.ncols)

    def update(self):
        """Redraw the picture for the sliders' current values."""
        model, step = self.sliders["model"].value, self.sliders["step"].value
        self.last_image = self.frame(model, step)
        self._image.set_data(self.last_image)
        self.ax.set_title(f"{model}: step {step}")
        with self.output:
            clear_output(wait=True)
            display(self.fig)

    def figure(self, steps=(0, 1, 2, 5, 20, 100), n_show=8):
        """A static figure for the book: for each model (rows of panels), the first ``n_show`` chains
        at each of ``steps`` (columns)."""
        names = list(self.chains)
        fig, axes = plt.subplots(len(names), len(steps), figsize=(1.9 * len(steps), 1.2 * len(names) + 0.4),
                                 squeeze=False)
        for row, name in enumerate(names):
            for col, step in enumerate(steps):
                image_grid(self.chains[name][step][:n_show], ncols=4, ax=axes[row, col], vmin=0, vmax=1,
                           title=f"{name}, step {step}")
        fig.tight_layout()
        return fig


def gibbs_chain_demo(models, **kwargs):
    """Build a :class:`GibbsChainDemo` (``models``: a dict of name -> trained RBM); show ``.widget``."""
    return GibbsChainDemo(models, **kwargs)
