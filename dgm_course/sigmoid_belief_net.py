r"""Chapter 1 (closing section) — sigmoid belief nets: where linear factor models stop.

A sigmoid belief net (Neal 1992) replaces the linear-Gaussian decoder of PPCA and factor
analysis by layers of binary units, each layer Bernoulli given the one above through a
logistic sigmoid. Sampling is ancestral (top layer first); the posterior over the hidden
layers is intractable in general, which is what wake-sleep and variational inference
(chapters 5 and 6) are about. For nets with few hidden units :meth:`SigmoidBeliefNet.log_prob`
is exact, by enumerating every hidden state.

:func:`bars_and_stripes_sbn` wires a three-layer net by hand whose samples are bars and
stripes (MacKay 2003): a choice ("rows or columns?") followed by an OR, which no Gaussian
model can express.
"""
import torch

from dgm_course.evaluation import all_binary_states
from dgm_course.utils import check_int, make_generator




class SigmoidBeliefNet(torch.nn.Module):
    r"""A sigmoid belief net (Neal 1992): layers of binary units, top to bottom,

    .. math:: p(h^{(0)}_i = 1) = \sigma(c_i), \qquad
              p(h^{(l+1)}_j = 1 \mid h^{(l)}) = \sigma\big(W^{(l)}_{j\cdot}\, h^{(l)} + b^{(l)}_j\big),

    the last layer being the visible :math:`x`. Sampling is ancestral (top layer first);
    :meth:`log_prob` sums the joint over every hidden state, so it is exact but only for nets
    with at most 22 hidden units in all.

    Parameters
    ----------
    top_bias : tensor of shape (n_0,)
        Logits :math:`c` of the top layer.
    weights : list of tensors of shapes (n_{l+1}, n_l)
    biases : list of tensors of shapes (n_{l+1},)

    Examples
    --------
    >>> sbn = SigmoidBeliefNet(torch.zeros(1), [torch.tensor([[20.0], [-20.0]])], [torch.tensor([-10.0, 10.0])])
    >>> x = sbn.sample(1000, generator=0)  # the top unit decides: [1, 0] or [0, 1]
    >>> x.sum(1).unique().tolist(), round(float(x[:, 0].mean()), 1)
    ([1.0], 0.5)
    >>> round(float(sbn.log_prob(torch.tensor([[1.0, 0.0]])).detach().exp()), 3)
    0.5
    """

    def __init__(self, top_bias, weights, biases):
        super().__init__()
        top_bias = torch.as_tensor(top_bias, dtype=torch.float64)
        if top_bias.dim() != 1 or len(weights) != len(biases) or not weights:
            raise ValueError(f"expected a top_bias of shape (n_0,) and equally many (>= 1) weights and biases, "
                             f"got top_bias of shape {tuple(top_bias.shape)}, {len(weights)} weights, "
                             f"{len(biases)} biases")
        sizes = [top_bias.shape[0]]
        for l, (W, b) in enumerate(zip(weights, biases)):
            W, b = torch.as_tensor(W), torch.as_tensor(b)
            if W.dim() != 2 or W.shape[1] != sizes[-1] or b.shape != (W.shape[0],):
                raise ValueError(f"weights[{l}] must have shape (n_{l + 1}, {sizes[-1]}) and biases[{l}] shape "
                                 f"(n_{l + 1},), got {tuple(W.shape)} and {tuple(b.shape)}")
            sizes.append(W.shape[0])
        self.sizes = sizes
        self.top_bias = torch.nn.Parameter(top_bias)
        self.weights = torch.nn.ParameterList([torch.as_tensor(W, dtype=torch.float64) for W in weights])
        self.biases = torch.nn.ParameterList([torch.as_tensor(b, dtype=torch.float64) for b in biases])

    @torch.no_grad()
    def sample(self, n, generator=None, *, return_hidden=False):
        """``n`` ancestral samples of the visible layer: float tensor of shape (n, n_visible);
        with ``return_hidden``, also the list of hidden layers (top first)."""
        n = check_int(n, "n", 0)
        gen = make_generator(generator)

        def bernoulli(logits):  # one uniform per unit: u < sigma(a) with probability sigma(a)
            return (torch.rand(logits.shape, generator=gen, dtype=torch.float64) < torch.sigmoid(logits)).double()

        h = bernoulli(self.top_bias.expand(n, -1))  # (n, n_0)
        layers = [h]
        for W, b in zip(self.weights, self.biases):
            h = bernoulli(h @ W.T + b)  # (n, n_{l+1})
            layers.append(h)
        x = layers.pop().float()
        return (x, [h.float() for h in layers]) if return_hidden else x

    def log_joint(self, hidden, x):
        r""":math:`\log p(h^{(0)}, \dots, x)` for hidden layers ``hidden`` (list, top first, each
        of shape (..., n_l)) and visible ``x`` (..., n_visible): a sum of Bernoulli log-probabilities."""
        layers = [h.double() for h in hidden] + [x.double()]

        def bernoulli(logits, value):  # log sigma(a)^v sigma(-a)^(1-v) = v a - log(1 + e^a), summed
            return (value * logits - torch.nn.functional.softplus(logits)).sum(-1)

        logp = bernoulli(self.top_bias, layers[0])
        for W, b, above, below in zip(self.weights, self.biases, layers[:-1], layers[1:]):
            logp = logp + bernoulli(above @ W.T + b, below)
        return logp

    def log_prob(self, x):
        r"""Exact :math:`\log p(x) = \log \sum_h p(h, x)` of each row of binary ``x`` (n, n_visible),
        in nats, by enumerating all :math:`2^{\sum_l n_l}` hidden states."""
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.dim() != 2 or x.shape[1] != self.sizes[-1] or not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(f"x must be binary (0/1) of shape (n, {self.sizes[-1]}), got shape {tuple(x.shape)}")
        states = all_binary_states(sum(self.sizes[:-1]), dtype=torch.float64)  # (K, n_hidden)
        hidden = list(states.split(self.sizes[:-1], dim=1))
        logp = self.log_joint([h[:, None, :] for h in hidden], x[None, :, :])  # (K, n)
        return torch.logsumexp(logp, dim=0)


def bars_and_stripes_sbn(size=4, gain=12.0):
    r"""A hand-wired three-layer :class:`SigmoidBeliefNet` whose samples are bars and stripes.

    The top unit picks the orientation; the middle layer has one unit per row and one per
    column, each on with probability 1/2 when its orientation is chosen and
    :math:`\sigma(-\text{gain}) \approx 0` otherwise; a pixel is (nearly) an OR of its row
    and its column unit. ``gain`` sets how close to deterministic the net is.
    """
    s = check_int(size, "size", 2, 5)
    g = float(gain)
    rows = torch.arange(s).repeat_interleave(s)  # row index of each pixel, (s*s,)
    cols = torch.arange(s).repeat(s)
    W1 = torch.cat([torch.full((s, 1), g), torch.full((s, 1), -g)])  # (2s, 1): rows on iff z = 1
    b1 = torch.cat([torch.full((s,), -g), torch.zeros(s)])
    W2 = torch.zeros(s * s, 2 * s, dtype=torch.float64)  # pixel (i, j) listens to row i and column j
    W2[torch.arange(s * s), rows] = g
    W2[torch.arange(s * s), s + cols] = g
    return SigmoidBeliefNet(torch.zeros(1), [W1, W2], [b1, torch.full((s * s,), -g / 2)])
