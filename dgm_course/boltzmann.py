r"""Chapter 2: the fully connected Boltzmann machine, its exact gradient, Gibbs sampling.

A Boltzmann machine (Ackley, Hinton and Sejnowski 1985) over binary visible units :math:`v`
and hidden units :math:`h` has the energy

.. math::
    E(v, h) = -v^\top R v - v^\top W h - h^\top S h - b^\top v - c^\top h

and :math:`P(v, h) = e^{-E(v, h)}/Z`. The machines of the chapter are small enough to
enumerate, so that :math:`Z`, the log-likelihood and its gradient, positive phase minus
negative phase,

.. math::
    \nabla_\theta \log P(v) = E_{P(h \mid v)}[-\nabla_\theta E(v, h)]
    - E_{P(v', h')}[-\nabla_\theta E(v', h')],

are exact (:func:`exact_gradient`), and the Monte Carlo negative phase of persistent Gibbs
chains (:func:`mcmc_gradient`, Tieleman 2008) and pseudo-likelihood
(:func:`pseudo_log_likelihood`, Besag 1975) can be measured against them. Training is in
:mod:`dgm_course.ebm` (:func:`~dgm_course.ebm.fit_boltzmann`), where every name of this
module can be imported too.

``R`` and ``S`` are stored as full matrices; the energy uses their symmetric,
zero-diagonal part :math:`\tfrac12(R + R^\top)` with the diagonal set to 0, and the
gradient, :math:`\langle v v^\top\rangle_{data} - \langle v v^\top\rangle_{model}` off the
diagonal and 0 on it, keeps a symmetric model symmetric. ``W`` has shape
(n_visible, n_hidden), as everywhere in the course. Inputs (tensors, NumPy arrays, lists)
must be binary, finite and of the right width (:mod:`dgm_course.validation`) and are
converted to the model's dtype.
"""
import math

import torch
from torch import nn

from dgm_course.evaluation import all_binary_states, check_enumerable, log_sum_exp_over_states
from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_data, check_int, check_nonnegative,
                                   check_same_length, model_dtype)

PARAMETER_NAMES = ("R", "W", "S", "b", "c")


def _symmetric(A):
    """The symmetric, zero-diagonal part of a square matrix: (A + A^T)/2 with diag 0."""
    return 0.5 * (A + A.T) * (1 - torch.eye(A.shape[0], dtype=A.dtype, device=A.device))


class BoltzmannMachine(nn.Module):
    r"""A Boltzmann machine over ``n_visible`` binary visible and ``n_hidden`` hidden units,
    :math:`P(v) = e^{-F(v)}/Z` with free energy :math:`F(v) = -\log \sum_h e^{-E(v, h)}`.

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
        nv = check_int(n_visible, "n_visible", 1)
        nh = check_int(n_hidden, "n_hidden", 0)
        init_std = check_nonnegative(init_std, "init_std")
        gen = make_generator(generator)
        self.n_visible, self.n_hidden = nv, nh
        self.R = nn.Parameter(_symmetric(init_std * torch.randn(nv, nv, generator=gen)) * math.sqrt(2))
        self.W = nn.Parameter(init_std * torch.randn(nv, nh, generator=gen))
        self.S = nn.Parameter(_symmetric(init_std * torch.randn(nh, nh, generator=gen)) * math.sqrt(2))
        self.b = nn.Parameter(torch.zeros(nv))
        self.c = nn.Parameter(torch.zeros(nh))

    @classmethod
    def from_parameters(cls, *, b, R=None, W=None, S=None, c=None):
        """A machine with the given parameters (tensors or arrays; missing couplings are zero),
        of ``b``'s floating dtype (the default dtype for other inputs)."""
        b = check_data(b, "b", ndim=1)
        nv = b.shape[0]
        W = None if W is None else check_data(W, "W", dtype=b.dtype)
        c = None if c is None else check_data(c, "c", ndim=1, dtype=b.dtype)
        nh = W.shape[1] if W is not None else (c.shape[0] if c is not None else 0)
        model = cls(nv, nh, init_std=0.0, generator=0).to(b.dtype)
        given = {"R": R, "W": W, "S": S, "b": b, "c": c}
        with torch.no_grad():
            for name, value in given.items():
                if value is None:
                    continue
                param = getattr(model, name)
                value = check_data(value, name, ndim=param.dim(), dtype=param.dtype)
                if value.shape != param.shape:
                    raise ValueError(f"{name} must have shape {tuple(param.shape)} for "
                                     f"n_visible={nv}, n_hidden={nh}; got {tuple(value.shape)}")
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

    def _check(self, x, name, n_columns):
        """Binary data of width ``n_columns`` in the model's dtype."""
        return check_data(x, name, n_features=n_columns, support="binary",
                          dtype=model_dtype(self))

    def joint_energy(self, x):
        """Energy of joint states ``x = (v, h)`` of shape (batch, n_units): shape (batch,).

        ``x`` is not checked (this is the inner loop of enumeration): pass binary rows."""
        J, a = self.joint_parameters(x.dtype)
        return -((x @ J) * x).sum(1) - x @ a

    def energy(self, v, h=None):
        r"""The energy :math:`E(v, h)` of each row: shape (batch,). ``h`` is needed when
        n_hidden > 0."""
        v = self._check(v, "v", self.n_visible)
        if h is None:
            if self.n_hidden:
                raise ValueError(f"h is needed for a machine with n_hidden={self.n_hidden}; "
                                 "use free_energy(v)")
            h = v.new_zeros(v.shape[0], 0)
        h = self._check(h, "h", self.n_hidden)
        check_same_length("v", v, "h", h)
        return self.joint_energy(torch.cat([v, h], 1))

    def _joint_with_all_h(self, v):
        """Every (v, h) pair for each row of ``v``: (batch, 2^nh, n_units)."""
        check_enumerable(self.n_hidden, "summing over the hidden units")
        hs = all_binary_states(self.n_hidden, dtype=v.dtype)  # (2^nh, nh)
        v_rep = v[:, None, :].expand(-1, hs.shape[0], -1)
        return torch.cat([v_rep, hs[None].expand(v.shape[0], -1, -1)], 2)

    def _free_energy(self, v):
        x = self._joint_with_all_h(v)  # (batch, 2^nh, n_units)
        return -torch.logsumexp(-self.joint_energy(x.flatten(0, 1)).view(x.shape[:2]), dim=1)

    def free_energy(self, v):
        r"""Free energy :math:`F(v) = -\log \sum_h e^{-E(v,h)}` of each row of ``v`` (shape
        (batch, n_visible)), by enumerating the :math:`2^{n_h}` hidden states: shape (batch,).
        Differentiable."""
        return self._free_energy(self._check(v, "v", self.n_visible))

    def log_partition(self):
        r"""Exact :math:`\log Z = \log \sum_{v,h} e^{-E(v,h)}` by enumerating all
        :math:`2^{n_v + n_h}` states, in float64: a 0-d tensor, differentiable.

        Raises the ``ValueError`` of :func:`dgm_course.evaluation.check_enumerable` when
        there are more than ``MAX_ENUMERATED_UNITS`` units.
        """
        check_enumerable(self.n_units, f"log_partition of a Boltzmann machine with "
                                       f"{self.n_visible} visible + {self.n_hidden} hidden units")
        return log_sum_exp_over_states(lambda x: -self.joint_energy(x), self.n_units)

    def log_prob(self, v):
        r"""Exact :math:`\log P(v) = -F(v) - \log Z` of each row of ``v``, in nats per example
        (shape (batch,), the model's dtype; computed in float64).

        Fully differentiable: the gradient of its mean is the exact log-likelihood gradient,
        positive phase minus negative phase (see :func:`exact_gradient`)."""
        v = self._check(v, "v", self.n_visible)
        return (-self._free_energy(v.double()) - self.log_partition()).to(v.dtype)

    def _sweep(self, x, uniforms):
        """One sequential sweep over the joint states ``x`` (batch, n_units), in place."""
        with torch.no_grad():
            J, a = self.joint_parameters(x.dtype)
            for i in range(self.n_units):
                p = torch.sigmoid(a[i] + 2 * x @ J[i])  # (batch,); J[i, i] = 0
                x[:, i] = (uniforms[:, i] < p).to(x.dtype)
        return x

    def _run_chains(self, x, n_steps, gen):
        """Advance joint states ``x`` (batch, n_units) by ``n_steps`` sweeps; returns new states."""
        x = x.clone()
        for _ in range(n_steps):
            self._sweep(x, torch.rand(x.shape, generator=gen, dtype=x.dtype))
        return x

    def gibbs_sweep(self, v, h=None, *, generator=None, uniforms=None):
        r"""One Gibbs sweep: update every unit once, in order (visible then hidden), each from

        .. math:: P(x_i = 1 \mid x_{-i}) = \sigma\big(a_i + 2 \textstyle\sum_{j} J_{ij} x_j\big),

        which is :math:`\sigma(b_i + 2 (Rv)_i + (Wh)_i)` for a visible unit. Unit ``i`` becomes 1
        when ``uniforms[:, i]`` is below that probability.

        ``v``: (batch, n_visible); ``h``: (batch, n_hidden), zeros if omitted; ``uniforms``:
        (batch, n_units) numbers in [0, 1] that make the sweep deterministic, else drawn from
        ``generator``. Returns the new ``(v, h)``.
        """
        v = self._check(v, "v", self.n_visible)
        h = v.new_zeros(v.shape[0], self.n_hidden) if h is None else self._check(h, "h", self.n_hidden)
        check_same_length("v", v, "h", h)
        x = torch.cat([v, h], 1)  # (batch, n_units), a new tensor
        if uniforms is None:
            uniforms = torch.rand(x.shape, generator=make_generator(generator), dtype=x.dtype)
        else:
            uniforms = check_data(uniforms, "uniforms", n_features=self.n_units, support="unit",
                                  dtype=x.dtype)
            check_same_length("v", v, "uniforms", uniforms)
        self._sweep(x, uniforms)
        return x[:, : self.n_visible], x[:, self.n_visible:]

    def sample(self, n, *, n_steps=200, generator=None, return_latent=False):
        """``n`` visible samples from independent Gibbs chains started at uniform random states
        and run ``n_steps`` sweeps: shape (n, n_visible), and the hidden states, shape
        (n, n_hidden), as ``(v, h)`` with ``return_latent=True``. The same seed gives the same
        samples."""
        n = check_int(n, "n")
        n_steps = check_int(n_steps, "n_steps")
        return_latent = check_bool(return_latent, "return_latent")
        gen = make_generator(generator)
        x = torch.randint(0, 2, (n, self.n_units), generator=gen).to(model_dtype(self))
        x = self._run_chains(x, n_steps, gen)
        v, h = x[:, : self.n_visible], x[:, self.n_visible:]
        return (v, h) if return_latent else v


# ---------------------------------------------------------------------------------------
# The log-likelihood gradient: positive phase minus negative phase


def _statistics(model, x, weights):
    nv = model.n_visible
    second = (x * weights[:, None]).T @ x  # (n_units, n_units)
    second = second * (1 - torch.eye(x.shape[1], dtype=x.dtype))
    first = weights @ x  # (n_units,)
    return {"R": second[:nv, :nv], "W": second[:nv, nv:], "S": second[nv:, nv:],
            "b": first[:nv], "c": first[nv:]}


def sufficient_statistics(model, x, weights=None):
    r"""Weighted averages of :math:`-\partial E / \partial\theta` over joint states ``x``
    (shape (m, n_units)): a dict with ``R``: :math:`\langle v v^\top\rangle` (diagonal 0),
    ``W``: :math:`\langle v h^\top\rangle`, ``S``: :math:`\langle h h^\top\rangle`
    (diagonal 0), ``b``: :math:`\langle v\rangle`, ``c``: :math:`\langle h\rangle`.
    ``weights`` (shape (m,), summing to one) defaults to uniform."""
    x = check_data(x, "x", n_features=model.n_units, support="binary", min_rows=1)
    if weights is None:
        weights = x.new_full((x.shape[0],), 1.0 / x.shape[0])
    weights = check_data(weights, "weights", ndim=1, dtype=x.dtype)
    check_same_length("x", x, "weights", weights)
    return _statistics(model, x, weights)


def _check_v(model, v):
    return check_data(v, "v", n_features=model.n_visible, support="binary",
                      dtype=torch.float64, min_rows=1)


def _check_joint(model, x, name):
    return check_data(x, name, n_features=model.n_units, support="binary",
                      dtype=torch.float64, min_rows=1)


def _positive_phase(model, v):  # v: checked, float64
    with torch.no_grad():
        x = model._joint_with_all_h(v).flatten(0, 1)  # (N * 2^nh, n_units)
        log_w = -model.joint_energy(x).view(v.shape[0], -1)  # (N, 2^nh)
        posterior = torch.softmax(log_w, dim=1)
        return _statistics(model, x, (posterior / v.shape[0]).flatten())


def _negative_phase(model, samples):  # samples: None or checked, float64
    with torch.no_grad():
        if samples is not None:
            weights = samples.new_full((samples.shape[0],), 1.0 / samples.shape[0])
            return _statistics(model, samples, weights)
        check_enumerable(model.n_units, "the exact negative phase")
        x = all_binary_states(model.n_units, dtype=torch.float64)
        return _statistics(model, x, torch.softmax(-model.joint_energy(x), dim=0))


def positive_phase(model, v):
    r""":math:`\frac1N\sum_n E_{P(h \mid v_n)}[-\nabla_\theta E]`, the data term, with the
    posterior over the hidden units enumerated exactly (rows of ``v``: (N, n_visible)),
    in float64."""
    return _positive_phase(model, _check_v(model, v))


def negative_phase(model, samples=None):
    r""":math:`E_{P(v,h)}[-\nabla_\theta E]`, the model term, in float64: exact by enumerating
    every joint state when ``samples`` is None, else the Monte Carlo average over joint
    ``samples`` of shape (m, n_units) (for example the states of Gibbs chains)."""
    if samples is not None:
        samples = _check_joint(model, samples, "samples")
    return _negative_phase(model, samples)


def exact_gradient(model, v):
    r"""The exact gradient of the mean log-likelihood :math:`\frac1N\sum_n \log P(v_n)` (nats
    per example) with respect to each parameter: a dict ``{name: tensor}`` shaped like
    ``model.R, model.W, ...``, positive phase minus exact negative phase."""
    pos, neg = _positive_phase(model, _check_v(model, v)), _negative_phase(model, None)
    return {k: (pos[k] - neg[k]).to(getattr(model, k).dtype) for k in PARAMETER_NAMES}


def gradient_distance(grad, other):
    """Euclidean distance between two gradient dicts, over all parameters together."""
    for name, g in (("grad", grad), ("other", other)):
        if not isinstance(g, dict) or set(PARAMETER_NAMES) - set(g):
            raise ValueError(f"{name} must be a dict with the keys {PARAMETER_NAMES}, got "
                             f"{sorted(g) if isinstance(g, dict) else type(g).__name__}")
    diffs = [(grad[k] - other[k]).flatten().double() for k in PARAMETER_NAMES]
    return float(torch.cat(diffs).norm())


def mcmc_gradient(model, v, chains, *, n_steps=1, generator=None):
    r"""Estimate of the same gradient whose negative phase averages over Gibbs chains.

    ``chains`` (shape (n_chains, n_units), joint binary states) are advanced ``n_steps``
    sweeps and returned, so that they persist from one call to the next (persistent chains,
    Tieleman 2008). Returns ``(gradient dict, new chains)``."""
    v = _check_v(model, v)
    chains = check_data(chains, "chains", n_features=model.n_units, support="binary",
                        dtype=model_dtype(model), min_rows=1)
    n_steps = check_int(n_steps, "n_steps")
    chains = model._run_chains(chains, n_steps, make_generator(generator))
    pos, neg = _positive_phase(model, v), _negative_phase(model, chains.double())
    grad = {k: (pos[k] - neg[k]).to(getattr(model, k).dtype) for k in PARAMETER_NAMES}
    return grad, chains


def pseudo_log_likelihood(model, v):
    r"""Pseudo-log-likelihood :math:`\sum_i \log P(v_i \mid v_{-i})` of each row (Besag 1975)
    of a fully visible machine, in nats: shape (batch,), differentiable. Needs no partition
    function:

    .. math:: \log P(v_i \mid v_{-i}) = v_i u_i - \log(1 + e^{u_i}), \quad u_i = b_i + 2 (R v)_i.
    """
    if model.n_hidden:
        raise ValueError(f"pseudo_log_likelihood is for a fully visible machine (n_hidden=0), "
                         f"got n_hidden={model.n_hidden}")
    v = model._check(v, "v", model.n_visible)
    u = model.b + 2 * v @ _symmetric(model.R)  # (batch, n_visible)
    return -nn.functional.binary_cross_entropy_with_logits(u, v, reduction="none").sum(1)
