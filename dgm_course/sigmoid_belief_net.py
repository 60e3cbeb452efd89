r"""Chapter 1 (closing section) — sigmoid belief nets: where linear factor models stop.

A sigmoid belief net (Neal 1992) replaces the linear-Gaussian decoder of PPCA and factor
analysis by layers of binary units, each layer Bernoulli given the one above through a
logistic sigmoid. Sampling is ancestral (top layer first); the posterior over the hidden
layers is intractable in general, which is what wake-sleep and variational inference
(chapters 5 and 6) are about: chapter 5's Helmholtz machine uses this class as its
generative model. For nets with few hidden units :meth:`SigmoidBeliefNet.log_prob` is exact,
by enumerating every hidden state.

Layers are numbered from the data upward, as in the rest of the course: layer 0 is the
visible :math:`x`, layer 1 is :math:`h^1` (next to :math:`x`), layer :math:`L` the top. The
weight between a lower layer (``n_below`` units) and the layer above it has shape
``(n_below, n_above)``, like an RBM's ``W`` of shape ``(n_visible, n_hidden)``.

:func:`bars_and_stripes_sbn` wires a three-layer net by hand whose samples are bars and
stripes (MacKay 2003): a choice ("rows or columns?") followed by an OR, which no Gaussian
model can express.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dgm_course.evaluation import all_binary_states, check_enumerable
from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_data, check_int, check_nonnegative,
                                   model_dtype)


class SigmoidBeliefNet(nn.Module):
    r"""A sigmoid belief net (Neal 1992): binary layers, each Bernoulli given the one above.

    With layers numbered from the data upward (:math:`h^0 = x`, top layer :math:`h^L`),

    .. math:: p(h^L_j = 1) = \sigma(b^L_j), \qquad
              p(h^{l}_i = 1 \mid h^{l+1}) = \sigma\big(b^l_i + \textstyle\sum_j W^{l}_{ij}\,
              h^{l+1}_j\big), \quad l = L-1, \dots, 0,

    i.e. ``p(below = 1 | above) = sigmoid(above @ W.T + b_below)`` with ``W`` of shape
    ``(n_below, n_above)``. Sampling is ancestral (top layer first); :meth:`log_prob` sums
    the joint over every hidden state, so it is exact but only for nets with at most
    :data:`~dgm_course.evaluation.MAX_ENUMERATED_UNITS` hidden units in all.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer from the data upward: ``sizes[0]`` visible units, ``sizes[1]`` the
        first hidden layer :math:`h^1`, ..., ``sizes[-1]`` the top layer. At least two.
    init_std : float
        Standard deviation of the normal initial weights (biases start at zero).
    generator : int, torch.Generator or None
        Seeds the initial weights.
    dtype : torch.dtype, optional
        Of the parameters (``torch.get_default_dtype()`` if None); inputs are converted to it.

    Attributes
    ----------
    sizes : tuple of int
    weights : nn.ParameterList
        ``weights[l]`` of shape ``(sizes[l], sizes[l + 1])``: between layer ``l`` and the
        layer above it (:math:`W^l`).
    biases : nn.ParameterList
        ``biases[l]`` of shape ``(sizes[l],)`` for every layer; ``biases[-1]`` are the
        logits of the top layer's prior.

    Examples
    --------
    One hidden unit that picks between the images [1, 0] and [0, 1]:

    >>> W = torch.tensor([[20.0], [-20.0]])  # (n_visible, n_hidden)
    >>> b = [torch.tensor([-10.0, 10.0]), torch.zeros(1)]  # visible, then top
    >>> sbn = SigmoidBeliefNet.from_parameters([W], b)
    >>> x = sbn.sample(1000, generator=0)
    >>> x.sum(1).unique().tolist(), round(float(x[:, 0].mean()), 1)
    ([1.0], 0.5)
    >>> round(float(sbn.log_prob([[1.0, 0.0]]).detach().exp()), 3)
    0.5
    """

    def __init__(self, sizes, *, init_std=0.01, generator=None, dtype=None):
        super().__init__()
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of two or more layer sizes (visible "
                             f"first), got {sizes!r}")
        self.sizes = tuple(check_int(s, f"sizes[{l}]", 1) for l, s in enumerate(sizes))
        init_std = check_nonnegative(init_std, "init_std")
        dtype = torch.get_default_dtype() if dtype is None else dtype
        gen = make_generator(generator)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(below, above, dtype=dtype))
            for below, above in zip(self.sizes[:-1], self.sizes[1:]))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(n, dtype=dtype)) for n in self.sizes)
        with torch.no_grad():
            for W in self.weights:
                W.normal_(0.0, init_std, generator=gen)

    @classmethod
    def from_parameters(cls, weights, biases):
        """A net with the given parameters (copied), of the first weight's floating dtype.

        Parameters
        ----------
        weights : list of L tensors or arrays
            ``weights[l]`` of shape ``(n_l, n_{l+1})``, from the data upward.
        biases : list of L + 1 tensors or arrays
            ``biases[l]`` of shape ``(n_l,)``; ``biases[-1]`` are the top layer's logits.
        """
        if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
            raise ValueError("weights and biases must be lists of tensors, got "
                             f"{type(weights).__name__} and {type(biases).__name__}")
        if len(weights) < 1 or len(biases) != len(weights) + 1:
            raise ValueError(f"expected L >= 1 weights and L + 1 biases (one per layer, "
                             f"visible first), got {len(weights)} weights and "
                             f"{len(biases)} biases")
        dtype = check_data(weights[0], "weights[0]").dtype  # floating inputs keep theirs
        weights = [check_data(W, f"weights[{l}]", dtype=dtype).detach()
                   for l, W in enumerate(weights)]
        biases = [check_data(b, f"biases[{l}]", ndim=1, dtype=dtype).detach()
                  for l, b in enumerate(biases)]
        sizes = [len(b) for b in biases]
        for l, W in enumerate(weights):
            if tuple(W.shape) != (sizes[l], sizes[l + 1]):
                raise ValueError(f"weights[{l}] must have shape (n_{l}, n_{l + 1}) = "
                                 f"({sizes[l]}, {sizes[l + 1]}), the sizes of biases[{l}] "
                                 f"and biases[{l + 1}], got {tuple(W.shape)}")
        net = cls(sizes, init_std=0.0, dtype=dtype)
        with torch.no_grad():
            for param, value in zip([*net.weights, *net.biases], [*weights, *biases]):
                param.copy_(value)
        return net

    def extra_repr(self):
        return f"sizes={self.sizes}"

    @property
    def n_layers(self):
        """L, the number of hidden layers."""
        return len(self.sizes) - 1

    def layer_logits(self, level, above=None):
        r"""Logits of layer ``level`` given the layer above: ``above @ weights[level].T +
        biases[level]``, shape (n, sizes[level]); for the top layer (``level = L``, no
        ``above``) its prior logits ``biases[-1]``. Differentiable."""
        level = check_int(level, "level", 0, self.n_layers)
        if level == self.n_layers:
            return self.biases[level]
        above = check_data(above, "above", n_features=self.sizes[level + 1], ndim=None,
                           support="binary", dtype=model_dtype(self))
        return above @ self.weights[level].T + self.biases[level]

    @torch.no_grad()
    def sample(self, n, *, generator=None, return_latent=False):
        """``n`` ancestral samples: the top layer from its prior, then each layer below.

        Returns
        -------
        x : tensor of shape (n, sizes[0])
            Binary, in the model's dtype.
        latent : list of L tensors, only if ``return_latent``
            The hidden layers :math:`h^1, \\dots, h^L`, bottom-up, ``latent[l - 1]`` of shape
            (n, sizes[l]).
        """
        n = check_int(n, "n")
        return_latent = check_bool(return_latent, "return_latent")
        gen = make_generator(generator)
        h = torch.bernoulli(torch.sigmoid(self.biases[-1]).expand(n, -1), generator=gen)
        layers = [h]  # top first while sampling
        for W, b in zip(reversed(list(self.weights)), reversed(list(self.biases)[:-1])):
            h = torch.bernoulli(torch.sigmoid(h @ W.T + b), generator=gen)  # (n, n_below)
            layers.append(h)
        x, latent = layers[-1], layers[-2::-1]
        return (x, latent) if return_latent else x

    def _log_joint(self, layers):
        # sum over layers of log p(layer | layer above), each Bernoulli; layers bottom-up,
        # shapes broadcastable to (..., n_l)
        top = layers[-1]
        logp = -F.binary_cross_entropy_with_logits(
            self.biases[-1].expand_as(top), top, reduction="none").sum(-1)
        for W, b, below, above in zip(self.weights, self.biases, layers[:-1], layers[1:]):
            logits = above @ W.T + b  # (..., n_below)
            logits, below = torch.broadcast_tensors(logits, below)
            logp = logp - F.binary_cross_entropy_with_logits(
                logits, below, reduction="none").sum(-1)
        return logp

    def log_joint(self, x, hidden):
        r""":math:`\log p(x, h^1, \dots, h^L)`, in nats: a sum of Bernoulli log-probabilities.

        Differentiable with respect to the parameters (the wake phase of wake-sleep
        maximises it).

        Parameters
        ----------
        x : tensor or array of shape (n, sizes[0])
            Binary.
        hidden : list of L tensors or arrays
            The hidden layers bottom-up, ``hidden[l - 1]`` of shape (n, sizes[l]), binary.
            Leading dimensions broadcast (e.g. states (K, 1, H) against x (1, n, D)).

        Returns
        -------
        tensor of the broadcast batch shape, e.g. (n,)
        """
        dtype = model_dtype(self)
        x = check_data(x, "x", n_features=self.sizes[0], ndim=None, support="binary",
                       dtype=dtype)
        if not isinstance(hidden, (list, tuple)) or len(hidden) != self.n_layers:
            raise ValueError(f"hidden must be a list of {self.n_layers} tensors (h^1 ... "
                             f"h^{self.n_layers}, bottom-up), got {type(hidden).__name__} "
                             f"of length {len(hidden) if hasattr(hidden, '__len__') else '?'}")
        hidden = [check_data(h, f"hidden[{l}]", n_features=self.sizes[l + 1], ndim=None,
                             support="binary", dtype=dtype) for l, h in enumerate(hidden)]
        return self._log_joint([x, *hidden])

    def log_prob(self, x, *, chunk_size=4096):
        r"""Exact :math:`\log p(x) = \log \sum_h p(x, h)` of each row of binary ``x``
        (n, sizes[0]), in nats per example (summed over the visible units): shape ``(n,)``.

        Enumerates all :math:`2^{H}` states of the :math:`H = \sum_{l \ge 1} n_l` hidden
        units, ``chunk_size`` at a time; a ``ValueError`` when :math:`H` exceeds
        :data:`~dgm_course.evaluation.MAX_ENUMERATED_UNITS`. Fully differentiable with
        respect to the parameters (autograd through the log-sum-exp).
        """
        x = check_data(x, "x", n_features=self.sizes[0], support="binary",
                       dtype=model_dtype(self))
        chunk_size = check_int(chunk_size, "chunk_size", 1)
        n_hidden = check_enumerable(sum(self.sizes[1:]), "SigmoidBeliefNet.log_prob")
        states = all_binary_states(n_hidden, dtype=x.dtype)  # (K, H)
        parts = []
        for chunk in states.split(chunk_size):
            hidden = chunk.split(self.sizes[1:], dim=1)  # bottom-up, each (k, n_l)
            layers = [x[None], *(h[:, None, :] for h in hidden)]  # (1, n, D), (k, 1, n_l)
            parts.append(torch.logsumexp(self._log_joint(layers), dim=0))  # (n,)
        return torch.logsumexp(torch.stack(parts), dim=0)


def bars_and_stripes_sbn(size=4, gain=12.0):
    r"""A hand-wired three-layer :class:`SigmoidBeliefNet` whose samples are bars and stripes.

    The top unit :math:`h^2` picks the orientation; the middle layer :math:`h^1` has one unit
    per row and one per column, each on with probability 1/2 when its orientation is chosen
    and :math:`\sigma(-\text{gain}) \approx 0` otherwise; a pixel is (nearly) an OR of its
    row and its column unit. ``gain`` sets how close to deterministic the net is. The
    parameters are float64, so the chapter's exact probabilities are accurate.
    """
    s = check_int(size, "size", 2, 5)
    g = check_nonnegative(gain, "gain")
    rows = torch.arange(s).repeat_interleave(s)  # row index of each pixel, (s*s,)
    cols = torch.arange(s).repeat(s)
    W0 = torch.zeros(s * s, 2 * s, dtype=torch.float64)  # (pixels, h^1): row i and column j
    W0[torch.arange(s * s), rows] = g
    W0[torch.arange(s * s), s + cols] = g
    # (h^1, h^2): the row units are on iff h^2 = 1, the column units iff h^2 = 0
    W1 = torch.cat([torch.full((s, 1), g), torch.full((s, 1), -g)]).double()
    b0 = torch.full((s * s,), -g / 2, dtype=torch.float64)
    b1 = torch.cat([torch.full((s,), -g), torch.zeros(s)]).double()
    b2 = torch.zeros(1, dtype=torch.float64)
    return SigmoidBeliefNet.from_parameters([W0, W1], [b0, b1, b2])
