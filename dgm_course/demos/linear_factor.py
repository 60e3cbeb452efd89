r"""Chapter 1 demo: walk a PPCA digit along its two leading latent directions.

The generated image is

.. math:: x = b + h_1 w_1 + h_2 w_2 + \sigma \epsilon,

with :math:`w_1, w_2` the first two columns of the fitted :math:`W`, the other latent
coordinates at their prior mean 0, and one fixed noise draw :math:`\epsilon \sim \mathcal N(0, I)`
scaled by the :math:`\sigma^2` slider (0 shows the decoder's mean :math:`W h + b`). In a
notebook::

    from dgm_course.demos.linear_factor import ppca_digit_demo
    demo = ppca_digit_demo()
    demo.widget          # three sliders and the digit
    demo.figure()        # the same at a few slider settings, for the book
"""
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from dgm_course.data import load_digits
from dgm_course.data import dequantize
from dgm_course.linear_factor import PPCA
from dgm_course.utils import make_generator


class PPCADigitDemo:
    """Sliders ``h1``, ``h2`` and ``sigma2`` over a fitted :class:`~dgm_course.linear_factor.PPCA`
    of the 8×8 digits.

    Attributes
    ----------
    sliders : dict of ipywidgets.FloatSlider
        ``"h1"``, ``"h2"``, ``"sigma2"``; moving one redraws the digit.
    output : ipywidgets.Image
        The rendered digit (PNG).
    widget : ipywidgets.Box
        Sliders and digit, to display in a notebook.
    last_image : array of shape (8, 8)
        The image drawn last.
    """

    def __init__(self, model, *, h_max=3.0, noise_seed=0, image_shape=(8, 8), vmax=1.0):
        if not hasattr(model, "W_") or model.W_.shape[1] < 2:
            raise ValueError("model must be a fitted PPCA (or FactorAnalysis) with at least 2 components")
        if model.W_.shape[0] != image_shape[0] * image_shape[1]:
            raise ValueError(f"the model has {model.W_.shape[0]} features; image_shape {image_shape} needs "
                             f"{image_shape[0] * image_shape[1]}")
        self.model = model
        self.image_shape = image_shape
        self.vmax = vmax
        gen = make_generator(noise_seed)
        self._eps = torch.randn(model.W_.shape[0], generator=gen, dtype=torch.float64).numpy()  # (d,)
        sigma2 = float(np.mean(model._psi()))
        style = {"description_width": "60px"}
        self.sliders = {
            "h1": widgets.FloatSlider(0.0, min=-h_max, max=h_max, step=0.1, description="h1", style=style),
            "h2": widgets.FloatSlider(0.0, min=-h_max, max=h_max, step=0.1, description="h2", style=style),
            "sigma2": widgets.FloatSlider(sigma2, min=0.0, max=round(max(10 * sigma2, 0.05), 3), step=sigma2 / 10,
                                          readout_format=".4f", description="σ²", style=style),
        }
        self._fig = Figure(figsize=(2.2, 2.2))
        ax = self._fig.add_axes([0, 0, 1, 1])
        ax.set_axis_off()
        self._im = ax.imshow(np.zeros(image_shape), cmap="gray_r", vmin=0.0, vmax=vmax, interpolation="nearest")
        self.output = widgets.Image(format="png", width=180, height=180)
        self.widget = widgets.HBox([widgets.VBox(list(self.sliders.values())), self.output])
        for slider in self.sliders.values():
            slider.observe(self.update, names="value")
        self.last_image = None
        self.update()

    def generate(self, h1, h2, sigma2):
        """The image :math:`b + h_1 w_1 + h_2 w_2 + \\sigma\\epsilon`: array of shape ``image_shape``."""
        W = self.model.W_
        x = self.model.b_ + h1 * W[:, 0] + h2 * W[:, 1] + np.sqrt(max(sigma2, 0.0)) * self._eps
        return x.reshape(self.image_shape)

    def update(self, change=None):
        """Redraw the digit for the sliders' current values (called when a slider moves)."""
        values = {name: slider.value for name, slider in self.sliders.items()}
        self.last_image = self.generate(**values)
        self._im.set_data(self.last_image)
        buffer = io.BytesIO()
        self._fig.savefig(buffer, format="png", dpi=80)
        self.output.value = buffer.getvalue()

    def figure(self, h_values=(-2.0, 0.0, 2.0), sigma2_values=None):
        """A static figure for the book: the digit on a grid of ``(h1, h2)`` values, one row of
        grids per ``sigma2`` value (default: 0 and the fitted :math:`\\sigma^2`)."""
        if sigma2_values is None:
            sigma2_values = (0.0, self.sliders["sigma2"].value)
        k = len(h_values)
        fig, axes = plt.subplots(k, k * len(sigma2_values), figsize=(1.1 * k * len(sigma2_values), 1.2 * k),
                                 squeeze=False)
        for s, sigma2 in enumerate(sigma2_values):
            for i, h2 in enumerate(reversed(h_values)):
                for j, h1 in enumerate(h_values):
                    ax = axes[i, s * k + j]
                    ax.imshow(self.generate(h1, h2, sigma2), cmap="gray_r", vmin=0, vmax=self.vmax,
                              interpolation="nearest")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if i == k - 1:
                        ax.set_xlabel(f"h1={h1:g}", fontsize=8)
                    if j == 0:
                        ax.set_ylabel(f"h2={h2:g}", fontsize=8)
            axes[0, s * k + k // 2].set_title(f"σ² = {sigma2:.3g}", fontsize=9)
        fig.tight_layout()
        return fig


def ppca_digit_demo(model=None, *, n_components=10, **kwargs):
    """Build a :class:`PPCADigitDemo`; without ``model``, fit a PPCA with ``n_components``
    to the training digits dequantized to (0, 1) as in the chapter
    (:func:`~dgm_course.data.dequantize`, seed 0)."""
    if model is None:
        model = PPCA(n_components).fit(dequantize(load_digits("train"), generator=0))
    return PPCADigitDemo(model, **kwargs)
