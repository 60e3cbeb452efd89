r"""Restricted Boltzmann machines: free energy, CD-k and PCD training, exact log Z, AIS (chapter 3).

An RBM (Smolensky 1986's harmonium) is a Boltzmann machine whose units form two layers, visible
:math:`v` and hidden :math:`h`, with no connections inside a layer. With binary units its energy is

.. math::
    E(v, h) = -b^\top v - c^\top h - h^\top W v,

with ``W`` of shape ``(n_hidden, n_visible)`` (row :math:`W_j` feeds hidden unit :math:`j`, as in
scikit-learn's ``BernoulliRBM.components_``). The bipartite graph makes both conditionals factorise,
:math:`P(h_j = 1 \mid v) = \sigma(c_j + W_j \cdot v)` and :math:`P(v_i = 1 \mid h) = \sigma(b_i + W_{:,i}
\cdot h)`, so block Gibbs sampling updates a whole layer at once, and summing out :math:`h` gives the
free energy :math:`F(v) = -b^\top v - \sum_j \operatorname{softplus}(c_j + W_j \cdot v)`.

Inside:

* :class:`RBM` — energy, free energy, conditionals, block Gibbs sampling, exact
  :meth:`RBM.log_partition` by enumerating the smaller layer, exact :meth:`RBM.log_prob`, the CD-k
  gradient estimate :meth:`RBM.cd_gradients` (Hinton 2002) and :meth:`RBM.fit` by CD-k or persistent
  CD (Tieleman 2008) with the recipes of Hinton's practical guide (2012). Optionally Gaussian visible
  units of unit variance (``visible="gaussian"``).
* :func:`ais_log_partition` — annealed importance sampling (Neal 2001) of log Z from a base-rate
  model, as in Salakhutdinov & Murray (2008), vectorised over the runs.

Deep belief networks, stacks of these RBMs, are in :mod:`dgm_course.dbn`.
"""
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from dgm_course.evaluation import MAX_ENUMERATED_UNITS, log_sum_exp_over_states
from dgm_course.utils import as_tensor, check_int, log_mean_exp, make_generator

VISIBLE_TYPES = ("binary", "gaussian")


@contextmanager
def _num_threads(n):
    """Run the block on ``n`` PyTorch threads (all of them if ``n`` is None), then restore the setting."""
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _bernoulli(p, generator):
    """Binary samples with ``P(1) = p``, one uniform draw per entry: ``1`` where ``u < p``."""
    return (torch.rand(p.shape, generator=generator, dtype=p.dtype) < p).to(p.dtype)


@dataclass
class RBMHistory:
    """What :meth:`RBM.fit` records, one entry per epoch."""

    reconstruction_error: list = field(default_factory=list)  # mean squared error of v -> h -> P(v|h), per pixel
    callback: list = field(default_factory=list)  # whatever callback(rbm, epoch) returned (e.g. a test NLL)
    seconds: float = 0.0  # training time, callbacks excluded
    fantasy: torch.Tensor = None  # (batch_size, n_visible) the negative-phase visible states of the last update


class RBM(nn.Module):
    r"""A restricted Boltzmann machine with binary hidden units.

    Parameters
    ----------
    n_visible, n_hidden : int
        Numbers of visible and hidden units.
    visible : {"binary", "gaussian"}
        Binary visible units, or Gaussian ones of unit variance with energy
        :math:`\tfrac12\lVert v - b\rVert^2 - c^\top h - h^\top W v`.
    init_std : float
        Standard deviation of the initial weights (biases start at 0).
    generator : int or torch.Generator, optional
        Seeds the initial weights.

    Attributes
    ----------
    W : Parameter of shape (n_hidden, n_visible)
    b : Parameter of shape (n_visible,)
        Visible biases.
    c : Parameter of shape (n_hidden,)
        Hidden biases.

    Examples
    --------
    >>> from dgm_course.evaluation import all_binary_states
    >>> rbm = RBM(3, 2, init_std=1.0, generator=0)
    >>> tuple(rbm.free_energy(torch.tensor([[1.0, 0.0, 1.0]])).shape)
    (1,)
    >>> p = rbm.log_prob(all_binary_states(3)).exp()  # every visible state
    >>> round(float(p.sum()), 6)
    1.0
    """

    def __init__(self, n_visible, n_hidden, *, visible="binary", init_std=0.01, generator=None):
        super().__init__()
        check_int(n_visible, "n_visible", 1)
        check_int(n_hidden, "n_hidden", 1)
        if visible not in VISIBLE_TYPES:
            raise ValueError(f"visible must be one of {VISIBLE_TYPES}, got {visible!r}")
        if not init_std >= 0:
            raise ValueError(f"init_std must be non-negative, got {init_std!r}")
        self.n_visible, self.n_hidden, self.visible = n_visible, n_hidden, visible
        gen = make_generator(generator)
        self.W = nn.Parameter(init_std * torch.randn(n_hidden, n_visible, generator=gen))
        self.b = nn.Parameter(torch.zeros(n_visible))
        self.c = nn.Parameter(torch.zeros(n_hidden))

    def extra_repr(self):
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, visible={self.visible!r}"

    # ----------------------------------------------------------------------------------- checks
    def _check_layer(self, x, name, size, binary):
        x = as_tensor(x, name=name, ndim=2)
        if x.shape[1] != size:
            raise ValueError(f"{name} must have shape (n, {size}), got {tuple(x.shape)}")
        if binary and not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(f"{name} must be binary (0/1) for a Bernoulli RBM, got values from "
                             f"{float(x.min()):.3g} to {float(x.max()):.3g}; binarise it first")
        return x.to(self.W.dtype)

    def _check_v(self, v, name="v", binary=None):
        return self._check_layer(v, name, self.n_visible, self.visible == "binary" if binary is None else binary)

    def _check_h(self, h, name="h"):
        return self._check_layer(h, name, self.n_hidden, binary=True)

    # ---------------------------------------------------------------- energy and free energy
    def energy(self, v, h):
        r""":math:`E(v, h) = -b^\top v - c^\top h - h^\top W v` for each row: shape ``(n,)``.

        For Gaussian visible units the first term is :math:`\tfrac12 \lVert v - b \rVert^2`.
        """
        v, h = self._check_v(v), self._check_h(h)
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"v and h must have the same number of rows, got {v.shape[0]} and {h.shape[0]}")
        interaction = ((h @ self.W) * v).sum(1)  # h^T W v, (n,)
        return self._visible_term(v) - h @ self.c - interaction

    def _visible_term(self, v):  # the part of the energy that involves v alone, (n,)
        if self.visible == "gaussian":
            return 0.5 * ((v - self.b) ** 2).sum(1)
        return -(v @ self.b)

    def free_energy(self, v):
        r"""Free energy :math:`F(v) = -\log \sum_h e^{-E(v, h)}` of each row of ``v``: shape ``(n,)``.

        .. math::
            F(v) = -b^\top v - \sum_j \operatorname{softplus}(c_j + W_j \cdot v)
            \qquad \text{(eq. rbm-free-energy)}

        so that :math:`P(v) = e^{-F(v)} / Z`.
        """
        v = self._check_v(v)
        return self._visible_term(v) - F.softplus(v @ self.W.T + self.c).sum(1)

    def hidden_free_energy(self, h):
        r"""Free energy of the hidden layer, :math:`F(h) = -\log \sum_v e^{-E(v, h)}`: shape ``(n,)``.

        Binary visible units give :math:`F(h) = -c^\top h - \sum_i \operatorname{softplus}(b_i +
        W_{:,i} \cdot h)`; Gaussian ones integrate to :math:`-c^\top h - b^\top W^\top h -
        \tfrac12 \lVert W^\top h \rVert^2 - \tfrac{D}{2} \log 2\pi`.
        """
        h = self._check_h(h)
        a = h @ self.W  # W^T h, (n, n_visible)
        if self.visible == "gaussian":
            gauss = a @ self.b + 0.5 * (a**2).sum(1) + 0.5 * self.n_visible * math.log(2 * math.pi)
            return -(h @ self.c) - gauss
        return -(h @ self.c) - F.softplus(a + self.b).sum(1)

    # ------------------------------------------------------------ conditionals and sampling
    @torch.no_grad()
    def p_h(self, v):
        r""":math:`P(h_j = 1 \mid v) = \sigma(c_j + W_j \cdot v)`: shape ``(n, n_hidden)``.

        ``v`` may hold probabilities (a mean-field pass), so it is not required to be binary."""
        v = self._check_v(v, binary=False)
        return torch.sigmoid(v @ self.W.T + self.c)

    @torch.no_grad()
    def p_v(self, h):
        r""":math:`P(v_i = 1 \mid h) = \sigma(b_i + W_{:,i} \cdot h)` (binary visible units), or the mean
        :math:`b + W^\top h` of :math:`p(v \mid h)` (Gaussian ones): shape ``(n, n_visible)``."""
        h = self._check_layer(h, "h", self.n_hidden, binary=False)
        mean_input = h @ self.W + self.b
        return mean_input if self.visible == "gaussian" else torch.sigmoid(mean_input)

    def sample_h(self, v, generator=None):
        """One sample of the hidden layer given each row of ``v``: shape ``(n, n_hidden)``."""
        return _bernoulli(self.p_h(v), make_generator(generator))

    def sample_v(self, h, generator=None):
        """One sample of the visible layer given each row of ``h``: shape ``(n, n_visible)``."""
        return self._sample_from_mean(self.p_v(h), make_generator(generator))

    def _sample_from_mean(self, mean, gen):  # v ~ p(v | h) given its mean
        if self.visible == "gaussian":
            return mean + torch.randn(mean.shape, generator=gen, dtype=mean.dtype)
        return _bernoulli(mean, gen)

    @torch.no_grad()
    def gibbs_chain(self, v0, n_steps, *, record_every=1, generator=None):
        r"""Run block Gibbs sampling :math:`v \to h \to v` from each row of ``v0``.

        Returns the means :math:`E[v \mid h]` (smoother than the binary states, for pictures) every
        ``record_every`` steps, starting with ``v0`` itself: shape ``(1 + n_steps // record_every, n,
        n_visible)``. The chain itself moves through binary states.
        """
        v = self._check_v(v0, "v0")
        check_int(n_steps, "n_steps", 1)
        check_int(record_every, "record_every", 1)
        gen = make_generator(generator)
        records = [v.clone()]
        with _num_threads(1):
            for step in range(1, n_steps + 1):
                mean = self.p_v(self.sample_h(v, gen))
                v = self._sample_from_mean(mean, gen)
                if step % record_every == 0:
                    records.append(mean)
        return torch.stack(records)

    @torch.no_grad()
    def sample(self, n, n_steps=1000, generator=None):
        """``n`` visible samples after ``n_steps`` of block Gibbs sampling from uniform random binary
        (or standard normal) states: shape ``(n, n_visible)``. Samples are only as good as the chain's
        mixing (see the chapter's mixing figure)."""
        check_int(n, "n", 1)
        gen = make_generator(generator)
        if self.visible == "gaussian":
            v = torch.randn(n, self.n_visible, generator=gen, dtype=self.W.dtype)
        else:
            v = _bernoulli(torch.full((n, self.n_visible), 0.5, dtype=self.W.dtype), gen)
        with _num_threads(1):
            for _ in range(n_steps):
                v = self.sample_v(self.sample_h(v, gen), gen)
        return v

    # --------------------------------------------------------------- exact log-likelihood
    def log_partition(self, batch_size=2**15):
        r"""Exact :math:`\log Z` by enumerating the smaller layer (nats).

        .. math::
            \log Z = \log \sum_h e^{-F(h)} = \log \sum_v e^{-F(v)} \qquad \text{(eq. rbm-log-z)}

        Feasible up to about 20 units in that layer (:math:`2^{20}` states, a few seconds); beyond
        :data:`~dgm_course.evaluation.MAX_ENUMERATED_UNITS` it is a ``ValueError`` — use
        :func:`ais_log_partition`. Gaussian visible units are integrated in closed form, so the hidden
        layer is enumerated. Computed in float64.
        """
        by_hidden = self.visible == "gaussian" or self.n_hidden <= self.n_visible
        n_units = self.n_hidden if by_hidden else self.n_visible
        if n_units > MAX_ENUMERATED_UNITS:
            raise ValueError(f"exact log Z enumerates the smaller layer, here {n_units} units (2**{n_units} "
                             f"states); at most {MAX_ENUMERATED_UNITS} are enumerated: use ais_log_partition")
        model = RBM(self.n_visible, self.n_hidden, visible=self.visible, init_std=0.0).double()
        with torch.no_grad():
            model.load_state_dict(self.state_dict())  # a float64 copy
            fn = model.hidden_free_energy if by_hidden else model.free_energy
            log_z = log_sum_exp_over_states(lambda s: -fn(s), n_units, batch_size=batch_size)
        return float(log_z)

    @torch.no_grad()
    def log_prob(self, v, log_z=None):
        r"""Exact :math:`\log P(v) = -F(v) - \log Z` of each row of ``v``, in nats: shape ``(n,)``.

        ``log_z`` defaults to the exact :meth:`log_partition`; pass an estimate (e.g. from
        :func:`ais_log_partition`) for RBMs too large to enumerate. For Gaussian visible units this is
        a log-density. Not differentiable (log Z enters as a number); train with :meth:`fit`.
        """
        v = self._check_v(v)
        log_z = self.log_partition() if log_z is None else float(log_z)
        return -self.free_energy(v) - log_z

    # ------------------------------------------------------------------------ training
    def cd_gradients(self, v, k=1, *, chain=None, generator=None):
        r"""The CD-k estimate of the log-likelihood gradient on the batch ``v``.

        .. math::
            \frac{\partial \log P(v)}{\partial W_{ji}}
            = \langle P(h_j{=}1 \mid v)\, v_i \rangle_{\text{data}} - \langle P(h_j{=}1 \mid v)\,
            v_i \rangle_{\text{model}} \qquad \text{(eq. rbm-gradient)}

        The model average uses the visible states after ``k`` Gibbs steps started at the data
        (CD-k), or at ``chain`` (persistent CD). Hidden statistics use the probabilities
        :math:`P(h \mid v)` rather than samples (less noise, same expectation).

        Returns
        -------
        (dW, db, dc, v_model)
            Ascent directions of the shapes of ``W``, ``b``, ``c`` (averages over the rows), and the
            model's visible states ``(m, n_visible)``: pass them back as ``chain`` for PCD.
        """
        v = self._check_v(v)
        check_int(k, "k", 1)
        gen = make_generator(generator)
        with torch.no_grad():
            ph_data = self.p_h(v)  # (n, n_hidden), positive phase
            v_model = v if chain is None else self._check_v(chain, "chain")
            for _ in range(k):
                v_model = self.sample_v(self.sample_h(v_model, gen), gen)
            ph_model = self.p_h(v_model)  # (m, n_hidden), negative phase
            dW = ph_data.T @ v / len(v) - ph_model.T @ v_model / len(v_model)
            db = v.mean(0) - v_model.mean(0)
            dc = ph_data.mean(0) - ph_model.mean(0)
        return dW, db, dc, v_model

    def fit(self, data, *, method="pcd", k=1, epochs=20, batch_size=20, lr=0.1, lr_schedule="linear",
            weight_decay=0.0, init_visible_bias=True, allow_probabilities=False,
            callback=None, generator=None, progress=False, num_threads=1):
        r"""Train by stochastic gradient ascent on the CD-k or PCD estimate of the log-likelihood.

        Each update is :math:`\theta \leftarrow \theta + \eta_t\,\widehat{\nabla}_\theta` with the estimate
        of eq. rbm-gradient (see :meth:`cd_gradients`), an L2 penalty :math:`\lambda` on ``W``
        (weight decay), and a learning rate :math:`\eta_t` that stays constant or decays linearly to 0
        over the updates (which lets the persistent chains and the parameters settle).

        Parameters
        ----------
        data : tensor of shape (n, n_visible)
            Binary for a Bernoulli RBM (unless ``allow_probabilities``).
        method : {"cd", "pcd"}
            CD-k restarts the negative chains at the batch (Hinton 2002); PCD keeps ``batch_size``
            persistent chains from one update to the next (Tieleman 2008).
        k : int
            Gibbs steps per update.
        epochs, batch_size : int
            Passes over ``data`` (reshuffled each time; a last incomplete batch is skipped).
        lr, lr_schedule, weight_decay : float, {"linear", "constant"}, float
            Learning rate, its schedule, and the L2 penalty :math:`\lambda` on ``W``.
        init_visible_bias : bool
            Start ``b`` at the log-odds of each pixel's mean, :math:`\log p_i/(1-p_i)` (Hinton 2012,
            §8), so the model starts from the data's pixel frequencies.
        allow_probabilities : bool
            Accept data in [0, 1] (probabilities as data, as for the upper layers of a DBN).
        callback : callable, optional
            ``callback(rbm, epoch)`` after each epoch; its results go to ``history.callback``.
        generator : int or torch.Generator, optional
        progress : bool
            A ``tqdm.auto`` progress bar over epochs.
        num_threads : int or None
            PyTorch threads while training (the matrices are tiny: one thread is fastest); None
            keeps the current setting.

        Returns
        -------
        RBMHistory
        """
        with _num_threads(num_threads):
            return self._fit(data, method, k, epochs, batch_size, lr, lr_schedule, weight_decay, init_visible_bias,
                             allow_probabilities, callback, generator, progress)

    def _fit(self, data, method, k, epochs, batch_size, lr, lr_schedule, weight_decay, init_visible_bias,
             allow_probabilities, callback, generator, progress):
        binary = self.visible == "binary" and not allow_probabilities
        data = self._check_v(data, "data", binary=binary)
        if self.visible == "binary" and not bool(((data >= 0) & (data <= 1)).all()):
            raise ValueError(f"data must hold probabilities in [0, 1] for a Bernoulli RBM, got values from "
                             f"{float(data.min()):.3g} to {float(data.max()):.3g}")
        if method not in ("cd", "pcd"):
            raise ValueError(f"method must be 'cd' or 'pcd', got {method!r}")
        if lr_schedule not in ("linear", "constant"):
            raise ValueError(f"lr_schedule must be 'linear' or 'constant', got {lr_schedule!r}")
        for name, value in (("k", k), ("epochs", epochs), ("batch_size", batch_size)):
            check_int(value, name, 1)
        if batch_size > len(data):
            raise ValueError(f"batch_size must be at most the number of examples ({len(data)}), got {batch_size}")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
        return self._train(data, method, k, epochs, batch_size, lr, lr_schedule, weight_decay, init_visible_bias,
                           callback, make_generator(generator), progress)

    @torch.no_grad()
    def _train(self, data, method, k, epochs, batch_size, lr, lr_schedule, weight_decay, init_visible_bias,
               callback, gen, progress):
        # The steps of cd_gradients and an SGD update, written in place on the parameters and with
        # each epoch's random numbers drawn at once: the matrices are tiny, so the cost is per call.
        W, b, c = self.W.data, self.b.data, self.c.data
        Wt = W.t()  # a view: follows the in-place updates of W
        gaussian = self.visible == "gaussian"
        if init_visible_bias:
            p = data.mean(0).clamp(1e-3, 1 - 1e-3)
            b.copy_(data.mean(0) if gaussian else torch.log(p / (1 - p)))
        n_batches = len(data) // batch_size
        total_updates, update = epochs * n_batches, 0
        m = batch_size  # negative chains, persistent for PCD
        dtype = W.dtype
        h_model = _bernoulli(torch.full((m, self.n_hidden), 0.5, dtype=dtype), gen)  # (m, H) the chains' states
        history = RBMHistory()
        start = time.perf_counter()
        for epoch in tqdm(range(epochs), disable=not progress, desc="training RBM"):
            order = torch.randperm(len(data), generator=gen)[: n_batches * batch_size]
            u_h = torch.rand(n_batches, k + 1, m, self.n_hidden, generator=gen, dtype=dtype)  # for h samples
            noise_v = (torch.randn if gaussian else torch.rand)(n_batches, k, m, self.n_visible, generator=gen,
                                                                 dtype=dtype)
            for v, uh, nv in zip(data[order].split(batch_size), u_h, noise_v):
                eta = lr * (1 - update / total_updates) if lr_schedule == "linear" else lr
                update += 1
                ph_data = torch.addmm(c, v, Wt).sigmoid_()  # (B, H) positive phase
                if method == "cd":  # restart the chains at the data
                    h_model = torch.sub(ph_data, uh[k]).ceil_()  # 1 where u < p, else 0: Bernoulli(p)
                for step in range(k):  # Gibbs steps h -> v -> h
                    mean_v = torch.addmm(b, h_model, W)  # (B, D)
                    v_model = mean_v + nv[step] if gaussian else mean_v.sigmoid_().sub_(nv[step]).ceil_()
                    ph_model = torch.addmm(c, v_model, Wt).sigmoid_()  # (B, H) negative phase
                    h_model = torch.sub(ph_model, uh[step]).ceil_()
                # W <- (1 - eta lambda) W + eta (<h v>_data - <h v>_model), b and c likewise
                W.addmm_(ph_data.t(), v, beta=1 - eta * weight_decay, alpha=eta / m)
                W.addmm_(ph_model.t(), v_model, alpha=-eta / m)
                b.add_(torch.sum(v - v_model, 0), alpha=eta / m)
                c.add_(torch.sum(ph_data - ph_model, 0), alpha=eta / m)
            history.seconds += time.perf_counter() - start
            recon = torch.addmm(b, torch.addmm(c, data, Wt).sigmoid_(), W)  # v -> P(h|v) -> E[v|h]
            recon = recon if gaussian else recon.sigmoid_()
            history.reconstruction_error.append(float(((recon - data) ** 2).mean()))
            if callback is not None:
                history.callback.append(callback(self, epoch))
            start = time.perf_counter()
        history.fantasy = v_model + 0.0  # (+0.0 turns the -0.0 that ceil gives into 0.0)
        return history


# ----------------------------------------------------------------------------------- AIS
def _inverse_temperatures(n_temperatures, schedule):
    t = torch.linspace(0, 1, n_temperatures + 1, dtype=torch.float64)
    if schedule == "linear":
        return t
    if schedule == "sigmoid":  # Grosse, Maddison & Salakhutdinov (2013): dense near both ends
        s = torch.sigmoid(8.0 * (t - 0.5))
        return (s - s[0]) / (s[-1] - s[0])
    raise ValueError(f"schedule must be 'linear' or 'sigmoid', got {schedule!r}")


@torch.no_grad()
def ais_log_partition(rbm, n_temperatures=1000, n_runs=100, data=None, generator=None, *, schedule="sigmoid"):
    r"""Estimate :math:`\log Z` of a binary RBM by annealed importance sampling, with its standard error.

    The chain moves from a base-rate model :math:`p_0(v) \propto e^{b_A^\top v}` (independent pixels,
    :math:`Z_0 = 2^{n_h} \prod_i (1 + e^{b_{A,i}})`) to the RBM through the intermediate models
    (Salakhutdinov & Murray 2008, eq. 12)

    .. math::
        p^*_\beta(v) = e^{(1-\beta)\, b_A^\top v + \beta\, b^\top v}\,
        \prod_j \bigl(1 + e^{\beta (c_j + W_j \cdot v)}\bigr),
        \qquad 0 = \beta_0 < \beta_1 < \dots < \beta_K = 1.

    Each run draws :math:`v_1 \sim p_0` and alternates a weight update and a Gibbs step that leaves
    :math:`p_{\beta_k}` invariant,

    .. math::
        \log w \mathrel{+}= \log p^*_{\beta_k}(v_k) - \log p^*_{\beta_{k-1}}(v_k)
        \qquad \text{(eq. rbm-ais-weight)}

    and :math:`\hat Z = Z_0 \cdot \frac1R \sum_r w_r` is unbiased for :math:`Z` (Neal 2001), so
    :math:`\log \hat Z` is slightly biased low.

    Parameters
    ----------
    rbm : RBM
        With binary visible units.
    n_temperatures : int
        :math:`K`, the number of intermediate distributions (Gibbs steps per run).
    n_runs : int
        :math:`R`, independent runs, simulated together as one batch.
    data : tensor of shape (n, n_visible), optional
        Fits the base rates :math:`b_A = \log \bar v / (1 - \bar v)` (smoothed); uniform (:math:`b_A =
        0`) if omitted.
    generator : int or torch.Generator, optional
    schedule : {"sigmoid", "linear"}
        Spacing of the :math:`\beta_k`.

    Returns
    -------
    (float, float)
        :math:`\log \hat Z` in nats, and its standard error :math:`\operatorname{sd}(w) / (\sqrt R\,
        \bar w)` (delta method).
    """
    if not isinstance(rbm, RBM) or rbm.visible != "binary":
        raise ValueError(f"rbm must be an RBM with binary visible units, got {rbm!r}")
    check_int(n_temperatures, "n_temperatures", 1)
    check_int(n_runs, "n_runs", 1)
    W, b, c = rbm.W.detach().double(), rbm.b.detach().double(), rbm.c.detach().double()
    if data is None:
        b_A = torch.zeros_like(b)
    else:
        data = rbm._check_v(data, "data").double()
        p = (data.sum(0) + 0.5) / (len(data) + 1.0)  # smoothed pixel means, never 0 or 1
        b_A = torch.log(p / (1 - p))
    betas = _inverse_temperatures(n_temperatures, schedule).tolist()
    gen = make_generator(generator)
    log_z0 = float(F.softplus(b_A).sum()) + rbm.n_hidden * math.log(2)

    v = _bernoulli(torch.sigmoid(b_A).expand(n_runs, -1), gen)  # (R, D) exact samples of p_0
    log_w = torch.zeros(n_runs, dtype=torch.float64)
    with _num_threads(1):  # R x D matrices: one thread is fastest
        for beta_prev, beta in zip(betas[:-1], betas[1:]):
            a = v @ W.T + c  # (R, H) total input to the hidden units
            log_w += ((beta - beta_prev) * (v @ (b - b_A))
                      + (F.softplus(beta * a) - F.softplus(beta_prev * a)).sum(1))  # eq. rbm-ais-weight
            if beta < 1:  # a Gibbs step that leaves p_beta invariant
                h = _bernoulli(torch.sigmoid(beta * a), gen)
                v = _bernoulli(torch.sigmoid((1 - beta) * b_A + beta * (h @ W + b)), gen)
    log_z = log_z0 + float(log_mean_exp(log_w))
    w = torch.exp(log_w - log_w.max())
    std_error = float(w.std() / (w.mean() * math.sqrt(n_runs))) if n_runs > 1 else math.inf
    return log_z, std_error
