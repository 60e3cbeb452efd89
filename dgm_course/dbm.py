r"""Deep Boltzmann machines: two hidden layers, undirected all the way (chapter 3).

A DBM (Salakhutdinov & Hinton 2009) stacks binary layers :math:`v, h^1, h^2` with
couplings only between adjacent layers and every connection undirected:

.. math::
    E(v, h^1, h^2) = -b^\top v - c^{1\top} h^1 - c^{2\top} h^2
    - v^\top W^1 h^1 - h^{1\top} W^2 h^2 \qquad \text{(eq. rbm-dbm-energy)}

with ``W1`` of shape ``(n_visible, n_hidden1)`` and ``W2`` of shape
``(n_hidden1, n_hidden2)``, in the orientation of :class:`dgm_course.rbm.RBM`. Given
:math:`h^1`, the layers :math:`v` and :math:`h^2` are independent (block Gibbs sampling
alternates between the odd and the even layers); given :math:`v` alone, the posterior over
:math:`h^1, h^2` is *not* factorial, because :math:`h^2` couples the units of :math:`h^1`.
Training approximates it by a factorial mean-field :math:`q` (positive phase) and samples
the model with persistent Gibbs chains (negative phase).

Inside: :class:`DBM` (energy, exact :meth:`~DBM.free_energy`, :meth:`~DBM.log_partition` and
:meth:`~DBM.log_prob` by enumerating one hidden layer, :meth:`~DBM.mean_field`,
:meth:`~DBM.elbo`, the Gibbs conditionals, :meth:`~DBM.sample`, :meth:`~DBM.fit`) and
:class:`DBMStep`, the step function for :func:`dgm_course.training.fit`.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import training
from dgm_course.evaluation import (all_binary_states, check_enumerable,
                                   log_sum_exp_over_states)
from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_choice, check_data, check_int,
                                   check_nonnegative, check_number, check_positive,
                                   check_same_length, model_dtype)


class DBM(nn.Module):
    r"""A deep Boltzmann machine with binary layers ``v``, ``h1``, ``h2``.

    Parameters ``W1`` (n_visible, n_hidden1), ``W2`` (n_hidden1, n_hidden2), biases ``b``,
    ``c1``, ``c2``. Weights start as :math:`\mathcal N(0, \text{init\_std}^2)` seeded by
    ``generator``, biases at 0.

    Examples
    --------
    >>> from dgm_course.evaluation import all_binary_states
    >>> dbm = DBM(3, 2, 2, init_std=1.0, generator=0)
    >>> p = dbm.log_prob(all_binary_states(3)).exp()
    >>> round(float(p.sum()), 6)
    1.0
    """

    def __init__(self, n_visible, n_hidden1, n_hidden2, *, init_std=0.01, generator=None):
        super().__init__()
        self.n_visible = check_int(n_visible, "n_visible", 1)
        self.n_hidden1 = check_int(n_hidden1, "n_hidden1", 1)
        self.n_hidden2 = check_int(n_hidden2, "n_hidden2", 1)
        init_std = check_nonnegative(init_std, "init_std")
        gen = make_generator(generator)
        self.W1 = nn.Parameter(torch.empty(self.n_visible, self.n_hidden1))
        self.W2 = nn.Parameter(torch.empty(self.n_hidden1, self.n_hidden2))
        self.b = nn.Parameter(torch.zeros(self.n_visible))
        self.c1 = nn.Parameter(torch.zeros(self.n_hidden1))
        self.c2 = nn.Parameter(torch.zeros(self.n_hidden2))
        nn.init.normal_(self.W1, std=init_std, generator=gen)
        nn.init.normal_(self.W2, std=init_std, generator=gen)

    def extra_repr(self):
        return f"n_visible={self.n_visible}, n_hidden1={self.n_hidden1}, n_hidden2={self.n_hidden2}"

    def _check(self, x, name, n, states=True):
        return check_data(x, name, n_features=n, support="binary" if states else "unit",
                          dtype=model_dtype(self), device=self.W1.device)

    # ------------------------------------------------------------------ energies
    def energy(self, v, h1, h2):
        """:math:`E(v, h^1, h^2)` (eq. rbm-dbm-energy) of each row: shape ``(n,)``."""
        v = self._check(v, "v", self.n_visible)
        h1 = self._check(h1, "h1", self.n_hidden1)
        h2 = self._check(h2, "h2", self.n_hidden2)
        check_same_length("v", v, "h1", h1), check_same_length("v", v, "h2", h2)
        return (-(v @ self.b) - h1 @ self.c1 - h2 @ self.c2
                - ((v @ self.W1) * h1).sum(1) - ((h1 @ self.W2) * h2).sum(1))

    def free_energy(self, v):
        r""":math:`F(v) = -\log \sum_{h^1, h^2} e^{-E(v, h^1, h^2)}`, shape ``(n,)``: exact,
        summing one hidden layer in closed form (softplus) and enumerating the other (the
        smaller). Differentiable."""
        v = self._check(v, "v", self.n_visible)
        a1 = v @ self.W1 + self.c1  # (n, H1) input to h1 from v
        if self.n_hidden2 <= self.n_hidden1:  # enumerate h2: h1 sums out given (v, h2)
            check_enumerable(self.n_hidden2, "DBM.free_energy")
            h2 = _states(self.n_hidden2, v)
            inner = (h2 @ self.c2)[None] + F.softplus(a1[:, None] + (h2 @ self.W2.T)[None]).sum(2)
        else:  # enumerate h1: h2 sums out given h1
            check_enumerable(self.n_hidden1, "DBM.free_energy")
            h1 = _states(self.n_hidden1, v)
            inner = a1 @ h1.T + F.softplus(h1 @ self.W2 + self.c2).sum(1)[None]
        return -(v @ self.b) - torch.logsumexp(inner, 1)

    @torch.no_grad()
    def log_partition(self):
        r"""Exact :math:`\log Z` (0-d float64 tensor, nats) by enumerating :math:`h^1`: given
        :math:`h^1`, :math:`v` and :math:`h^2` sum out in closed form,

        .. math::
            \log Z = \log \sum_{h^1} \exp\Big(c^{1\top} h^1
            + \sum_i \operatorname{softplus}(b_i + W^1_{i,:} h^1)
            + \sum_k \operatorname{softplus}(c^2_k + h^{1\top} W^2_{:,k})\Big).
        """
        check_enumerable(self.n_hidden1, "DBM.log_partition")
        W1, W2, b, c1, c2 = (t.detach().double()
                             for t in (self.W1, self.W2, self.b, self.c1, self.c2))

        def log_weight(h1):
            return (h1 @ c1 + F.softplus(h1 @ W1.T + b).sum(1)
                    + F.softplus(h1 @ W2 + c2).sum(1))
        return log_sum_exp_over_states(log_weight, self.n_hidden1)

    @torch.no_grad()
    def log_prob(self, v, *, log_z=None):
        r""":math:`\log P(v) = -F(v) - \log Z`, nats per example summed over pixels: shape
        ``(n,)``, exact (float64). Runs under ``torch.no_grad()``: not differentiable."""
        v = self._check(v, "v", self.n_visible)
        log_z = self.log_partition() if log_z is None else check_number(log_z, "log_z")
        return -_float64(self).free_energy(v.double()) - log_z

    # ------------------------------------------------------- conditionals and sampling
    def _p_h1(self, v, h2):  # (n, H1)  sigma(c1 + v W1 + h2 W2^T): h1 sees both neighbours
        return torch.sigmoid(self.c1 + v @ self.W1 + h2 @ self.W2.T)

    def _p_v(self, h1):  # (n, D)  sigma(b + h1 W1^T)
        return torch.sigmoid(self.b + h1 @ self.W1.T)

    def _p_h2(self, h1):  # (n, H2)  sigma(c2 + h1 W2)
        return torch.sigmoid(self.c2 + h1 @ self.W2)

    @torch.no_grad()
    def p_h1(self, v, h2):
        r""":math:`P(h^1 = 1 \mid v, h^2) = \sigma(c^1 + vW^1 + h^2 W^{2\top})`: ``(n, H1)``.
        ``v`` and ``h2`` may hold probabilities (a mean-field update)."""
        v = self._check(v, "v", self.n_visible, states=False)
        h2 = self._check(h2, "h2", self.n_hidden2, states=False)
        check_same_length("v", v, "h2", h2)
        return self._p_h1(v, h2)

    @torch.no_grad()
    def p_v(self, h1):
        r""":math:`P(v = 1 \mid h^1) = \sigma(b + h^1 W^{1\top})`: shape ``(n, n_visible)``."""
        return self._p_v(self._check(h1, "h1", self.n_hidden1, states=False))

    @torch.no_grad()
    def p_h2(self, h1):
        r""":math:`P(h^2 = 1 \mid h^1) = \sigma(c^2 + h^1 W^2)`: shape ``(n, n_hidden2)``."""
        return self._p_h2(self._check(h1, "h1", self.n_hidden1, states=False))

    def _gibbs_step(self, v, h2, gen):  # h1 | v, h2, then v, h2 | h1 (one block sweep)
        h1 = torch.bernoulli(self._p_h1(v, h2), generator=gen)
        v = torch.bernoulli(self._p_v(h1), generator=gen)
        h2 = torch.bernoulli(self._p_h2(h1), generator=gen)
        return v, h1, h2

    @torch.no_grad()
    def sample(self, n, *, n_steps=1000, generator=None, return_latent=False):
        """``n`` visible samples after ``n_steps`` block Gibbs sweeps (:math:`h^1` given
        :math:`v, h^2`; then :math:`v` and :math:`h^2` given :math:`h^1`) from uniform random
        states: shape ``(n, n_visible)``; with ``return_latent``, ``(v, [h1, h2])``."""
        n = check_int(n, "n")
        n_steps = check_int(n_steps, "n_steps")
        check_bool(return_latent, "return_latent")
        gen = make_generator(generator)
        dtype = model_dtype(self)
        half = torch.full((n, self.n_visible + self.n_hidden1 + self.n_hidden2), 0.5, dtype=dtype)
        v, h1, h2 = torch.bernoulli(half, generator=gen).split(
            [self.n_visible, self.n_hidden1, self.n_hidden2], dim=1)
        for _ in range(n_steps):
            v, h1, h2 = self._gibbs_step(v, h2, gen)
        return (v, [h1, h2]) if return_latent else v

    # ------------------------------------------------------------ mean-field inference
    @torch.no_grad()
    def mean_field(self, v, *, n_iter=30, tol=1e-6):
        r"""The factorial :math:`q(h^1, h^2 \mid v) = \prod_j \mu^1_j{}^{h^1_j}(1-\mu^1_j)^{1-h^1_j}
        \prod_k \dots` that maximises the ELBO, by fixed-point iteration of

        .. math::
            \mu^1 = \sigma(c^1 + v W^1 + \mu^2 W^{2\top}), \qquad
            \mu^2 = \sigma(c^2 + \mu^1 W^2) \qquad \text{(eq. rbm-dbm-mean-field)}

        from :math:`\mu^2 = \sigma(c^2 + \sigma(c^1 + vW^1) W^2)`, for at most ``n_iter``
        sweeps or until no parameter moves more than ``tol``. Returns ``(mu1, mu2)``.
        """
        v = self._check(v, "v", self.n_visible, states=False)
        n_iter = check_int(n_iter, "n_iter", 1)
        tol = check_nonnegative(tol, "tol")
        return self._mean_field(v, n_iter, tol)

    def _mean_field(self, v, n_iter, tol=0.0):
        mu2 = self._p_h2(torch.sigmoid(self.c1 + v @ self.W1))
        mu1 = self._p_h1(v, mu2)
        for _ in range(n_iter):
            new1 = self._p_h1(v, mu2)
            new2 = self._p_h2(new1)
            done = tol > 0 and len(v) and max(float((new1 - mu1).abs().max()),
                                              float((new2 - mu2).abs().max())) <= tol
            mu1, mu2 = new1, new2
            if done:
                break
        return mu1, mu2

    @torch.no_grad()
    def elbo(self, v, *, n_iter=30, log_z=None):
        r"""The evidence lower bound :math:`\mathbb E_q[-E(v, h^1, h^2)] + \mathcal H(q) - \log Z
        \le \log P(v)` with the mean-field :math:`q` of :meth:`mean_field`: nats per example,
        shape ``(n,)``, float64, exact :math:`\log Z` by default; no gradients."""
        v = self._check(v, "v", self.n_visible)
        model = _float64(self)
        v = v.double()
        mu1, mu2 = model._mean_field(v, check_int(n_iter, "n_iter", 1))
        expected = (v @ model.b + mu1 @ model.c1 + mu2 @ model.c2
                    + ((v @ model.W1) * mu1).sum(1) + ((mu1 @ model.W2) * mu2).sum(1))
        log_z = self.log_partition() if log_z is None else check_number(log_z, "log_z")
        return expected + _bernoulli_entropy(mu1) + _bernoulli_entropy(mu2) - log_z

    # ------------------------------------------------------------------------ training
    def fit(self, data, *, epochs=100, batch_size=20, lr=0.05, n_chains=100, k=1,
            n_mean_field=10, weight_decay=0.0, lr_schedule="linear", init_visible_bias=True,
            validate=None, generator=None, progress=False):
        """Train with :class:`DBMStep` (mean-field positive phase, persistent Gibbs chains for
        the negative phase) in :func:`dgm_course.training.fit`. ``data`` (n, n_visible) is
        binary; ``init_visible_bias`` starts ``b`` at the pixels' log-odds. Returns the
        :class:`~dgm_course.training.History` (``"lr"`` and the ``validate`` metrics)."""
        data = self._check(data, "data", self.n_visible)
        batch_size = check_int(batch_size, "batch_size", 1, len(data))
        step = DBMStep(self, lr=lr, n_chains=n_chains, k=k, n_mean_field=n_mean_field,
                       weight_decay=weight_decay, lr_schedule=lr_schedule)
        if check_bool(init_visible_bias, "init_visible_bias"):
            with torch.no_grad():
                self.b.copy_(torch.logit(data.mean(0), eps=1e-3))
        return training.fit(self, step, data, epochs=epochs, batch_size=batch_size,
                            validate=validate, generator=generator, progress=progress,
                            desc="training DBM")


class DBMStep:
    r"""The step function of DBM training (Salakhutdinov & Hinton 2009) for
    :func:`dgm_course.training.fit`. On each batch: the mean-field :math:`\mu^1, \mu^2`
    (``n_mean_field`` sweeps) give the data statistics; ``n_chains`` persistent chains, moved
    ``k`` block Gibbs sweeps, give the model's; then gradient ascent,

    .. math::
        \Delta W^1 \propto \langle v \mu^{1\top} \rangle_{\text{data}}
        - \langle v h^{1\top} \rangle_{\text{chains}}, \qquad
        \Delta W^2 \propto \langle \mu^1 \mu^{2\top} \rangle_{\text{data}}
        - \langle h^1 h^{2\top} \rangle_{\text{chains}},

    and likewise for the biases, with learning rate ``lr`` (decayed linearly to 0 with
    ``lr_schedule="linear"``) and an L2 penalty ``weight_decay`` on the weights. The chains
    start at uniform random states on the first call, drawn from ``ctx.generator``.
    """

    def __init__(self, dbm, *, lr=0.05, n_chains=100, k=1, n_mean_field=10, weight_decay=0.0,
                 lr_schedule="linear"):
        if not isinstance(dbm, DBM):
            raise ValueError(f"dbm must be a DBM, got {type(dbm).__name__}")
        self.dbm = dbm
        self.lr = check_positive(lr, "lr")
        self.n_chains = check_int(n_chains, "n_chains", 1)
        self.k = check_int(k, "k", 1)
        self.n_mean_field = check_int(n_mean_field, "n_mean_field", 1)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.lr_schedule = check_choice(lr_schedule, "lr_schedule", ("linear", "constant"))
        self.chains = None  # (v, h2) of the persistent chains

    @torch.no_grad()
    def __call__(self, batch, ctx):
        m, gen = self.dbm, ctx.generator
        mu1, mu2 = m._mean_field(batch, self.n_mean_field)  # positive phase
        if self.chains is None:
            self.chains = (m.sample(self.n_chains, n_steps=0, generator=gen),
                           torch.bernoulli(torch.full((self.n_chains, m.n_hidden2), 0.5,
                                                      dtype=batch.dtype), generator=gen))
        v, h2 = self.chains
        for _ in range(self.k):  # negative phase: persistent block Gibbs sweeps
            v, h1, h2 = m._gibbs_step(v, h2, gen)
        self.chains = (v, h2)
        n, r = len(batch), self.n_chains
        eta = self.lr * (1 - ctx.progress if self.lr_schedule == "linear" else 1.0)
        grads = {
            "W1": batch.T @ mu1 / n - v.T @ h1 / r,
            "W2": mu1.T @ mu2 / n - h1.T @ h2 / r,
            "b": batch.mean(0) - v.mean(0),
            "c1": mu1.mean(0) - h1.mean(0),
            "c2": mu2.mean(0) - h2.mean(0),
        }
        for name, grad in grads.items():
            param = getattr(m, name)
            if self.weight_decay and name in ("W1", "W2"):
                param.mul_(1 - eta * self.weight_decay)
            param.add_(grad, alpha=eta)
        return {"lr": eta}


def _states(n_units, like):
    """Every binary state of ``n_units`` units, ``(2**n_units, n_units)``, dtype of ``like``."""
    return all_binary_states(n_units, dtype=like.dtype).to(like.device)


def _float64(dbm):
    """A float64 copy of ``dbm`` without gradients (for exact sums)."""
    copy = DBM(dbm.n_visible, dbm.n_hidden1, dbm.n_hidden2, init_std=0.0).double()
    copy.load_state_dict(dbm.state_dict())
    return copy.requires_grad_(False)


def _bernoulli_entropy(p):  # sum over units of H(Bernoulli(p)), (n,)
    return -(torch.xlogy(p, p) + torch.xlogy(1 - p, 1 - p)).sum(1)
