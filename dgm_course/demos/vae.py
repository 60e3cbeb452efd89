r"""Chapter 6 demo: explore the latent plane of a VAE with two latent dimensions.

Two sliders set a point :math:`z = (z_1, z_2)`; the decoder's mean image
:math:`\mathbb E[x \mid z]` is drawn beside the latent plane, where the encoded test digits
(their posterior means :math:`\mu_\phi(x)`) are scattered by class and a marker shows the
current :math:`z`. In a notebook::

    from dgm_course.demos.vae import latent_explorer_demo
    demo = latent_explorer_demo()     # trains a small VAE in a few seconds, one thread
    demo.widget                       # two sliders, reset, the plane and the digit
    demo.figure()                     # decodings along the two axes, for the book
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dgm_course import vae as vae_module
from dgm_course.data import load_digits
from dgm_course.demos.projector import FONT, Demo, control_style, new_figure, one_thread


class LatentExplorerDemo(Demo):
    """Sliders ``z1`` and ``z2`` over a trained 2-latent :class:`~dgm_course.vae.VAE`.

    Parameters
    ----------
    model : VAE with ``n_latent == 2`` and an MLP decoder on 64 pixels
    x, labels : tensors of shape (n, 64) and (n,), optional
        Examples to encode and scatter, coloured by label (default: the binarised test
        digits).
    z_max : float
        The sliders span ``[-z_max, z_max]``.

    Attributes
    ----------
    sliders : dict of ipywidgets.FloatSlider
        ``"z1"`` and ``"z2"``; moving one redraws the digit.
    last_image : array of shape (8, 8)
        The decoded mean image drawn last.
    """

    name = "VAE latent explorer (chapter 6)"

    def __init__(self, model, *, x=None, labels=None, z_max=3.0):
        if not isinstance(model, vae_module.VAE) or model.n_latent != 2 or \
                model.n_features != 64 or model.decoder_kind != "mlp":
            raise ValueError("model must be a VAE of the 8x8 digits with n_latent=2 and an "
                             "MLP decoder")
        if x is None:
            x, labels = load_digits("test", binary=model.likelihood == "bernoulli",
                                    return_labels=True)
        self.model = model
        self.vmax = 16.0 if model.likelihood == "categorical" else 1.0
        with torch.no_grad(), one_thread():
            self.codes = model.encode(x)[0].numpy()  # (n, 2) posterior means
        self.labels = None if labels is None else np.asarray(labels)
        slider = dict(min=-z_max, max=z_max, step=0.05, readout_format=".3g",
                      continuous_update=True, **control_style(50))
        self.sliders = {"z1": widgets.FloatSlider(0.0, description="z₁", **slider),
                        "z2": widgets.FloatSlider(0.0, description="z₂", **slider)}
        self.layout_rows = [[self.sliders["z1"], self.sliders["z2"]]]
        self._build_figure(z_max)
        self._finish()

    def _build_figure(self, z_max):
        self.fig = new_figure(820, 430)
        plane = self.fig.add_axes([0.08, 0.13, 0.44, 0.75])
        digit = self.fig.add_axes([0.6, 0.06, 0.38, 0.72])
        if self.labels is None:
            plane.scatter(self.codes[:, 0], self.codes[:, 1], s=10, color="0.5")
        else:
            for k in np.unique(self.labels):
                sel = self.labels == k
                color = f"C{int(k) % 10}"
                plane.scatter(self.codes[sel, 0], self.codes[sel, 1], s=12, color=color,
                              alpha=0.6, linewidths=0)
                centre = np.median(self.codes[sel], axis=0)  # the class's label, at its median
                plane.text(*centre, str(k), color=color, fontsize=FONT["title"],
                           fontweight="bold", ha="center", va="center",
                           bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none",
                                     alpha=0.7))
        self._point, = plane.plot([0], [0], "X", color="black", ms=18, mec="white", mew=2,
                                  animated=True)
        lim = z_max + 0.2
        plane.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        plane.set_xlabel("z₁", fontsize=FONT["label"])
        plane.set_ylabel("z₂", fontsize=FONT["label"])
        plane.set_title("encoded test digits, by class", fontsize=FONT["label"])
        plane.tick_params(labelsize=FONT["ticks"])
        self._digit = digit.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0.0, vmax=self.vmax,
                                   interpolation="nearest", animated=True)
        digit.set(xticks=[], yticks=[])
        self._title = self.fig.text(0.79, 0.97, " \n ", fontsize=FONT["title"], ha="center",
                                    va="top", animated=True)
        self.dynamic = [self._point, self._digit, self._title]

    def decode(self, z1, z2):
        """The decoder's mean image at :math:`z = (z_1, z_2)`: array of shape (8, 8)."""
        z = torch.tensor([[z1, z2]], dtype=torch.float32)
        return self.model.decode(z)[0].double().numpy().reshape(8, 8)

    def draw(self, z1, z2):
        """Update the figure for one setting of the sliders."""
        self.last_image = self.decode(z1, z2)
        self._digit.set_data(self.last_image)
        self._point.set_data([z1], [z2])
        self._title.set_text(f"decoded mean E[x | z]\nz₁ = {z1:.3g}, z₂ = {z2:.3g}")

    def figure(self, values=(-2.0, -1.0, 0.0, 1.0, 2.0)):
        """A static figure for the book: decodings on a grid of ``(z1, z2)`` values."""
        k = len(values)
        fig, axes = plt.subplots(k, k, figsize=(0.9 * k, 0.9 * k), squeeze=False)
        for i, z2 in enumerate(reversed(values)):
            for j, z1 in enumerate(values):
                ax = axes[i, j]
                ax.imshow(self.decode(z1, z2), cmap="gray_r", vmin=0, vmax=self.vmax,
                          interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if i == k - 1:
                    ax.set_xlabel(f"z₁={z1:g}", fontsize=8)
                if j == 0:
                    ax.set_ylabel(f"z₂={z2:g}", fontsize=8)
        fig.tight_layout()
        return fig


def latent_explorer_demo(model=None, *, epochs=30, seed=0, **kwargs):
    """Build a :class:`LatentExplorerDemo`; without ``model``, train a small VAE (2 latents,
    hidden layers of 128, Bernoulli decoder) on the binarised training digits for ``epochs``
    passes, on one thread (a few seconds)."""
    if model is None:
        model = vae_module.VAE(64, 2, n_hidden=128, generator=seed)
        recipe = vae_module.Recipe(epochs=epochs, batch_size=50, lr=3e-3)
        with one_thread():
            vae_module.train(model, load_digits("train", binary=True), recipe,
                             generator=seed, progress=False)
    return LatentExplorerDemo(model, **kwargs)
