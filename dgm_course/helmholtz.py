r"""Chapter 5 — the ELBO and wake-sleep: Helmholtz machines and score-function gradients.

A Helmholtz machine (Dayan, Hinton, Neal & Zemel 1995) pairs a generative sigmoid belief
net :math:`p(x, h)` (chapter 1's :class:`~dgm_course.sigmoid_belief_net.SigmoidBeliefNet`)
with a *recognition* net :math:`q(h \mid x)` that runs the other way, from the data upward,
one factorial Bernoulli layer given the one below. For any :math:`q`,

.. math:: \log p(x) = \underbrace{\mathbb E_{q}[\log p(x, h) - \log q(h \mid x)]}_{
          \text{ELBO}} + KL\big(q(h \mid x) \,\|\, p(h \mid x)\big)
          \qquad \text{(eq. elbo-gap)}

Two training rules, each a step function for :func:`dgm_course.training.fit`:

* **wake-sleep** (Hinton, Dayan, Frey & Neal 1995), :func:`wake_sleep_step`: the *wake*
  phase fits the generative weights to :math:`h \sim q(h \mid x)`; the *sleep* phase dreams
  :math:`(h, x) \sim p` and fits :math:`q` to predict the dreamt :math:`h` from :math:`x`.
* **ELBO maximisation** with the score-function (REINFORCE, Williams 1992) gradient for
  :math:`q`, :func:`reinforce_step`, with no baseline, a running-mean baseline, or an
  input-dependent baseline (a small network, as in NVIL, Mnih & Gregor 2014).

:func:`bars_experiment` measures both on the bars problem
(:class:`~dgm_course.data.BarsProblem`); ``python -m dgm_course.helmholtz`` reproduces the
chapter's closing figures. Log-likelihoods are in nats per example, summed over pixels.
"""
import argparse
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import training
from dgm_course.data import BarsProblem
from dgm_course.evaluation import (all_binary_states, check_enumerable,
                                   importance_sampled_log_likelihood)
from dgm_course.sigmoid_belief_net import SigmoidBeliefNet
from dgm_course.utils import make_generator
from dgm_course.validation import (check_choice, check_data, check_int, check_nonnegative,
                                   check_positive, check_probability, model_dtype)

BASELINES = ("none", "mean", "input")
"""The baselines of :func:`reinforce_step`: none, a running mean, and running mean plus a
small network of the input (NVIL)."""


class RecognitionNet(nn.Module):
    r"""A factorial Bernoulli recognition net :math:`q(h^1, \dots, h^L \mid x)`, upward.

    .. math:: q(h^{l+1}_j = 1 \mid h^l) = \sigma\big(c^{l+1}_j + \textstyle\sum_i h^l_i
              R^l_{ij}\big), \qquad h^0 = x,

    i.e. ``q(above = 1 | below) = sigmoid(below @ R + c_above)`` with ``R = weights[l]`` of
    shape ``(n_below, n_above)``, the orientation of the generative weights it mirrors.

    Parameters
    ----------
    sizes : sequence of int
        As for :class:`~dgm_course.sigmoid_belief_net.SigmoidBeliefNet`: visible first.
    init_std, generator, dtype
        Normal initial weights of this standard deviation (biases zero), their seed, and the
        parameters' dtype.
    """

    def __init__(self, sizes, *, init_std=0.01, generator=None, dtype=None):
        super().__init__()
        self.sizes = SigmoidBeliefNet(sizes, init_std=0.0).sizes  # the same checks
        init_std = check_nonnegative(init_std, "init_std")
        dtype = torch.get_default_dtype() if dtype is None else dtype
        gen = make_generator(generator)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(below, above, generator=gen, dtype=dtype) * init_std)
            for below, above in zip(self.sizes[:-1], self.sizes[1:]))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(n, dtype=dtype)) for n in self.sizes[1:])

    def extra_repr(self):
        return f"sizes={self.sizes}"

    def _log_q(self, layers):
        # sum over l of log q(h^{l+1} | h^l); layers bottom-up, broadcastable to (..., n_l)
        log_q = 0.0
        for R, c, below, above in zip(self.weights, self.biases, layers[:-1], layers[1:]):
            logits, above = torch.broadcast_tensors(below @ R + c, above)
            log_q = log_q - F.binary_cross_entropy_with_logits(
                logits, above, reduction="none").sum(-1)
        return log_q

    def _sample(self, x, n_samples, gen):
        # (hidden bottom-up, each (K, n, H_l); log q (K, n)), no gradient through the draws
        below = x.expand(n_samples, *x.shape)
        hidden = []
        with torch.no_grad():
            for R, c in zip(self.weights, self.biases):
                below = torch.bernoulli(torch.sigmoid(below @ R + c), generator=gen)
                hidden.append(below)
        return hidden, self._log_q([x, *hidden])

    def log_prob(self, x, hidden):
        r""":math:`\log q(h \mid x)`, nats: differentiable in the parameters.

        ``x`` (n, D) binary; ``hidden`` a list of L tensors, bottom-up, ``hidden[l - 1]`` of
        shape (..., n, sizes[l]); leading dimensions broadcast. Returns shape (..., n).
        """
        dtype = model_dtype(self)
        x = check_data(x, "x", n_features=self.sizes[0], ndim=None, support="binary",
                       dtype=dtype)
        if not isinstance(hidden, (list, tuple)) or len(hidden) != len(self.weights):
            raise ValueError(f"hidden must be a list of {len(self.weights)} tensors "
                             f"(bottom-up), got {type(hidden).__name__}")
        hidden = [check_data(h, f"hidden[{l}]", n_features=self.sizes[l + 1], ndim=None,
                             support="binary", dtype=dtype) for l, h in enumerate(hidden)]
        return self._log_q([x, *hidden])

    def sample(self, x, *, n_samples=1, generator=None):
        """``n_samples`` draws of :math:`h \\sim q(h \\mid x)` per row of binary ``x`` (n, D):
        ``(hidden, log_q)``, ``hidden`` a list (bottom-up) of tensors (n_samples, n, H_l),
        ``log_q`` of shape (n_samples, n), differentiable in the parameters."""
        x = check_data(x, "x", n_features=self.sizes[0], support="binary",
                       dtype=model_dtype(self))
        n_samples = check_int(n_samples, "n_samples", 1)
        return self._sample(x, n_samples, make_generator(generator))


class HelmholtzMachine(nn.Module):
    r"""A Helmholtz machine: a generative sigmoid belief net and a recognition net.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer from the data upward, e.g. ``[16, 8, 1]`` for the bars problem.
    init_std : float
        Standard deviation of the normal initial weights of both nets (biases zero).
    generator : int, torch.Generator or None
        Seeds the initial weights.
    dtype : torch.dtype, optional

    Attributes
    ----------
    generative : SigmoidBeliefNet
        :math:`p(x, h)`, the model; :meth:`log_prob` and :meth:`sample` are its.
    recognition : RecognitionNet
        :math:`q(h \mid x)`, the approximate posterior.

    Examples
    --------
    >>> hm = HelmholtzMachine([4, 3], init_std=1.0, generator=0)
    >>> x = hm.sample(2, generator=0)
    >>> gap = hm.log_prob(x) - hm.exact_elbo(x) - hm.kl_to_posterior(x)
    >>> bool(gap.abs().max() < 1e-5)
    True
    """

    def __init__(self, sizes, *, init_std=0.1, generator=None, dtype=None):
        super().__init__()
        gen = make_generator(generator)
        self.generative = SigmoidBeliefNet(sizes, init_std=init_std, generator=gen,
                                           dtype=dtype)
        self.recognition = RecognitionNet(sizes, init_std=init_std, generator=gen,
                                          dtype=dtype)
        self.sizes = self.generative.sizes

    def extra_repr(self):
        return f"sizes={self.sizes}"

    @property
    def n_hidden(self):
        """All hidden units, :math:`\\sum_{l \\ge 1} n_l`."""
        return sum(self.sizes[1:])

    def _x(self, x):
        return check_data(x, "x", n_features=self.sizes[0], support="binary",
                          dtype=model_dtype(self))

    def log_prob(self, x):
        """Exact :math:`\\log p(x)` by enumerating the hidden states (the generative net's
        :meth:`~dgm_course.sigmoid_belief_net.SigmoidBeliefNet.log_prob`): shape (n,), nats
        per example summed over pixels. Fully differentiable; a ``ValueError`` for more than
        :data:`~dgm_course.evaluation.MAX_ENUMERATED_UNITS` hidden units."""
        return self.generative.log_prob(self._x(x))

    def sample(self, n, *, generator=None, return_latent=False):
        """``n`` ancestral samples of the generative net: (n, D), and with
        ``return_latent`` the hidden layers, bottom-up."""
        return self.generative.sample(n, generator=generator, return_latent=return_latent)

    def elbo(self, x, *, n_samples=1, generator=None):
        r"""Monte Carlo ELBO of each row of ``x``: the mean over ``n_samples`` draws
        :math:`h \sim q(h \mid x)` of :math:`\log p(x, h) - \log q(h \mid x)` (eq. elbo-gap),
        shape (n,), nats. Unbiased for the ELBO; differentiable in the generative parameters
        and through :math:`\log q` (not through the discrete draws: use
        :func:`reinforce_step` to train :math:`q`)."""
        x = self._x(x)
        n_samples = check_int(n_samples, "n_samples", 1)
        hidden, log_q = self.recognition._sample(x, n_samples, make_generator(generator))
        return (self.generative._log_joint([x, *hidden]) - log_q).mean(0)

    def log_likelihood_estimate(self, x, *, k=100, generator=None):
        """Importance-sampled :math:`\\log p(x)` with ``k`` proposals from :math:`q`
        (:func:`~dgm_course.evaluation.importance_sampled_log_likelihood`): an
        ``ImportanceEstimate`` (estimate, standard error, effective sample size), nats."""
        x = self._x(x)

        def sample_q(x, k, gen):
            hidden, log_q = self.recognition._sample(x, k, gen)
            return hidden, log_q

        def log_joint(x, hidden):
            return self.generative._log_joint([x, *hidden])

        return importance_sampled_log_likelihood(x, log_joint, sample_q, k=k,
                                                 generator=generator)

    def _enumerate(self, x):
        # log p(x, h) and log q(h | x) for every hidden state h: each (K, n)
        check_enumerable(self.n_hidden, "HelmholtzMachine (exact ELBO and KL)")
        states = all_binary_states(self.n_hidden, dtype=x.dtype)  # (K, H)
        hidden = [h[:, None, :] for h in states.split(self.sizes[1:], dim=1)]
        return (self.generative._log_joint([x[None], *hidden]),
                self.recognition._log_q([x[None], *hidden]))

    def exact_elbo(self, x):
        r"""The ELBO of each row of ``x`` by enumeration, :math:`\sum_h q(h|x)[\log p(x,h)
        - \log q(h|x)]`: shape (n,), nats. Differentiable in both nets."""
        log_p, log_q = self._enumerate(self._x(x))
        return (log_q.exp() * (log_p - log_q)).sum(0)

    def kl_to_posterior(self, x):
        r""":math:`KL(q(h|x) \,\|\, p(h|x))` of each row of ``x`` by enumeration: shape (n,),
        nats, :math:`\ge 0`; the gap :math:`\log p(x) - \text{ELBO}`. Differentiable."""
        log_p, log_q = self._enumerate(self._x(x))
        log_post = log_p - torch.logsumexp(log_p, 0)
        return (log_q.exp() * (log_q - log_post)).sum(0)

    def recognition_scores(self, x, hidden):
        r"""The score :math:`\nabla_\phi \log q(h \mid x)` of each draw with respect to the
        recognition parameters (weights and biases of every layer, flattened in the order
        of ``recognition.parameters()``), in closed form: for a layer with logits
        :math:`a = h^l R^l + c^{l+1}`, :math:`\partial/\partial c = h^{l+1} - \sigma(a)` and
        :math:`\partial/\partial R = h^l (h^{l+1} - \sigma(a))^\top`.

        ``x`` (n, D); ``hidden`` bottom-up, each (K, n, H_l). Returns (K, n, P)."""
        x = self._x(x)
        layers = [x.expand(hidden[0].shape[0], *x.shape), *hidden]
        parts = {}
        rec = self.recognition
        for l, (R, c) in enumerate(zip(rec.weights, rec.biases)):
            below, above = layers[l], layers[l + 1]
            delta = above - torch.sigmoid(below @ R + c).detach()  # (K, n, H)
            parts[id(R)] = (below[..., :, None] * delta[..., None, :]).flatten(-2)
            parts[id(c)] = delta
        return torch.cat([parts[id(p)] for p in rec.parameters()], dim=-1)


# ---------------------------------------------------------------------------------------
# Training rules: step functions for dgm_course.training.fit


def wake_sleep_step(model, *, lr=0.01, optimizer=torch.optim.Adam):
    r"""The step function of wake-sleep (Hinton, Dayan, Frey & Neal 1995),
    with two optimisers.

    *Wake*: draw :math:`h \sim q(h \mid x)` for the batch and take a gradient
    step on the generative parameters to maximise :math:`\log p(x, h)`.
    *Sleep*: dream as many :math:`(h, x) \sim p(h, x)` and take a step on the
    recognition parameters to maximise :math:`\log q(h \mid x)` of the dreams,
    which fits :math:`q` by minimising :math:`KL(p(h|x) \,\|\, q(h|x))` on
    dreamt :math:`x`, the reverse of the ELBO's KL.
    Records ``wake_loss`` and ``sleep_loss`` (nats per example).
    """
    lr = check_positive(lr, "lr")
    opt_p = optimizer(model.generative.parameters(), lr=lr)
    opt_q = optimizer(model.recognition.parameters(), lr=lr)

    def step(x, ctx):
        hidden, _ = model.recognition._sample(x, 1, ctx.generator)
        wake = -model.generative._log_joint([x, *(h[0] for h in hidden)]).mean()
        training.gradient_step(opt_p, wake)
        x_dream, h_dream = model.generative.sample(
            len(x), generator=ctx.generator, return_latent=True)
        sleep = -model.recognition._log_q([x_dream, *h_dream]).mean()
        training.gradient_step(opt_q, sleep)
        return {"wake_loss": wake.detach(), "sleep_loss": sleep.detach()}

    return step


class InputBaseline(nn.Module):
    """NVIL's input-dependent baseline: a one-hidden-layer tanh network ``b(x)``, (n, D) → (n,)."""

    def __init__(self, n_visible, n_hidden=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_visible, n_hidden), nn.Tanh(),
                                 nn.Linear(n_hidden, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        return self.net(x).squeeze(-1)


def reinforce_step(model, *, baseline="mean", lr=0.01, n_samples=1, decay=0.9,
                   optimizer=torch.optim.Adam, generator=None):
    r"""The step function of ELBO maximisation with the score-function gradient for q.

    With :math:`h_k \sim q(h \mid x)` and the *learning signal* (the "reward")
    :math:`f_k = \log p(x, h_k) - \log q(h_k \mid x)`,

    .. math:: \nabla_\theta \text{ELBO} \approx \tfrac1K \textstyle\sum_k \nabla_\theta
              \log p(x, h_k), \qquad \nabla_\phi \text{ELBO} \approx \tfrac1K
              \textstyle\sum_k (f_k - b)\, \nabla_\phi \log q(h_k \mid x)
              \qquad \text{(eq. score-function)}

    (Williams 1992; Mnih & Gregor 2014). The baseline :math:`b` does not move the mean,
    since :math:`\mathbb E_q[\nabla_\phi \log q] = 0`, but can lower the variance:
    ``"none"`` (:math:`b = 0`), ``"mean"`` (a running mean of :math:`f`, decay ``decay``)
    or ``"input"`` (the running mean plus :class:`InputBaseline` :math:`b_\psi(x)`, fitted
    by least squares to :math:`f` minus the running mean). Records ``elbo`` (the batch's
    Monte Carlo ELBO, nats per example) and ``signal_power`` (the mean square of
    the learning signal :math:`f - b` that multiplies every score, nats²; the gradient's
    variance grows with it). ``generator`` seeds the baseline network's initial weights.
    """
    baseline = check_choice(baseline, "baseline", BASELINES)
    lr = check_positive(lr, "lr")
    n_samples = check_int(n_samples, "n_samples", 1)
    decay = check_probability(decay, "decay")
    params = list(model.parameters())
    net = None
    if baseline == "input":
        with torch.random.fork_rng():
            torch.manual_seed(int(torch.randint(2**31, (1,),
                                                generator=make_generator(generator))))
            net = InputBaseline(model.sizes[0]).to(model_dtype(model))
        params += list(net.parameters())
    opt = optimizer(params, lr=lr)
    state = {"mean": None}

    def step(x, ctx):
        hidden, log_q = model.recognition._sample(x, n_samples, ctx.generator)  # (K, n)
        log_p = model.generative._log_joint([x, *hidden])  # (K, n)
        f = (log_p - log_q).detach()
        b = torch.zeros_like(f)
        fit_loss = 0.0
        if baseline != "none":
            if state["mean"] is None:
                state["mean"] = float(f.mean())
            b = b + state["mean"]
            if net is not None:
                b_x = net(x)  # (n,)
                fit_loss = ((f - state["mean"] - b_x) ** 2).mean()
                b = b + b_x.detach()
            state["mean"] = decay * state["mean"] + (1 - decay) * float(f.mean())
        surrogate = (log_p + (f - b) * log_q).mean()
        training.gradient_step(opt, -surrogate + fit_loss)
        return {"elbo": f.mean(), "signal_power": ((f - b) ** 2).mean()}

    step.baseline_net = net
    return step


def fit(model, data, *, rule="wake-sleep", baseline="mean", epochs=10, batch_size=20,
        lr=0.01, generator=None, validate=None, progress=True):
    """Train ``model`` on binary ``data`` (n, D) by ``rule`` (``"wake-sleep"`` or
    ``"reinforce"``, with ``baseline``) through :func:`dgm_course.training.fit`; returns its
    ``History``. ``validate(model) -> dict`` is recorded after each epoch."""
    rule = check_choice(rule, "rule", ("wake-sleep", "reinforce"))
    data = check_data(data, "data", n_features=model.sizes[0], support="binary",
                      dtype=model_dtype(model), min_rows=1)
    gen = make_generator(generator)
    if rule == "wake-sleep":
        step = wake_sleep_step(model, lr=lr)
    else:
        step = reinforce_step(model, baseline=baseline, lr=lr, generator=gen)
    return training.fit(model, step, data, epochs=epochs, batch_size=batch_size,
                        generator=gen, validate=validate, progress=progress,
                        desc=rule if rule == "wake-sleep" else f"ELBO ({baseline})")


# ---------------------------------------------------------------------------------------
# The bars problem (Hinton, Dayan, Frey & Neal 1995)

RULES = {"wake-sleep": ("wake-sleep", "mean"), "ELBO, no baseline": ("reinforce", "none"),
         "ELBO, mean baseline": ("reinforce", "mean"),
         "ELBO, input baseline": ("reinforce", "input")}
"""The training rules :func:`bars_experiment` compares: label -> (rule, baseline)."""


def bar_features(W, *, size=4, margin=1.0):
    r"""Which bar, if any, each hidden unit's generative weights draw.

    ``W`` (size**2, H) are the weights from :math:`h^1` to the pixels (``weights[0]``). Unit
    :math:`j` draws a bar if its ``size`` largest weights fill one row or one column and
    exceed every other weight by at least ``margin`` (in logits). Returns a list of H labels,
    ``"row i"``, ``"column j"`` or None."""
    W = check_data(W, "W", dtype=torch.float64).detach()
    size = check_int(size, "size", 2)
    if W.shape[0] != size * size:
        raise ValueError(f"W must have shape (size**2, H) = ({size * size}, H), got "
                         f"{tuple(W.shape)}")
    margin = check_nonnegative(margin, "margin")
    labels = []
    for w in W.T:
        top = set(w.topk(size).indices.tolist())
        rest = w[[i for i in range(size * size) if i not in top]]
        label = None
        for i in range(size):
            if top == {i * size + j for j in range(size)}:
                label = f"row {i}"
            elif top == {j * size + i for j in range(size)}:
                label = f"column {i}"
        if label is not None and float(w[list(top)].min() - rest.max()) < margin:
            label = None
        labels.append(label)
    return labels


def recovers_bars(model, *, size=4, margin=1.0):
    """Whether every one of the ``2 * size`` bars is drawn by some unit of :math:`h^1`."""
    labels = set(bar_features(model.generative.weights[0], size=size, margin=margin))
    return len(labels - {None}) == 2 * size


def bars_experiment(rules=tuple(RULES), *, seeds=range(5), n_train=1000, epochs=100,
                    batch_size=10, lr=0.1, sizes=(16, 8, 1), progress=False):
    r"""Train a Helmholtz machine on the bars problem with each rule and seed.

    The training set is ``n_train`` images of :class:`~dgm_course.data.BarsProblem` (seed
    0); after every epoch the exact expected NLL :math:`\mathbb E_{p}[-\log p_\theta(x)]`
    over the true distribution of images is recorded (nats per image; its floor is the
    entropy). Returns ``{label: [dict(nll=list per epoch, recovered=bool, model=...), ...
    one per seed]}``."""
    bars = BarsProblem(int(round(math.sqrt(sizes[0]))))
    data = bars.sample(check_int(n_train, "n_train", 1), generator=0)
    results = {}
    for label in rules:
        rule, baseline = RULES[check_choice(label, "rules", tuple(RULES))]
        runs = []
        for seed in seeds:
            model = HelmholtzMachine(list(sizes), init_std=0.1, generator=seed)
            history = fit(model, data, rule=rule, baseline=baseline, epochs=epochs,
                          batch_size=batch_size, lr=lr, generator=seed, progress=progress,
                          validate=lambda m: {"nll": bars.expected_nll(m.log_prob)})
            found = set(bar_features(model.generative.weights[0], size=bars.size)) - {None}
            runs.append({"nll": history["nll"], "recovered": len(found) == 2 * bars.size,
                         "n_bars": len(found), "model": model})
        results[label] = runs
    return results


def summarise(results, entropy):
    """One line per rule: final exact NLL mean ± std over seeds, its gap to the entropy
    and the fraction of runs that recover all the bars."""
    lines = [f"entropy of the data (the floor): {entropy:.3f} nats per image"]
    for label, runs in results.items():
        final = np.array([run["nll"][-1] for run in runs])
        found = np.mean([run["recovered"] for run in runs])
        n_bars = [run["n_bars"] for run in runs]
        spread = final.std(ddof=1) if len(final) > 1 else 0.0
        lines.append(f"{label:<22} NLL {final.mean():.3f} ± {spread:.3f} (gap "
                     f"{final.mean() - entropy:.3f}) nats; all bars in {found:.0%} of "
                     f"{len(runs)} runs; distinct bars per run {n_bars}")
    return "\n".join(lines)


def plot_bars_experiment(results, entropy, ax=None):
    """Exact NLL against epochs for each rule (mean and each seed), with the entropy floor."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for i, (label, runs) in enumerate(results.items()):
        curves = np.array([run["nll"] for run in runs])
        epochs = np.arange(1, curves.shape[1] + 1)
        for curve in curves:
            ax.plot(epochs, curve, color=f"C{i}", lw=0.7, alpha=0.35)
        ax.plot(epochs, curves.mean(0), color=f"C{i}", lw=2, label=label)
    ax.axhline(entropy, color="k", ls="--", lw=1.2, label="entropy (floor)")
    ax.set_xlabel("epoch (passes over the training images)")
    ax.set_ylabel("exact NLL (nats per image)")
    ax.legend(fontsize=9)
    return ax


def main(argv=None):
    """``python -m dgm_course.helmholtz``: the bars-problem figures of chapter 5."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--figure", default="bars_experiment.png")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    results = bars_experiment(seeds=range(args.seeds), epochs=args.epochs, progress=True)
    entropy = BarsProblem().entropy
    print(summarise(results, entropy))
    ax = plot_bars_experiment(results, entropy)
    ax.figure.savefig(args.figure, dpi=150, bbox_inches="tight")
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
