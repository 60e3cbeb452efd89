r"""Chapter 2, energy-based models: MCMC for continuous energies, and a neural energy in 2-D.

Samplers for a density known up to its normaliser, :math:`\pi_T(x) \propto p(x)^{1/T}`, given
``log_density`` :math:`= \log p` up to a constant (for an energy model, :math:`-E`):

* **unadjusted Langevin** (ULA; Roberts and Tweedie 1996, Welling and Teh 2011)
  :math:`x' = x + \epsilon \nabla \log p(x) + \sqrt{2 \epsilon T}\, \xi`, exact only as
  :math:`\epsilon \to 0`: at a finite step its samples are biased;
* **Metropolis-adjusted Langevin** (MALA; Roberts and Tweedie 1996): the same proposal,
  accepted with the Metropolis-Hastings probability, which removes the step-size bias;
* **random-walk Metropolis-Hastings**, for comparison.

Each takes a seed or ``torch.Generator`` and returns a :class:`Chain` holding every state.
:func:`histogram_kl` measures a sample against a 2-D toy's exact bin probabilities.

:class:`EnergyMLP` is a small neural energy :math:`E_\theta(x)` on the plane, trained by
:func:`fit_ebm` with maximum likelihood whose negative samples come from short-run Langevin
chains kept in a replay buffer (Du and Mordatch 2019; Nijkamp et al. 2019), on random Fourier
features of the input (Tancik et al. 2020). In 2-D its
:math:`\log Z` is computed on a grid (``dgm_course.evaluation.grid_log_normalizer``).
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from dgm_course.evaluation import grid_log_normalizer
from dgm_course.utils import check_int, make_generator


@dataclass
class Chain:
    """The states of parallel Markov chains and how often their proposals were accepted."""

    states: torch.Tensor  # (n_steps + 1, n_chains, dim): states[0] is the start
    accept_rate: float  # fraction of accepted proposals (1.0 for unadjusted Langevin)

    @property
    def last(self):
        """The final states, shape (n_chains, dim)."""
        return self.states[-1]


def _score(log_density, x):
    """Gradient of ``log_density`` at each row of ``x`` by autograd: shape like ``x``."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        return torch.autograd.grad(log_density(x).sum(), x)[0]


def _check_sampler(x0, step_size, n_steps, temperature):
    if not torch.is_tensor(x0) or x0.dim() != 2:
        raise ValueError(f"x0 must be a tensor of shape (n_chains, dim), got "
                         f"{tuple(x0.shape) if torch.is_tensor(x0) else type(x0).__name__}")
    if not (isinstance(step_size, (int, float)) and step_size > 0):
        raise ValueError(f"step_size must be a positive number, got {step_size!r}")
    check_int(n_steps, "n_steps")
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")


def _langevin_chain(log_density, x0, step_size, n_steps, temperature, score, generator, adjust):
    _check_sampler(x0, step_size, n_steps, temperature)
    gen = make_generator(generator)
    score = score if score is not None else (lambda x: _score(log_density, x))
    eps, T = float(step_size), float(temperature)
    x = x0.detach().clone()
    g = score(x)
    logp = log_density(x).detach() if adjust else None
    states, accepted = [x], 0
    for _ in range(n_steps):
        y = x + eps * g + math.sqrt(2 * eps * T) * torch.randn(x.shape, generator=gen, dtype=x.dtype)
        gy = score(y)
        if adjust:
            # log pi_T(y) q(x | y) - log pi_T(x) q(y | x), with q(y | x) = N(y; x + eps g(x), 2 eps T I)
            logp_y = log_density(y).detach()
            log_q_xy = -((x - y - eps * gy) ** 2).sum(1) / (4 * eps * T)
            log_q_yx = -((y - x - eps * g) ** 2).sum(1) / (4 * eps * T)
            log_ratio = (logp_y - logp) / T + log_q_xy - log_q_yx
            accept = torch.rand(x.shape[0], generator=gen, dtype=x.dtype).log() < log_ratio  # (n_chains,)
            x = torch.where(accept[:, None], y, x)
            g = torch.where(accept[:, None], gy, g)
            logp = torch.where(accept, logp_y, logp)
            accepted += int(accept.sum())
        else:
            x, g = y, gy
            accepted += x.shape[0]
        states.append(x)
    rate = accepted / (n_steps * x.shape[0]) if n_steps else 1.0
    return Chain(torch.stack(states).detach(), rate)


def langevin(log_density, x0, *, step_size, n_steps, temperature=1.0, score=None, generator=None):
    r"""Unadjusted Langevin dynamics, run from each row of ``x0`` (shape (n_chains, dim)):

    .. math:: x_{t+1} = x_t + \epsilon \nabla \log p(x_t) + \sqrt{2 \epsilon T}\, \xi_t,
              \quad \xi_t \sim \mathcal N(0, I).

    ``log_density`` maps (n, dim) to (n,); ``score`` (its gradient, (n, dim) → (n, dim)) is
    computed by autograd unless given. Returns a :class:`Chain`.

    Examples
    --------
    >>> normal = lambda x: -0.5 * (x ** 2).sum(1)
    >>> chain = langevin(normal, torch.zeros(20000, 1), step_size=0.5, n_steps=100, generator=0)
    >>> tuple(chain.states.shape)
    (101, 20000, 1)
    >>> round(float(chain.last.var()), 1)  # biased: 1 / (1 - step_size / 2) = 1.33, not 1
    1.3
    """
    return _langevin_chain(log_density, x0, step_size, n_steps, temperature, score, generator, adjust=False)


def mala(log_density, x0, *, step_size, n_steps, temperature=1.0, score=None, generator=None):
    r"""Metropolis-adjusted Langevin: the Langevin step of :func:`langevin` as a proposal
    :math:`y`, accepted with probability
    :math:`\min\{1, \frac{\pi_T(y) q(x \mid y)}{\pi_T(x) q(y \mid x)}\}`, so that
    :math:`\pi_T \propto p^{1/T}` is exactly stationary at any step size. Returns a
    :class:`Chain` with its acceptance rate."""
    return _langevin_chain(log_density, x0, step_size, n_steps, temperature, score, generator, adjust=True)


def metropolis_hastings(log_density, x0, *, step_size, n_steps, temperature=1.0, generator=None):
    r"""Random-walk Metropolis-Hastings: propose :math:`y = x + \sqrt{2\epsilon}\,\xi` and accept
    with probability :math:`\min\{1, (p(y)/p(x))^{1/T}\}`. Returns a :class:`Chain`."""
    _check_sampler(x0, step_size, n_steps, temperature)
    gen = make_generator(generator)
    x = x0.detach().clone()
    logp = log_density(x).detach()
    states, accepted = [x], 0
    for _ in range(n_steps):
        y = x + math.sqrt(2 * step_size) * torch.randn(x.shape, generator=gen, dtype=x.dtype)
        logp_y = log_density(y).detach()
        accept = torch.rand(x.shape[0], generator=gen, dtype=x.dtype).log() < (logp_y - logp) / temperature
        x = torch.where(accept[:, None], y, x)
        logp = torch.where(accept, logp_y, logp)
        accepted += int(accept.sum())
        states.append(x)
    return Chain(torch.stack(states), accepted / (n_steps * x.shape[0]) if n_steps else 1.0)


# ---------------------------------------------------------------------------------------
# Measuring a 2-D sample against the truth


def bin_probabilities(mixture, *, lim=4.0, bins=24):
    """Exact probability of each square bin of ``[-lim, lim]^2`` under a
    ``dgm_course.data.GaussianMixture2D`` (products of normal CDF differences), plus the mass
    outside the square as a last entry: shape (bins * bins + 1,), float64, summing to one.
    Bins are ordered as in ``numpy.histogram2d`` (x index major)."""
    edges = torch.linspace(-lim, lim, bins + 1, dtype=torch.float64)
    normal = torch.distributions.Normal(0.0, 1.0)
    cdf = normal.cdf((edges[None, :, None] - mixture.means[:, None, :]) / mixture.stds[:, None, None])  # (K, bins+1, 2)
    mass = cdf[:, 1:] - cdf[:, :-1]  # (K, bins, 2)
    p = torch.einsum("k,ki,kj->ij", mixture.weights, mass[:, :, 0], mass[:, :, 1]).flatten()
    return torch.cat([p, (1 - p.sum()).clamp(min=0)[None]])


def histogram_kl(samples, mixture, *, lim=4.0, bins=24):
    r"""KL divergence, in nats, from the binned sample to the binned truth,
    :math:`\sum_k \hat q_k \log(\hat q_k / p_k)`, with bins as in :func:`bin_probabilities`
    (the last bin is everything outside the square).

    A sample of size :math:`n` from the truth itself scores about :math:`(B - 1)/(2n)` for
    :math:`B` occupied bins: compare with that floor, not with zero."""
    x = torch.as_tensor(samples).detach().double().cpu().numpy()
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"samples must have shape (n, 2), got {x.shape}")
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=[[-lim, lim], [-lim, lim]])
    q = np.append(counts.flatten(), len(x) - counts.sum()) / len(x)
    p = bin_probabilities(mixture, lim=lim, bins=bins).numpy()
    keep = q > 0
    return float(np.sum(q[keep] * (np.log(q[keep]) - np.log(np.maximum(p[keep], 1e-300)))))


# ---------------------------------------------------------------------------------------
# A neural energy on the plane


class EnergyMLP(nn.Module):
    r"""A neural energy :math:`E_\theta : \mathbb R^2 \to \mathbb R`, density
    :math:`p_\theta(x) = e^{-E_\theta(x)}/Z_\theta`: an MLP with SiLU activations (smooth, so
    that Langevin's gradients are) and ``n_layers`` hidden layers of width ``hidden``, applied
    to random Fourier features of the input (Tancik et al. 2020),

    .. math:: \phi(x) = [\sin(x B), \cos(x B)], \qquad
              B \in \mathbb R^{2 \times m},\ B_{ij} \sim \mathcal N(0, s^2) \text{ fixed},

    with :math:`m` = ``n_features`` and :math:`s` = ``feature_scale``. A plain MLP on :math:`x`
    learns smooth, low-frequency energies first; the features let it form sharper bumps
    (``n_features=0`` feeds :math:`x` itself). :math:`B` is drawn from ``generator``, or from
    PyTorch's global generator like the layers' weights.

    ``log_partition`` integrates :math:`e^{-E}` numerically on a grid over ``[-lim, lim]^2``,
    which in 2-D is exact to the grid's resolution; ``log_prob`` uses it.
    """

    def __init__(self, hidden=64, n_layers=2, *, n_features=16, feature_scale=1.0, lim=4.0, generator=None):
        super().__init__()
        check_int(hidden, "hidden", 1)
        check_int(n_layers, "n_layers", 1)
        check_int(n_features, "n_features")
        if not (isinstance(feature_scale, (int, float)) and feature_scale > 0):
            raise ValueError(f"feature_scale must be a positive number, got {feature_scale!r}")
        gen = make_generator(generator) if generator is not None else None
        self.register_buffer("B", feature_scale * torch.randn(2, n_features, generator=gen))  # (2, m)
        sizes = [2 * n_features if n_features else 2] + [hidden] * n_layers
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*layers, nn.Linear(hidden, 1))
        self.lim = float(lim)

    def _check(self, x):
        if not torch.is_tensor(x) or x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"x must be a tensor of shape (n, 2), got "
                             f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
        return x

    def energy(self, x):
        """:math:`E_\\theta(x)` of each row of ``x`` (shape (n, 2)): shape (n,)."""
        x = self._check(x)
        h = x.to(self.net[0].weight.dtype)  # (n, 2)
        if self.B.shape[1]:
            z = h @ self.B.to(h.dtype)  # (n, m)
            h = torch.cat([torch.sin(z), torch.cos(z)], 1)  # (n, 2m)
        return self.net(h).squeeze(1).to(x.dtype)

    def log_partition(self, n=300):
        r""":math:`\log Z_\theta = \log \int e^{-E_\theta(x)} dx` over ``[-lim, lim]^2`` by the
        midpoint rule on an ``n``×``n`` grid (float64)."""
        with torch.no_grad():
            return grid_log_normalizer(lambda g: -self.energy(g.float()).double(), lim=self.lim, n=n)[0]

    def log_prob(self, x, n=300):
        """Normalised log-density of each row of ``x`` in nats: shape (n,)."""
        return -self.energy(x) - self.log_partition(n).to(x.dtype)


def fit_ebm(model, data, *, n_iters=1600, batch_size=256, buffer_size=8192, n_langevin_steps=15,
            step_size=0.02, reinit_prob=0.05, alpha=0.03, lr=3e-3, generator=None, progress=True):
    r"""Maximum likelihood for an energy on the plane with short-run Langevin negatives.

    Each iteration draws ``batch_size`` data points and as many chain states from a replay
    buffer (a fraction ``reinit_prob`` restarted uniformly in ``[-lim, lim]^2``), moves the
    states ``n_langevin_steps`` steps of :func:`langevin` on :math:`-E_\theta`, puts them back,
    and takes an Adam step on

    .. math:: \mathcal L = \overline{E_\theta(x^+)} - \overline{E_\theta(x^-)}
              + \alpha\, \overline{E_\theta(x^+)^2 + E_\theta(x^-)^2},

    whose gradient is minus the log-likelihood gradient (positive minus negative phase)
    plus a small penalty that keeps the energies near zero (Du and Mordatch 2019). The
    learning rate decays from ``lr`` to zero along a cosine,
    :math:`\eta_t = \eta_0 \frac12 (1 + \cos(\pi t / T))`, so that the last updates average the
    noise of the short-run negatives instead of following it. The step size is small because
    unadjusted Langevin samples a too-wide density at a finite step, and the model would
    learn to compensate by being too narrow.
    Returns the list of losses; the final buffer is kept as ``model.buffer_`` (its states are
    approximate samples of the model).
    """
    data = model._check(data)
    for name, value in (("n_iters", n_iters), ("batch_size", batch_size), ("buffer_size", buffer_size),
                        ("n_langevin_steps", n_langevin_steps)):
        check_int(value, name, 1)
    if not 0 <= reinit_prob <= 1:
        raise ValueError(f"reinit_prob must be in [0, 1], got {reinit_prob!r}")
    gen = make_generator(generator)
    lim = model.lim
    buffer = (2 * torch.rand(buffer_size, 2, generator=gen) - 1) * lim  # (buffer_size, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.0, 0.999))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, n_iters)
    log_density = lambda x: -model.energy(x)  # noqa: E731
    losses = []
    for _ in tqdm(range(n_iters), disable=not progress, desc="EBM"):
        pos = data[torch.randint(len(data), (batch_size,), generator=gen)]
        idx = torch.randint(buffer_size, (batch_size,), generator=gen)
        restart = torch.rand(batch_size, generator=gen) < reinit_prob
        start = torch.where(restart[:, None], (2 * torch.rand(batch_size, 2, generator=gen) - 1) * lim, buffer[idx])
        neg = langevin(log_density, start, step_size=step_size, n_steps=n_langevin_steps, generator=gen).last
        neg = neg.clamp(-lim, lim)
        buffer[idx] = neg
        e_pos, e_neg = model.energy(pos), model.energy(neg)
        loss = e_pos.mean() - e_neg.mean() + alpha * (e_pos**2 + e_neg**2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    model.eval()
    model.buffer_ = buffer
    return losses
