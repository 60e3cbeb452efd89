r"""Restricted Boltzmann machines: free energy, CD-k and PCD, exact log Z, AIS (chapter 3).

An RBM (Smolensky 1986's harmonium) is a Boltzmann machine on a bipartite graph: visible units
:math:`v` and hidden units :math:`h`, no connections inside a layer. With binary units

.. math::
    E(v, h) = -b^\top v - c^\top h - v^\top W h \qquad \text{(eq. rbm-energy)}

with ``W`` of shape ``(n_visible, n_hidden)``, as for chapter 2's Boltzmann machine
(scikit-learn's ``BernoulliRBM.components_`` is :math:`W^\top`). Both conditionals factorise,
:math:`P(h = 1 \mid v) = \sigma(c + vW)` and :math:`P(v = 1 \mid h) = \sigma(b + hW^\top)` (rows
are examples), and summing out :math:`h` gives the free energy
:math:`F(v) = -b^\top v - \sum_j \operatorname{softplus}(c_j + v W_{:,j})`.

Inside: :class:`RBM` (energy, free energy, conditionals, block Gibbs sampling, exact
:meth:`~RBM.log_partition` by enumerating the smaller layer, the CD-k estimate
:meth:`~RBM.cd_gradients` of Hinton 2002, and :meth:`~RBM.fit`; optionally Gaussian visible
units); :class:`CDStep`, the step function that :meth:`RBM.fit` runs in
:func:`dgm_course.training.fit` (CD-k or persistent CD, Tieleman 2008, with the recipes of
Hinton 2012); :func:`ais_log_partition`, log Z by annealed importance sampling from a base-rate
model (Salakhutdinov & Murray 2008) through
:func:`dgm_course.evaluation.annealed_importance_sampling`.

**Speed.** The matrices are tiny (20 digits against 16 hidden units), so a PyTorch call costs
more in thread hand-offs than in arithmetic: Gibbs sampling, training and AIS run on one thread
(:func:`_one_thread`), several times faster than many. Deep belief networks are in
:mod:`dgm_course.dbn`.
"""
import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import training
from dgm_course.evaluation import (annealed_importance_sampling, check_enumerable,
                                   inverse_temperatures, log_sum_exp_over_states)
from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_choice, check_data, check_int,
                                   check_nonnegative, check_number, check_positive,
                                   check_same_length, model_dtype)

VISIBLE_TYPES = ("binary", "gaussian")


@contextmanager
def _one_thread(enabled=True):
    """Run the block on one PyTorch thread (the fastest for tiny matrices), then restore."""
    previous = torch.get_num_threads()
    if enabled:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class RBM(nn.Module):
    r"""A restricted Boltzmann machine with binary hidden units.

    ``RBM(n_visible, n_hidden)`` has parameters ``W`` (n_visible, n_hidden), ``b`` (n_visible,)
    and ``c`` (n_hidden,): weights, visible and hidden biases. ``visible="gaussian"`` makes the
    visible units Gaussian of unit variance, with energy
    :math:`\tfrac12\lVert v - b\rVert^2 - c^\top h - v^\top W h`. The weights start as
    :math:`\mathcal N(0, \text{init\_std}^2)`, seeded by ``generator``; the biases at 0.
    Inputs may be tensors or arrays; they are converted to the model's dtype.

    Examples
    --------
    >>> from dgm_course.evaluation import all_binary_states
    >>> rbm = RBM(3, 2, init_std=1.0, generator=0)
    >>> tuple(rbm.W.shape), tuple(rbm.free_energy([[1, 0, 1]]).shape)
    ((3, 2), (1,))
    >>> p = rbm.log_prob(all_binary_states(3)).exp()  # every visible state
    >>> round(float(p.sum()), 6)
    1.0
    """

    def __init__(self, n_visible, n_hidden, *, visible="binary", init_std=0.01, generator=None):
        super().__init__()
        self.n_visible = check_int(n_visible, "n_visible", 1)
        self.n_hidden = check_int(n_hidden, "n_hidden", 1)
        self.visible = check_choice(visible, "visible", VISIBLE_TYPES)
        init_std = check_nonnegative(init_std, "init_std")
        self.W = nn.Parameter(torch.empty(self.n_visible, self.n_hidden))
        self.b = nn.Parameter(torch.zeros(self.n_visible))
        self.c = nn.Parameter(torch.zeros(self.n_hidden))
        nn.init.normal_(self.W, std=init_std, generator=make_generator(generator))

    def extra_repr(self):
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, visible={self.visible!r}"

    def _check_v(self, v, name="v", states=True):  # binary states, or values in [0, 1]
        support = "real" if self.visible == "gaussian" else "binary" if states else "unit"
        return check_data(v, name, n_features=self.n_visible, support=support,
                          dtype=model_dtype(self), device=self.W.device)

    def _check_h(self, h, name="h", states=True):
        return check_data(h, name, n_features=self.n_hidden, dtype=model_dtype(self),
                          support="binary" if states else "unit", device=self.W.device)

    # ------------------------------------------------------------ energy and free energy
    def energy(self, v, h):
        r""":math:`E(v, h) = -b^\top v - c^\top h - v^\top W h` for each row: shape ``(n,)``.

        For Gaussian visible units the first term is :math:`\tfrac12 \lVert v - b \rVert^2`.
        """
        v, h = self._check_v(v), self._check_h(h)
        check_same_length("v", v, "h", h)
        return self._visible_term(v) - h @ self.c - ((v @ self.W) * h).sum(1)

    def _visible_term(self, v):  # the part of the energy that involves v alone, (n,)
        if self.visible == "gaussian":
            return 0.5 * ((v - self.b) ** 2).sum(1)
        return -(v @ self.b)

    def free_energy(self, v):
        r"""Free energy :math:`F(v) = -\log \sum_h e^{-E(v, h)}` of each row: shape ``(n,)``.

        .. math::
            F(v) = -b^\top v - \sum_j \operatorname{softplus}(c_j + v W_{:,j})
            \qquad \text{(eq. rbm-free-energy)}

        so that :math:`P(v) = e^{-F(v)} / Z`. Differentiable.
        """
        v = self._check_v(v)
        return self._visible_term(v) - F.softplus(v @ self.W + self.c).sum(1)

    def hidden_free_energy(self, h):
        r"""Free energy of the hidden layer, :math:`F(h) = -\log \sum_v e^{-E(v, h)}`: shape
        ``(n,)``; :math:`-c^\top h - \sum_i \operatorname{softplus}(b_i + W_{i,:} h)` for binary
        visible units, :math:`-c^\top h - b^\top W h - \tfrac12 \lVert W h \rVert^2 -
        \tfrac{D}{2} \log 2\pi` for Gaussian ones.
        """
        h = self._check_h(h)
        a = h @ self.W.T  # (n, n_visible)  W h for each row
        if self.visible == "gaussian":
            gauss = a @ self.b + 0.5 * (a**2).sum(1) + 0.5 * self.n_visible * math.log(2 * math.pi)
            return -(h @ self.c) - gauss
        return -(h @ self.c) - F.softplus(a + self.b).sum(1)

    # ------------------------------------------------------- conditionals and sampling
    # The public methods check their inputs; the private ones below them do the arithmetic.
    def _p_h(self, v):  # (n, n_hidden)  sigma(c + vW)
        return torch.sigmoid(torch.addmm(self.c, v, self.W))

    def _p_v(self, h):  # (n, n_visible)  sigma(b + hW^T), or its argument for Gaussian units
        mean = torch.addmm(self.b, h, self.W.T)
        return mean if self.visible == "gaussian" else torch.sigmoid(mean)

    def _sample_v(self, mean, gen):  # v ~ p(v | h) given its mean
        if self.visible == "gaussian":
            return mean + torch.randn(mean.shape, generator=gen, dtype=mean.dtype)
        return torch.bernoulli(mean, generator=gen)

    def _gibbs_step(self, v, gen):  # v -> h -> v; returns the new v and the mean of p(v | h)
        h = torch.bernoulli(self._p_h(v), generator=gen)
        mean = self._p_v(h)
        return self._sample_v(mean, gen), mean

    @torch.no_grad()
    def p_h(self, v):
        r""":math:`P(h = 1 \mid v) = \sigma(c + vW)` (eq. rbm-conditionals): ``(n, n_hidden)``.

        ``v`` may hold probabilities (a mean-field pass), so it is not required to be binary."""
        return self._p_h(self._check_v(v, states=False))

    @torch.no_grad()
    def p_v(self, h):
        r""":math:`P(v = 1 \mid h) = \sigma(b + hW^\top)` (binary visible units), or the mean
        :math:`b + hW^\top` of :math:`p(v \mid h)` (Gaussian ones): shape ``(n, n_visible)``.
        ``h`` may hold probabilities (a mean-field pass)."""
        return self._p_v(self._check_h(h, states=False))

    @torch.no_grad()
    def sample_h(self, v, *, generator=None):
        """One sample of the hidden layer given each row of ``v``: shape ``(n, n_hidden)``."""
        return torch.bernoulli(self.p_h(v), generator=make_generator(generator))

    @torch.no_grad()
    def sample_v(self, h, *, generator=None):
        """One sample of the visible layer given each row of ``h``: shape ``(n, n_visible)``."""
        return self._sample_v(self.p_v(h), make_generator(generator))

    @torch.no_grad()
    def gibbs_chain(self, v0, n_steps, *, record_every=1, generator=None):
        r"""Run block Gibbs sampling :math:`v \to h \to v` from each row of ``v0``.

        Returns the means :math:`E[v \mid h]` (smoother than the binary states, for pictures)
        every ``record_every`` steps, starting with ``v0`` itself: shape
        ``(1 + n_steps // record_every, n, n_visible)``. The chain moves through binary states.
        """
        v = self._check_v(v0, "v0")
        n_steps = check_int(n_steps, "n_steps", 1)
        record_every = check_int(record_every, "record_every", 1)
        gen = make_generator(generator)
        records = [v.clone()]
        with _one_thread():
            for step in range(1, n_steps + 1):
                v, mean = self._gibbs_step(v, gen)
                if step % record_every == 0:
                    records.append(mean)
        return torch.stack(records)

    @torch.no_grad()
    def sample(self, n, *, n_steps=1000, generator=None, return_latent=False, mean=False):
        """``n`` visible samples after ``n_steps`` of block Gibbs sampling from uniform random
        binary (or standard normal) states: shape ``(n, n_visible)``.

        Samples are only as good as the chain's mixing (see the chapter's mixing figure).
        With ``return_latent``, returns ``(v, h)`` with ``h`` drawn from :math:`P(h \\mid v)`;
        with ``mean``, ``v`` is replaced by the mean :math:`E[v \\mid h]` (smoother pictures).
        """
        n = check_int(n, "n")
        n_steps = check_int(n_steps, "n_steps")
        check_bool(return_latent, "return_latent"), check_bool(mean, "mean")
        gen = make_generator(generator)
        shape, dtype = (n, self.n_visible), model_dtype(self)
        if self.visible == "gaussian":
            v = torch.randn(shape, generator=gen, dtype=dtype)
        else:
            v = torch.bernoulli(torch.full(shape, 0.5, dtype=dtype), generator=gen)
        with _one_thread():
            for _ in range(n_steps):
                v, _ = self._gibbs_step(v, gen)
        if not (return_latent or mean):
            return v
        h = torch.bernoulli(self._p_h(v), generator=gen)
        v = self._p_v(h) if mean else v
        return (v, h) if return_latent else v

    # ------------------------------------------------------------ exact log-likelihood
    def log_partition(self, *, batch_size=2**15):
        r"""Exact :math:`\log Z` by enumerating the smaller layer: a 0-d float64 tensor, nats.

        .. math::
            \log Z = \log \sum_h e^{-F(h)} = \log \sum_v e^{-F(v)} \qquad \text{(eq. rbm-log-z)}

        Feasible up to about 20 units in that layer; beyond
        :data:`~dgm_course.evaluation.MAX_ENUMERATED_UNITS` it is a ``ValueError`` (use
        :func:`ais_log_partition`). Gaussian visible units are integrated in closed form.
        """
        by_hidden = self.visible == "gaussian" or self.n_hidden <= self.n_visible
        check_enumerable(self.n_hidden if by_hidden else self.n_visible, "RBM.log_partition")
        model = RBM(self.n_visible, self.n_hidden, visible=self.visible, init_std=0.0).double()
        with torch.no_grad():
            model.load_state_dict(self.state_dict())  # a float64 copy
            fn = model.hidden_free_energy if by_hidden else model.free_energy
            n_units = self.n_hidden if by_hidden else self.n_visible
            return log_sum_exp_over_states(lambda s: -fn(s), n_units, batch_size=batch_size)

    @torch.no_grad()
    def log_prob(self, v, *, log_z=None):
        r""":math:`\log P(v) = -F(v) - \log Z` of each row of ``v``, nats per example summed over
        pixels: shape ``(n,)``. ``log_z`` defaults to the exact :meth:`log_partition`; pass an
        estimate (:func:`ais_log_partition`) for larger RBMs. A log-density for Gaussian units.
        Runs under ``torch.no_grad()``: not differentiable (train with :meth:`fit`).
        """
        v = self._check_v(v)
        if log_z is None:
            log_z = self.log_partition()
        return -self.free_energy(v) - check_number(log_z, "log_z")

    # ------------------------------------------------------------------------ training
    @torch.no_grad()
    def cd_gradients(self, v, k=1, *, chain=None, generator=None, check_input=True):
        r"""The CD-k estimate of the log-likelihood gradient on the batch ``v``.

        .. math::
            \frac{\partial \log P(v)}{\partial W_{ij}}
            = \langle v_i\, P(h_j{=}1 \mid v) \rangle_{\text{data}} - \langle v_i\,
            P(h_j{=}1 \mid v) \rangle_{\text{model}} \qquad \text{(eq. rbm-gradient)}

        The model average uses the visible states after ``k`` Gibbs steps started at the data
        (CD-k), or at ``chain`` (persistent CD). Hidden statistics use the probabilities
        :math:`P(h \mid v)` rather than samples (less noise, same expectation). ``v`` may hold
        probabilities (as for the upper layers of a DBN). ``check_input=False`` skips the
        checks, for a caller that made them already (:meth:`fit` checks the data set once).

        Returns ``(dW, db, dc, v_model)``: ascent directions shaped like ``W``, ``b``, ``c``
        (averages over the rows), and the model's visible states ``(m, n_visible)`` — pass
        them back as ``chain`` for PCD.
        """
        if check_bool(check_input, "check_input"):
            v = self._check_v(v, states=False)
            k = check_int(k, "k", 1)
            chain = None if chain is None else self._check_v(chain, "chain", states=False)
        gen = make_generator(generator)
        ph_data = self._p_h(v)  # (n, n_hidden)  positive phase
        v_model = v if chain is None else chain
        for step in range(k):  # k steps of block Gibbs sampling v -> h -> v
            ph = ph_data if step == 0 and chain is None else self._p_h(v_model)
            h = torch.bernoulli(ph, generator=gen)
            v_model = self._sample_v(self._p_v(h), gen)
        ph_model = self._p_h(v_model)  # (m, n_hidden)  negative phase
        n, m = v.shape[0], v_model.shape[0]
        # (D, H): v^T P(h | v) / n over the data minus the same over the model's states
        dW = torch.addmm(v.T @ ph_data, v_model.T, ph_model, beta=1 / n, alpha=-1 / m)
        db = v.mean(0) - v_model.mean(0)
        dc = ph_data.mean(0) - ph_model.mean(0)
        return dW, db, dc, v_model

    def fit(self, data, *, method="pcd", k=1, epochs=20, batch_size=20, lr=0.1,
            lr_schedule="linear", weight_decay=0.0, init_visible_bias=True,
            allow_probabilities=False, validate=None, generator=None, progress=False,
            one_thread=True):
        r"""Train by gradient ascent on the CD-k or PCD estimate: :func:`dgm_course.training.fit`
        running the step function :class:`CDStep` (``method``, ``k``, ``lr``, ``lr_schedule``,
        ``weight_decay``: its recipe) over ``epochs`` passes in batches of ``batch_size``.

        ``data`` (n, n_visible) is binary, or in [0, 1] with ``allow_probabilities`` (as for
        the upper layers of a DBN). ``init_visible_bias`` starts ``b`` at the pixels' log-odds
        :math:`\log \bar v_i / (1 - \bar v_i)` (Hinton 2012, §8; the mean for Gaussian units).
        ``validate(rbm) -> dict`` adds metrics after each epoch (an empty dict records none).
        ``generator`` seeds the shuffling and every Gibbs step; ``one_thread`` trains on one
        PyTorch thread. Returns the :class:`~dgm_course.training.History`, with
        ``history["reconstruction_error"]`` (mean squared error per pixel of the mean-field
        reconstruction :math:`v \to P(h \mid v) \to E[v \mid h]` of ``data``, after each
        epoch), ``history["lr"]`` and the ``validate`` metrics.
        """
        check_bool(allow_probabilities, "allow_probabilities")
        check_bool(init_visible_bias, "init_visible_bias")
        data = self._check_v(data, "data", states=not allow_probabilities)
        batch_size = check_int(batch_size, "batch_size", 1, len(data))
        step = CDStep(self, method=method, k=k, lr=lr, lr_schedule=lr_schedule,
                      weight_decay=weight_decay, check_input=False)  # data checked above
        if init_visible_bias:
            with torch.no_grad():
                p = data.mean(0)
                self.b.copy_(p if self.visible == "gaussian" else torch.logit(p, eps=1e-3))

        def metrics(rbm):
            recon = rbm._p_v(rbm._p_h(data))  # mean-field reconstruction of the data
            extra = {} if validate is None else validate(rbm)
            return {"reconstruction_error": ((recon - data) ** 2).mean(), **extra}

        with _one_thread(check_bool(one_thread, "one_thread")):
            return training.fit(self, step, data, epochs=epochs, batch_size=batch_size,
                                validate=metrics, generator=generator, progress=progress,
                                desc="training RBM")


class CDStep:
    r"""The step function of RBM training, run by :func:`dgm_course.training.fit`: takes
    :meth:`RBM.cd_gradients` on the batch and makes one gradient-ascent update with an L2
    penalty :math:`\lambda` (``weight_decay``) on ``W``,

    .. math::
        W \leftarrow (1 - \eta_t \lambda) W + \eta_t\, \widehat{\nabla}_W, \qquad
        b \leftarrow b + \eta_t\, \widehat{\nabla}_b, \qquad
        c \leftarrow c + \eta_t\, \widehat{\nabla}_c,

    with :math:`\eta_t` = ``lr``, constant or decaying linearly to 0 (``lr_schedule``), which
    lets the chains and the parameters settle. ``method="cd"`` restarts the ``k``-step negative
    chains at the batch (Hinton 2002); ``"pcd"`` keeps them in ``chain`` from one update to the
    next (Tieleman 2008). ``check_input=False`` skips the checks of each batch.
    """

    def __init__(self, rbm, *, method="pcd", k=1, lr=0.1, lr_schedule="linear", weight_decay=0.0,
                 check_input=True):
        if not isinstance(rbm, RBM):
            raise ValueError(f"rbm must be an RBM, got {type(rbm).__name__}")
        self.rbm = rbm
        self.method = check_choice(method, "method", ("cd", "pcd"))
        self.k = check_int(k, "k", 1)
        self.lr = check_positive(lr, "lr")
        self.lr_schedule = check_choice(lr_schedule, "lr_schedule", ("linear", "constant"))
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.check_input = check_bool(check_input, "check_input")
        self.chain = None

    def __call__(self, batch, ctx):
        rbm = self.rbm
        chain = self.chain if self.method == "pcd" else None
        dW, db, dc, self.chain = rbm.cd_gradients(
            batch, self.k, chain=chain, generator=ctx.generator,
            check_input=self.check_input)
        eta = self.lr  # the learning rate, decayed linearly to 0 by default
        if self.lr_schedule == "linear":
            eta *= 1 - ctx.progress
        with torch.no_grad():  # gradient *ascent* on the log-likelihood
            if self.weight_decay:
                rbm.W.mul_(1 - eta * self.weight_decay)
            rbm.W.add_(dW, alpha=eta)
            rbm.b.add_(db, alpha=eta)
            rbm.c.add_(dc, alpha=eta)
        return {"lr": eta}


# ----------------------------------------------------------------------------------- AIS
@torch.no_grad()
def ais_log_partition(rbm, *, n_temperatures=1000, n_runs=100, data=None, generator=None,
                      schedule="sigmoid"):
    r"""Estimate :math:`\log Z` of a binary RBM by annealed importance sampling.

    The ``n_runs`` runs move from a base-rate model :math:`p_0(v) \propto e^{b_A^\top v}`
    (independent pixels; with the hidden units :math:`Z_0 = 2^{H} \prod_i (1 + e^{b_{A,i}})`)
    to the RBM through ``n_temperatures`` intermediate models (Salakhutdinov & Murray 2008)

    .. math::
        p^*_\beta(v) = e^{(1-\beta)\, b_A^\top v + \beta\, b^\top v}\,
        \prod_j \bigl(1 + e^{\beta (c_j + v W_{:,j})}\bigr) \qquad \text{(eq. rbm-ais-path)}

    with Gibbs steps that leave each :math:`p_\beta` invariant (an RBM with weights
    :math:`\beta W` and visible biases :math:`(1-\beta) b_A + \beta b`); the weights and the
    estimate are :func:`dgm_course.evaluation.annealed_importance_sampling`'s. ``data``
    (binary, optional) sets :math:`b_A` to its smoothed pixel log-odds, else :math:`b_A = 0`;
    ``schedule`` spaces the :math:`\beta_k` (:func:`~dgm_course.evaluation.inverse_temperatures`).

    Returns
    -------
    (log_z, std_error) : 0-d float64 tensors
        :math:`\log \hat Z` in nats, and its standard error (delta method).
    """
    if not isinstance(rbm, RBM) or rbm.visible != "binary":
        raise ValueError(f"rbm must be an RBM with binary visible units, got {rbm!r}")
    n_runs = check_int(n_runs, "n_runs", 1)
    betas = inverse_temperatures(n_temperatures, schedule=schedule)
    W, b, c = (t.detach().double() for t in (rbm.W, rbm.b, rbm.c))
    b_A = torch.zeros_like(b)
    if data is not None:
        data = rbm._check_v(data, "data").double()
        p = (data.sum(0) + 0.5) / (len(data) + 1.0)  # smoothed pixel means, never 0 or 1
        b_A = torch.logit(p)
    gen = make_generator(generator)
    cache = {}  # the hidden input c + vW of the current states, asked for three times each

    def hidden_input(v):  # (R, H)
        if cache.get("v") is not v:
            cache.update(v=v, a=torch.addmm(c, v, W))
        return cache["a"]

    def log_density(v, beta):  # log p*_beta(v), eq. rbm-ais-path
        return v @ ((1 - beta) * b_A + beta * b) + F.softplus(beta * hidden_input(v)).sum(1)

    def transition(v, beta, gen):  # one Gibbs step of the RBM at inverse temperature beta
        h = torch.bernoulli(torch.sigmoid(beta * hidden_input(v)), generator=gen)
        p_v = torch.sigmoid((1 - beta) * b_A + beta * (h @ W.T + b))
        return torch.bernoulli(p_v, generator=gen)

    v0 = torch.bernoulli(torch.sigmoid(b_A).expand(n_runs, -1), generator=gen)  # p_0, exactly
    log_z0 = F.softplus(b_A).sum() + rbm.n_hidden * math.log(2)
    with _one_thread():
        return annealed_importance_sampling(log_density, transition, v0, log_z0=log_z0,
                                            betas=betas, generator=gen)
