"""Exercise set 7, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test
blocks and by the isolated regrade (`make regrade ASSIGNMENT=07_generative_...`).
See dgm_course.regrade. The references are the library's own losses and gradient
penalty (dgm_course.gan); the wrong answers are written out here.

The losses take the discriminator's logits l, D = sigmoid(l). The gradient penalty's
critic is the small network of the release's setup cell, critic(x, params) =
tanh(x W + b) v with params = (W, b, v) of shapes (D, H), (H,), (H,). They are
passed as Param, so the penalty is judged together with its gradient with respect to
them: a penalty computed without create_graph=True has the right value and a zero
gradient.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import gan
from dgm_course.regrade import Case, Hint, Param, Question, Seed

F32, F64 = torch.float32, torch.float64
FORBIDDEN = ("dgm_course.gan",)
BCE = ("binary_cross_entropy_with_logits", "BCEWithLogitsLoss")
LOGSIGMOID = ("log(sigmoid(a)) and log(1 - sigmoid(a)) become log 0 = -inf for large "
              "|a|: write -log D = -log sigmoid(l) = softplus(-l) and -log(1 - D) = "
              "softplus(l) (F.softplus), which never overflow.")
CLAMPED = ("F.binary_cross_entropy on probabilities clamps log 0 to -100, so it is "
           "wrong for large logits: work with the logits, -log sigmoid(l) = "
           "softplus(-l).")
UNDERFLOW = "logits of several hundred, float64 (sigmoid underflows)"


def _logits(n, seed, dtype=F64, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(n, generator=g, dtype=F64)).to(dtype)


# 1. discriminator_loss --------------------------------------------------------------

def _reference_discriminator_loss(real_logits, fake_logits):
    return gan.discriminator_loss(real_logits, fake_logits)


def _d_loss(real_logits, fake_logits, *, swap=False, sign=1.0, real=True, fake=True,
            reduce="mean"):
    flip = -1.0 if swap else 1.0          # swapped labels: real 0, generated 1
    terms_real = F.softplus(-flip * real_logits)                     # (n,)
    terms_fake = F.softplus(flip * fake_logits)                      # (m,)
    if reduce == "concatenated":
        return torch.cat([terms_real, terms_fake]).mean()
    mean = torch.mean if reduce == "mean" else torch.sum
    return sign * (real * mean(terms_real) + fake * mean(terms_fake))


def _naive_d_loss(real_logits, fake_logits, one_minus=True):
    if one_minus:
        log_1_minus_d = torch.log(1 - torch.sigmoid(fake_logits))
    else:
        log_1_minus_d = torch.log(torch.sigmoid(-fake_logits))
    return -torch.log(torch.sigmoid(real_logits)).mean() - log_1_minus_d.mean()


def _clamped_d_loss(real_logits, fake_logits):
    real, fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    return (F.binary_cross_entropy(real, torch.ones_like(real))
            + F.binary_cross_entropy(fake, torch.zeros_like(fake)))


D_HINTS = (
    Hint(lambda r, f: _d_loss(r, f, swap=True),
         "the labels are swapped: real examples have label 1 (their term is "
         "-log D(x) = softplus(-l)), generated ones label 0 (-log(1 - D(G(z))) = "
         "softplus(l))."),
    Hint(lambda r, f: _d_loss(r, f, sign=-1.0),
         "this is the value V(D, G) itself; the discriminator maximises V, so its "
         "loss is -V, a cross-entropy (never negative)."),
    Hint(lambda r, f: _d_loss(r, f, fake=False),
         "the term of the generated samples, -mean log(1 - D(G(z))), is missing."),
    Hint(lambda r, f: _d_loss(r, f, real=False),
         "the term of the real examples, -mean log D(x), is missing."),
    Hint(lambda r, f: _d_loss(r, f, reduce="sum"),
         "average each term over its batch (the expectations in V), do not sum."),
    Hint(lambda r, f: _d_loss(r, f, reduce="concatenated"),
         "average the real term over the n real examples and the generated term "
         "over the m generated ones, separately, then add the two averages."),
    Hint(_naive_d_loss, LOGSIGMOID),
    Hint(lambda r, f: _naive_d_loss(r, f, one_minus=False), LOGSIGMOID),
    Hint(_clamped_d_loss, CLAMPED))

DISCRIMINATOR_LOSS = Question(
    "discriminator_loss", points=3, reference=_reference_discriminator_loss,
    forbidden=FORBIDDEN + BCE, hints=D_HINTS,
    visible=[Case((torch.tensor([2.0, -0.5, 1.0], dtype=F64),
                   torch.tensor([-1.5, 0.5], dtype=F64)),
                  description="n = 3 real and m = 2 generated logits"),
             Case((torch.tensor([-200.0, 3.0]), torch.tensor([50.0, -1.0, 0.0])),
                  description="large logits (-200 and 50), float32")],
    hidden=[Case((_logits(16, 0), _logits(16, 1)), description="n = m = 16"),
            Case((_logits(5, 2, F32), _logits(9, 3, F32)),
                 description="n = 5, m = 9, float32"),
            Case((_logits(6, 4, scale=400.0), _logits(6, 5, scale=400.0)),
                 description=UNDERFLOW),
            Case((torch.tensor([0.3], dtype=F64), torch.tensor([-0.7], dtype=F64)),
                 description="n = m = 1")])


# 2. generator_loss ------------------------------------------------------------------

def _reference_generator_loss(fake_logits):
    return gan.generator_loss(fake_logits, "non_saturating")


def _clamped_g_loss(fake_logits):
    d = torch.sigmoid(fake_logits)
    return F.binary_cross_entropy(d, torch.ones_like(d))


G_HINTS = (
    Hint(lambda f: -F.softplus(f).mean(),
         "this is the saturating loss mean log(1 - D(G(z))), the game's own term, "
         "whose gradient vanishes when the discriminator wins; the non-saturating "
         "loss is -mean log D(G(z)) = mean softplus(-l)."),
    Hint(lambda f: F.softplus(f).mean(),
         "-log(1 - D(G(z))) is the discriminator's loss on generated samples; the "
         "generator wants D(G(z)) near 1, so it minimises -log D(G(z)) = "
         "softplus(-l)."),
    Hint(lambda f: -F.softplus(-f).mean(),
         "check the sign: the generator minimises -log D(G(z)) (it maximises "
         "log D)."),
    Hint(lambda f: F.softplus(-f).sum(),
         "average over the m generated samples, do not sum."),
    Hint(lambda f: -torch.log(torch.sigmoid(f)).mean(), LOGSIGMOID),
    Hint(_clamped_g_loss, CLAMPED))

GENERATOR_LOSS = Question(
    "generator_loss", points=2, reference=_reference_generator_loss,
    forbidden=FORBIDDEN + BCE, hints=G_HINTS,
    visible=[Case((torch.tensor([-1.0, 0.5, 2.0], dtype=F64),),
                  description="m = 3 logits"),
             Case((torch.tensor([-200.0, 1.0]),),
                  description="a confident discriminator (logit -200), float32")],
    hidden=[Case((_logits(20, 6),), description="m = 20"),
            Case((_logits(7, 7, F32, scale=3.0),), description="m = 7, float32"),
            Case((_logits(10, 8, scale=400.0),), description=UNDERFLOW),
            Case((torch.tensor([0.25], dtype=F64),), description="m = 1")])


# 3. gradient_penalty ----------------------------------------------------------------

def _critic(x, params):
    """The release's critic (its setup cell): tanh(x W + b) v, one score per row."""
    W, b, v = params
    return torch.tanh(x @ W + b) @ v


class _Critic(nn.Module):
    """``_critic`` as a module, for :func:`dgm_course.gan.gradient_penalty`;
    ``params`` are buffers, not copies, so that the penalty's gradient reaches the
    tensors given."""

    def __init__(self, params):
        super().__init__()
        for name, p in zip(("W", "b", "v"), params):
            self.register_buffer(name, p)

    def forward(self, x):
        return _critic(x, (self.W, self.b, self.v))


def _reference_gradient_penalty(params, real, fake, generator):
    return gan.gradient_penalty(_Critic(params), real, fake, generator=generator)


def _gp(params, real, fake, generator, *, eps="per_example", swap=False,
        scores="sum", create_graph=True, norm="rows", penalty="centred",
        reduce="mean"):
    n, dtype = real.shape[0], real.dtype
    shape = {"one": (1, 1), "per_entry": real.shape}.get(eps, (n, 1))
    if eps == "float32":
        eps = torch.rand(shape, generator=generator).to(dtype)
    else:
        eps = torch.rand(shape, generator=generator, dtype=dtype)
    a, b = (fake, real) if swap else (real, fake)
    x_hat = (eps * a + (1 - eps) * b).requires_grad_(True)
    s = _critic(x_hat, params)
    s = s.sum() if scores == "sum" else s.mean()
    grad, = torch.autograd.grad(s, x_hat, create_graph=create_graph)   # (n, D)
    norms = {"rows": lambda: grad.norm(dim=1), "columns": lambda: grad.norm(dim=0),
             "batch": lambda: grad.norm()}[norm]()
    terms = {"centred": lambda: (norms - 1) ** 2, "squared": lambda: norms ** 2,
             "unsquared": lambda: norms - 1,
             "absolute": lambda: (norms - 1).abs()}[penalty]()
    return terms.mean() if reduce == "mean" else terms.sum()


def _gp_case(n, D, H, seed, dtype=F64, scale=1.0, description=""):
    g = torch.Generator().manual_seed(100 + seed)
    W = scale * torch.randn(D, H, generator=g, dtype=F64)
    b, v = (torch.randn(H, generator=g, dtype=F64) for _ in range(2))
    real = 1.0 + torch.randn(n, D, generator=g, dtype=F64)
    fake = torch.randn(n, D, generator=g, dtype=F64)
    params = tuple(Param(t.to(dtype), name) for t, name in zip((W, b, v), "Wbv"))
    return Case((params, real.to(dtype), fake.to(dtype), Seed(seed)),
                description=description)


GP_HINTS = (
    Hint(lambda *a: _gp(*a, create_graph=False),
         "your penalty is a constant to autograd, so the critic's optimiser would "
         "never see it: pass create_graph=True to torch.autograd.grad (without it, "
         "the gradient it returns cannot be differentiated again), and detach "
         "nothing on the way."),
    Hint(lambda *a: _gp(*a, penalty="squared"),
         "the penalty is (||grad f(x_hat)|| - 1)^2, which pulls each norm towards 1; "
         "||grad f||^2 pulls it towards 0."),
    Hint(lambda *a: _gp(*a, penalty="unsquared"),
         "square the difference: (||grad f(x_hat)|| - 1)^2."),
    Hint(lambda *a: _gp(*a, penalty="absolute"),
         "square the difference (||grad f(x_hat)|| - 1)^2 rather than taking its "
         "absolute value."),
    Hint(lambda *a: _gp(*a, norm="columns"),
         "take one norm per example, over its features (dim=1); your norms run over "
         "the examples (dim=0)."),
    Hint(lambda *a: _gp(*a, norm="batch"),
         "take one norm per example (grad.norm(dim=1)), not one norm of the whole "
         "batch's gradient."),
    Hint(lambda *a: _gp(*a, scores="mean"),
         "differentiate the sum of the scores, critic(x_hat, params).sum(): each "
         "example's score depends only on its own x_hat, so the sum's gradient holds "
         "each example's gradient; the mean divides every gradient by n."),
    Hint(lambda *a: _gp(*a, eps="one"),
         "draw one epsilon per example, torch.rand(n, 1, ...), not one for the whole "
         "batch."),
    Hint(lambda *a: _gp(*a, eps="per_entry"),
         "draw one epsilon per example, shared by its features: shape (n, 1), not "
         "(n, D)."),
    Hint(lambda *a: _gp(*a, eps="float32"),
         "draw epsilon in the dtype of the data, torch.rand(n, 1, "
         "generator=generator, dtype=real.dtype): float32 and float64 draws from the "
         "same seed differ."),
    Hint(lambda *a: _gp(*a, swap=True),
         "interpolate as x_hat = eps * real + (1 - eps) * fake: epsilon weights the "
         "real example."),
    Hint(lambda *a: _gp(*a, reduce="sum"),
         "average the penalty over the n examples, do not sum."))

VISIBLE_CASE = Case(
    ((Param(torch.tensor([[1.0, -0.5, 0.8], [0.3, 1.2, -1.0]], dtype=F64), "W"),
      Param(torch.tensor([0.1, -0.2, 0.0], dtype=F64), "b"),
      Param(torch.tensor([1.0, -0.7, 0.5], dtype=F64), "v")),
     torch.tensor([[1.0, 2.0], [0.5, 1.5], [2.0, 0.0], [1.5, 1.0]], dtype=F64),
     torch.tensor([[0.0, 0.5], [-1.0, 0.0], [0.5, -0.5], [0.0, 0.0]], dtype=F64),
     Seed(0)),
    description="n = 4, D = 2, H = 3, seed 0")

GRADIENT_PENALTY = Question(
    "gradient_penalty", points=5, reference=_reference_gradient_penalty,
    forbidden=FORBIDDEN, hints=GP_HINTS, visible=[VISIBLE_CASE],
    hidden=[_gp_case(8, 3, 5, 1, description="n = 8, D = 3, H = 5"),
            _gp_case(16, 4, 8, 2, dtype=F32,
                     description="n = 16, D = 4, H = 8, float32"),
            _gp_case(5, 5, 4, 3, scale=3.0, description="n = D = 5, larger weights"),
            _gp_case(1, 2, 3, 4, description="a single pair (n = 1)")])

QUESTIONS = [DISCRIMINATOR_LOSS, GENERATOR_LOSS, GRADIENT_PENALTY]
