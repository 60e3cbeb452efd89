r"""Chapter 2: a neural energy on the plane, trained by maximum likelihood with Langevin.

:class:`EnergyMLP` is a small neural energy :math:`E_\theta(x)` on :math:`\mathbb R^2`, an MLP
on random Fourier features of the input (Tancik et al. 2020). In 2-D its :math:`\log Z` is
computed on a grid (:func:`dgm_course.evaluation.grid_log_normalizer`), so its
log-likelihood is exact to the grid's resolution. :func:`fit_ebm` trains it with maximum
likelihood whose negative samples come from short-run Langevin chains kept in a replay
buffer (Du and Mordatch 2019; Nijkamp et al. 2019), through
:func:`dgm_course.training.fit` with the step function :func:`energy_mlp_step`.

Everything here is importable from :mod:`dgm_course.ebm`.
"""
import math

import torch
from torch import nn

from dgm_course.evaluation import grid_log_normalizer
from dgm_course.mcmc import langevin
from dgm_course.training import fit, gradient_step
from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_data, check_int, check_nonnegative,
                                   check_positive, check_probability, model_dtype)


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

    def __init__(self, hidden=64, n_layers=2, *, n_features=16, feature_scale=1.0, lim=4.0,
                 generator=None):
        super().__init__()
        hidden = check_int(hidden, "hidden", 1)
        n_layers = check_int(n_layers, "n_layers", 1)
        n_features = check_int(n_features, "n_features")
        feature_scale = check_positive(feature_scale, "feature_scale")
        self.lim = check_positive(lim, "lim")
        gen = make_generator(generator) if generator is not None else None
        self.register_buffer("B", feature_scale * torch.randn(2, n_features, generator=gen))  # (2, m)
        sizes = [2 * n_features if n_features else 2] + [hidden] * n_layers
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*layers, nn.Linear(hidden, 1))

    def _energy(self, x):
        h = x  # (n, 2)
        if self.B.shape[1]:
            z = h @ self.B  # (n, m)
            h = torch.cat([torch.sin(z), torch.cos(z)], 1)  # (n, 2m)
        return self.net(h).squeeze(1)

    def energy(self, x):
        """:math:`E_\\theta(x)` of each row of ``x`` (shape (n, 2), converted to the model's
        dtype): shape (n,), differentiable."""
        return self._energy(check_data(x, "x", n_features=2, dtype=model_dtype(self)))

    def log_partition(self, grid_size=300):
        r""":math:`\log Z_\theta = \log \int e^{-E_\theta(x)} dx` over ``[-lim, lim]^2`` by the
        midpoint rule on a ``grid_size``×``grid_size`` grid: a 0-d float64 tensor, computed
        under ``torch.no_grad()`` (not differentiable)."""
        grid_size = check_int(grid_size, "grid_size", 2)
        dtype = model_dtype(self)
        with torch.no_grad():
            return grid_log_normalizer(lambda g: -self._energy(g.to(dtype)).double(),
                                       lim=self.lim, n=grid_size)[0]

    def log_prob(self, x, *, grid_size=300):
        """Normalised log-density of each row of ``x`` (shape (n, 2)), in nats per example:
        shape (n,), the model's dtype.

        Computed under ``torch.no_grad()`` (an evaluation, not a training objective: the
        gradient of a maximum-likelihood step is in :func:`energy_mlp_step`)."""
        x = check_data(x, "x", n_features=2, dtype=model_dtype(self))
        with torch.no_grad():
            return -self._energy(x) - self.log_partition(grid_size).to(x.dtype)

    def sample(self, n, *, n_steps=500, step_size=0.01, generator=None):
        """``n`` approximate samples, shape (n, 2): unadjusted Langevin chains
        (:func:`dgm_course.mcmc.langevin`) started uniformly in ``[-lim, lim]^2`` and run
        ``n_steps`` steps of size ``step_size``. The same seed gives the same samples."""
        n = check_int(n, "n")
        gen = make_generator(generator)
        start = (2 * torch.rand(n, 2, generator=gen, dtype=model_dtype(self)) - 1) * self.lim
        chain = langevin(lambda x: -self._energy(x), start, step_size=step_size,
                         n_steps=n_steps, generator=gen)
        return chain.last


def energy_mlp_step(model, optimizer, buffer, *, n_langevin_steps=15, step_size=0.02,
                    reinit_prob=0.05, alpha=0.03):
    r"""The step function of :func:`dgm_course.training.fit` for an :class:`EnergyMLP`.

    For a minibatch :math:`x^+` of data it draws as many chain states from ``buffer`` (a
    tensor of shape (buffer_size, 2), updated in place; a fraction ``reinit_prob`` restarted
    uniformly in ``[-lim, lim]^2``), moves them ``n_langevin_steps`` steps of
    :func:`dgm_course.mcmc.langevin` on :math:`-E_\theta`, puts them back, and takes an
    optimiser step on

    .. math:: \mathcal L = \overline{E_\theta(x^+)} - \overline{E_\theta(x^-)}
              + \alpha\, \overline{E_\theta(x^+)^2 + E_\theta(x^-)^2},

    whose gradient is minus the log-likelihood gradient (positive minus negative phase)
    plus a small penalty that keeps the energies near zero (Du and Mordatch 2019). All its
    randomness comes from ``ctx.generator``. Records ``"loss"`` and ``"energy_gap"``
    (:math:`\overline{E(x^-)} - \overline{E(x^+)}`).
    """
    dtype = model_dtype(model)
    buffer = check_data(buffer, "buffer", n_features=2, min_rows=1)
    if buffer.dtype != dtype:
        raise ValueError(f"buffer must have the model's dtype {dtype}, got {buffer.dtype}")
    n_langevin_steps = check_int(n_langevin_steps, "n_langevin_steps", 1)
    step_size = check_positive(step_size, "step_size")
    reinit_prob = check_probability(reinit_prob, "reinit_prob")
    alpha = check_nonnegative(alpha, "alpha")
    lim = model.lim

    def step(pos, ctx):
        gen, m = ctx.generator, pos.shape[0]
        idx = torch.randint(buffer.shape[0], (m,), generator=gen)
        restart = torch.rand(m, generator=gen) < reinit_prob
        fresh = (2 * torch.rand(m, 2, generator=gen, dtype=dtype) - 1) * lim
        start = torch.where(restart[:, None], fresh, buffer[idx])
        neg = langevin(lambda x: -model._energy(x), start, step_size=step_size,
                       n_steps=n_langevin_steps, generator=gen).last.clamp(-lim, lim)
        buffer[idx] = neg
        e_pos, e_neg = model._energy(pos), model._energy(neg)
        loss = e_pos.mean() - e_neg.mean() + alpha * (e_pos**2 + e_neg**2).mean()
        gradient_step(optimizer, loss)
        return {"loss": loss.detach(), "energy_gap": (e_neg.mean() - e_pos.mean()).detach()}

    return step


def fit_ebm(model, data, *, n_iters=1600, batch_size=256, buffer_size=8192,
            n_langevin_steps=15, step_size=0.02, reinit_prob=0.05, alpha=0.03, lr=3e-3,
            generator=None, progress=True):
    r"""Maximum likelihood for an :class:`EnergyMLP` with short-run Langevin negatives.

    ``n_iters`` updates of :func:`energy_mlp_step` on shuffled minibatches of ``batch_size``
    rows of ``data`` (shape (n, 2)), through :func:`dgm_course.training.fit`, with Adam
    (:math:`\beta_1 = 0`) and a learning rate that decays from ``lr`` to zero along a cosine,
    :math:`\eta_t = \eta_0 \frac12 (1 + \cos(\pi t / T))` (a ``CosineAnnealingLR``
    scheduler), so that the last updates average the noise of the short-run negatives
    instead of following it. The Langevin step size is small because unadjusted Langevin
    samples a too-wide density at a finite step, and the model would learn to compensate by
    being too narrow. The replay buffer starts uniform in ``[-lim, lim]^2``.

    Returns the :class:`~dgm_course.training.History` (``history.steps["loss"]`` per
    update); the final buffer is kept as ``model.buffer_`` (its states are approximate
    samples of the model).
    """
    dtype = model_dtype(model)
    data = check_data(data, "data", n_features=2, dtype=dtype, min_rows=1)
    n_iters = check_int(n_iters, "n_iters", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    buffer_size = check_int(buffer_size, "buffer_size", 1)
    lr = check_positive(lr, "lr")
    check_bool(progress, "progress")
    gen = make_generator(generator)
    buffer = (2 * torch.rand(buffer_size, 2, generator=gen, dtype=dtype) - 1) * model.lim
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.0, 0.999))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, n_iters)
    step = energy_mlp_step(model, optimizer, buffer, n_langevin_steps=n_langevin_steps,
                           step_size=step_size, reinit_prob=reinit_prob, alpha=alpha)
    batch_size = min(batch_size, data.shape[0])
    epochs = math.ceil(n_iters / math.ceil(data.shape[0] / batch_size))
    history = fit(model, step, data, epochs=epochs, batch_size=batch_size, max_steps=n_iters,
                  schedulers=[schedule], generator=gen, progress=progress, desc="EBM")
    model.buffer_ = buffer
    return history
