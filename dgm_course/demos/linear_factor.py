r"""Chapter 1 demo: walk a PPCA digit along its two leading latent directions.

The generated image is

.. math:: x = b + h_1 w_1 + h_2 w_2 + \sigma \epsilon,

with :math:`w_1, w_2` the first two columns of the fitted :math:`W`, the other latent
coordinates at their prior mean 0, and one fixed noise draw :math:`\epsilon \sim \mathcal N(0, I)`
scaled by the :math:`\sigma^2` slider (0 shows the decoder's mean :math:`W h + b`). For
factor analysis, whose noise variance differs per pixel, the noise of pixel :math:`i` is
:math:`\sqrt{\sigma^2 \psi_i / \bar\psi}\,\epsilon_i`: the fitted pattern, scaled so that
its mean is the slider's :math:`\sigma^2`. On the left, the latent plane
:math:`(h_1, h_2)`: the prior's 1- and 2-standard-deviation circles, the point drawn,
and (if ``data`` is given) the posterior means of the data. In a notebook::

    from dgm_course.demos.linear_factor import ppca_digit_demo
    demo = ppca_digit_demo()
    demo.widget          # three sliders, reset, the latent plane and the digit
    demo.figure()        # the same at a few slider settings, for the book
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dgm_course.data import dequantize, load_digits
from dgm_course.demos.projector import FONT, Demo, control_style, new_figure
from dgm_course.linear_factor import PPCA
from dgm_course.utils import make_generator


class PPCADigitDemo(Demo):
    """Sliders ``h1``, ``h2`` and ``sigma2`` over a fitted :class:`~dgm_course.linear_factor.PPCA`
    (or :class:`~dgm_course.linear_factor.FactorAnalysis`) of the 8×8 digits.

    Parameters
    ----------
    model : fitted PPCA or FactorAnalysis with at least 2 components
    data : array of shape (n, d), optional
        Shown in the latent plane as their posterior means of :math:`(h_1, h_2)`.
    h_max : float
        The latent sliders span ``[-h_max, h_max]`` (prior standard deviations).

    Attributes
    ----------
    sliders : dict of ipywidgets.FloatSlider
        ``"h1"``, ``"h2"``, ``"sigma2"``; moving one redraws the digit.
    image : ipywidgets.Image
        The rendered figure (PNG).
    widget : ipywidgets.Box
        Sliders and figure, to display in a notebook.
    last_image : array of shape (8, 8)
        The image drawn last.
    """

    name = "PPCA digit demo (chapter 1)"

    def __init__(self, model, *, data=None, h_max=3.0, noise_seed=0, image_shape=(8, 8), vmax=1.0):
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
        psi = np.asarray(model.noise_variance_, dtype=float)  # (d,) per-pixel noise variance
        sigma2 = float(psi.mean())
        self._noise_pattern = psi / sigma2  # (d,), mean 1; all ones for PPCA
        self.sliders = {
            "h1": widgets.FloatSlider(0.0, min=-h_max, max=h_max, step=0.1, description="h₁",
                                      readout_format=".3g", **control_style(60)),
            "h2": widgets.FloatSlider(0.0, min=-h_max, max=h_max, step=0.1, description="h₂",
                                      readout_format=".3g", **control_style(60)),
            "sigma2": widgets.FloatSlider(sigma2, min=0.0, max=float(f"{10 * sigma2:.2g}"),
                                          step=float(f"{sigma2 / 10:.2g}"), readout_format=".3g",
                                          description="σ²", **control_style(60)),
        }
        self.layout_rows = [[self.sliders["h1"], self.sliders["h2"]], [self.sliders["sigma2"]]]
        self._build_figure(h_max, data)
        self._finish()

    def _build_figure(self, h_max, data):
        self.fig = new_figure(760, 420)
        plane = self.fig.add_axes([0.08, 0.14, 0.4, 0.69])
        digit = self.fig.add_axes([0.56, 0.04, 0.42, 0.76])
        if data is not None:
            h = self.model.transform(data)[:, :2]  # (n, 2) posterior means
            plane.scatter(h[:, 0], h[:, 1], s=8, color="0.6", linewidths=0, label="data (posterior means)")
        angle = np.linspace(0, 2 * np.pi, 200)
        for radius in (1, 2):
            plane.plot(radius * np.cos(angle), radius * np.sin(angle), color="C0", lw=1.5, ls="--")
        self._point, = plane.plot([0], [0], "o", color="C3", ms=16, mec="white", mew=2, animated=True)
        lim = h_max + 0.3
        plane.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        plane.set_xlabel("h₁", fontsize=FONT["label"])
        plane.set_ylabel("h₂", fontsize=FONT["label"])
        plane.set_title("latent plane (prior: 1σ, 2σ)", fontsize=FONT["label"])
        plane.tick_params(labelsize=FONT["ticks"])
        self._digit = digit.imshow(np.zeros(self.image_shape), cmap="gray_r", vmin=0.0, vmax=self.vmax,
                                   interpolation="nearest", animated=True)
        digit.set(xticks=[], yticks=[])  # keep the frame: white pixels are part of the digit
        self._title = self.fig.text(0.77, 0.97, " \n ", fontsize=FONT["title"], ha="center", va="top",
                                    animated=True)
        self.dynamic = [self._point, self._digit, self._title]

    def generate(self, h1, h2, sigma2):
        """The image :math:`b + h_1 w_1 + h_2 w_2 + \\sigma\\epsilon`: array of shape ``image_shape``."""
        W = self.model.W_
        noise = np.sqrt(max(sigma2, 0.0) * self._noise_pattern) * self._eps
        x = self.model.b_ + h1 * W[:, 0] + h2 * W[:, 1] + noise
        return x.reshape(self.image_shape)

    def draw(self, h1, h2, sigma2):
        """Update the figure for one setting of the sliders."""
        self.last_image = self.generate(h1, h2, sigma2)
        self._digit.set_data(self.last_image)
        self._point.set_data([h1], [h2])
        self._title.set_text(f"x = b + h₁w₁ + h₂w₂ + σε\nh₁ = {h1:.3g}, h₂ = {h2:.3g}, σ² = {sigma2:.3g}")

    def figure(self, h_values=(-2.0, 0.0, 2.0), sigma2_values=None):
        """A static figure for the book: the digit on a grid of ``(h1, h2)`` values, one row of
        grids per ``sigma2`` value (default: 0 and the fitted :math:`\\sigma^2`)."""
        if sigma2_values is None:
            sigma2_values = (0.0, self.initial["sigma2"])
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


def ppca_digit_demo(model=None, *, n_components=10, data=None, **kwargs):
    """Build a :class:`PPCADigitDemo`; without ``model``, fit a PPCA with ``n_components``
    to the training digits dequantized to (0, 1) as in the chapter
    (:func:`~dgm_course.data.dequantize`, seed 0), and show them in the latent plane."""
    if model is None:
        data = dequantize(load_digits("train"), generator=0).numpy()
        model = PPCA(n_components).fit(data)
    return PPCADigitDemo(model, data=data, **kwargs)
