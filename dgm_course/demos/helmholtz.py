r"""Lecture demo for chapter 5: a Gaussian q against a 1-D posterior; log p(x) = ELBO + KL.

The model has one latent :math:`z \sim \mathcal N(0, 1)` and three binary observations,
each 1 with probability :math:`\sigma(a z + b)`; all three are observed to be 1, so the
posterior :math:`p(z \mid x) \propto \mathcal N(z; 0, 1)\,\sigma(az + b)^3` is skewed and no
Gaussian fits it exactly. Two sliders set :math:`q(z) = \mathcal N(\mu, s^2)`; the figure
shows the posterior and :math:`q` on the left and, on the right, :math:`\log p(x)` (fixed),
the ELBO and the gap between them, which is :math:`KL(q \,\|\, p(z \mid x))`::

    demo = elbo_demo()
    demo.widget                        # sliders for q's mean and width, reset, the figure
    demo.sliders["mean"].value = 1.0   # what a test or a lecturer can do programmatically
    demo.figure()                      # the static version for the book

Everything is computed on a fixed grid of :math:`z` (midpoint rule, exact to about 1e-6
nats here): :math:`\log p(x) = \log \int p(x, z)\,dz`, the ELBO
:math:`\int q (\log p(x, z) - \log q)\,dz`, and the KL directly as
:math:`\int q \log (q / p(z \mid x))\,dz`, so that the identity is seen, not assumed.
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import log_expit, logsumexp

from dgm_course.demos.projector import FONT, Demo, control_style, new_figure
from dgm_course.validation import check_number, check_positive


class ELBODemo(Demo):
    """Sliders ``mean`` and ``width`` of a Gaussian :math:`q(z)`; the posterior, log p(x),
    the ELBO and the KL they differ by.

    Attributes
    ----------
    z : array (n_grid,)
        The grid of latent values.
    log_joint : array (n_grid,)
        :math:`\\log p(x, z)` on the grid.
    log_evidence : float
        :math:`\\log p(x)`, nats.
    last : dict
        ``elbo``, ``kl`` and ``gap`` (log p(x) − ELBO) of the last redraw, nats.
    """

    name = "ELBO demo (chapter 5)"

    def __init__(self, *, a=2.0, b=-1.0, n_obs=3, lim=8.0, n_grid=3200):
        self.a = check_number(a, "a")
        self.b = check_number(b, "b")
        lim = check_positive(lim, "lim")
        self._dz = 2 * lim / n_grid
        self.z = -lim + self._dz * (np.arange(n_grid) + 0.5)  # midpoints
        log_prior = -0.5 * self.z**2 - 0.5 * np.log(2 * np.pi)
        self.log_joint = log_prior + n_obs * log_expit(self.a * self.z + self.b)
        self.log_evidence = float(logsumexp(self.log_joint) + np.log(self._dz))
        self.log_posterior = self.log_joint - self.log_evidence
        post = np.exp(self.log_posterior) * self._dz
        mean = float((post * self.z).sum())
        std = float(np.sqrt((post * (self.z - mean) ** 2).sum()))
        self.sliders = {
            "mean": widgets.FloatSlider(round(mean - 1.0, 2), min=-3.0, max=3.0, step=0.05,
                                        description="mean μ of q", readout_format=".3g",
                                        **control_style(130)),
            "width": widgets.FloatLogSlider(round(std, 2), base=10, min=-1.3, max=0.5,
                                            step=0.02, description="width s of q",
                                            readout_format=".3g", **control_style(130)),
        }
        self.layout_rows = [[self.sliders["mean"], self.sliders["width"]]]
        self._build_figure()
        self._finish()

    def terms(self, mean, width):
        """``(elbo, kl)`` of :math:`q = \\mathcal N(mean, width^2)`, nats, on the grid."""
        mean = check_number(mean, "mean")
        width = check_positive(width, "width")
        log_q = (-0.5 * ((self.z - mean) / width) ** 2 - np.log(width)
                 - 0.5 * np.log(2 * np.pi))
        q = np.exp(log_q) * self._dz
        q_total = q.sum()  # 1 up to the grid (and the mass outside it)
        elbo = float((q * (self.log_joint - log_q)).sum() / q_total)
        kl = float((q * (log_q - self.log_posterior)).sum() / q_total)
        return elbo, kl

    def _build_figure(self):
        self.fig = new_figure(900, 430)
        left = self.fig.add_axes([0.08, 0.15, 0.52, 0.62])
        right = self.fig.add_axes([0.74, 0.15, 0.23, 0.62])
        left.plot(self.z, np.exp(self.log_posterior), color="k", lw=3,
                  label="posterior p(z | x)")
        self._q_line, = left.plot(self.z, 0 * self.z, color="C1", lw=3, label="q(z)",
                                  animated=True)
        left.set(xlim=(-3.5, 3.5), ylim=(0, 2.2))
        left.set_xlabel("latent z", fontsize=FONT["label"])
        left.set_ylabel("density (per unit z)", fontsize=FONT["label"])
        left.legend(fontsize=FONT["label"], loc="upper left")
        left.tick_params(labelsize=FONT["ticks"])
        lo = self.log_evidence - 6.0
        self._lo = lo
        right.axhline(self.log_evidence, color="k", lw=3)
        right.text(-0.45, self.log_evidence + 0.15, "log p(x)", fontsize=FONT["label"])
        self._elbo_bar, = right.bar([0], [1.0], bottom=lo, width=0.5, color="C0",
                                    animated=True)
        self._kl_bar, = right.bar([0], [1.0], bottom=lo, width=0.5, color="C3",
                                  animated=True)
        right.set(xlim=(-0.5, 0.5), ylim=(lo, self.log_evidence + 0.8), xticks=[])
        right.set_ylabel("nats", fontsize=FONT["label"])
        right.tick_params(labelsize=FONT["ticks"])
        right.set_title("ELBO (blue) + KL (red)", fontsize=FONT["label"])
        self._title = self.fig.text(0.5, 0.97, " \n ", fontsize=FONT["title"], ha="center",
                                    va="top", animated=True)
        self.dynamic = [self._q_line, self._elbo_bar, self._kl_bar, self._title]

    def draw(self, mean, width):
        """Update the figure for ``q = N(mean, width²)``."""
        elbo, kl = self.terms(mean, width)
        self.last = {"elbo": elbo, "kl": kl, "gap": self.log_evidence - elbo}
        q = np.exp(-0.5 * ((self.z - mean) / width) ** 2) / (width * np.sqrt(2 * np.pi))
        self._q_line.set_ydata(q)
        shown = max(elbo, self._lo)  # a very poor q: the bar stops at the axis
        self._elbo_bar.set_height(shown - self._lo)
        self._kl_bar.set_y(shown)
        self._kl_bar.set_height(self.log_evidence - shown)
        self._title.set_text(f"q = N(μ = {mean:.3g}, s = {width:.3g})\n"
                             f"log p(x) = {self.log_evidence:.3g}  =  ELBO {elbo:.3g}  +  "
                             f"KL {kl:.3g}  nats")

    def figure(self, settings=((-1.0, 0.3), (0.3, 1.0), (0.6, 0.45))):
        """A static figure for the book: q against the posterior and the three terms, at a
        few ``(mean, width)`` settings."""
        fig, axes = plt.subplots(1, len(settings), figsize=(3.4 * len(settings), 3.0),
                                 sharey=True)
        for ax, (mean, width) in zip(np.atleast_1d(axes), settings):
            elbo, kl = self.terms(mean, width)
            q = np.exp(-0.5 * ((self.z - mean) / width) ** 2) / (width * np.sqrt(2 * np.pi))
            ax.plot(self.z, np.exp(self.log_posterior), color="k", lw=2, label="p(z | x)")
            ax.plot(self.z, q, color="C1", lw=2, label="q(z)")
            ax.set(xlim=(-3.5, 3.5), ylim=(0, 1.6), xlabel="latent z")
            ax.set_title(f"μ={mean:g}, s={width:g}\nELBO {elbo:.3f}, KL {kl:.3f} nats",
                         fontsize=9)
        np.atleast_1d(axes)[0].set_ylabel("density (per unit z)")
        np.atleast_1d(axes)[0].legend(fontsize=8)
        fig.suptitle(f"log p(x) = {self.log_evidence:.3f} nats = ELBO + KL at every q",
                     fontsize=10)
        fig.tight_layout()
        return fig


def elbo_demo(**kwargs):
    """Build an :class:`ELBODemo` (ready at once: nothing is trained)."""
    return ELBODemo(**kwargs)
