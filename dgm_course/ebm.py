r"""Chapter 2, energy-based models: the Boltzmann machine, its exact gradient, Gibbs sampling.

An energy-based model gives probability :math:`P(x) = e^{-E(x)}/Z`. This module holds the
chapter's discrete model, the fully connected **Boltzmann machine** over binary visible
units :math:`v` and hidden units :math:`h` (Ackley, Hinton and Sejnowski 1985),

.. math::
    E(v, h) = -v^\top R v - v^\top W h - h^\top S h - b^\top v - c^\top h,

small enough here to enumerate, so that its partition function :math:`Z`, its
log-likelihood and the log-likelihood gradient

.. math::
    \nabla_\theta \log P(v) = E_{P(h \mid v)}[-\nabla_\theta E(v, h)]
    - E_{P(v', h')}[-\nabla_\theta E(v', h')]

(positive phase minus negative phase) are exact, and the Monte Carlo estimate of the
negative phase from Gibbs chains (persistent, as in Tieleman 2008) can be measured against
them. Pseudo-likelihood (Besag 1975) is the contrastive alternative that needs no :math:`Z`.
The continuous samplers (Langevin, MALA) and the neural 2-D energy are in
:mod:`dgm_course.mcmc`.

Symmetry convention: ``R`` and ``S`` are stored as full matrices, and the energy uses their
symmetric, zero-diagonal part :math:`\tfrac12(R + R^\top)` with the diagonal set to 0. A
model built symmetric stays symmetric under gradient steps, because the log-likelihood
gradient with respect to ``R`` is :math:`\langle v v^\top\rangle_{data} - \langle v
v^\top\rangle_{model}` off the diagonal and 0 on it.
"""
import math

import torch
from torch import nn
from tqdm.auto import tqdm

from dgm_course.evaluation import MAX_ENUMERATED_UNITS, all_binary_states, log_sum_exp_over_states
from dgm_course.utils import check_int, make_generator

PARAMETER_NAMES = ("R", "W", "S", "b", "c")


def _symmetric(A):
    """The symmetric, zero-diagonal part of a square matrix: (A + A^T)/2 with diag 0."""
    return 0.5 * (A + A.T) * (1 - torch.eye(A.shape[0], dtype=A.dtype, device=A.device))


class BoltzmannMachine(nn.Module):
    r"""A Boltzmann machine over ``n_visible`` binary visible and ``n_hidden`` hidden units.

    .. math::
        E(v, h) = -v^\top R v - v^\top W h - h^\top S h - b^\top v - c^\top h,
        \qquad P(v) = \frac{e^{-F(v)}}{Z}, \quad F(v) = -\log \sum_h e^{-E(v, h)}

    Parameters
    ----------
    n_visible : int
        Number of visible units, >= 1.
    n_hidden : int
        Number of hidden units, >= 0 (0 gives a fully visible Boltzmann machine).
    init_std : float
        Standard deviation of the random initial couplings (symmetrised); biases start at 0.
    generator : int or torch.Generator, optional
        Seeds the initial couplings.

    Attributes
    ----------
    R : Parameter of shape (n_visible, n_visible)   visible-visible couplings (symmetric part used)
    W : Parameter of shape (n_visible, n_hidden)    visible-hidden couplings
    S : Parameter of shape (n_hidden, n_hidden)     hidden-hidden couplings (symmetric part used)
    b : Parameter of shape (n_visible,)             visible biases
    c : Parameter of shape (n_hidden,)              hidden biases

    Examples
    --------
    >>> bm = BoltzmannMachine(3, 2, generator=0)
    >>> v = all_binary_states(3)
    >>> round(float(bm.log_prob(v).detach().exp().sum()), 6)  # the 8 visible states sum to one
    1.0
    """

    def __init__(self, n_visible, n_hidden=0, *, init_std=0.1, generator=None):
        super().__init__()
        check_int(n_visible, "n_visible", 1)
        check_int(n_hidden, "n_hidden", 0)
        if not init_std >= 0:
            raise ValueError(f"init_std must be >= 0, got {init_std!r}")
        gen = make_generator(generator)
        nv, nh = n_visible, n_hidden
        self.n_visible, self.n_hidden = nv, nh
        self.R = nn.Parameter(_symmetric(init_std * torch.randn(nv, nv, generator=gen)) * math.sqrt(2))
        self.W = nn.Parameter(init_std * torch.randn(nv, nh, generator=gen))
        self.S = nn.Parameter(_symmetric(init_std * torch.randn(nh, nh, generator=gen)) * math.sqrt(2))
        self.b = nn.Parameter(torch.zeros(nv))
        self.c = nn.Parameter(torch.zeros(nh))

    @classmethod
    def from_parameters(cls, *, b, R=None, W=None, S=None, c=None):
        """A machine with the given parameters (tensors; missing couplings are zero)."""
        b = torch.as_tensor(b, dtype=torch.get_default_dtype()) if not torch.is_tensor(b) else b
        nv = b.shape[0]
        nh = W.shape[1] if W is not None else (c.shape[0] if c is not None else 0)
        model = cls(nv, nh, init_std=0.0, generator=0).to(b.dtype)
        given = {"R": R, "W": W, "S": S, "b": b, "c": c}
        with torch.no_grad():
            for name, value in given.items():
                param = getattr(model, name)
                if value is None:
                    continue
                value = torch.as_tensor(value, dtype=param.dtype)
                if value.shape != param.shape:
                    raise ValueError(f"{name} must have shape {tuple(param.shape)} for n_visible={nv}, "
                                     f"n_hidden={nh}; got {tuple(value.shape)}")
                param.copy_(value)
        return model

    @property
    def n_units(self):
        return self.n_visible + self.n_hidden

    def joint_parameters(self, dtype=None):
        r"""The machine as one coupling matrix over :math:`x = (v, h)`: ``(J, a)`` with
        :math:`E(x) = -x^\top J x - a^\top x`, :math:`J = [[R, W/2], [W^\top/2, S]]`
        (symmetric, zero diagonal) of shape (n_units, n_units) and :math:`a = (b, c)`."""
        R, S = _symmetric(self.R), _symmetric(self.S)
        J = torch.cat([torch.cat([R, 0.5 * self.W], 1), torch.cat([0.5 * self.W.T, S], 1)], 0)
        a = torch.cat([self.b, self.c])
        return (J, a) if dtype is None else (J.to(dtype), a.to(dtype))

    def _check_binary(self, x, name, n_columns):
        if not torch.is_tensor(x) or x.dim() != 2 or x.shape[1] != n_columns:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"{name} must be a tensor of shape (batch, {n_columns}), got {shape}")
        if not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(f"{name} must be binary (0/1); got values {x.unique()[:5].tolist()}...")
        return x if x.is_floating_point() else x.float()

    def joint_energy(self, x):
        """Energy of joint states ``x = (v, h)`` of shape (batch, n_units): shape (batch,)."""
        J, a = self.joint_parameters(x.dtype)
        return -((x @ J) * x).sum(1) - x @ a

    def energy(self, v, h=None):
        r"""The energy :math:`E(v, h)` of each row: shape (batch,). ``h`` is needed when
        n_hidden > 0."""
        v = self._check_binary(v, "v", self.n_visible)
        if h is None:
            if self.n_hidden:
                raise ValueError(f"h is needed for a machine with n_hidden={self.n_hidden}; use free_energy(v)")
            h = v.new_zeros(v.shape[0], 0)
        h = self._check_binary(h, "h", self.n_hidden)
        return self.joint_energy(torch.cat([v, h.to(v.dtype)], 1))

    def _hidden_states(self, dtype):
        if self.n_hidden > MAX_ENUMERATED_UNITS:
            raise ValueError(f"summing over the hidden units needs 2**{self.n_hidden} states, more than the "
                             f"2**{MAX_ENUMERATED_UNITS} that are enumerated")
        return all_binary_states(self.n_hidden, dtype=dtype)  # (2^nh, nh)

    def _joint_with_all_h(self, v):
        """Every (v, h) pair for each row of ``v``: (batch, 2^nh, n_units)."""
        hs = self._hidden_states(v.dtype)
        return torch.cat([v[:, None, :].expand(-1, hs.shape[0], -1), hs[None].expand(v.shape[0], -1, -1)], 2)

    def free_energy(self, v):
        r"""Free energy :math:`F(v) = -\log \sum_h e^{-E(v,h)}` of each row of ``v`` (shape
        (batch, n_visible)), by enumerating the :math:`2^{n_h}` hidden states: shape (batch,)."""
        v = self._check_binary(v, "v", self.n_visible)
        x = self._joint_with_all_h(v)  # (batch, 2^nh, n_units)
        return -torch.logsumexp(-self.joint_energy(x.flatten(0, 1)).view(x.shape[:2]), dim=1)

    def log_partition(self):
        r"""Exact :math:`\log Z = \log \sum_{v,h} e^{-E(v,h)}` by enumerating all
        :math:`2^{n_v + n_h}` states, in float64 (differentiable).

        Raises ``ValueError`` when that is more than
        ``dgm_course.evaluation.MAX_ENUMERATED_UNITS`` units allow.
        """
        n = self.n_units
        if n > MAX_ENUMERATED_UNITS:
            raise ValueError(f"log_partition enumerates all 2**{n} = {2**n:,} states of the "
                             f"{self.n_visible} visible + {self.n_hidden} hidden units, more than the "
                             f"limit of 2**{MAX_ENUMERATED_UNITS} = {2**MAX_ENUMERATED_UNITS:,} states "
                             f"(dgm_course.evaluation.MAX_ENUMERATED_UNITS); estimate it with AIS instead")
        return log_sum_exp_over_states(lambda x: -self.joint_energy(x), n)

    def log_prob(self, v):
        r"""Exact :math:`\log P(v) = -F(v) - \log Z` of each row of ``v``, in nats: shape (batch,)."""
        v = self._check_binary(v, "v", self.n_visible)
        return (-self.free_energy(v.double()) - self.log_partition()).to(v.dtype)

    def gibbs_sweep(self, v, h=None, *, generator=None, uniforms=None):
        r"""One Gibbs sweep: update every unit once, in order (visible then hidden), each from

        .. math:: P(x_i = 1 \mid x_{-i}) = \sigma\big(a_i + 2 \textstyle\sum_{j} J_{ij} x_j\big),

        which is :math:`\sigma(b_i + 2 (Rv)_i + (Wh)_i)` for a visible unit. Unit ``i`` becomes 1
        when ``uniforms[:, i]`` is below that probability.

        Parameters
        ----------
        v : tensor of shape (batch, n_visible)
        h : tensor of shape (batch, n_hidden), optional (zeros if omitted)
        generator : int or torch.Generator, optional
            Draws the uniforms when ``uniforms`` is not given.
        uniforms : tensor of shape (batch, n_units), optional
            Uniform(0, 1) numbers that make the sweep deterministic.

        Returns
        -------
        (v, h) : the new states, shapes (batch, n_visible) and (batch, n_hidden)
        """
        v = self._check_binary(v, "v", self.n_visible)
        h = v.new_zeros(v.shape[0], self.n_hidden) if h is None else self._check_binary(h, "h", self.n_hidden)
        x = torch.cat([v, h.to(v.dtype)], 1).clone()  # (batch, n_units)
        if uniforms is None:
            uniforms = torch.rand(x.shape, generator=make_generator(generator), dtype=x.dtype)
        elif uniforms.shape != x.shape:
            raise ValueError(f"uniforms must have shape {tuple(x.shape)}, got {tuple(uniforms.shape)}")
        with torch.no_grad():
            J, a = self.joint_parameters(x.dtype)
            for i in range(self.n_units):
                p = torch.sigmoid(a[i] + 2 * x @ J[i])  # (batch,); J[i, i] = 0
                x[:, i] = (uniforms[:, i] < p).to(x.dtype)
        return x[:, : self.n_visible], x[:, self.n_visible:]

    def sample(self, n, *, n_sweeps=200, generator=None, return_hidden=False):
        """``n`` visible samples from independent Gibbs chains started at uniform random states
        and run ``n_sweeps`` sweeps: shape (n, n_visible) (and the hidden states if asked)."""
        check_int(n, "n")
        check_int(n_sweeps, "n_sweeps")
        gen = make_generator(generator)
        x = torch.randint(0, 2, (n, self.n_units), generator=gen).float()
        v, h = x[:, : self.n_visible], x[:, self.n_visible:]
        for _ in range(n_sweeps):
            v, h = self.gibbs_sweep(v, h, generator=gen)
        return (v, h) if return_hidden else v


# ---------------------------------------------------------------------------------------
# The log-likelihood gradient: positive phase minus negative phase


def sufficient_statistics(model, x, weights=None):
    r"""Weighted averages of :math:`-\partial E / \partial\theta` over joint states ``x``
    (shape (m, n_units)): a dict with ``R``: :math:`\langle v v^\top\rangle` (diagonal 0),
    ``W``: :math:`\langle v h^\top\rangle`, ``S``: :math:`\langle h h^\top\rangle`
    (diagonal 0), ``b``: :math:`\langle v\rangle`, ``c``: :math:`\langle h\rangle`.
    ``weights`` (shape (m,), summing to one) defaults to uniform."""
    if weights is None:
        weights = x.new_full((x.shape[0],), 1.0 / x.shape[0])
    nv = model.n_visible
    second = (x * weights[:, None]).T @ x  # (n_units, n_units)
    second = second * (1 - torch.eye(x.shape[1], dtype=x.dtype))
    first = weights @ x  # (n_units,)
    return {"R": second[:nv, :nv], "W": second[:nv, nv:], "S": second[nv:, nv:], "b": first[:nv], "c": first[nv:]}


def positive_phase(model, v):
    r""":math:`\frac1N\sum_n E_{P(h \mid v_n)}[-\nabla_\theta E]`, the data term, with the
    posterior over the hidden units enumerated exactly (rows of ``v``: (N, n_visible))."""
    v = model._check_binary(v, "v", model.n_visible).double()
    with torch.no_grad():
        x = model._joint_with_all_h(v)  # (N, 2^nh, n_units)
        posterior = torch.softmax(-model.joint_energy(x.flatten(0, 1)).view(x.shape[:2]), dim=1)  # (N, 2^nh)
        return sufficient_statistics(model, x.flatten(0, 1), (posterior / v.shape[0]).flatten())


def negative_phase(model, samples=None):
    r""":math:`E_{P(v,h)}[-\nabla_\theta E]`, the model term: exact by enumerating every joint
    state when ``samples`` is None, else the Monte Carlo average over joint ``samples`` of
    shape (m, n_units) (for example the states of Gibbs chains)."""
    with torch.no_grad():
        if samples is not None:
            return sufficient_statistics(model, samples.double())
        model.log_partition()  # raises a clear ValueError when the states are too many
        x = all_binary_states(model.n_units, dtype=torch.float64)
        return sufficient_statistics(model, x, torch.softmax(-model.joint_energy(x), dim=0))


def exact_gradient(model, v):
    r"""The exact gradient of the mean log-likelihood :math:`\frac1N\sum_n \log P(v_n)` (nats per
    example) with respect to each parameter: a dict ``{name: tensor}`` shaped like
    ``model.R, model.W, ...``, positive phase minus exact negative phase."""
    pos, neg = positive_phase(model, v), negative_phase(model)
    return {k: (pos[k] - neg[k]).to(getattr(model, k).dtype) for k in PARAMETER_NAMES}


def gradient_distance(grad, other):
    """Euclidean distance between two gradient dicts, over all parameters together."""
    return float(torch.cat([(grad[k] - other[k]).flatten().double() for k in PARAMETER_NAMES]).norm())


def mcmc_gradient(model, v, chains, *, n_sweeps=1, generator=None):
    r"""Estimate of the same gradient whose negative phase averages over Gibbs chains.

    ``chains`` (shape (n_chains, n_units), joint states) are advanced ``n_sweeps`` sweeps
    and returned, so that they persist from one call to the next (persistent chains,
    Tieleman 2008). Returns ``(gradient dict, new chains)``."""
    gen = make_generator(generator)
    vc, hc = chains[:, : model.n_visible], chains[:, model.n_visible:]
    for _ in range(n_sweeps):
        vc, hc = model.gibbs_sweep(vc, hc, generator=gen)
    chains = torch.cat([vc, hc], 1)
    pos, neg = positive_phase(model, v), negative_phase(model, chains)
    return {k: (pos[k] - neg[k]).to(getattr(model, k).dtype) for k in PARAMETER_NAMES}, chains


def pseudo_log_likelihood(model, v):
    r"""Pseudo-log-likelihood :math:`\sum_i \log P(v_i \mid v_{-i})` of each row (Besag 1975) of a
    fully visible machine, in nats: shape (batch,). Needs no partition function:

    .. math:: \log P(v_i \mid v_{-i}) = v_i u_i - \log(1 + e^{u_i}), \quad u_i = b_i + 2 (R v)_i.
    """
    if model.n_hidden:
        raise ValueError(f"pseudo_log_likelihood is for a fully visible machine (n_hidden=0), "
                         f"got n_hidden={model.n_hidden}")
    v = model._check_binary(v, "v", model.n_visible)
    u = model.b.to(v.dtype) + 2 * v @ _symmetric(model.R).to(v.dtype)  # (batch, n_visible)
    return (v * u - nn.functional.softplus(u)).sum(1)


def fit_boltzmann(model, data, *, method="exact", n_steps=500, lr=0.05, n_chains=100, n_sweeps=1,
                  lr_decay=0.02, record_every=10, generator=None, progress=True):
    r"""Train ``model`` on the rows of ``data`` by full-batch Adam steps on the mean log-likelihood.

    Parameters
    ----------
    model : BoltzmannMachine
        Trained in place.
    data : tensor of shape (N, n_visible)
        Binary training examples.
    method : {"exact", "mcmc", "pseudo_likelihood"}
        ``"exact"``: the two-phase gradient with the exact negative phase; ``"mcmc"``: its negative
        phase from ``n_chains`` persistent Gibbs chains advanced ``n_sweeps`` sweeps per step;
        ``"pseudo_likelihood"``: autograd of the mean pseudo-log-likelihood (fully visible only).
    n_steps : int
        Parameter updates.
    lr, lr_decay : float
        Adam's learning rate at step t is ``lr / (1 + lr_decay * t)`` (a decay that tames the
        noise of the MCMC gradient).
    record_every : int
        Steps between two evaluations of the exact negative log-likelihood.
    generator : int or torch.Generator, optional
        Seeds the chains.
    progress : bool
        Show a ``tqdm.auto`` progress bar.

    Returns
    -------
    list of float
        The exact negative log-likelihood of ``data`` (nats per example) at steps
        0, record_every, 2 record_every, ..., n_steps.
    """
    if method not in ("exact", "mcmc", "pseudo_likelihood"):
        raise ValueError(f"method must be 'exact', 'mcmc' or 'pseudo_likelihood', got {method!r}")
    if method == "pseudo_likelihood" and model.n_hidden:
        raise ValueError(f"pseudo_likelihood training needs a fully visible machine (n_hidden=0), "
                         f"got n_hidden={model.n_hidden}")
    check_int(n_steps, "n_steps", 1)
    check_int(record_every, "record_every", 1)
    check_int(n_chains, "n_chains", 1)
    data = model._check_binary(data, "data", model.n_visible)
    gen = make_generator(generator)
    chains = torch.randint(0, 2, (n_chains, model.n_units), generator=gen).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 / (1 + lr_decay * t))
    nll = []
    for step in tqdm(range(n_steps + 1), disable=not progress, desc=f"{method} gradient"):
        if step % record_every == 0:
            with torch.no_grad():
                nll.append(float(-model.log_prob(data).mean()))
        if step == n_steps:
            break
        optimizer.zero_grad()
        if method == "pseudo_likelihood":
            (-pseudo_log_likelihood(model, data).mean()).backward()
        else:
            if method == "exact":
                grad = exact_gradient(model, data)
            else:
                grad, chains = mcmc_gradient(model, data, chains, n_sweeps=n_sweeps, generator=gen)
            for name in PARAMETER_NAMES:
                getattr(model, name).grad = -grad[name]  # ascend the log-likelihood
        optimizer.step()
        schedule.step()
    return nll
