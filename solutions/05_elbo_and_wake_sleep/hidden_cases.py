"""Exercise set 5, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test blocks and by
the isolated regrade (`make regrade ASSIGNMENT=05_elbo_and_wake_sleep`). See dgm_course.regrade.
The belief net has one hidden layer: p(h_j = 1) = sigmoid(c_j), p(x_i = 1 | h) =
sigmoid(b_i + W_i,: . h) with W of shape (D, H) = (n_below, n_above), as in the course's
SigmoidBeliefNet; q(h | x) is factorial Bernoulli with logits given per example. The
references are written out here so that they depend on nothing but torch.
"""
import torch
import torch.nn.functional as F

from dgm_course.regrade import Case, Hint, Question

F32, F64 = torch.float32, torch.float64
MODULES = ("dgm_course.helmholtz", "dgm_course.sigmoid_belief_net")


def _bernoulli_log_prob(y, logits):
    """log Bernoulli(y; sigmoid(logits)), summed over the last dimension, computed stably."""
    return (y * logits - F.softplus(logits)).sum(-1)


def _naive_log_prob(y, logits):                  # log(sigmoid) and log(1 - sigmoid)
    p = torch.sigmoid(logits)
    return (y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum(-1)


def _naive_log_prob_2(y, logits):                # log(sigmoid(a)) and log(sigmoid(-a))
    return (y * torch.log(torch.sigmoid(logits))
            + (1 - y) * torch.log(torch.sigmoid(-logits))).sum(-1)


def _binary(shape, g, p=0.5, dtype=F64):
    return (torch.rand(*shape, generator=g) < p).to(dtype)


# 1. monte_carlo_elbo ----------------------------------------------------------------------

def _elbo(x, h, W, b, c, q_logits, log_prob=_bernoulli_log_prob, prior=True, q_sign=-1.0,
          reduce="mean"):
    log_joint = log_prob(x, h @ W.T + b)                         # (K, n)
    if prior:
        log_joint = log_joint + log_prob(h, c.expand_as(h))
    terms = log_joint + q_sign * log_prob(h, q_logits.expand_as(h))
    return terms.mean(0) if reduce == "mean" else terms.sum(0)


def _elbo_case(K, n, D, H, seed, dtype=F64, scale=1.0, description=""):
    g = torch.Generator().manual_seed(seed)
    x = _binary((n, D), g, 0.4, dtype)
    h = _binary((K, n, H), g, 0.5, dtype)
    W = (scale * torch.randn(D, H, generator=g, dtype=F64)).to(dtype)
    b, c = torch.randn(D, generator=g, dtype=F64).to(dtype), torch.randn(H, generator=g, dtype=F64).to(dtype)
    q_logits = (scale * torch.randn(n, H, generator=g, dtype=F64)).to(dtype)
    return Case((x, h, W, b, c, q_logits), description=description)


MONTE_CARLO_ELBO = Question(
    "monte_carlo_elbo", points=3, reference=_elbo, forbidden=MODULES + ("torch.distributions",),
    hints=(Hint(lambda *a: _elbo(*a, q_sign=0.0),
                "the term -log q(h|x) is missing: the ELBO is the mean of log p(x, h) - log q(h|x)."),
           Hint(lambda *a: _elbo(*a, q_sign=1.0),
                "log q(h|x) is subtracted, not added: ELBO = E_q[log p(x, h) - log q(h|x)]."),
           Hint(lambda *a: _elbo(*a, prior=False),
                "the prior term log p(h) = sum_j log Bernoulli(h_j; sigmoid(c_j)) is missing from log p(x, h)."),
           Hint(lambda *a: _elbo(*a, reduce="sum"),
                "the estimate averages over the K samples (dimension 0 of h); do not sum them."),
           Hint(lambda *a: _elbo(*a, log_prob=_naive_log_prob),
                "log(sigmoid(a)) and log(1 - sigmoid(a)) become log(0) for large |a|: write "
                "log sigmoid(a) = -softplus(-a) (F.logsigmoid), or y*a - softplus(a) for the whole "
                "Bernoulli log-probability."),
           Hint(lambda *a: _elbo(*a, log_prob=_naive_log_prob_2),
                "sigmoid(a) underflows to 0 for a below about -745, and log(0) = -inf: write "
                "log sigmoid(a) = -softplus(-a) (F.logsigmoid), or y*a - softplus(a) for the whole "
                "Bernoulli log-probability.")),
    visible=[Case((torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=F64),
                   torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]], dtype=F64),
                   torch.tensor([[2.0, -1.0], [0.5, 1.0], [-1.0, 0.0]], dtype=F64),
                   torch.tensor([-0.5, 0.0, 0.5], dtype=F64), torch.tensor([0.0, -1.0], dtype=F64),
                   torch.tensor([[1.0, -0.5], [0.0, 2.0]], dtype=F64)),
                  description="K = 2 samples, n = 2, D = 3, H = 2"),
             Case((torch.tensor([[1.0, 0.0]]), torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]], [[1.0, 0.0]]]),
                   torch.tensor([[120.0, -20.0], [-120.0, 20.0]]), torch.tensor([10.0, -10.0]),
                   torch.tensor([3.0, -3.0]), torch.tensor([[40.0, 0.0]])),
                  description="large logits (|a| up to 130), float32")],
    hidden=[_elbo_case(5, 4, 6, 3, 0, description="K = 5, n = 4, D = 6, H = 3"),
            _elbo_case(100, 20, 16, 8, 1, dtype=F32, description="K = 100, n = 20, D = 16, H = 8, float32"),
            _elbo_case(3, 5, 16, 9, 2, scale=300.0,
                       description="huge weights and q logits (|a| above 745: sigmoid underflows)"),
            _elbo_case(10, 6, 8, 4, 3, dtype=F32, scale=30.0,
                       description="large weights and q logits, float32")])


# 2. score_function_gradient ---------------------------------------------------------------

def _score(h, f, logits, b, baseline=True, sign=1.0, outside=False, centred=True, reduce="mean"):
    score = h - torch.sigmoid(logits) if centred else h                # (K, H)
    signal = f - b if (baseline and not outside) else f                # (K,)
    terms = sign * signal[:, None] * score
    g = terms.mean(0) if reduce == "mean" else terms.sum(0)
    return g - b if outside else g


def _score_case(K, H, seed, dtype=F64, scale=1.0, b=0.0, description=""):
    g = torch.Generator().manual_seed(seed)
    logits = (scale * torch.randn(H, generator=g, dtype=F64)).to(dtype)
    h = (torch.rand(K, H, generator=g, dtype=F64) < torch.sigmoid(logits.double())).to(dtype)
    f = (-20.0 + 5 * torch.randn(K, generator=g, dtype=F64)).to(dtype)
    return Case((h, f, logits, b), description=description)


SCORE_FUNCTION_GRADIENT = Question(
    "score_function_gradient", points=3, reference=_score, forbidden=MODULES + ("autograd", "backward"),
    hints=(Hint(lambda *a: _score(*a, baseline=False),
                "the baseline b is not used: each sample's weight is the learning signal f_k - b."),
           Hint(lambda *a: _score(*a, outside=True),
                "subtract b from each reward f_k before multiplying by the score, not from the "
                "product: (f_k - b) * score_k."),
           Hint(lambda *a: _score(*a, sign=-1.0),
                "check the signs: the weight is f_k - b (not b - f_k) and the score of a Bernoulli "
                "unit is h - sigmoid(logit) (not sigmoid(logit) - h)."),
           Hint(lambda *a: _score(*a, centred=False),
                "the score d/d(logit) log q(h) of a Bernoulli unit is h - sigmoid(logit), not h."),
           Hint(lambda *a: _score(*a, reduce="sum"),
                "the estimator averages over the K samples; do not sum them.")),
    visible=[Case((torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=F64),
                   torch.tensor([-10.0, -12.0, -9.0, -11.0], dtype=F64),
                   torch.tensor([0.5, -1.0], dtype=F64), -10.0),
                  description="K = 4 samples, H = 2, b = -10")],
    hidden=[_score_case(20, 5, 0, b=-21.0, description="K = 20, H = 5, b = -21"),
            _score_case(1000, 8, 1, dtype=F32, b=-19.5, description="K = 1000, H = 8, float32"),
            _score_case(50, 6, 2, scale=40.0, b=-20.0,
                        description="nearly deterministic q (logits up to about 100)"),
            _score_case(7, 3, 3, b=0.0, description="b = 0")])


# 3. wake_phase_gradients ------------------------------------------------------------------

def _wake(x, h, W, b, c, sign=1.0, link=torch.sigmoid, transpose_out=False, reduce="mean",
          prior_link=torch.sigmoid):
    err = x - link(h @ W.T + b)                                      # (n, D)
    dW, db, dc = err.T @ h, err.sum(0), (h - prior_link(c)).sum(0)
    if reduce == "mean":
        dW, db, dc = dW / len(x), db / len(x), dc / len(x)
    if transpose_out:
        dW = dW.T
    return sign * dW, sign * db, sign * dc


def _wake_case(n, D, H, seed, dtype=F64, scale=1.0, description=""):
    g = torch.Generator().manual_seed(seed)
    x, h = _binary((n, D), g, 0.4, dtype), _binary((n, H), g, 0.5, dtype)
    W = (scale * torch.randn(D, H, generator=g, dtype=F64)).to(dtype)
    b, c = torch.randn(D, generator=g, dtype=F64).to(dtype), torch.randn(H, generator=g, dtype=F64).to(dtype)
    return Case((x, h, W, b, c), description=description)


WAKE_PHASE_GRADIENTS = Question(
    "wake_phase_gradients", points=4, reference=_wake, unchanged=True,
    forbidden=MODULES + ("autograd", "backward", "torch.func"),
    hints=(Hint(lambda *a: _wake(*a, sign=-1.0),
                "the signs are reversed: this is the gradient of log p(x, h) (to ascend), "
                "x - sigmoid(...), not of the loss -log p(x, h)."),
           Hint(lambda *a: _wake(*a, link=lambda a: a),
                "the prediction of x is sigmoid(h W^T + b), a probability: apply the sigmoid "
                "before subtracting it from x."),
           Hint(lambda *a: _wake(*a, transpose_out=True),
                "dW has the shape of W, (D, H): (x - sigmoid(h W^T + b))^T h, not its transpose."),
           Hint(lambda *a: _wake(*a, reduce="sum"),
                "average the gradients over the n examples of the batch rather than summing."),
           Hint(lambda *a: _wake(*a, prior_link=lambda c: c),
                "the prior's gradient is h - sigmoid(c): the prior probability, not the logit c."),
           Hint(lambda *a: _wake(*a, prior_link=torch.zeros_like),
                "dc is the gradient of log p(h) = sum_j log Bernoulli(h_j; sigmoid(c_j)): "
                "h - sigmoid(c), averaged.")),
    visible=[Case((torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=F64),
                   torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=F64),
                   torch.tensor([[1.0, -1.5], [0.5, 1.5]], dtype=F64),
                   torch.tensor([0.0, -0.5], dtype=F64), torch.tensor([0.5, -1.0], dtype=F64)),
                  description="n = 3, D = H = 2"),
             Case((torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
                   torch.tensor([[2.0, -1.5], [-1.0, 1.0], [0.5, 0.5]]), torch.tensor([-0.5, 0.25, 0.5]),
                   torch.tensor([1.0, 0.0])),
                  description="n = 2, D = 3, H = 2, float32")],
    hidden=[_wake_case(10, 6, 4, 0, description="n = 10, D = 6, H = 4"),
            _wake_case(50, 16, 8, 1, dtype=F32, description="n = 50, D = 16, H = 8, float32"),
            _wake_case(8, 5, 5, 2, description="n = 8, D = H = 5"),
            _wake_case(20, 16, 8, 3, scale=200.0, description="large weights (logits of several hundred)")])

QUESTIONS = [MONTE_CARLO_ELBO, SCORE_FUNCTION_GRADIENT, WAKE_PHASE_GRADIENTS]
