"""Exercise set 2, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test blocks and by
the isolated regrade (`make regrade ASSIGNMENT=02_energy_based_models`). See dgm_course.regrade.
"""
import math

import torch

from dgm_course.evaluation import all_binary_states
from dgm_course.regrade import Case, Hint, Question

F64 = torch.float64


def _symmetric(n, scale, seed):
    A = scale * torch.randn(n, n, dtype=F64, generator=torch.Generator().manual_seed(seed))
    return (A + A.T) / 2 * (1 - torch.eye(n, dtype=F64))


def _neg_energy(R, b, half=1.0, bias=True):
    x = all_binary_states(b.shape[0], dtype=F64)
    return half * ((x @ R) * x).sum(1) + (x @ b if bias else 0.0)     # -E(x), (2**n,)


# 1. log_partition -------------------------------------------------------------------------

LOG_PARTITION = Question(
    "log_partition", points=2, reference=lambda R, b: torch.logsumexp(_neg_energy(R, b), 0),
    hints=(Hint(lambda R, b: torch.logsumexp(-_neg_energy(R, b), 0),
                "P(x) is proportional to exp(-E(x)): sum exp(-E), not exp(+E). Check the sign of the "
                "energy."),
           Hint(lambda R, b: torch.logsumexp(_neg_energy(R, b, bias=False), 0),
                "the bias term b^T x is missing from the energy."),
           Hint(lambda R, b: torch.logsumexp(_neg_energy(R, b, half=0.5), 0),
                "the energy is -x^T R x with no factor 1/2 (x^T R x already counts each pair twice)."),
           Hint(lambda R, b: torch.logsumexp(_neg_energy(R, b), 0) - b.shape[0] * math.log(2),
                "Z is a sum over the 2**n states, not an average: do not divide by their number."),
           Hint(lambda R, b: _neg_energy(R, b).sum(),
                "log Z is the log of a sum of exponentials, logsumexp(-E), not the sum of -E over the "
                "states."),
           Hint(lambda R, b: torch.log(torch.exp(_neg_energy(R, b)).sum()),
                "exp(-E) overflows when -E is above about 709: add the terms with torch.logsumexp.")),
    visible=[Case((torch.zeros(3, 3, dtype=F64), torch.tensor([0.5, -1.0, 2.0], dtype=F64)),
                  description="R = 0 (independent units) and b = (0.5, -1, 2)"),
             Case((torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=F64), torch.tensor([0.5, -0.5], dtype=F64)),
                  description="n = 2, R_01 = 1, b = (0.5, -0.5)")],
    hidden=[Case((_symmetric(4, 1.0, 0), torch.tensor([0.3, -0.2, 0.1, 0.0], dtype=F64)),
                 description="n = 4 with random couplings"),
            Case((_symmetric(6, 3.0, 1), torch.linspace(-2, 2, 6, dtype=F64)),
                 description="n = 6, strong couplings"),
            Case((torch.zeros(1, 1, dtype=F64), torch.tensor([-3.0], dtype=F64)), description="one unit"),
            Case((_symmetric(10, 0.5, 2), torch.zeros(10, dtype=F64)), description="n = 10 without biases"),
            Case((100 * _symmetric(5, 1.0, 7).abs(), torch.full((5,), 50.0, dtype=F64)),
                 description="n = 5, huge couplings (-E of thousands: exp overflows)")])


# 2. log_likelihood_gradient ------------------------------------------------------------------

def _phases(X, R, b, normalise=True, mean=True):
    x = all_binary_states(b.shape[0], dtype=F64)
    w = ((x @ R) * x).sum(1) + x @ b
    p = torch.softmax(w, 0) if normalise else w.exp()
    N = X.shape[0] if mean else 1
    return (X.T @ X / N, X.sum(0) / N), (x.T @ (p[:, None] * x), p @ x)


def _combine(pos, neg, sign=1.0, scale_R=1.0, diagonal=False):
    mask = 1 - torch.eye(pos[1].shape[0], dtype=F64) * (not diagonal)
    return sign * scale_R * (pos[0] - neg[0]) * mask, sign * (pos[1] - neg[1])


def _data(N, n, seed):
    return (torch.rand(N, n, generator=torch.Generator().manual_seed(seed)) < 0.4).double()


def _no_negative(X, R, b):
    zeros = (torch.zeros(len(b), len(b), dtype=F64), torch.zeros(len(b), dtype=F64))
    return _combine(_phases(X, R, b)[0], zeros)


GRADIENT = Question(
    "log_likelihood_gradient", points=3, reference=lambda X, R, b: _combine(*_phases(X, R, b)),
    atol=1e-7,
    hints=(Hint(lambda X, R, b: _combine(*_phases(X, R, b), sign=-1.0),
                "the gradient of the log-likelihood is data minus model (positive phase minus negative "
                "phase): check the sign."),
           Hint(_no_negative, "the negative phase is missing: subtract the expectation under the model, "
                              "over all 2**n states."),
           Hint(lambda X, R, b: _combine(*_phases(X, R, b), diagonal=True),
                "R has a zero diagonal that never changes: set the diagonal of grad_R to 0."),
           Hint(lambda X, R, b: _combine(*_phases(X, R, b, normalise=False)),
                "the model expectation weights each state by P(x) = exp(-E(x)) / Z: normalise the "
                "weights (torch.softmax of -E does it stably)."),
           Hint(lambda X, R, b: _combine(*_phases(X, R, b, mean=False)),
                "average the data statistics over the N examples (the gradient of the mean "
                "log-likelihood); do not sum them."),
           Hint(lambda X, R, b: _combine(*_phases(X, R, b), scale_R=2.0),
                "with this exercise's convention grad_R has no factor 2: grad_R[i, j] = "
                "<x_i x_j>_data - <x_i x_j>_model.")),
    visible=[Case((torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=F64),
                   torch.tensor([[0.0, 0.5], [0.5, 0.0]], dtype=F64), torch.tensor([0.2, -0.4], dtype=F64)),
                  description="n = 2, three data vectors")],
    hidden=[Case((torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]],
                               dtype=F64), _symmetric(3, 0.5, 0), torch.tensor([0.2, -0.4, 0.1], dtype=F64)),
                 description="n = 3, four data vectors"),
            Case((_data(20, 4, 1), _symmetric(4, 1.0, 1), torch.tensor([1.0, -1.0, 0.0, 0.5], dtype=F64)),
                 description="n = 4, twenty data vectors"),
            Case((_data(50, 6, 2), _symmetric(6, 2.0, 2), torch.linspace(-1, 1, 6, dtype=F64)),
                 description="n = 6, strong couplings"),
            Case((torch.ones(1, 5, dtype=F64), _symmetric(5, 0.3, 3), torch.zeros(5, dtype=F64)),
                 description="a single all-ones data vector"),
            Case((_data(10, 5, 4), 100 * _symmetric(5, 1.0, 8).abs(), torch.full((5,), 50.0, dtype=F64)),
                 description="n = 5, huge couplings (exp(-E) overflows)")])


# 3. gibbs_sweep ---------------------------------------------------------------------------

def _sweep(x, R, b, u, factor=2.0, sign=1.0, parallel=False, below=True):
    x, old = x.clone(), x.clone()
    for i in range(b.shape[0]):
        p = torch.sigmoid(sign * (b[i] + factor * (old if parallel else x) @ R[i]))
        x[:, i] = ((u[:, i] < p) if below else (u[:, i] > p)).to(x.dtype)
    return x


_R3 = torch.tensor([[0.0, 2.0, -1.0], [2.0, 0.0, 1.5], [-1.0, 1.5, 0.0]], dtype=F64)
_b3 = torch.tensor([-1.0, -2.0, 0.5], dtype=F64)
_g = torch.Generator().manual_seed(1)
_x6 = (torch.rand(50, 6, generator=_g) < 0.5).double()

GIBBS_SWEEP = Question(
    "gibbs_sweep", points=3, reference=_sweep, unchanged=True,
    hints=(Hint(lambda x, R, b, u: _sweep(x, R, b, u, parallel=True),
                "update the units one after another: unit i must see the new values of units 0..i-1 "
                "(a sweep is sequential, not a parallel update from the old state)."),
           Hint(lambda x, R, b, u: _sweep(x, R, b, u, factor=1.0),
                "the input to unit i is b_i + 2 * sum_j R_ij x_j: the energy -x^T R x contains each "
                "pair twice."),
           Hint(lambda x, R, b, u: _sweep(x, R, b, u, below=False),
                "unit i must be on with probability p_i: set it to 1 when u_i < p_i, not when u_i > p_i."),
           Hint(lambda x, R, b, u: _sweep(x, R, b, u, sign=-1.0),
                "check the sign: P(x_i = 1 | rest) = sigmoid(b_i + 2 sum_j R_ij x_j), since a lower "
                "energy is more probable.")),
    visible=[Case((torch.zeros(2, 3, dtype=F64), _R3, _b3,
                   torch.tensor([[0.2, 0.5, 0.5], [0.9, 0.1, 0.3]], dtype=F64)),
                  description="two chains of 3 units starting at 0"),
             Case((torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype=F64), _R3, _b3,
                   torch.tensor([[0.6, 0.2, 0.9], [0.1, 0.7, 0.4]], dtype=F64)),
                  description="two chains of 3 units")],
    hidden=[Case((torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]], dtype=F64), _R3, _b3,
                  torch.rand(3, 3, dtype=F64, generator=torch.Generator().manual_seed(0))),
                 description="three chains of 3 units"),
            Case((_x6, _symmetric(6, 1.5, 4), torch.linspace(-1, 1, 6, dtype=F64),
                  torch.rand(50, 6, dtype=F64, generator=_g)), description="50 chains of 6 units"),
            Case((_x6[:4], _symmetric(6, 1.5, 5), torch.zeros(6, dtype=F64), torch.zeros(4, 6, dtype=F64)),
                 description="u = 0 (every unit turns on)")])

QUESTIONS = [LOG_PARTITION, GRADIENT, GIBBS_SWEEP]
