"""Exercise set 3, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test blocks and by
the isolated regrade (`make regrade ASSIGNMENT=03_rbms_and_dbns`). See dgm_course.regrade.
The RBM has E(v, h) = -b.v - c.h - v^T W h with W of shape (D, H), as everywhere in the course;
the references are written out here so that they depend on nothing but torch.
"""
import math

import torch
import torch.nn.functional as F

from dgm_course.evaluation import all_binary_states
from dgm_course.regrade import Case, Hint, Question

F64 = torch.float64
FORBIDDEN = ("dgm_course.rbm", "dgm_course.dbn")


def _softplus(x):
    return torch.logaddexp(torch.zeros((), dtype=x.dtype), x)


def _params(D, H, g, scale=1.0):
    return (scale * torch.randn(D, H, generator=g, dtype=F64), torch.randn(D, generator=g, dtype=F64),
            torch.randn(H, generator=g, dtype=F64))


# 1. free_energy ---------------------------------------------------------------------------

def _free_energy(v, W, b, c, visible_sign=-1.0, visible=True, hidden_bias=True, link=_softplus,
                 link_sign=-1.0):
    return (visible_sign * (v @ b) * visible
            + link_sign * link(v @ W + (c if hidden_bias else 0.0)).sum(1))


_g = torch.Generator().manual_seed(0)
_v = (torch.rand(50, 64, generator=_g) < 0.3).double()

FREE_ENERGY = Question(
    "free_energy", points=2, reference=_free_energy, forbidden=FORBIDDEN,
    hints=(Hint(lambda v, W, b, c: _free_energy(v, W, b, c, visible_sign=1.0),
                "check the sign of the visible-bias term: F(v) = -b.v - ..."),
           Hint(lambda v, W, b, c: _free_energy(v, W, b, c, visible=False),
                "the visible-bias term -b.v is missing: it does not depend on h, so it comes out of "
                "the sum."),
           Hint(lambda v, W, b, c: _free_energy(v, W, b, c, link_sign=1.0),
                "the softplus terms are subtracted: F(v) = -b.v - sum_j log(1 + exp(c_j + v.W_:,j))."),
           Hint(lambda v, W, b, c: _free_energy(v, W, b, c, hidden_bias=False),
                "the hidden biases c are missing from the input c_j + v.W_:,j of each hidden unit."),
           Hint(lambda v, W, b, c: _free_energy(v, W, b, c, link=torch.sigmoid),
                "summing out h_j in {0, 1} gives log(1 + exp(x)) = softplus(x), not the sigmoid of x."),
           Hint(lambda v, W, b, c: _free_energy(v, W, b, c, link=lambda x: torch.log(1 + torch.exp(x))),
                "log(1 + exp(x)) overflows for x above about 709: use F.softplus(x).")),
    visible=[Case((torch.tensor([[1.0, 0.0, 1.0]], dtype=F64), torch.zeros(3, 2, dtype=F64),
                   torch.tensor([0.5, -1.0, 2.0], dtype=F64), torch.zeros(2, dtype=F64)),
                  description="one v, W = 0 and c = 0"),
             Case((torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=F64),
                   torch.tensor([[1.0, -1.0, 0.5], [2.0, 0.0, -0.5]], dtype=F64),
                   torch.tensor([0.5, -0.5], dtype=F64), torch.tensor([0.0, 1.0, -1.0], dtype=F64)),
                  description="2 examples, D = 2, H = 3")],
    hidden=[Case(((torch.rand(6, 5, generator=_g) < 0.5).double(),) + _params(5, 4, _g),
                 description="6 examples, D = 5, H = 4"),
            Case((_v,) + _params(64, 20, _g), description="50 examples, D = 64, H = 20"),
            Case((_v[:5], 100 * torch.randn(64, 3, generator=_g, dtype=F64), torch.zeros(64, dtype=F64),
                  torch.full((3,), 30.0, dtype=F64)),
                 description="large weights (inputs to softplus of more than 710)")])


# 2. cd1_gradients -------------------------------------------------------------------------

def _phases(v, W, b, c, u_h, u_v, sample_with=None, reconstruct=None):
    p0 = torch.sigmoid(v @ W + c)
    h0 = (u_h < p0).to(v.dtype) if sample_with is None else sample_with(p0)
    pv = torch.sigmoid(h0 @ W.T + b)
    v1 = (u_v < pv).to(v.dtype) if reconstruct is None else reconstruct(pv)
    return p0, h0, v1, torch.sigmoid(v1 @ W + c)


def _cd1(v, W, b, c, u_h, u_v, **options):
    p0, _, v1, p1 = _phases(v, W, b, c, u_h, u_v, **options)
    return (v.T @ p0 - v1.T @ p1) / len(v), (v - v1).mean(0), (p0 - p1).mean(0)


def _samples_in_statistics(v, W, b, c, u_h, u_v):
    p0, h0, v1, p1 = _phases(v, W, b, c, u_h, u_v)
    h1 = (u_h < p1).double()
    return (v.T @ h0 - v1.T @ h1) / len(v), (v - v1).mean(0), (h0 - h1).mean(0)


def _cd1_case(n, D, H, seed, scale=1.0, description=""):
    g = torch.Generator().manual_seed(seed)
    v = (torch.rand(n, D, generator=g) < 0.4).double()
    W, b, c = _params(D, H, g, scale)
    return Case((v, W, b, c, torch.rand(n, H, generator=g, dtype=F64),
                 torch.rand(n, D, generator=g, dtype=F64)), description=description)


CD1 = Question(
    "cd1_gradients", points=4, reference=_cd1, forbidden=FORBIDDEN,
    hints=(Hint(lambda *a: tuple(-g for g in _cd1(*a)),
                "the signs are reversed: the estimate is the data (positive) phase minus the model "
                "(negative) phase."),
           Hint(lambda *a: tuple(len(a[0]) * g for g in _cd1(*a)),
                "average over the n examples of the batch rather than summing."),
           Hint(_samples_in_statistics, "use the probabilities p0 and p1 in the hidden statistics, not "
                                        "binary samples."),
           Hint(lambda *a: _cd1(*a, sample_with=lambda p: p),
                "the Gibbs step samples h0: compute P(v = 1 | h0) from the binary h0 = (u_h < p0), "
                "not from p0."),
           Hint(lambda *a: _cd1(*a, reconstruct=lambda p: p),
                "the reconstruction v1 is a binary sample (u_v < P(v = 1 | h0)), not the "
                "probabilities."),
           Hint(lambda v, W, b, c, u_h, u_v: _cd1(v, W, b, c, u_h, u_v,
                                                 sample_with=lambda p: (u_h > p).double(),
                                                 reconstruct=lambda p: (u_v > p).double()),
                "a unit is 1 where its uniform number is *below* its probability: (u < p).")),
    visible=[Case((torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype=F64),
                   torch.tensor([[1.0, -1.0], [0.5, 0.5], [-1.0, 2.0]], dtype=F64),
                   torch.tensor([0.0, 0.5, -0.5], dtype=F64), torch.tensor([0.5, -0.5], dtype=F64),
                   torch.tensor([[0.3, 0.6], [0.8, 0.2]], dtype=F64),
                   torch.tensor([[0.6, 0.2, 0.9], [0.3, 0.8, 0.1]], dtype=F64)),
                  description="two examples, D = 3, H = 2")],
    hidden=[_cd1_case(1, 3, 2, 0, description="one example, D = 3, H = 2, random"),
            _cd1_case(8, 6, 4, 1, description="8 examples, D = 6, H = 4"),
            _cd1_case(100, 64, 16, 2, scale=0.3, description="100 digits-sized examples, D = 64, H = 16"),
            _cd1_case(30, 10, 25, 3, scale=2.0, description="more hidden than visible units, large "
                                                            "weights")])


# 3. log_partition -------------------------------------------------------------------------

def _terms(W, b, c, with_c=True, sign=1.0):
    h = all_binary_states(W.shape[1], dtype=W.dtype)                 # (2**H, H)
    return (h @ c if with_c else 0.0) + sign * _softplus(h @ W.T + b).sum(1)


LOG_PARTITION = Question(
    "log_partition", points=3, reference=lambda W, b, c: torch.logsumexp(_terms(W, b, c), 0),
    atol=1e-6, forbidden=FORBIDDEN,
    hints=(Hint(lambda W, b, c: torch.logsumexp(_terms(W, b, c, with_c=False), 0),
                "the hidden-bias term c.h is missing from each hidden state's weight."),
           Hint(lambda W, b, c: torch.logsumexp(_terms(W, b, c, sign=-1.0), 0),
                "summing out v gives + sum_i log(1 + exp(b_i + W_i,: . h)): check the sign."),
           Hint(lambda W, b, c: torch.log(torch.exp(_terms(W, b, c)).sum()),
                "exp overflows for large weights: use torch.logsumexp over the hidden states instead "
                "of log(sum(exp(...)))."),
           Hint(lambda W, b, c: torch.logsumexp(_terms(W, b, c), 0) - W.shape[1] * math.log(2),
                "Z is a sum over the hidden states, not a mean.")),
    visible=[Case((torch.zeros(3, 2, dtype=F64), torch.zeros(3, dtype=F64), torch.zeros(2, dtype=F64)),
                  description="W = 0, b = 0, c = 0 (Z = 2**5)"),
             Case((torch.tensor([[1.0, -1.0], [0.5, 2.0]], dtype=F64), torch.tensor([0.5, -0.5], dtype=F64),
                   torch.tensor([0.0, 1.0], dtype=F64)), description="D = 2, H = 2")],
    hidden=[Case(_params(6, 4, torch.Generator().manual_seed(0)), description="D = 6, H = 4"),
            Case(_params(64, 12, torch.Generator().manual_seed(1), 0.3), description="D = 64, H = 12"),
            Case(_params(64, 6, torch.Generator().manual_seed(2), 20.0),
                 description="large weights (log Z of several thousand nats)")])


# 4. ais_log_weight_increment --------------------------------------------------------------

def _naive_softplus(x):
    return torch.log(1 + torch.exp(x))


def _log_p_star(v, W, b, c, b_A, beta, inside=True, softplus=_softplus):
    a = v @ W + c
    hidden = softplus(beta * a).sum(1) if inside else beta * softplus(a).sum(1)
    return (1 - beta) * (v @ b_A) + beta * (v @ b) + hidden


def _ais(v, W, b, c, b_A, beta_prev, beta, inside=True, softplus=_softplus):
    return (_log_p_star(v, W, b, c, b_A, beta, inside, softplus)
            - _log_p_star(v, W, b, c, b_A, beta_prev, inside, softplus))


def _ais_case(n, D, H, seed, beta_prev, beta, description, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    v = (torch.rand(n, D, generator=g) < 0.4).double()
    W, b, c = _params(D, H, g)
    W = W if scale == 1.0 else scale * W.abs()              # large positive hidden inputs
    return Case((v, W, b, c, torch.randn(D, generator=g, dtype=F64), beta_prev, beta),
                description=description)


AIS = Question(
    "ais_log_weight_increment", points=2, reference=_ais, forbidden=FORBIDDEN,
    hints=(Hint(lambda *a: -_ais(*a), "the increment is log p*_beta(v) - log p*_beta_prev(v): the new "
                                      "temperature first."),
           Hint(lambda v, W, b, c, b_A, bp, bt: _ais(v, W, b, c, torch.zeros_like(b_A), bp, bt),
                "the base-rate biases b_A are missing: the visible part is (beta - beta_prev) "
                "(b - b_A).v."),
           Hint(lambda *a: _ais(*a, inside=False),
                "beta multiplies the hidden input inside the softplus: log(1 + exp(beta (c_j + "
                "v.W_:,j)))."),
           Hint(lambda v, W, b, c, b_A, bp, bt: _ais(v, W, b, torch.zeros_like(c), b_A, bp, bt),
                "the hidden biases c belong to the hidden input c_j + v.W_:,j."),
           Hint(lambda *a: _ais(*a, softplus=_naive_softplus),
                "log(1 + exp(x)) overflows for x above about 709: use F.softplus(x).")),
    visible=[Case((torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=F64),
                   torch.tensor([[1.0, -1.0, 0.5], [2.0, 0.0, -0.5]], dtype=F64),
                   torch.tensor([0.5, -0.5], dtype=F64), torch.tensor([0.0, 1.0, -1.0], dtype=F64),
                   torch.tensor([0.1, 0.2], dtype=F64), 0.0, 0.1),
                  description="the first step, beta 0 -> 0.1")],
    hidden=[_ais_case(3, 4, 2, 0, 0.0, 0.1, description="3 runs, the first step, beta 0 -> 0.1"),
            _ais_case(10, 8, 5, 1, 0.5, 0.6, description="10 runs, beta 0.5 -> 0.6"),
            _ais_case(100, 64, 200, 2, 0.999, 1.0, description="100 runs of a 64 x 200 RBM, the last step"),
            _ais_case(5, 6, 3, 3, 0.25, 0.2501, description="a tiny step"),
            _ais_case(4, 64, 3, 4, 0.9, 1.0, scale=100.0,
                      description="huge weights (hidden inputs above 710: exp overflows)")])

QUESTIONS = [FREE_ENERGY, CD1, LOG_PARTITION, AIS]
