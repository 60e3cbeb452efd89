r"""Chapter 6: variational autoencoders.

A VAE (Kingma & Welling 2014; Rezende, Mohamed & Wierstra 2014) is a latent-variable
model :math:`p(z)\,p_\theta(x \mid z)` with :math:`p(z) = \mathcal N(0, I)`, trained
together with an *encoder* :math:`q_\phi(z \mid x) = \mathcal N(\mu_\phi(x),
\mathrm{diag}\,\sigma^2_\phi(x))` by maximising the ELBO (chapter 5, eq. elbo-gap)

.. math::
    \mathcal L(x) = \underbrace{\mathbb E_{q}[\log p_\theta(x \mid z)]}_{\text{reconstruction}}
    - \underbrace{KL\big(q_\phi(z \mid x) \,\|\, p(z)\big)}_{\text{closed form}}
    \le \log p_\theta(x),

with the *reparameterised* draw :math:`z = \mu + \sigma \odot \epsilon`,
:math:`\epsilon \sim \mathcal N(0, I)`, so that the gradient flows through the sample.
Inside, from the small parts to the whole:

* :func:`gaussian_kl` — KL between diagonal Gaussians in closed form;
  :func:`reparameterize` — the reparameterised draw;
* :class:`ConditionalMADE` — MADE (Germain et al. 2015, chapter 4) whose hidden layer also
  sees :math:`z`: a strong autoregressive decoder, for posterior collapse (Bowman et al.
  2016);
* :class:`VAE` — encoder, decoder (Bernoulli, 17-way categorical or Gaussian; MLP or
  MADE), :meth:`VAE.elbo` (reconstruction and KL reported separately),
  :meth:`VAE.iwae_bound` (Burda et al. 2016), :meth:`VAE.log_likelihood_estimate`,
  :meth:`VAE.log_marginal_quadrature` (exact :math:`\log p(x)` for a 2-D latent space),
  :meth:`VAE.gradient_samples` (reparameterised against score-function gradients);
* :class:`Recipe`, :func:`make_step`, :func:`train` — training by
  :func:`dgm_course.training.fit`, with KL warm-up (Bowman et al. 2016; Sønderby et al.
  2016) and free bits (Kingma et al. 2016) as options;
* ``python -m dgm_course.vae`` — the chapter's measures on the digits.

Log-likelihoods and bounds are in nats per example, summed over pixels.
"""
import argparse
import math
import time
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import data, training
from dgm_course.evaluation import ImportanceEstimate, log_mean_exp
from dgm_course.masked_autoregressive import MaskedLinear, made_degrees, made_masks
from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_choice, check_data, check_int,
                                   check_nonnegative, check_number, check_positive,
                                   model_dtype)

LIKELIHOODS = ("bernoulli", "categorical", "gaussian")
DECODERS = ("mlp", "made")
ESTIMATORS = ("reparameterisation", "score_function")
LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------------------------------
# The two Gaussian pieces


def gaussian_kl(mu_q, logvar_q, mu_p=None, logvar_p=None):
    r"""KL between diagonal Gaussians, in closed form, summed over the last dimension.

    .. math::
        KL(\mathcal N(\mu_q, \sigma_q^2) \,\|\, \mathcal N(\mu_p, \sigma_p^2))
        = \tfrac12 \textstyle\sum_j \Big[\log\frac{\sigma_{p,j}^2}{\sigma_{q,j}^2}
        + \frac{\sigma_{q,j}^2 + (\mu_{q,j} - \mu_{p,j})^2}{\sigma_{p,j}^2} - 1\Big]
        \qquad \text{(eq. vae-kl)}

    Parameters
    ----------
    mu_q, logvar_q : tensor of shape (..., L)
        Mean and log-variance :math:`\log \sigma^2` of :math:`q`.
    mu_p, logvar_p : tensor broadcastable to (..., L), optional
        Those of :math:`p`; by default the standard normal (0 and 0).

    Returns
    -------
    tensor of shape (...), nats, :math:`\ge 0`; differentiable.
    """
    mu_q = check_data(mu_q, "mu_q", ndim=None)
    logvar_q = check_data(logvar_q, "logvar_q", ndim=None, dtype=mu_q.dtype)
    if mu_q.shape != logvar_q.shape or mu_q.dim() == 0:
        raise ValueError(f"mu_q and logvar_q must have the same shape (..., L), got "
                         f"{tuple(mu_q.shape)} and {tuple(logvar_q.shape)}")
    mu_p = torch.zeros_like(mu_q) if mu_p is None else check_data(
        mu_p, "mu_p", ndim=None, dtype=mu_q.dtype)
    logvar_p = torch.zeros_like(mu_q) if logvar_p is None else check_data(
        logvar_p, "logvar_p", ndim=None, dtype=mu_q.dtype)
    terms = (logvar_p - logvar_q
             + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1)
    return 0.5 * terms.sum(-1)


def reparameterize(mu, logvar, *, n_samples=None, generator=None):
    r"""Reparameterised draws :math:`z = \mu + \sigma \odot \epsilon`, :math:`\sigma =
    e^{\frac12 \log \sigma^2}`, :math:`\epsilon \sim \mathcal N(0, I)`: differentiable in
    ``mu`` and ``logvar`` (shape (n, L)). Returns (n, L), or (n_samples, n, L)."""
    mu = check_data(mu, "mu", ndim=None)
    logvar = check_data(logvar, "logvar", ndim=None, dtype=mu.dtype)
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} "
                         f"and {tuple(logvar.shape)}")
    shape = mu.shape if n_samples is None else (
        check_int(n_samples, "n_samples", 1), *mu.shape)
    eps = torch.randn(shape, generator=make_generator(generator), dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


class ELBO(NamedTuple):
    """An ELBO and its two terms, per example (each of shape (n,), nats)."""

    total: torch.Tensor  # reconstruction - kl
    reconstruction: torch.Tensor  # E_q[log p(x | z)], Monte Carlo
    kl: torch.Tensor  # KL(q(z | x) || p(z)), closed form


# ---------------------------------------------------------------------------------------
# Networks


def _mlp(n_in, n_hidden, n_out, n_layers):
    layers, width = [], n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, n_hidden), nn.ReLU()]
        width = n_hidden
    return nn.Sequential(*layers, nn.Linear(width, n_out))


class ConditionalMADE(nn.Module):
    r"""MADE with one hidden layer that also sees the latent :math:`z`:

    .. math::
        h = \mathrm{relu}\big(x (W \odot M) + z U + c\big), \qquad
        a = h (V \odot M^{\text{out}}) + b,

    so :math:`p(x \mid z) = \prod_i p(x_i \mid x_{<i}, z)` is autoregressive in raster
    order. ``logits(x, z)``: x (..., D), z (..., L) → (..., D) or (..., D, levels).
    """

    def __init__(self, d, n_latent, n_hidden, *, levels=2, generator=None):
        super().__init__()
        gen = make_generator(generator)
        self.d, self.levels = d, levels
        degrees = made_degrees(torch.arange(d), [n_hidden], gen)
        masks = made_masks(degrees, levels)
        n_out = d if levels == 2 else d * levels
        self.hidden = MaskedLinear(d, n_hidden, masks[0][None], generator=gen)
        self.out = MaskedLinear(n_hidden, n_out, masks[1][None], generator=gen)
        self.U = nn.Linear(n_latent, n_hidden, bias=False)

    def logits(self, x, z):
        h = x if self.levels == 2 else x / (self.levels - 1)
        a = self.out(torch.relu(self.hidden(h) + self.U(z)))
        return a if self.levels == 2 else a.reshape(*a.shape[:-1], self.d, self.levels)


# ---------------------------------------------------------------------------------------
# The model


class VAE(nn.Module):
    r"""A variational autoencoder with a diagonal-Gaussian encoder.

    Parameters
    ----------
    n_features : int
        Dimension :math:`D` of the data (64 for the digits, 2 for the toys).
    n_latent : int
        Dimension :math:`L` of :math:`z`.
    likelihood : {"bernoulli", "categorical", "gaussian"}
        :math:`p(x \mid z)`: Bernoulli pixels (binarised digits), a ``levels``-way
        categorical per pixel (the 17-level digits) or a diagonal Gaussian (2-D toys).
    n_hidden, n_layers : int
        Width and number of hidden ReLU layers of the encoder and the MLP decoder.
    decoder : {"mlp", "made"}
        An MLP of :math:`z`, or a :class:`ConditionalMADE` (autoregressive given :math:`z`;
        not for ``"gaussian"``).
    levels : int
        Grey levels of the categorical likelihood.
    generator : int or torch.Generator, optional
        Seeds the initial weights.
    """

    def __init__(self, n_features, n_latent, *, likelihood="bernoulli", n_hidden=256,
                 n_layers=2, decoder="mlp", levels=17, generator=None):
        super().__init__()
        self.n_features = check_int(n_features, "n_features", 1)
        self.n_latent = check_int(n_latent, "n_latent", 1)
        self.likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
        self.decoder_kind = check_choice(decoder, "decoder", DECODERS)
        check_int(n_hidden, "n_hidden", 1)
        check_int(n_layers, "n_layers", 0)
        self.levels = {"bernoulli": 2, "gaussian": 0}.get(
            likelihood, check_int(levels, "levels", 3))
        if decoder == "made" and likelihood == "gaussian":
            raise ValueError("decoder='made' needs a discrete likelihood, got 'gaussian'")
        gen = make_generator(generator)
        with torch.random.fork_rng():  # seed nn.Linear's default initialisation
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=gen)))
            self.encoder = _mlp(self.n_features, n_hidden, 2 * self.n_latent, n_layers)
            if decoder == "made":
                self.decoder = ConditionalMADE(self.n_features, self.n_latent, n_hidden,
                                               levels=self.levels, generator=gen)
            else:
                n_out = {"bernoulli": 1, "gaussian": 2}.get(likelihood, self.levels)
                self.decoder = _mlp(self.n_latent, n_hidden, self.n_features * n_out,
                                    n_layers)

    def extra_repr(self):
        return (f"n_features={self.n_features}, n_latent={self.n_latent}, "
                f"likelihood={self.likelihood!r}, decoder={self.decoder_kind!r}")

    # --- inputs ---------------------------------------------------------------------
    def _x(self, x, name="x"):
        support = {"bernoulli": "binary", "categorical": "levels"}.get(self.likelihood,
                                                                       "real")
        return check_data(x, name, n_features=self.n_features, support=support,
                          levels=self.levels or None, dtype=model_dtype(self))

    def _z(self, z):
        return check_data(z, "z", n_features=self.n_latent, dtype=model_dtype(self))

    def _encoder_input(self, x):
        return x / (self.levels - 1) if self.likelihood == "categorical" else x

    # --- the two networks -----------------------------------------------------------
    def _encode(self, x):
        mu, logvar = self.encoder(self._encoder_input(x)).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)  # (n, L) each

    def encode(self, x):
        r"""The encoder's :math:`(\mu, \log \sigma^2)` of :math:`q(z \mid x)`, each (n, L),
        differentiable."""
        return self._encode(self._x(x))

    def _log_px(self, x, z):
        # log p(x | z): x (n, D), z (K, n, L) or (K, 1, L) (one z for every row) -> (K, n)
        if self.decoder_kind == "made":
            z = z.expand(z.shape[0], x.shape[0], self.n_latent)
            logits = self.decoder.logits(x.expand(z.shape[0], *x.shape), z)
        else:
            logits = self.decoder(z)
        if self.likelihood == "bernoulli":  # x log sigma(a) + (1 - x) log sigma(-a)
            return (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(-1)
        if self.likelihood == "categorical":
            log_p = torch.log_softmax(logits.reshape(z.shape[0], -1, self.n_features,
                                                     self.levels), -1)  # (K, m, D, levels)
            shape = (z.shape[0], x.shape[0], self.n_features)
            index = x.long().expand(shape)[..., None]
            return log_p.expand(*shape, self.levels).gather(-1, index).squeeze(-1).sum(-1)
        mean, logvar = logits.chunk(2, dim=-1)
        logvar = logvar.clamp(-12.0, 8.0)
        return -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 / logvar.exp()).sum(-1)

    def _draw(self, z, gen, mean):
        # x ~ p(x | z) (or its mean, for an MLP decoder), z (n, L) -> (n, D)
        if self.decoder_kind == "made":
            x = torch.zeros(z.shape[0], self.n_features, dtype=z.dtype)
            for i in range(self.n_features):
                a = self.decoder.logits(x, z)[:, i]
                x[:, i] = (torch.bernoulli(torch.sigmoid(a), generator=gen)
                           if self.levels == 2 else
                           torch.multinomial(torch.softmax(a, -1), 1, generator=gen)[:, 0])
            return x
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            p = torch.sigmoid(out)
            return p if mean else torch.bernoulli(p, generator=gen)
        if self.likelihood == "categorical":
            p = torch.softmax(out.reshape(-1, self.n_features, self.levels), -1)
            if mean:
                return p @ torch.arange(self.levels, dtype=z.dtype)  # expected level
            flat = torch.multinomial(p.reshape(-1, self.levels), 1, generator=gen)
            return flat.reshape(-1, self.n_features).to(z.dtype)
        mu, logvar = out.chunk(2, dim=-1)
        eps = torch.randn(mu.shape, generator=gen, dtype=z.dtype)
        return mu if mean else mu + torch.exp(0.5 * logvar.clamp(-12.0, 8.0)) * eps

    def decode(self, z, *, mean=True, generator=None):
        r"""Images from latents ``z`` (n, L): the mean of :math:`p(x \mid z)` (probabilities
        for Bernoulli pixels, expected grey level for categorical ones) or, with
        ``mean=False``, a draw. A MADE decoder always draws. (n, D), no gradient."""
        z = self._z(z)
        check_bool(mean, "mean")
        with torch.no_grad():
            return self._draw(z, make_generator(generator), mean)

    def sample(self, n, *, generator=None, return_latent=False):
        r"""``n`` ancestral samples, :math:`z \sim \mathcal N(0, I)`, :math:`x \sim p(x \mid
        z)`: (n, D), and with ``return_latent`` also ``z`` (n, L). No gradient."""
        n = check_int(n, "n")
        check_bool(return_latent, "return_latent")
        gen = make_generator(generator)
        z = torch.randn(n, self.n_latent, generator=gen, dtype=model_dtype(self))
        with torch.no_grad():
            x = self._draw(z, gen, mean=False)
        return (x, z) if return_latent else x

    # --- bounds -----------------------------------------------------------------------
    def _elbo(self, x, n_samples, gen):
        mu, logvar = self._encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(
            n_samples, *mu.shape, generator=gen, dtype=mu.dtype)  # (K, n, L)
        reconstruction = self._log_px(x, z).mean(0)  # (n,)
        kl_per_dim = 0.5 * (mu**2 + logvar.exp() - 1 - logvar)  # (n, L)
        return reconstruction, kl_per_dim

    def elbo(self, x, *, n_samples=1, generator=None):
        r"""The ELBO of each row of ``x`` (eq. vae-elbo) and its two terms:
        reconstruction :math:`\mathbb E_q[\log p(x \mid z)]` by ``n_samples``
        reparameterised draws, and :math:`KL(q(z \mid x) \,\|\, p(z))` in closed form.
        Returns :class:`ELBO` (each (n,), nats); differentiable."""
        x = self._x(x)
        n_samples = check_int(n_samples, "n_samples", 1)
        reconstruction, kl_per_dim = self._elbo(x, n_samples, make_generator(generator))
        kl = kl_per_dim.sum(-1)
        return ELBO(reconstruction - kl, reconstruction, kl)

    def _log_weights(self, x, k, gen, chunk_size):
        # log p(x, z_k) - log q(z_k | x) for k draws, (k, n), in chunks of draws
        mu, logvar = self._encode(x)
        std, out = torch.exp(0.5 * logvar), []
        for size in [chunk_size] * (k // chunk_size) + [k % chunk_size] * bool(k % chunk_size):
            eps = torch.randn(size, *mu.shape, generator=gen, dtype=mu.dtype)
            z = mu + std * eps  # (size, n, L)
            log_pz = -0.5 * (LOG_2PI + z**2).sum(-1)
            log_qz = -0.5 * (LOG_2PI + logvar + eps**2).sum(-1)
            out.append(self._log_px(x, z) + log_pz - log_qz)
        return torch.cat(out)

    def iwae_bound(self, x, k, *, generator=None, chunk_size=100):
        r"""The importance-weighted bound (Burda et al. 2016) of each row of ``x``:

        .. math:: \mathcal L_k(x) = \mathbb E\Big[\log \frac1k \sum_{i=1}^k
                  \frac{p(x, z_i)}{q(z_i \mid x)}\Big], \quad z_i \sim q(z \mid x),
                  \qquad \mathcal L_1 = \text{ELBO} \le \mathcal L_k \le
                  \mathcal L_{k+1} \le \log p(x),

        estimated by one draw of the ``k`` samples: (n,), nats, differentiable."""
        x = self._x(x)
        k = check_int(k, "k", 1)
        chunk_size = check_int(chunk_size, "chunk_size", 1)
        return log_mean_exp(self._log_weights(x, k, make_generator(generator),
                                              chunk_size), dim=0)

    def log_likelihood_estimate(self, x, *, k=1000, generator=None, batch_size=64):
        r""":math:`\log p(x)` estimated by importance sampling with ``k`` draws from
        :math:`q` (the IWAE bound at large ``k``), in batches of rows, without gradients.
        Returns an :class:`~dgm_course.evaluation.ImportanceEstimate` (estimate, standard
        error by the delta method, effective sample size), each (n,), nats."""
        x = self._x(x)
        k = check_int(k, "k", 1)
        batch_size = check_int(batch_size, "batch_size", 1)
        gen, parts = make_generator(generator), []
        with torch.no_grad():
            for rows in x.split(batch_size):
                log_w = self._log_weights(rows, k, gen, 100).double()  # (k, b)
                w = torch.exp(log_w - log_w.max(0).values)
                sd = w.std(0) if k > 1 else torch.zeros(len(rows), dtype=w.dtype)
                parts.append((log_mean_exp(log_w, 0), sd / (math.sqrt(k) * w.mean(0)),
                              w.sum(0) ** 2 / (w**2).sum(0)))
        return ImportanceEstimate(*(torch.cat(p) for p in zip(*parts)))

    def log_marginal_quadrature(self, x, *, lim=5.0, n=301):
        r"""Exact :math:`\log p(x) = \log \int p(x \mid z)\, p(z)\, dz` by the midpoint
        rule on an ``n`` × ``n`` grid over :math:`[-\mathrm{lim}, \mathrm{lim}]^2`, for a
        2-D latent space and an MLP decoder: (n,), float64, nats, no gradient. The
        integrand is negligible outside the square when ``lim`` ≥ 5."""
        if self.n_latent != 2 or self.decoder_kind != "mlp":
            raise ValueError(f"quadrature needs n_latent=2 and decoder='mlp', got "
                             f"n_latent={self.n_latent}, decoder={self.decoder_kind!r}")
        x = self._x(x)
        lim = check_positive(lim, "lim")
        n = check_int(n, "n", 2)
        h = 2 * lim / n
        u = torch.linspace(-lim + h / 2, lim - h / 2, n, dtype=x.dtype)
        grid = torch.cartesian_prod(u, u)  # (n * n, 2)
        log_terms = []
        with torch.no_grad():
            for z in grid.split(4096):
                log_pz = -0.5 * (LOG_2PI + z**2).sum(-1)  # (G,)
                log_px = self._log_px(x, z[:, None, :])  # (G, n): one decoding per z
                log_terms.append((log_px + log_pz[:, None]).double())  # (G, n)
        return torch.logsumexp(torch.cat(log_terms), 0) + 2 * math.log(h)

    def gradient_samples(self, x, *, n_draws=1000, estimator="reparameterisation",
                         generator=None):
        r"""One-draw estimates of the gradient of the ELBO of one example ``x`` (shape
        (1, D)) with respect to the encoder's outputs :math:`(\mu, \log \sigma^2)`.

        With :math:`f(z) = \log p(x \mid z) + \log p(z) - \log q(z \mid x)`:
        ``"reparameterisation"`` differentiates :math:`f(\mu + \sigma \epsilon)`;
        ``"score_function"`` returns :math:`f(z) \nabla \log q(z \mid x)`, whose mean is the
        same gradient because :math:`\mathbb E_q[\nabla \log q] = 0` (chapter 5,
        eq. score-function). Returns (n_draws, 2L), float64 values, no gradient."""
        x = self._x(x)
        if x.shape[0] != 1:
            raise ValueError(f"x must hold one example, shape (1, {self.n_features}), got "
                             f"{tuple(x.shape)}")
        n_draws = check_int(n_draws, "n_draws", 1)
        check_choice(estimator, "estimator", ESTIMATORS)
        with torch.no_grad():
            mu0, logvar0 = self._encode(x)
        mu = mu0.expand(n_draws, -1).clone().requires_grad_(True)  # (K, L)
        logvar = logvar0.expand(n_draws, -1).clone().requires_grad_(True)
        eps = torch.randn(mu.shape, generator=make_generator(generator), dtype=mu.dtype)
        reparam = estimator == "reparameterisation"
        z = mu + torch.exp(0.5 * logvar) * eps if reparam else (
            mu0 + torch.exp(0.5 * logvar0) * eps)
        log_q = -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)  # (K,)
        f = self._log_px(x, z[:, None, :])[:, 0] - 0.5 * (LOG_2PI + z**2).sum(-1) - log_q
        objective = f.sum() if reparam else (f.detach() * log_q).sum()
        g_mu, g_logvar = torch.autograd.grad(objective, (mu, logvar))
        return torch.cat([g_mu, g_logvar], -1).double()


# ---------------------------------------------------------------------------------------
# Training


@dataclass
class Recipe:
    """How to train a VAE (the chapter's hyper-parameter cell in one object)."""

    epochs: int = 100  # passes over the training set
    batch_size: int = 100
    lr: float = 1e-3  # Adam; decays to 0 by a cosine schedule
    warmup: float = 0.0  # fraction of training over which the KL weight beta rises 0 -> 1
    free_bits: float = 0.0  # nats per latent dimension below which the KL is not penalised
    n_samples: int = 1  # reparameterised draws per example in the ELBO

    def __post_init__(self):
        check_int(self.epochs, "epochs", 1)
        check_int(self.batch_size, "batch_size", 1)
        check_positive(self.lr, "lr")
        check_number(self.warmup, "warmup", minimum=0, maximum=1)
        check_nonnegative(self.free_bits, "free_bits")
        check_int(self.n_samples, "n_samples", 1)


def make_step(vae, recipe):
    r"""The step function of VAE training, for :func:`dgm_course.training.fit`.

    Minimises :math:`-\big(\text{reconstruction} - \beta \sum_j \max(\lambda,
    \overline{KL}_j)\big)` per example, where :math:`\overline{KL}_j` is the batch mean of
    latent dimension :math:`j`'s KL, :math:`\lambda` = ``recipe.free_bits`` (Kingma et
    al. 2016; 0: off) and :math:`\beta` rises linearly from 0 to 1 over the first
    ``recipe.warmup`` of training (0: always 1). Adam with a cosine learning-rate decay.
    Metrics (nats per example): ``loss``, ``reconstruction``, ``kl`` (the true KL, with
    neither :math:`\beta` nor free bits), ``elbo`` and ``beta``.
    """
    if not isinstance(vae, VAE) or not isinstance(recipe, Recipe):
        raise ValueError(f"make_step needs a VAE and a Recipe, got {type(vae).__name__} and "
                         f"{type(recipe).__name__}")
    opt = torch.optim.Adam(vae.parameters(), lr=recipe.lr)

    def step(x, ctx):
        for group in opt.param_groups:
            group["lr"] = recipe.lr * 0.5 * (1 + math.cos(math.pi * ctx.progress))
        beta = min(1.0, ctx.progress / recipe.warmup) if recipe.warmup else 1.0
        reconstruction, kl_per_dim = vae._elbo(x, recipe.n_samples, ctx.generator)
        kl_dims = kl_per_dim.mean(0)  # (L,)
        penalty = kl_dims.clamp(min=recipe.free_bits).sum()
        loss = training.gradient_step(opt, -reconstruction.mean() + beta * penalty)
        kl = kl_dims.sum().detach()
        rec = reconstruction.mean().detach()
        return {"loss": loss, "reconstruction": rec, "kl": kl, "elbo": rec - kl,
                "beta": beta}

    step.optimizer = opt
    return step


def train(vae, x, recipe=None, *, x_val=None, generator=None, progress=True):
    """Train ``vae`` on the rows of ``x`` by :func:`make_step` and
    :func:`dgm_course.training.fit`. With ``x_val``, the validation ELBO (``val_elbo``,
    5 draws per example, nats per example) is recorded after each epoch and the model
    ends with the parameters of its best epoch (early stopping without patience).
    Returns the :class:`~dgm_course.training.History`."""
    recipe = Recipe() if recipe is None else recipe
    step = make_step(vae, recipe)
    x = vae._x(x)
    validate = None
    if x_val is not None:
        x_val = vae._x(x_val, "x_val")

        def validate(model):
            return {"val_elbo": model.elbo(x_val, n_samples=5, generator=0).total.mean()}

    return training.fit(vae, step, x, epochs=recipe.epochs, batch_size=recipe.batch_size,
                        validate=validate, monitor=None if x_val is None else "val_elbo",
                        mode="max", generator=generator, progress=progress,
                        desc=f"VAE ({vae.likelihood}, {vae.decoder_kind})")


# ---------------------------------------------------------------------------------------
# The chapter's measures on the digits


MEASURES = {
    "17 levels, MLP decoder": (dict(likelihood="categorical", n_latent=16),
                               Recipe(epochs=100, batch_size=32, warmup=0.2)),
    "17 levels, MADE decoder": (dict(likelihood="categorical", n_latent=16, decoder="made"),
                                Recipe(epochs=100, batch_size=32, lr=2e-3, free_bits=0.25)),
    "binarised, MLP decoder": (dict(likelihood="bernoulli", n_latent=16),
                               Recipe(epochs=100, batch_size=32, warmup=0.2)),
}
"""The rows of ``python -m dgm_course.vae``: (model options, recipe)."""


def measure(options, recipe, *, seed=0, k=1000, progress=False):
    """Train a VAE of ``options`` (keyword arguments of :class:`VAE`) with ``recipe`` on the
    training digits (keeping the epoch of the best validation ELBO) and measure it on the
    test digits: a dict with ``neg_elbo`` and
    ``iwae_nll`` (means, nats per image), their standard errors over the test images
    (``neg_elbo_se``, ``iwae_se``), ``kl`` and ``seconds`` of training."""
    binary = options.get("likelihood", "bernoulli") == "bernoulli"
    x_train = data.load_digits("train", binary=binary)
    x_val = data.load_digits("val", binary=binary)
    x_test = data.load_digits("test", binary=binary)
    vae = VAE(64, generator=seed, **options)
    start = time.perf_counter()
    train(vae, x_train, recipe, x_val=x_val, generator=seed, progress=progress)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        bound = vae.elbo(x_test, n_samples=10, generator=seed)
    nll = -vae.log_likelihood_estimate(x_test, k=k, generator=seed).log_likelihood
    n = len(x_test)
    return {"neg_elbo": float(-bound.total.mean()),
            "neg_elbo_se": float(bound.total.std() / math.sqrt(n)),
            "iwae_nll": float(nll.mean()), "iwae_se": float(nll.std() / math.sqrt(n)),
            "kl": float(bound.kl.mean()), "seconds": seconds, "model": vae}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Chapter 6's measures: -ELBO and IWAE "
                                     "NLL of VAEs on the test digits (nats per image).")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--k", type=int, default=1000, help="IWAE samples (default 1000)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{'model':<26}{'-ELBO':>14}{'IWAE NLL':>16}{'KL':>7}{'train s':>9}")
    for name, (options, recipe) in MEASURES.items():
        r = measure(options, replace(recipe, epochs=args.epochs), k=args.k)
        print(f"{name:<26}{r['neg_elbo']:>8.2f} ± {r['neg_elbo_se']:<4.2f}"
              f"{r['iwae_nll']:>9.2f} ± {r['iwae_se']:<4.2f}{r['kl']:>7.1f}"
              f"{r['seconds']:>9.1f}")


if __name__ == "__main__":
    main()
