r"""Deep belief networks: stacked RBMs trained greedily, sampled ancestrally, unrolled (chapter 3).

A DBN with layers :math:`v = h^0, h^1, \dots, h^L` (Hinton, Osindero & Teh 2006) is a generative
model whose top two layers form an RBM (undirected) and whose lower layers are directed, top-down
sigmoid belief-net layers:

.. math::
    P(v, h^1, \dots, h^L) = P(h^{L-1}, h^L) \prod_{l=0}^{L-2} P(h^l \mid h^{l+1}),
    \qquad P(h^l = 1 \mid h^{l+1}) = \sigma(b^{l+1} + h^{l+1} W^{(l+1)\top})
    \qquad \text{(eq. rbm-dbn)}

where ``rbms[l]`` holds :math:`W^{(l+1)}` of shape ``(n_below, n_above)`` = (size of
:math:`h^l`, size of :math:`h^{l+1}`), its visible biases :math:`b^{l+1}` and hidden biases
:math:`c^{l+1}`, in the orientation of :class:`dgm_course.rbm.RBM`.

Greedy layer-wise training fits the first RBM to the data, then each next RBM to the hidden
activities of the one below (samples or probabilities). An added layer raises a variational
lower bound on :math:`\log P(v)` above the RBM below it (Hinton et al. 2006) under two
conditions: a *tied start* (the new top layer as wide as the layer below the replaced RBM's
hidden layer, initialised to its transposed weights and swapped biases) and a top-RBM update
that actually raises its log-likelihood of the activities, which CD does not guarantee.
:meth:`DBN.fit` starts every RBM from small random weights, so it makes no such guarantee;
:meth:`~DBN.log_prob_and_bound` checks the argument exactly on small models.
The learned weights then initialise a deterministic network — an autoencoder (Hinton &
Salakhutdinov 2006) or a classifier (Bengio et al. 2007) — that backpropagation fine-tunes.

Inside: :class:`DBN` with :meth:`~DBN.fit`, :meth:`~DBN.transform`, :meth:`~DBN.sample`,
:meth:`~DBN.to_autoencoder` and :meth:`~DBN.to_classifier`, and for two-layer DBNs with a
small middle layer the exact :meth:`~DBN.log_prob` and the variational bound :meth:`~DBN.elbo`
that checks the greedy argument.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dgm_course.evaluation import all_binary_states, check_enumerable
from dgm_course.rbm import RBM
from dgm_course.utils import make_generator
from dgm_course.validation import check_bool, check_choice, check_data, check_int, model_dtype


class DBN(nn.Module):
    """A deep belief network: a stack of binary RBMs, ``layer_sizes[0]`` visible units first.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, at least two: ``[n_visible, n_hidden_1, ..., n_hidden_L]``.
    generator : int or torch.Generator, optional
        Seeds the initial weights.

    Attributes
    ----------
    rbms : nn.ModuleList of RBM
        ``rbms[l]`` connects layer ``l`` (its visible units) to layer ``l + 1``; the last one
        is the undirected top RBM.

    Examples
    --------
    >>> dbn = DBN([64, 32, 16], generator=0)
    >>> [tuple(r.W.shape) for r in dbn.rbms]
    [(64, 32), (32, 16)]
    >>> tuple(dbn.sample(3, n_steps=2, generator=0).shape)
    (3, 64)
    """

    def __init__(self, layer_sizes, *, generator=None):
        super().__init__()
        sizes = list(layer_sizes) if isinstance(layer_sizes, (list, tuple)) else None
        if sizes is None or len(sizes) < 2:
            raise ValueError(f"layer_sizes must be a list of at least two layer sizes, got "
                             f"{layer_sizes!r}")
        self.layer_sizes = [check_int(size, f"layer_sizes[{i}]", 1) for i, size in enumerate(sizes)]
        gen = make_generator(generator)
        self.rbms = nn.ModuleList(RBM(n_below, n_above, generator=gen)
                                  for n_below, n_above in zip(sizes[:-1], sizes[1:]))

    def extra_repr(self):
        return f"layer_sizes={self.layer_sizes}"

    def _check_v(self, v, name="v", states=True):
        return check_data(v, name, n_features=self.layer_sizes[0],
                          support="binary" if states else "unit", dtype=model_dtype(self))

    def fit(self, data, *, propagate="sample", generator=None, **fit_kwargs):
        r"""Greedy layer-wise training: fit ``rbms[0]`` to ``data``, then each next RBM to the
        layer below.

        Parameters
        ----------
        data : tensor or array of shape (n, layer_sizes[0])
            Binary.
        propagate : {"sample", "mean"}
            What the next RBM is trained on: binary samples of :math:`P(h \mid \text{below})`
            (the generative argument of Hinton et al. 2006), or the probabilities themselves
            (less noise; Hinton 2012, §3.2).
        generator : int or torch.Generator, optional
        **fit_kwargs
            Passed to every :meth:`RBM.fit` (``epochs``, ``lr``, ``batch_size``, ``method`` ...).

        Returns
        -------
        list of dgm_course.training.History
            One per layer.
        """
        x = self._check_v(data, "data")
        propagate = check_choice(propagate, "propagate", ("sample", "mean"))
        gen = make_generator(generator)
        histories = []
        for level, rbm in enumerate(self.rbms):
            soft = propagate == "mean" and level > 0
            histories.append(rbm.fit(x, generator=gen, allow_probabilities=soft, **fit_kwargs))
            x = rbm.p_h(x)  # (n, layer_sizes[level + 1])
            if propagate == "sample":
                x = torch.bernoulli(x, generator=gen)
        return histories

    @torch.no_grad()
    def transform(self, v, *, n_layers=None):
        r"""Features by a deterministic up-pass, :math:`x^{l+1} = \sigma(c^{l+1} + x^l W^{(l+1)})`,
        from ``v`` (binary, or probabilities in [0, 1]).

        Returns the probabilities of layer ``n_layers`` (default: the top one), shape
        ``(n, layer_sizes[n_layers])``.
        """
        n_layers = len(self.rbms) if n_layers is None else n_layers
        n_layers = check_int(n_layers, "n_layers", 0, len(self.rbms))
        x = self._check_v(v, states=False)
        for rbm in self.rbms[:n_layers]:
            x = rbm.p_h(x)
        return x

    @torch.no_grad()
    def sample(self, n, *, n_steps=1000, generator=None, return_latent=False, mean=False):
        r"""Ancestral samples: ``n_steps`` of block Gibbs sampling in the top RBM from random
        states, then one directed pass down through :math:`P(h^l \mid h^{l+1})` (eq. rbm-dbn).

        Returns binary visible samples of shape ``(n, layer_sizes[0])``; with ``mean``, the
        probabilities :math:`P(v = 1 \mid h^1)` of the last step instead (smoother pictures).
        With ``return_latent``, returns ``(v, [h1, ..., hL])``, the hidden layers bottom-up.
        """
        n = check_int(n, "n")
        check_bool(return_latent, "return_latent"), check_bool(mean, "mean")
        gen = make_generator(generator)
        top = self.rbms[-1]
        below, above = top.sample(n, n_steps=n_steps, generator=gen, return_latent=True,
                                  mean=mean and len(self.rbms) == 1)
        layers = [below, above]  # h^{L-1}, h^L
        for level in range(len(self.rbms) - 2, -1, -1):  # directed pass down to v = h^0
            p = self.rbms[level].p_v(layers[0])
            layers.insert(0, p if mean and level == 0 else torch.bernoulli(p, generator=gen))
        return (layers[0], layers[1:]) if return_latent else layers[0]

    # ------------------------------------------------------------ exact likelihood and bound
    @torch.no_grad()
    def log_prob_and_bound(self, v, *, batch_size=50):
        r"""Exact :math:`\log P(v)` of a two-layer DBN and the variational bound of the greedy
        argument, from one enumeration (see :meth:`log_prob` and :meth:`elbo`).

        With one middle layer :math:`h` small enough to enumerate, the top RBM's marginal
        :math:`P(h) = e^{-F_2(h)} / Z_2` and the directed layer :math:`P(v \mid h)` give

        .. math::
            \log P(v) = \log \sum_h P(h)\, P(v \mid h) \;\ge\;
            \sum_h Q(h \mid v) \big[\log P(h) + \log P(v \mid h) - \log Q(h \mid v)\big]
            \qquad \text{(eq. rbm-dbn-bound)}

        with :math:`Q(h = 1 \mid v) = \sigma(c + vW)`, the first RBM's factorised posterior
        (Hinton, Osindero & Teh 2006). Both are exact sums over the :math:`2^{H}` middle
        states, in float64, without gradients.

        Returns
        -------
        (log_prob, bound) : float64 tensors of shape (n,)
            In nats per example, summed over pixels.
        """
        if len(self.rbms) != 2:
            raise ValueError(f"the exact log P(v) needs a DBN of exactly two RBMs, this one has "
                             f"{len(self.rbms)}")
        bottom, top = self.rbms
        check_enumerable(bottom.n_hidden, "the DBN's exact log P(v)")
        v = self._check_v(v).double()  # (n, D)
        batch_size = check_int(batch_size, "batch_size", 1)
        W, b, c = (t.detach().double() for t in (bottom.W, bottom.b, bottom.c))
        h = all_binary_states(bottom.n_hidden, dtype=torch.float64)  # (S, H) every middle state
        top64 = RBM(top.n_visible, top.n_hidden).double()
        top64.load_state_dict(top.state_dict())
        log_prior = -top64.free_energy(h) - top64.log_partition()  # (S,) log P(h)
        a_v = h @ W.T + b  # (S, D) input to the visible units
        log_prob, bound = [], []
        for chunk in v.split(batch_size):
            log_lik = chunk @ a_v.T - F.softplus(a_v).sum(1)  # (m, S) log P(v | h)
            a_h = chunk @ W + c  # (m, H)
            log_q = F.logsigmoid(a_h) @ h.T + F.logsigmoid(-a_h) @ (1 - h).T  # (m, S) log Q(h | v)
            joint = log_prior + log_lik  # (m, S) log P(h, v)
            log_prob.append(torch.logsumexp(joint, 1))
            bound.append((log_q.exp() * (joint - log_q)).sum(1))
        return torch.cat(log_prob), torch.cat(bound)

    def log_prob(self, v, *, batch_size=50):
        r"""Exact :math:`\log P(v)` of a two-layer DBN with an enumerable middle layer (eq.
        rbm-dbn-bound, left), nats per example: float64, shape ``(n,)``; no gradients."""
        return self.log_prob_and_bound(v, batch_size=batch_size)[0]

    def elbo(self, v, *, batch_size=50):
        r"""The variational lower bound of the greedy argument (eq. rbm-dbn-bound, right),
        with :math:`Q(h \mid v)` the first RBM's posterior, computed exactly by enumeration,
        nats per example: float64, shape ``(n,)``; no gradients."""
        return self.log_prob_and_bound(v, batch_size=batch_size)[1]

    # ------------------------------------------------------------------------ unrolling
    def to_autoencoder(self):
        r"""Unroll into a deep autoencoder (Hinton & Salakhutdinov 2006): an ``nn.Sequential``
        of ``Linear`` + ``Sigmoid`` layers, the encoder initialised with each :math:`W^{(l)}, c^l`
        (:math:`x \mapsto \sigma(c + xW)`) and the decoder with :math:`W^{(l)\top}, b^l`
        (untied copies). Its output is :math:`P(v = 1)` per pixel; fine-tune it with a binary
        cross-entropy."""
        layers = []
        for rbm in self.rbms:  # encoder: v -> h^1 -> ... -> h^L
            layers += [_linear(rbm.W, rbm.c), nn.Sigmoid()]
        for rbm in reversed(self.rbms):  # decoder: h^L -> ... -> v
            layers += [_linear(rbm.W.T, rbm.b), nn.Sigmoid()]
        return nn.Sequential(*layers)

    def to_classifier(self, n_classes, *, generator=None):
        """Unroll into a classifier: the encoder of :meth:`to_autoencoder` and a new ``Linear``
        output layer of ``n_classes`` logits (PyTorch's default initialisation, seeded by
        ``generator``)."""
        n_classes = check_int(n_classes, "n_classes", 1)
        layers = []
        for rbm in self.rbms:
            layers += [_linear(rbm.W, rbm.c), nn.Sigmoid()]
        gen = make_generator(generator)
        head = nn.Linear(self.layer_sizes[-1], n_classes)
        bound = 1 / self.layer_sizes[-1] ** 0.5
        nn.init.uniform_(head.weight, -bound, bound, generator=gen)
        nn.init.uniform_(head.bias, -bound, bound, generator=gen)
        return nn.Sequential(*layers, head)


def _linear(weight, bias):
    """An ``nn.Linear`` computing ``x @ weight + bias``: copies of ``weight`` (in, out) and
    ``bias`` (out,)."""
    layer = nn.Linear(weight.shape[0], weight.shape[1])
    with torch.no_grad():
        layer.weight.copy_(weight.T)
        layer.bias.copy_(bias)
    return layer
