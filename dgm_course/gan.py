r"""Chapter 7: generative adversarial networks.

A generator :math:`G` maps noise :math:`z \sim \mathcal N(0, I)` to data space; a
discriminator (or critic) :math:`D` tells real examples from generated ones. They play

.. math::
    \min_G \max_D \; V(D, G) = \mathbb E_{p_{data}}[\log D(x)]
    + \mathbb E_{p_z}[\log(1 - D(G(z)))]

(Goodfellow et al. 2014). Inside, from the small parts to the whole:

* :class:`Generator`, :class:`Discriminator` — MLPs for the 2-D toys and the 8×8 digits; the
  discriminator can judge ``pack`` samples jointly (PacGAN, Lin et al. 2018). Generators
  only ``sample``: a GAN has no likelihood.
* losses on the discriminator's logits — :func:`discriminator_loss`,
  :func:`generator_loss` (``"minimax"``: the saturating :math:`\log(1 - D(G(z)))`;
  ``"non_saturating"``: :math:`-\log D(G(z))`), the Wasserstein critic and generator losses
  (Arjovsky et al. 2017) with :func:`clip_weights`, and :func:`gradient_penalty` (WGAN-GP,
  Gulrajani et al. 2017);
* :class:`Recipe` and :func:`make_step` — one step function holding both optimisers
  (``k`` critic updates per generator update), trained by :func:`dgm_course.training.fit`
  through :func:`train`;
* :func:`rejection_sample` — discriminator rejection sampling (Azadi et al. 2019): the
  optimal discriminator's odds :math:`D/(1-D) = p_{data}/p_g` correct the generator;
* quadrature on a 1-D grid for the theory: :func:`optimal_discriminator`,
  :func:`game_value`, :func:`jensen_shannon`;
* :func:`toy_coverage`, :func:`toy_coverages` (several runs, one per core),
  :func:`mode_table` and ``python -m dgm_course.gan``: modes captured and high-quality
  samples on the ring and the grid by the VEEGAN protocol (Srivastava et al. 2017).
"""
import argparse
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import data, training
from dgm_course.evaluation import mode_coverage
from dgm_course.utils import make_generator, seeded_init
from dgm_course.validation import (check_bool, check_choice, check_data, check_int,
                                   check_nonnegative, check_positive, check_same_length,
                                   model_dtype)

LOSSES = ("minimax", "non_saturating", "wasserstein_clip", "wasserstein_gp")
"""The four ways to train a GAN here: the original game with the saturating (minimax) or
the non-saturating generator loss, and the Wasserstein GAN with weight clipping or with a
gradient penalty."""


# ---------------------------------------------------------------------------------------
# Networks


def _mlp(n_in, n_hidden, n_out, n_layers, activation):
    layers, width = [], n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, n_hidden), activation()]
        width = n_hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    r"""An MLP generator :math:`x = G(z)`, :math:`z \sim \mathcal N(0, I_{n\_latent})`.

    Parameters
    ----------
    n_features : int
        Dimension of the data (2 for the toys, 64 for the digits).
    n_latent : int
        Dimension of the noise :math:`z`.
    n_hidden, n_layers : int
        Width and number of hidden ReLU layers.
    output : {"linear", "sigmoid"}
        ``"sigmoid"`` keeps outputs in (0, 1), for digits scaled to [0, 1].
    generator : int or torch.Generator, optional
        Seeds the initial weights.
    """

    def __init__(self, n_features=2, n_latent=2, *, n_hidden=128, n_layers=3, output="linear",
                 generator=None):
        super().__init__()
        self.n_features = check_int(n_features, "n_features", 1)
        self.n_latent = check_int(n_latent, "n_latent", 1)
        check_int(n_hidden, "n_hidden", 1)
        check_int(n_layers, "n_layers", 0)
        self.output = check_choice(output, "output", ("linear", "sigmoid"))
        self.net = _mlp(self.n_latent, n_hidden, self.n_features, n_layers, nn.ReLU)
        seeded_init(self, generator)

    def forward(self, z):
        """``G(z)`` for noise of shape ``(n, n_latent)``: shape ``(n, n_features)``, differentiable."""
        x = self.net(z)
        return torch.sigmoid(x) if self.output == "sigmoid" else x

    def sample(self, n, *, generator=None, return_latent=False):
        """``n`` samples of shape ``(n, n_features)`` (no gradient); with ``return_latent``
        also the noise ``z`` of shape ``(n, n_latent)``. The same seed gives the same samples."""
        n = check_int(n, "n")
        check_bool(return_latent, "return_latent")
        z = torch.randn(n, self.n_latent, generator=make_generator(generator), dtype=model_dtype(self))
        with torch.no_grad():
            x = self(z)
        return (x, z) if return_latent else x


class Discriminator(nn.Module):
    r"""An MLP discriminator (or Wasserstein critic) with leaky-ReLU hidden layers.

    It returns a real-valued **logit** per example, :math:`D(x) = \sigma(\mathrm{logit}(x))`
    for the original game and the critic's score :math:`f(x)` for a Wasserstein GAN. With
    ``pack = m`` (PacGAN) it judges ``m`` consecutive rows jointly: an input of ``n`` rows
    gives ``n // m`` logits.

    Parameters
    ----------
    n_features : int
    n_hidden, n_layers : int
    pack : int
        Samples judged jointly (1: the ordinary discriminator).
    generator : int or torch.Generator, optional
        Seeds the initial weights.
    """

    def __init__(self, n_features=2, *, n_hidden=128, n_layers=3, pack=1, generator=None):
        super().__init__()
        self.n_features = check_int(n_features, "n_features", 1)
        self.pack = check_int(pack, "pack", 1)
        check_int(n_hidden, "n_hidden", 1)
        check_int(n_layers, "n_layers", 0)
        self.net = _mlp(self.n_features * self.pack, n_hidden, 1, n_layers,
                        lambda: nn.LeakyReLU(0.2))
        seeded_init(self, generator)

    def forward(self, x):
        """Logits of ``x`` (shape ``(n, n_features)``, ``n`` a multiple of ``pack``): ``(n // pack,)``."""
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(-1)

    def probability(self, x):
        """:math:`D(x)`, the probability that ``x`` is real, shape ``(n // pack,)``, no gradient."""
        x = check_data(x, "x", n_features=self.n_features, dtype=model_dtype(self))
        if x.shape[0] % self.pack:
            raise ValueError(f"x must have a multiple of pack={self.pack} rows, got {x.shape[0]}")
        with torch.no_grad():
            return torch.sigmoid(self(x))


class GAN(nn.Module):
    """A generator ``G`` and a discriminator ``D``, trained together (see :func:`train`)."""

    def __init__(self, G, D):
        super().__init__()
        if not isinstance(G, Generator) or not isinstance(D, Discriminator):
            raise ValueError(f"G and D must be a Generator and a Discriminator, got "
                             f"{type(G).__name__} and {type(D).__name__}")
        if G.n_features != D.n_features:
            raise ValueError(f"G and D must agree on n_features, got {G.n_features} and {D.n_features}")
        self.G, self.D = G, D

    def sample(self, n, *, generator=None, return_latent=False):
        """The generator's samples (see :meth:`Generator.sample`)."""
        return self.G.sample(n, generator=generator, return_latent=return_latent)


def toy_gan(*, n_latent=2, n_hidden=128, n_layers=3, pack=1, generator=0):
    """A GAN for the 2-D toys: ReLU generator and leaky-ReLU discriminator, 3 hidden layers."""
    gen = make_generator(generator)
    return GAN(Generator(2, n_latent, n_hidden=n_hidden, n_layers=n_layers, generator=gen),
               Discriminator(2, n_hidden=n_hidden, n_layers=n_layers, pack=pack, generator=gen))


def digits_gan(*, n_latent=16, n_hidden=256, n_layers=2, pack=1, generator=0):
    """A GAN for the 8×8 digits scaled to [0, 1] (grey level / 16): sigmoid outputs."""
    gen = make_generator(generator)
    return GAN(Generator(64, n_latent, n_hidden=n_hidden, n_layers=n_layers, output="sigmoid",
                         generator=gen),
               Discriminator(64, n_hidden=n_hidden, n_layers=n_layers, pack=pack, generator=gen))


# ---------------------------------------------------------------------------------------
# Losses, on the discriminator's logits (D = sigmoid(logit))


def _logits(t, name):
    return check_data(t, name, ndim=1)


def discriminator_loss(real_logits, fake_logits):
    r"""The discriminator's loss :math:`-V(D, G)`, the cross-entropy of real against fake:

    .. math::
        -\tfrac1n \textstyle\sum_i \log D(x_i) - \tfrac1m \sum_j \log(1 - D(G(z_j))),
        \qquad \log D = -\mathrm{softplus}(-\ell), \; \log(1 - D) = -\mathrm{softplus}(\ell).

    ``real_logits`` (n,), ``fake_logits`` (m,): a 0-d tensor, in nats.
    """
    real_logits, fake_logits = _logits(real_logits, "real_logits"), _logits(fake_logits, "fake_logits")
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits, kind="non_saturating"):
    r"""The generator's loss on the logits of its samples, a 0-d tensor.

    ``"minimax"``: :math:`\frac1m\sum_j \log(1 - D(G(z_j)))`, the game's own term, whose
    gradient vanishes when :math:`D(G(z)) \to 0` (it *saturates*); ``"non_saturating"``:
    :math:`-\frac1m\sum_j \log D(G(z_j))`, with the same fixed points and strong gradients
    exactly where the generator is losing (Goodfellow et al. 2014).
    """
    fake_logits = _logits(fake_logits, "fake_logits")
    check_choice(kind, "kind", ("minimax", "non_saturating"))
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    return F.softplus(-fake_logits).mean()


def wasserstein_critic_loss(real_scores, fake_scores):
    r"""The critic's loss :math:`\frac1m\sum_j f(G(z_j)) - \frac1n\sum_i f(x_i)`; its negative
    estimates the Wasserstein-1 distance when :math:`f` is 1-Lipschitz (Arjovsky et al. 2017)."""
    real_scores, fake_scores = _logits(real_scores, "real_scores"), _logits(fake_scores, "fake_scores")
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores):
    r"""The Wasserstein generator's loss :math:`-\frac1m\sum_j f(G(z_j))`."""
    return -_logits(fake_scores, "fake_scores").mean()


def clip_weights(critic, c):
    """Clamp every parameter of ``critic`` to ``[-c, c]`` in place (WGAN's crude Lipschitz bound)."""
    c = check_positive(c, "c")
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)


def gradient_penalty(critic, real, fake, *, generator=None):
    r"""WGAN-GP's penalty :math:`\mathbb E_{\hat x}[(\lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1)^2]`.

    :math:`\hat x = \epsilon x + (1 - \epsilon)\tilde x` with one :math:`\epsilon \sim U(0, 1)`
    per pair of a real ``x`` and a generated :math:`\tilde x` (rows of ``real`` and ``fake``,
    shape ``(n, D)``); with packing, the gradient is taken with respect to each packed group of
    rows. Differentiable in the critic's parameters (Gulrajani et al. 2017). A 0-d tensor.
    """
    dtype = model_dtype(critic)
    real = check_data(real, "real", dtype=dtype)
    fake = check_data(fake, "fake", n_features=real.shape[1], dtype=dtype)
    check_same_length("real", real, "fake", fake)
    eps = torch.rand(real.shape[0], 1, generator=make_generator(generator), dtype=dtype)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    grad, = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (n, D)
    norms = grad.reshape(scores.shape[0], -1).norm(dim=1)  # one norm per (packed) input
    return ((norms - 1) ** 2).mean()


def rejection_sample(gan, n, *, generator=None, batch_size=4096, max_batches=100):
    r"""``n`` samples of ``gan`` corrected by its discriminator (Azadi et al. 2019).

    If the discriminator were optimal, :math:`D/(1 - D) = e^{\ell(x)} = p_{data}(x)/p_g(x)`
    (chapter 7, eq. gan-dstar), and accepting a generated :math:`x` with probability
    :math:`e^{\ell(x) - \ell_{max}}` would turn :math:`p_g` into :math:`p_{data}` exactly
    (rejection sampling with the envelope :math:`e^{\ell_{max}} p_g`). Here
    :math:`\ell_{max}` is the largest logit among the first ``batch_size`` candidates, so
    the correction is only as good as the discriminator and that estimate. Needs an unpacked
    discriminator. Returns a tensor of shape ``(n, D)``; raises ``RuntimeError`` if fewer
    than ``n`` are accepted from ``max_batches`` batches.
    """
    if not isinstance(gan, GAN) or gan.D.pack != 1:
        raise ValueError("gan must be a GAN whose discriminator judges single samples (pack=1)")
    n = check_int(n, "n")
    batch_size = check_int(batch_size, "batch_size", 1)
    max_batches = check_int(max_batches, "max_batches", 1)
    gen = make_generator(generator)
    kept, count, logit_max = [], 0, None
    for _ in range(max_batches):
        if count >= n:
            break
        x = gan.G.sample(batch_size, generator=gen)  # (batch_size, D)
        with torch.no_grad():
            logits = gan.D(x)
        if logit_max is None:
            logit_max = logits.max()
        accept = torch.rand(batch_size, generator=gen, dtype=logits.dtype) < torch.exp(
            (logits - logit_max).clamp(max=0))
        kept.append(x[accept])
        count += int(accept.sum())
    if count < n:
        raise RuntimeError(f"only {count} of {n} samples accepted from {max_batches} batches of "
                           f"{batch_size}; is the discriminator far from optimal?")
    return torch.cat(kept)[:n] if kept else gan.G.sample(0)


# ---------------------------------------------------------------------------------------
# Training: one step function, two optimisers, driven by training.fit


@dataclass
class Recipe:
    """How to train a GAN (the chapter's hyper-parameter cell in one object)."""

    loss: str = "non_saturating"  # one of LOSSES
    k: int = 1  # discriminator (critic) updates per generator update
    pack: int = 1  # samples the discriminator judges jointly (PacGAN); used by toy_coverage
    rejection: bool = False  # toy_coverage samples by discriminator rejection (needs pack=1)
    n_steps: int = 2000  # discriminator updates in all
    batch_size: int = 256  # real examples per discriminator update
    lr: float = 1e-3  # Adam's learning rate for both players (RMSprop for weight clipping)
    beta1: float = 0.5  # Adam's first beta (0.5 is the GAN habit; 0.9 is Adam's default)
    final_lr: float = 0.1  # the learning rate decays linearly to final_lr * lr
    clip: float = 0.01  # weight clipping bound c ("wasserstein_clip")
    penalty: float = 10.0  # gradient-penalty weight lambda ("wasserstein_gp")

    def __post_init__(self):
        check_choice(self.loss, "loss", LOSSES)
        check_int(self.k, "k", 1)
        check_int(self.pack, "pack", 1)
        check_bool(self.rejection, "rejection")
        if self.rejection and self.pack != 1:
            raise ValueError(f"rejection sampling needs pack=1, got pack={self.pack}")
        check_int(self.n_steps, "n_steps", 1)
        check_int(self.batch_size, "batch_size", 1)
        check_positive(self.lr, "lr")
        check_nonnegative(self.beta1, "beta1")
        check_positive(self.final_lr, "final_lr")
        check_positive(self.clip, "clip")
        check_nonnegative(self.penalty, "penalty")


def make_step(gan, recipe):
    r"""The step function of GAN training, for :func:`dgm_course.training.fit`.

    Every call updates the discriminator once on a batch of real data and as many generated
    samples; every ``recipe.k``-th call (``ctx.step % k == k - 1``) then updates the
    generator once on fresh noise. All noise comes from ``ctx.generator``; both learning
    rates decay linearly with ``ctx.progress`` from ``lr`` to ``final_lr * lr``. Returns ``step``,
    with its two optimisers as ``step.optimizers = (optimizer_D, optimizer_G)``.

    Metrics: ``"d_loss"`` (the discriminator's or critic's loss before its update, penalty
    included) and ``"g_loss"`` (the generator's loss on this batch's samples; on the calls
    without a generator update it is evaluated, not minimised).
    """
    if not isinstance(gan, GAN):
        raise ValueError(f"gan must be a GAN, got {type(gan).__name__}")
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    G, D, loss, pack = gan.G, gan.D, recipe.loss, gan.D.pack
    if loss == "wasserstein_clip":  # Arjovsky et al. use RMSprop: momentum hurts with clipping
        opt_d = torch.optim.RMSprop(D.parameters(), lr=recipe.lr)
        opt_g = torch.optim.RMSprop(G.parameters(), lr=recipe.lr)
    else:
        betas = (recipe.beta1, 0.999 if loss != "wasserstein_gp" else 0.9)
        opt_d = torch.optim.Adam(D.parameters(), lr=recipe.lr, betas=betas)
        opt_g = torch.optim.Adam(G.parameters(), lr=recipe.lr, betas=betas)
    wasserstein = loss.startswith("wasserstein")

    def g_loss_of(fake_logits):
        if wasserstein:
            return wasserstein_generator_loss(fake_logits)
        return generator_loss(fake_logits, loss)

    def step(x, ctx):
        for opt in (opt_d, opt_g):  # linear decay from lr to final_lr * lr
            for group in opt.param_groups:
                group["lr"] = recipe.lr * (1 - (1 - recipe.final_lr) * ctx.progress)
        x = x[: x.shape[0] - x.shape[0] % pack]  # (n, D), n a multiple of pack
        z = torch.randn(x.shape[0], G.n_latent, generator=ctx.generator, dtype=x.dtype)
        with torch.no_grad():
            fake = G(z)  # (n, D)
        real_logits, fake_logits = D(x), D(fake)  # (n // pack,) each
        if wasserstein:
            d_loss = wasserstein_critic_loss(real_logits, fake_logits)
            if loss == "wasserstein_gp":
                d_loss = d_loss + recipe.penalty * gradient_penalty(D, x, fake, generator=ctx.generator)
        else:
            d_loss = discriminator_loss(real_logits, fake_logits)
        training.gradient_step(opt_d, d_loss)
        if loss == "wasserstein_clip":
            clip_weights(D, recipe.clip)
        if ctx.step % recipe.k == recipe.k - 1:
            z = torch.randn(x.shape[0], G.n_latent, generator=ctx.generator, dtype=x.dtype)
            g_loss = training.gradient_step(opt_g, g_loss_of(D(G(z))))
        else:
            g_loss = g_loss_of(fake_logits.detach())
        return {"d_loss": d_loss.detach(), "g_loss": g_loss}

    step.optimizers = (opt_d, opt_g)
    return step


def train(gan, x, recipe=None, *, generator=None, progress=True):
    """Train ``gan`` on the rows of ``x`` (shape ``(n, D)``) by :func:`make_step` and
    :func:`dgm_course.training.fit`: ``recipe.n_steps`` discriminator updates on shuffled
    minibatches (as many epochs as that takes). Seeded by ``generator``. Returns the
    :class:`~dgm_course.training.History` (metrics ``"d_loss"`` and ``"g_loss"``)."""
    recipe = Recipe() if recipe is None else recipe
    step = make_step(gan, recipe)
    x = check_data(x, "x", n_features=gan.G.n_features, dtype=model_dtype(gan),
                   min_rows=gan.D.pack)
    steps_per_epoch = math.ceil(x.shape[0] / recipe.batch_size)
    return training.fit(gan, step, x, epochs=math.ceil(recipe.n_steps / steps_per_epoch),
                        batch_size=recipe.batch_size, max_steps=recipe.n_steps,
                        generator=generator, progress=progress, desc=f"GAN ({recipe.loss})")


# ---------------------------------------------------------------------------------------
# The theory on a 1-D grid: optimal discriminator, value of the game, Jensen-Shannon


def _grid_densities(x, p_data, p_g):
    x = check_data(x, "x", ndim=1, dtype=torch.float64, min_rows=2)
    p_data = check_data(p_data, "p_data", ndim=1, dtype=torch.float64)
    p_g = check_data(p_g, "p_g", ndim=1, dtype=torch.float64)
    check_same_length("x", x, "p_data", p_data)
    check_same_length("x", x, "p_g", p_g)
    if bool((p_data < 0).any() | (p_g < 0).any()):
        raise ValueError("p_data and p_g must be densities (non-negative)")
    return x, p_data, p_g


def optimal_discriminator(p_data, p_g):
    r"""The optimal discriminator :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))` from the
    two densities on the same points (arrays of shape ``(n,)``); 1/2 where both vanish."""
    p_data = check_data(p_data, "p_data", ndim=1, dtype=torch.float64)
    p_g = check_data(p_g, "p_g", ndim=1, dtype=torch.float64)
    check_same_length("p_data", p_data, "p_g", p_g)
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-300), torch.full_like(total, 0.5))


def game_value(d, x, p_data, p_g):
    r"""The value :math:`V(D, G) = \int p_{data} \log D + p_g \log(1 - D)\,dx` by the
    trapezoidal rule on the 1-D grid ``x``, for discriminator values ``d`` on that grid
    (a float, in nats). At :math:`D^*` it equals :math:`-\log 4 + 2\,\mathrm{JS}`."""
    x, p_data, p_g = _grid_densities(x, p_data, p_g)
    d = check_data(d, "d", ndim=1, dtype=torch.float64)
    check_same_length("x", x, "d", d)
    integrand = torch.special.xlogy(p_data, d) + torch.special.xlogy(p_g, 1 - d)
    return float(torch.trapezoid(integrand, x))


def jensen_shannon(x, p_data, p_g):
    r"""The Jensen–Shannon divergence :math:`\frac12 KL(p \| m) + \frac12 KL(q \| m)`,
    :math:`m = (p + q)/2`, by the trapezoidal rule on the 1-D grid ``x`` (nats, in [0, log 2])."""
    x, p, q = _grid_densities(x, p_data, p_g)
    m = (p + q) / 2  # m >= p/2 and m >= q/2, so the ratios below are at most 2
    safe_m = torch.where(m > 0, m, torch.ones_like(m))
    integrand = 0.5 * (torch.special.xlogy(p, p / safe_m) + torch.special.xlogy(q, q / safe_m))
    return float(torch.trapezoid(integrand, x))


# ---------------------------------------------------------------------------------------
# Mode coverage on the ring and the grid (VEEGAN's protocol), and the command line

def veegan_toys():
    """The ring and the grid with VEEGAN's parameters (Srivastava et al. 2017): 8 Gaussians of
    std 0.02 on a circle of radius 2, and 25 Gaussians of std 0.05 centred on
    :math:`\\{-4, -2, 0, 2, 4\\}^2`."""
    return {"ring": data.ring_of_gaussians(8, radius=2.0, std=0.02),
            "grid": data.grid_of_gaussians(5, spacing=2.0, std=0.05)}


RECIPES = {
    "GAN": Recipe(loss="minimax", n_steps=2000),
    "NS + DRS": Recipe(loss="non_saturating", n_steps=2000, rejection=True),
}
"""The table's rows: the plain GAN (the original minimax loss) and the chapter's best recipe
(the non-saturating loss, sampled by discriminator rejection)."""


def toy_coverage(toy, recipe, *, seed=0, n_samples=2500, progress=False):
    """Train a :func:`toy_gan` on ``toy`` with ``recipe`` (seeded by ``seed``) and measure its
    :func:`~dgm_course.evaluation.mode_coverage` on ``n_samples`` samples.

    Returns ``(gan, (modes captured, fraction of high-quality samples))``."""
    seed = check_int(seed, "seed")
    gan = toy_gan(pack=recipe.pack, generator=seed)
    x = toy.sample(recipe.n_steps * recipe.batch_size, generator=seed + 1)
    train(gan, x, recipe, generator=seed + 2, progress=progress)
    if recipe.rejection:
        samples = rejection_sample(gan, n_samples, generator=seed + 3)
    else:
        samples = gan.sample(n_samples, generator=seed + 3)
    return gan, mode_coverage(samples, toy.means, float(toy.stds[0]))


def toy_coverages(runs, *, processes=2):
    """:func:`toy_coverage` for each ``(toy, recipe, seed)`` in ``runs``, ``processes`` runs
    at a time, each in its own Python process on one PyTorch thread.

    Small GANs keep one core busy with one thread; two processes use both cores fully,
    where two threads in one process gain little. Every run is seeded, so the results equal
    those of calling :func:`toy_coverage` in a loop (tested). Returns the list of
    ``(gan, coverage)``, in the order of ``runs``; ``processes=1`` runs them here."""
    processes = check_int(processes, "processes", minimum=1)
    runs = list(runs)
    for i, run in enumerate(runs):
        if not (isinstance(run, tuple) and len(run) == 3):
            raise ValueError(f"runs[{i}] must be a tuple (toy, recipe, seed), got "
                             f"{type(run).__name__} {run!r:.60}")
        check_int(run[2], f"the seed of runs[{i}]")
    if processes == 1:
        return [toy_coverage(toy, recipe, seed=seed) for toy, recipe, seed in runs]
    # "spawn": fresh interpreters, safe after PyTorch has started its own threads
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                             initializer=torch.set_num_threads, initargs=(1,)) as pool:
        return list(pool.map(_toy_coverage_of, runs))


def _toy_coverage_of(run):
    toy, recipe, seed = run
    return toy_coverage(toy, recipe, seed=seed)


def mode_table(recipes=None, *, seeds=(0, 1, 2), processes=2):
    """Modes captured and % high-quality samples, mean and std over ``seeds``, per toy and
    recipe: a dict ``{(toy, name): (modes array, high-quality % array)}``. The runs share
    ``processes`` processes (:func:`toy_coverages`)."""
    recipes = RECIPES if recipes is None else recipes
    seeds = list(seeds)
    cells = [(toy_name, toy, name, recipe) for toy_name, toy in veegan_toys().items()
             for name, recipe in recipes.items()]
    runs = [(toy, recipe, s) for _, toy, _, recipe in cells for s in seeds]
    coverages = [cov for _, cov in toy_coverages(runs, processes=processes)]
    table = {}
    for k, (toy_name, _, name, _) in enumerate(cells):
        mine = coverages[k * len(seeds):(k + 1) * len(seeds)]
        table[toy_name, name] = (np.array([c.modes for c in mine]),
                                 100 * np.array([c.high_quality for c in mine]))
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description="Modes captured and high-quality samples of "
                                     "GANs on the ring and the grid (VEEGAN's protocol).")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per cell (default 3)")
    parser.add_argument("--steps", type=int, default=2000,
                        help="discriminator updates per run (default 2000, the chapter's "
                        "budget)")
    parser.add_argument("--processes", type=int, default=2,
                        help="runs trained at once, one per core (default 2)")
    args = parser.parse_args(argv)
    recipes = {name: replace(recipe, n_steps=args.steps) for name, recipe in RECIPES.items()}
    table = mode_table(recipes, seeds=range(args.seeds), processes=args.processes)
    print(f"{args.steps} steps, {args.seeds} seeds: mean ± std over seeds")
    print(f"{'toy':<6}{'recipe':<16}{'modes':>14}{'high quality %':>20}")
    for (toy, name), (modes, hq) in table.items():
        print(f"{toy:<6}{name:<16}{modes.mean():>8.2f} ± {modes.std():<4.2f}"
              f"{hq.mean():>12.1f} ± {hq.std():<4.1f}")


if __name__ == "__main__":
    main()
