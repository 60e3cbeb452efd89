"""Lecture demo for chapter 3: step through a Gibbs chain of a trained RBM, CD-1 or PCD.

    demo = gibbs_chain_demo({"CD-1": rbm_cd, "PCD": rbm_pcd})
    demo.widget                      # a step slider (0, 1, 2, 3, 5, ..., 1000), a toggle between the models
    demo.sliders["step"].value = 50  # what a test (or a lecturer) can do programmatically
    demo.figure(steps=(0, 1, 10, 100))  # the static version for the book

The chains are run once when the demo is built (one per model, from the same starting images and
the same random numbers), so moving the slider only swaps the picture's data. Each digit is drawn
with 8 screen pixels per image pixel (64-pixel tiles).
"""
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dgm_course.data import load_digits
from dgm_course.demos.projector import FONT, Demo, new_figure, step_slider
from dgm_course.plotting import image_grid
from dgm_course.rbm import RBM
from dgm_course.utils import make_generator
from dgm_course.validation import check_int

PIXEL = 8  # screen pixels per image pixel: 8x8 digits become 64-pixel tiles


def _tile(images, ncols, shape=(8, 8)):
    """Flattened images (n, h*w) as one array with a blank line between tiles (NaN)."""
    h, w = shape
    nrows = math.ceil(len(images) / ncols)
    canvas = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), np.nan)
    for i, img in enumerate(images):
        r, col = divmod(i, ncols)
        canvas[r * (h + 1): r * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = img.reshape(h, w)
    return canvas


class GibbsChainDemo(Demo):
    """A Gibbs chain of one of several trained RBMs, as a grid of digit images, one per chain.

    Attributes
    ----------
    sliders : dict
        ``"step"`` (a ``SelectionSlider`` over 0, 1, 2, 3, 5, ... Gibbs steps) and ``"model"``
        (``ToggleButtons`` over the models' names).
    chains : dict of str -> array of shape (n_steps + 1, n_chains, n_visible)
        The recorded means :math:`P(v = 1 \\mid h)` of each model's chains (step 0: the start).
    last_image : numpy array
        The tiled picture drawn last.
    widget : ipywidgets.VBox
        What to display.
    """

    name = "Gibbs chain demo (chapter 3)"

    def __init__(self, models, *, n_chains=20, n_steps=1000, v0=None, generator=0, ncols=10):
        if not isinstance(models, dict) or not models or not all(isinstance(m, RBM) for m in models.values()):
            raise ValueError(f"models must be a non-empty dict of name -> RBM, got {type(models).__name__}")
        check_int(n_steps, "n_steps", 1)
        self.ncols = check_int(ncols, "ncols", 1)
        n_visible = next(iter(models.values())).n_visible
        if v0 is None:  # random binary images
            v0 = torch.bernoulli(torch.full((n_chains, n_visible), 0.5), generator=make_generator(generator))
        self.chains = {}
        for name, rbm in models.items():  # the same start and the same seed for every model
            chain = rbm.gibbs_chain(v0, n_steps=n_steps, generator=make_generator(generator))
            self.chains[name] = chain.numpy()
        names = list(models)
        self.sliders = {
            "step": step_slider("Gibbs step", value=0, max_steps=n_steps),
            "model": widgets.ToggleButtons(options=names, value=names[0], description="trained by",
                                           style={"description_width": "100px", "button_width": "90px"}),
        }
        self.layout_rows = [[self.sliders["model"]], [self.sliders["step"]]]
        self._build_figure(self.frame(names[0], 0).shape)
        self._finish()

    def _build_figure(self, canvas_shape):
        rows, cols = canvas_shape
        width, height = cols * PIXEL, rows * PIXEL  # the tiles, in screen pixels
        fig_width, fig_height = max(width + 48, 640), height + 64
        self.fig = new_figure(fig_width, fig_height)
        ax = self.fig.add_axes([(fig_width - width) / 2 / fig_width, 12 / fig_height,
                                width / fig_width, height / fig_height])
        ax.set_axis_off()
        cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
        self._image = ax.imshow(np.zeros(canvas_shape), cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
                                aspect="auto", animated=True)
        self._title = self.fig.text(0.5, 1 - 10 / fig_height, " ", fontsize=FONT["title"], ha="center",
                                    va="top", animated=True)
        self.dynamic = [self._image, self._title]

    def frame(self, model, step):
        """The tiled picture of ``model``'s chains at Gibbs step ``step``."""
        return _tile(self.chains[model][step], self.ncols)

    def draw(self, step, model):
        """Show ``model``'s chains at Gibbs step ``step``."""
        self.last_image = self.frame(model, step)
        self._image.set_data(self.last_image)
        self._title.set_text(f"{model}: P(v = 1 | h) after {step} Gibbs steps")

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


def train_demo_rbms(*, n_hidden=16, epochs=30, generator=0):
    """The chapter's two RBMs, trained on the binarised training digits by CD-1 and by PCD with
    the chapter's settings (batch 20, learning rate 0.2 decayed linearly, weight decay 1e-4).
    About a second on a laptop CPU. Returns ``{"CD-1": rbm, "PCD": rbm}``."""
    x = load_digits("train", binary=True)
    models = {}
    for name, method in (("CD-1", "cd"), ("PCD", "pcd")):
        models[name] = RBM(x.shape[1], n_hidden, generator=generator)
        models[name].fit(x, method=method, epochs=epochs, batch_size=20, lr=0.2, weight_decay=1e-4,
                         generator=generator)
    return models


def gibbs_chain_demo(models=None, **kwargs):
    """Build a :class:`GibbsChainDemo` (``models``: a dict of name -> trained RBM; without it,
    the two RBMs of :func:`train_demo_rbms`); show ``.widget``."""
    return GibbsChainDemo(train_demo_rbms() if models is None else models, **kwargs)
