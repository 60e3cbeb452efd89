r"""Chapter 2, energy-based models: Markov chain Monte Carlo for continuous densities.

Samplers for a density known up to its normaliser, :math:`\pi_T(x) \propto p(x)^{1/T}`, given
``log_density`` :math:`= \log p` up to a constant (for an energy model, :math:`-E`):

* **unadjusted Langevin** (ULA; Roberts and Tweedie 1996, Welling and Teh 2011)
  :math:`x' = x + \epsilon \nabla \log p(x) + \sqrt{2 \epsilon T}\, \xi`, exact only as
  :math:`\epsilon \to 0`: at a finite step its samples are biased;
* **Metropolis-adjusted Langevin** (MALA; Roberts and Tweedie 1996): the same proposal,
  accepted with the Metropolis-Hastings probability, which removes the step-size bias;
* **random-walk Metropolis-Hastings**, for comparison.

Each takes a seed or ``torch.Generator`` and returns a :class:`Chain` holding every state.
Starting points are checked (finite, shape (n_chains, dim)) and keep their floating dtype;
step sizes and temperatures may be any positive number, NumPy scalars included.

The models these samplers serve live elsewhere: the neural 2-D energy in
:mod:`dgm_course.ebm`, the measures of a sample (``histogram_kl``) in
:mod:`dgm_course.evaluation`.
"""
import math
from dataclasses import dataclass

import torch

from dgm_course.utils import make_generator
from dgm_course.validation import check_data, check_int, check_positive


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


def _check_sampler(log_density, x0, step_size, n_steps, temperature):
    """The checked sampler arguments: ``(x0, step_size, n_steps, temperature)``."""
    if not callable(log_density):
        raise ValueError(f"log_density must be a function of x (n, dim) -> (n,), got "
                         f"{type(log_density).__name__}")
    x0 = check_data(x0, "x0")  # (n_chains, dim), finite, floating
    return (x0, check_positive(step_size, "step_size"), check_int(n_steps, "n_steps"),
            check_positive(temperature, "temperature"))


def _langevin_chain(log_density, x0, step_size, n_steps, temperature, score, generator, adjust):
    x0, eps, n_steps, T = _check_sampler(log_density, x0, step_size, n_steps, temperature)
    gen = make_generator(generator)
    score = score if score is not None else (lambda x: _score(log_density, x))
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
    rate = accepted / (n_steps * x.shape[0]) if n_steps * x.shape[0] else 1.0
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
    x0, step_size, n_steps, temperature = _check_sampler(log_density, x0, step_size, n_steps, temperature)
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
    rate = accepted / (n_steps * x.shape[0]) if n_steps * x.shape[0] else 1.0
    return Chain(torch.stack(states), rate)
