r"""Deep belief networks: stacked RBMs trained greedily, sampled ancestrally, unrolled (chapter 3).

A DBN with layers :math:`v = h^0, h^1, \dots, h^L` (Hinton, Osindero & Teh 2006) is a generative
model whose top two layers form an RBM (undirected) and whose lower layers are directed, top-down
sigmoid belief-net layers:

.. math::
    P(v, h^1, \dots, h^L) = P(h^{L-1}, h^L) \prod_{l=0}^{L-2} P(h^l \mid h^{l+1}),
    \qquad P(h^l_i = 1 \mid h^{l+1}) = \sigma(b^{l}_i + W^{l+1}_{:,i} \cdot h^{l+1}).

Greedy layer-wise training fits the first RBM to the data, then each next RBM to the hidden
activities of the one below (samples or probabilities); each added layer can only raise a variational
lower bound on :math:`\log P(v)` when it is initialised well (Hinton et al. 2006). The learned weights
then initialise a deterministic network — an autoencoder (Hinton & Salakhutdinov 2006) or a classifier
(Bengio et al. 2007) — that backpropagation fine-tunes.

Inside: :class:`DBN` with :meth:`~DBN.fit`, :meth:`~DBN.transform`, :meth:`~DBN.sample`,
:meth:`~DBN.to_autoencoder` and :meth:`~DBN.to_classifier`, and for two-layer DBNs with a small middle
layer the exact :meth:`~DBN.log_prob_and_bound` that checks the greedy argument. The layers are
:class:`dgm_course.rbm.RBM`.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dgm_course.evaluation import MAX_ENUMERATED_UNITS, all_binary_states
from dgm_course.rbm import RBM, _bernoulli, _num_threads
from dgm_course.utils import check_int, make_generator


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
        ``rbms[l]`` connects layer ``l`` (its visible units) to layer ``l + 1``; the last one is the
        undirected top RBM.

    Examples
    --------
    >>> dbn = DBN([64, 32, 16], generator=0)
    >>> [tuple(r.W.shape) for r in dbn.rbms]
    [(32, 64), (16, 32)]
    >>> tuple(dbn.sample(3, n_steps=2, generator=0).shape)
    (3, 64)
    """

    def __init__(self, layer_sizes, *, generator=None):
        super().__init__()
        sizes = list(layer_sizes) if isinstance(layer_sizes, (list, tuple)) else None
        if sizes is None or len(sizes) < 2:
            raise ValueError(f"layer_sizes must be a list of at least two layer sizes, got {layer_sizes!r}")
        for i, size in enumerate(sizes):
            check_int(size, f"layer_sizes[{i}]", 1)
        self.layer_sizes = sizes
        gen = make_generator(generator)
        self.rbms = nn.ModuleList(RBM(n_in, n_out, generator=gen) for n_in, n_out in zip(sizes[:-1], sizes[1:]))

    def extra_repr(self):
        return f"layer_sizes={self.layer_sizes}"

    def fit(self, data, *, propagate="sample", generator=None, **fit_kwargs):
        """Greedy layer-wise training: fit ``rbms[0]`` to ``data``, then each next RBM to the layer below.

        Parameters
        ----------
        data : tensor of shape (n, layer_sizes[0])
            Binary.
        propagate : {"sample", "mean"}
            What the next RBM is trained on: binary samples of :math:`P(h \\mid \\text{below})` (the
            generative argument of Hinton et al. 2006), or the probabilities themselves (less noise;
            Hinton 2012, §3.2).
        generator : int or torch.Generator, optional
        **fit_kwargs
            Passed to every :meth:`RBM.fit` (``epochs``, ``lr``, ``batch_size``, ``method`` ...).

        Returns
        -------
        list of RBMHistory
            One per layer.
        """
        if propagate not in ("sample", "mean"):
            raise ValueError(f"propagate must be 'sample' or 'mean', got {propagate!r}")
        gen = make_generator(generator)
        x = data
        histories = []
        for level, rbm in enumerate(self.rbms):
            soft = propagate == "mean" and level > 0
            histories.append(rbm.fit(x, generator=gen, allow_probabilities=soft, **fit_kwargs))
            x = rbm.p_h(x)  # (n, layer_sizes[level + 1])
            if propagate == "sample":
                x = _bernoulli(x, gen)
        return histories

    @torch.no_grad()
    def transform(self, v, n_layers=None):
        r"""Features by a deterministic up-pass, :math:`x^{l+1} = \sigma(c^{l+1} + W^{l+1} x^l)`, from ``v``.

        Returns the probabilities of layer ``n_layers`` (default: the top one), shape ``(n,
        layer_sizes[n_layers])``.
        """
        n_layers = check_int(len(self.rbms) if n_layers is None else n_layers, "n_layers", 0, len(self.rbms))
        x = self.rbms[0]._check_v(v, "v", binary=False)
        for rbm in self.rbms[:n_layers]:
            x = rbm.p_h(x)
        return x

    @torch.no_grad()
    def sample(self, n, n_steps=1000, generator=None, *, return_means=False):
        """Ancestral samples: ``n_steps`` of block Gibbs sampling in the top RBM from random states, then
        one directed pass down through :math:`P(h^l \\mid h^{l+1})`.

        Returns binary visible samples of shape ``(n, layer_sizes[0])``, or with ``return_means`` the
        probabilities :math:`P(v = 1 \\mid h^1)` of the last step (smoother pictures).
        """
        check_int(n, "n", 1)
        gen = make_generator(generator)
        x = self.rbms[-1].sample(n, n_steps=n_steps, generator=gen)  # (n, layer_sizes[-2])
        with _num_threads(1):
            for level, rbm in reversed(list(enumerate(self.rbms[:-1]))):
                mean = rbm.p_v(x)
                if level == 0 and return_means:
                    return mean
                x = _bernoulli(mean, gen)
        if return_means:  # a single RBM: the top RBM is the whole model
            return self.rbms[-1].p_v(self.rbms[-1].sample_h(x, gen))
        return x

    @torch.no_grad()
    def log_prob_and_bound(self, v, batch_size=50):
        r"""Exact :math:`\log P(v)` of a two-layer DBN and the variational bound of the greedy argument.

        With one middle layer :math:`h` small enough to enumerate, the top RBM's marginal
        :math:`P(h) = e^{-F_2(h)} / Z_2` and the directed layer :math:`P(v \mid h)` give

        .. math::
            \log P(v) = \log \sum_h P(h)\, P(v \mid h) \;\ge\;
            \sum_h Q(h \mid v) \big[\log P(h) + \log P(v \mid h) - \log Q(h \mid v)\big]
            \qquad \text{(eq. rbm-dbn-bound)}

        with :math:`Q(h \mid v) = \prod_j \sigma(c_j + W_j \cdot v)^{h_j} (1 - \dots)^{1 - h_j}`, the first
        RBM's posterior (Hinton, Osindero & Teh 2006). Both are exact sums over the :math:`2^{H}` middle
        states, in float64.

        Returns
        -------
        (log_prob, bound) : tensors of shape (n,)
            In nats per example.
        """
        if len(self.rbms) != 2:
            raise ValueError(f"log_prob_and_bound needs a DBN of exactly two RBMs, this one has {len(self.rbms)}")
        bottom, top = self.rbms
        if bottom.n_hidden > MAX_ENUMERATED_UNITS:
            raise ValueError(f"the middle layer has {bottom.n_hidden} units; at most {MAX_ENUMERATED_UNITS} "
                             f"can be enumerated")
        v = bottom._check_v(v, "v").double()  # (n, D)
        W, b, c = (t.detach().double() for t in (bottom.W, bottom.b, bottom.c))
        h = all_binary_states(bottom.n_hidden, dtype=torch.float64)  # (S, H) every middle state
        top64 = RBM(top.n_visible, top.n_hidden).double()
        top64.load_state_dict(top.state_dict())
        log_prior = -top64.free_energy(h) - top64.log_partition()  # (S,) log P(h)
        a_v = h @ W + b  # (S, D) input to the visible units
        log_prob, bound = [], []
        for chunk in v.split(batch_size):
            log_lik = chunk @ a_v.T - F.softplus(a_v).sum(1)  # (m, S) log P(v | h)
            a_h = chunk @ W.T + c  # (m, H)
            log_q = F.logsigmoid(a_h) @ h.T + F.logsigmoid(-a_h) @ (1 - h).T  # (m, S) log Q(h | v)
            joint = log_prior + log_lik  # (m, S) log P(h, v)
            log_prob.append(torch.logsumexp(joint, 1))
            bound.append((log_q.exp() * (joint - log_q)).sum(1))
        return torch.cat(log_prob), torch.cat(bound)

    def to_autoencoder(self):
        """Unroll into a deep autoencoder (Hinton & Salakhutdinov 2006): an ``nn.Sequential`` of
        ``Linear`` + ``Sigmoid`` layers, the encoder initialised with each :math:`W^l, c^l` and the
        decoder with :math:`W^{l\\top}, b^l` (untied copies). Its output is :math:`P(v = 1)` per pixel;
        fine-tune it with a binary cross-entropy."""
        layers = []
        for rbm in self.rbms:  # encoder: v -> h^1 -> ... -> h^L
            layers += [_linear(rbm.W, rbm.c), nn.Sigmoid()]
        for rbm in reversed(self.rbms):  # decoder: h^L -> ... -> v
            layers += [_linear(rbm.W.T, rbm.b), nn.Sigmoid()]
        return nn.Sequential(*layers)

    def to_classifier(self, n_classes, *, generator=None):
        """Unroll into a classifier: the encoder of :meth:`to_autoencoder` and a new ``Linear`` output
        layer of ``n_classes`` logits (PyTorch's default initialisation, seeded by ``generator``)."""
        check_int(n_classes, "n_classes", 1)
        layers = []
        for rbm in self.rbms:
            layers += [_linear(rbm.W, rbm.c), nn.Sigmoid()]
        gen = make_generator(generator)
        head = nn.Linear(self.layer_sizes[-1], n_classes)
        bound = 1 / self.layer_sizes[-1] ** 0.5
        with torch.no_grad():
            head.weight.uniform_(-bound, bound, generator=gen)
            head.bias.uniform_(-bound, bound, generator=gen)
        return nn.Sequential(*layers, head)


def _linear(weight, bias):
    """An ``nn.Linear`` holding copies of ``weight`` (out, in) and ``bias`` (out,)."""
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer
