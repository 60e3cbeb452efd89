"""Exercise set 4, instructor only: references, typical mistakes, hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test
blocks and by the isolated regrade (`make regrade
ASSIGNMENT=04_autoregressive_models`). See dgm_course.regrade. The references
are the library's own models (chapter 4) with the students' parameters loaded
into them: FVSBN.log_prob, NADE.logits and made_masks. The typical mistakes
are written out here in torch.
"""
import torch
import torch.nn.functional as F

from dgm_course.autoregressive import FVSBN, NADE
from dgm_course.masked_autoregressive import made_degrees, made_masks
from dgm_course.regrade import Case, Hint, Question

F32, F64 = torch.float32, torch.float64
LIBRARY = ("dgm_course.autoregressive", "dgm_course.masked_autoregressive")


def _binary(shape, g, p=0.5, dtype=F64):
    return (torch.rand(*shape, generator=g) < p).to(dtype)


# 1. fvsbn_log_prob --------------------------------------------------------

def _reference_fvsbn(x, W, b):
    model = FVSBN(W.shape[0]).to(W.dtype)
    with torch.no_grad():
        model.W.copy_(W)
        model.b.copy_(b)
        return model.log_prob(x)


def _log_bernoulli(x, z):        # log sigma(z) where x = 1, log sigma(-z) at 0
    return x * z - F.softplus(z)


def _probabilities(x, z):        # sigma(z) and sigma(-z): no log
    return x * torch.sigmoid(z) + (1 - x) * torch.sigmoid(-z)


def _same_for_zero(x, z):        # log sigma(z) where x = 0 as well
    return F.logsigmoid(z)


def _naive_log(x, z):            # log(sigmoid) and log(1 - sigmoid)
    p = torch.sigmoid(z)
    return x * torch.log(p) + (1 - x) * torch.log(1 - p)


def _naive_log_2(x, z):          # log(sigmoid(z)) and log(sigmoid(-z))
    return (x * torch.log(torch.sigmoid(z))
            + (1 - x) * torch.log(torch.sigmoid(-z)))


def _fvsbn(x, W, b, diagonal=-1, transpose=False, bias=True,
           term=_log_bernoulli, sign=1.0, reduce="sum", dim=1):
    Wm = W if diagonal is None else W.tril(diagonal)
    logits = x @ (Wm if transpose else Wm.T) + (b if bias else 0.0)
    terms = sign * term(x, logits)
    return terms.sum(dim) if reduce == "sum" else terms.mean(dim)


def _fvsbn_case(n, d, seed, dtype=F64, scale=1.0, description=""):
    g = torch.Generator().manual_seed(seed)
    x = _binary((n, d), g, 0.4, dtype)
    # all of W is filled: an answer that does not mask it fails
    W = (scale * torch.randn(d, d, generator=g, dtype=F64)).to(dtype)
    b = torch.randn(d, generator=g, dtype=F64).to(dtype)
    return Case((x, W, b), description=description)


STABLE = ("log(sigmoid(l)) and log(1 - sigmoid(l)) become log(0) = -inf for "
          "large |l|: write log sigmoid(l) = -softplus(-l) (F.logsigmoid), or "
          "x*l - softplus(l) for the whole Bernoulli log-probability.")

FVSBN_HINTS = (
    Hint(lambda *a: _fvsbn(*a, diagonal=0),
         "conditional i may use only the pixels before it, j < i: keep the "
         "*strictly* lower triangle, W.tril(-1). With the diagonal "
         "(W.tril()), x_i helps to predict itself."),
    Hint(lambda *a: _fvsbn(*a, diagonal=None),
         "only the strictly lower triangle of W holds weights of the model: "
         "zero the entries on and above the diagonal (W.tril(-1)) before "
         "using W, or x_i sees itself and the pixels after it."),
    Hint(lambda *a: _fvsbn(*a, transpose=True),
         "row i of W holds the weights of conditional i, l = b + W x for one "
         "image: for a batch of rows that is x @ W.T (x @ W mixes the pixels "
         "after i into conditional i)."),
    Hint(lambda *a: _fvsbn(*a, bias=False),
         "the biases b are missing from the logits l = b + W x."),
    Hint(lambda *a: _fvsbn(*a, term=_probabilities),
         "add up the log-probabilities, log sigma(l_i) where x_i = 1 and "
         "log sigma(-l_i) where x_i = 0, not the probabilities themselves."),
    Hint(lambda *a: _fvsbn(*a, term=_same_for_zero),
         "where x_i = 0 the probability is 1 - sigma(l_i) = sigma(-l_i): its "
         "log is log sigma(-l_i), not log sigma(l_i)."),
    Hint(lambda *a: _fvsbn(*a, sign=-1.0),
         "the log-likelihood is a sum of log-probabilities, each at most 0: "
         "yours has the opposite sign (the loss -log p(x)?)."),
    Hint(lambda *a: _fvsbn(*a, reduce="mean"),
         "sum the log-probabilities over the D pixels (nats per image); do "
         "not average them."),
    Hint(lambda *a: _fvsbn(*a, dim=0),
         "one log-likelihood per image: sum over the pixels (dimension 1), "
         "not over the images (dimension 0)."),
    Hint(lambda *a: _fvsbn(*a, term=_naive_log), STABLE),
    Hint(lambda *a: _fvsbn(*a, term=_naive_log_2), STABLE))

_X3 = torch.tensor([[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1],
                    [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]], dtype=F64)
_W3 = torch.tensor([[0.7, -2.0, 1.5],
                    [2.0, -0.4, 0.9],
                    [-1.0, 3.0, 0.3]], dtype=F64)
_W_LARGE = torch.tensor([[9.0, 9.0, 9.0, 9.0],
                         [100.0, 7.0, -7.0, 7.0],
                         [-60.0, 80.0, -3.0, 3.0],
                         [40.0, -130.0, 50.0, 2.0]])

FVSBN_LOG_PROB = Question(
    "fvsbn_log_prob", points=3, reference=_reference_fvsbn, unchanged=True,
    forbidden=LIBRARY + ("torch.distributions",), hints=FVSBN_HINTS,
    visible=[
        Case((_X3, _W3, torch.tensor([0.5, -1.0, 0.2], dtype=F64)),
             description="the chapter's D = 3 model, all 8 images (W has "
                         "entries on and above the diagonal, to be ignored)"),
        Case((torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]]),
              _W_LARGE, torch.tensor([30.0, -120.0, 10.0, 5.0])),
             description="large logits (up to 120 in size), float32")],
    hidden=[
        _fvsbn_case(6, 8, 0, description="n = 6, D = 8"),
        _fvsbn_case(10, 16, 1, dtype=F32,
                    description="n = 10, D = 16, float32"),
        _fvsbn_case(5, 5, 2, description="n = D = 5"),
        _fvsbn_case(4, 12, 3, scale=300.0,
                    description="huge weights (logits above 745 in size: "
                                "sigmoid underflows)"),
        _fvsbn_case(3, 1, 4, description="D = 1 (only the bias)"),
        _fvsbn_case(20, 64, 5, dtype=F32, scale=0.3,
                    description="n = 20, D = 64 (a digit's size), float32")])


# 2. nade_logits -----------------------------------------------------------

def _reference_nade(x, A, c, V, b):
    model = NADE(*A.shape).to(A.dtype)
    with torch.no_grad():
        for name, value in zip("AcVb", (A, c, V, b)):
            getattr(model, name).copy_(value)
        return model.logits(x)


def _nade(x, A, c, V, b, inclusive=False, hidden_bias=True, out_bias=True,
          link=torch.sigmoid, probs=False, running_dim=1):
    terms = x.unsqueeze(-1) * A                           # (n, D, H)
    a = torch.cumsum(terms, dim=running_dim)
    if not inclusive:
        a = a - terms
    if hidden_bias:
        a = a + c
    logits = (link(a) * V).sum(-1) + (b if out_bias else 0.0)
    return torch.sigmoid(logits) if probs else logits


def _nade_case(n, d, h, seed, dtype=F64, scale=1.0, description=""):
    g = torch.Generator().manual_seed(seed)
    x = _binary((n, d), g, 0.4, dtype)
    A = (scale * torch.randn(d, h, generator=g, dtype=F64)).to(dtype)
    c = torch.randn(h, generator=g, dtype=F64).to(dtype)
    V = torch.randn(d, h, generator=g, dtype=F64).to(dtype)
    b = torch.randn(d, generator=g, dtype=F64).to(dtype)
    return Case((x, A, c, V, b), description=description)


NADE_HINTS = (
    Hint(lambda *a: _nade(*a, inclusive=True),
         "h_i may depend only on the pixels before i: leave x_i's own term "
         "out of the running sum (a_1 = c, a_(i+1) = a_i + x_i A_i). "
         "torch.cumsum includes it: subtract it, or shift the sum by one "
         "pixel."),
    Hint(lambda *a: _nade(*a, hidden_bias=False),
         "the hidden bias c is missing: a_i = c + sum_(k<i) x_k A_k, so "
         "a_1 = c."),
    Hint(lambda *a: _nade(*a, out_bias=False),
         "the output biases b are missing: logit_i = b_i + V_i . h_i."),
    Hint(lambda *a: _nade(*a, link=lambda a: a),
         "the hidden units are h_i = sigmoid(a_i): apply the sigmoid to the "
         "running sum before the output weights."),
    Hint(lambda *a: _nade(*a, probs=True),
         "return the logits b_i + V_i . h_i, not the probabilities "
         "sigmoid(...)."),
    Hint(lambda *a: _nade(*a, running_dim=0),
         "the running sum goes over the pixels (dimension 1 of x), not over "
         "the images (dimension 0)."))

# A long image: the O(DH) pass takes a fraction of a second, a separate sum
# for every conditional (O(D^2 H)) minutes, longer than the time limit of the
# in-kernel check (10 s) and of the isolated regrade (10 s + 30 s to start).
LONG_D, LONG_H = 180_000, 64

NADE_LOGITS = Question(
    "nade_logits", points=4, reference=_reference_nade, timeout=10.0,
    forbidden=LIBRARY, hints=NADE_HINTS,
    visible=[
        Case((torch.tensor([[1.0, 0.0, 1.0, 1.0],
                            [0.0, 1.0, 1.0, 0.0]], dtype=F64),
              torch.tensor([[0.5, -1.0, 0.25], [1.5, 0.5, -0.5],
                            [-1.0, 2.0, 1.0], [0.75, -0.25, 0.5]], dtype=F64),
              torch.tensor([0.1, -0.2, 0.3], dtype=F64),
              torch.tensor([[1.0, -1.0, 0.5], [0.5, 2.0, -1.5],
                            [-0.5, 1.0, 1.0], [2.0, 0.0, -1.0]], dtype=F64),
              torch.tensor([0.2, -0.1, 0.0, 0.4], dtype=F64)),
             description="n = 2, D = 4, H = 3"),
        Case((torch.ones(1, LONG_D), torch.zeros(LONG_D, LONG_H),
              torch.zeros(LONG_H), torch.ones(LONG_D, LONG_H),
              torch.zeros(LONG_D)),
             description="a long image, D = 180,000 and H = 64, float32 "
                         "(O(DH) takes a fraction of a second; a separate "
                         "sum for every conditional, O(D^2 H), takes "
                         "minutes)")],
    hidden=[
        _nade_case(4, 10, 5, 0, description="n = 4, D = 10, H = 5"),
        _nade_case(3, 6, 6, 1, description="n = 3, D = H = 6"),
        _nade_case(20, 64, 50, 2, dtype=F32, scale=0.3,
                   description="n = 20, D = 64, H = 50 (the chapter's "
                               "NADE), float32"),
        _nade_case(2, 1, 3, 3, description="D = 1 (no pixel before it)"),
        _nade_case(1, 5000, 8, 4, scale=5000 ** -0.5,
                   description="a long image with random weights, "
                               "D = 5000, H = 8")])


# 3. made_masks ------------------------------------------------------------

def _reference_masks(degrees):
    return tuple(made_masks(list(degrees)))


def _masks(degrees, hidden=torch.ge, out=torch.gt, transpose=False,
           out_from=-1, reverse=False, with_output=True):
    pairs = zip(degrees[:-1], degrees[1:])
    if reverse:     # the layer below's degree at least the layer above's
        masks = [hidden(m_in[:, None], m_out[None, :]) for m_in, m_out in pairs]
    else:
        masks = [hidden(m_out[None, :], m_in[:, None]) for m_in, m_out in pairs]
    if with_output:
        masks.append(out(degrees[0][None, :], degrees[out_from][:, None]))
    return tuple(m.T if transpose else m for m in masks)


def _made_case(d, hidden_sizes, seed, natural=True, description=""):
    g = torch.Generator().manual_seed(seed)
    order = torch.arange(d) if natural else torch.randperm(d, generator=g)
    degrees = tuple(made_degrees(order, hidden_sizes, g))
    return Case((degrees,), description=description)


MADE_HINTS = (
    Hint(lambda d: _masks(d, out=torch.ge),
         "the output mask needs the strict inequality, m^0(i) > m^L(k'): "
         "with >= (or <= read the other way), output i is connected to "
         "hidden units of degree m^0(i), which may depend on x_i itself."),
    Hint(lambda d: _masks(d, hidden=torch.gt),
         "the hidden layers use >=: a unit of degree m connects to the units "
         "of degree at most m in the layer below. Only the output layer is "
         "strict."),
    Hint(lambda d: _masks(d, hidden=torch.gt, out=torch.ge),
         "the strict inequality belongs to the output layer, >= to the "
         "hidden layers: M^l = [m^l(k) >= m^(l-1)(k')], "
         "M^out = [m^0(i) > m^L(k')]."),
    Hint(lambda d: _masks(d, transpose=True),
         "each mask has the shape of the weights it multiplies, (n_in, "
         "n_out): row k' is a unit of the layer below, column k a unit of "
         "the layer above."),
    Hint(lambda d: _masks(d, reverse=True),
         "a hidden unit of degree m may see the units below it whose degree "
         "is at most m, M^l[k', k] = [m^l(k) >= m^(l-1)(k')], not the other "
         "way round."),
    Hint(lambda d: _masks(d, out_from=1),
         "the output mask connects the *last* hidden layer (degrees m^L) to "
         "the outputs (degrees m^0, the inputs' own)."),
    Hint(lambda d: _masks(d, with_output=False),
         "there are L + 1 masks: one into each of the L hidden layers, and "
         "one from the last hidden layer to the D outputs."))

MADE_MASKS = Question(
    "made_masks", points=3, reference=_reference_masks, forbidden=LIBRARY,
    hints=MADE_HINTS,
    visible=[
        Case(((torch.tensor([1, 2, 3, 4]), torch.tensor([1, 3, 2, 1, 3])),),
             description="D = 4 in the natural order, one hidden layer of "
                         "5 units"),
        Case(((torch.tensor([3, 1, 4, 2]), torch.tensor([2, 1, 3]),
               torch.tensor([2, 3, 1, 3])),),
             description="input degrees 3, 1, 4, 2 (another order), hidden "
                         "layers of 3 and 4 units")],
    hidden=[
        _made_case(6, [10, 10], 0,
                   description="D = 6, hidden layers of 10 and 10 units"),
        _made_case(8, [5, 7, 6], 1, natural=False,
                   description="D = 8 in a random order, three hidden "
                               "layers"),
        _made_case(5, [5], 2, natural=False,
                   description="D = 5 in a random order, 5 hidden units"),
        _made_case(2, [3], 3, description="D = 2, 3 hidden units"),
        _made_case(64, [200], 4,
                   description="D = 64, 200 hidden units (the chapter's "
                               "MADE)")])

QUESTIONS = [FVSBN_LOG_PROB, NADE_LOGITS, MADE_MASKS]
