"""Exercise set 8, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test
blocks and by the isolated regrade (`make regrade ASSIGNMENT=08_dae_sampling`).
See dgm_course.regrade. The corruptions' references are the library's
(dgm_course.dae.corrupt); the loss and the chain step use the release's network
mlp(x, params) = tanh(x W1 + b1) W2 + b2, repeated here as _mlp. The loss's
parameters are passed as Param, so it is judged with its gradients too.
"""
import torch
import torch.nn.functional as F

from dgm_course import dae
from dgm_course.regrade import Case, Hint, Param, Question, Seed

F32, F64 = torch.float32, torch.float64
FORBIDDEN = ("dgm_course.dae",)
GENERATOR = ("draw every random number from `generator`, in the order the exercise gives, "
             "with dtype=x.dtype")


def _mlp(x, params):
    """The release's network (its setup cell)."""
    W1, b1, W2, b2 = params
    return torch.tanh(x @ W1 + b1) @ W2 + b2


def _data(n, D, seed, dtype=F64, binary=False):
    g = torch.Generator().manual_seed(seed)
    if binary:
        return (torch.rand(n, D, generator=g, dtype=F64) < 0.4).to(dtype)
    return torch.randn(n, D, generator=g, dtype=F64).to(dtype)


def _params(D, H, seed, dtype=F64, scale=1.0, param=False):
    g = torch.Generator().manual_seed(200 + seed)
    tensors = (scale * torch.randn(D, H, generator=g, dtype=F64), torch.randn(H, generator=g, dtype=F64),
               scale * torch.randn(H, D, generator=g, dtype=F64) / H ** 0.5,
               torch.randn(D, generator=g, dtype=F64))
    tensors = tuple(t.to(dtype) for t in tensors)
    if param:
        return tuple(Param(t, name) for t, name in zip(tensors, ("W1", "b1", "W2", "b2")))
    return tensors


# 1. gaussian_corrupt ------------------------------------------------------------------

def _reference_gaussian(x, sigma, generator):
    return dae.corrupt(x, "gaussian", sigma, generator=generator)


def _randn(x, generator):
    return torch.randn(x.shape, generator=generator, dtype=x.dtype)


GAUSSIAN_HINTS = (
    Hint(lambda x, sigma, g: x + sigma ** 2 * _randn(x, g),
         "you scaled the noise by sigma^2, its variance; scale the standard normal noise by "
         "the standard deviation sigma."),
    Hint(lambda x, sigma, g: sigma * _randn(x, g),
         "that is the noise alone: add it to x."),
    Hint(lambda x, sigma, g: x + sigma * torch.rand(x.shape, generator=g, dtype=x.dtype),
         "torch.rand draws uniform numbers on [0, 1); Gaussian noise needs torch.randn."),
    Hint(lambda x, sigma, g: x + sigma * torch.randn(x.shape, generator=g).to(x.dtype),
         "draw the noise in the dtype of the data, torch.randn(x.shape, generator=generator, "
         "dtype=x.dtype): float32 and float64 draws from the same seed differ."),
    Hint(lambda x, sigma, g: x * (1 + sigma * _randn(x, g)),
         "the noise is added, x + sigma * eps, not multiplied."))

GAUSSIAN_CORRUPT = Question(
    "gaussian_corrupt", points=2, reference=_reference_gaussian, unchanged=True,
    forbidden=FORBIDDEN, hints=GAUSSIAN_HINTS,
    visible=[Case((torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]], dtype=F64), 0.5, Seed(0)),
                  description="n = 3, D = 2, sigma = 0.5, seed 0")],
    hidden=[Case((_data(20, 4, 1), 0.1, Seed(1)), description="n = 20, D = 4, sigma = 0.1"),
            Case((_data(6, 3, 2, F32), 2.0, Seed(2)), description="float32, sigma = 2"),
            Case((_data(1, 64, 3), 0.3, Seed(3)), description="one example of 64 features")])


# 2. salt_and_pepper -------------------------------------------------------------------

def _reference_salt_and_pepper(x, p, generator):
    return dae.corrupt(x, "salt_and_pepper", p, generator=generator)


def _sp(x, p, g, *, replace="bits", inverted=False, bits_first=False, bit_p=0.5):
    def draw():
        return torch.rand(x.shape, generator=g, dtype=x.dtype)
    if bits_first:
        bits_u, mask_u = draw(), draw()
    else:
        mask_u, bits_u = draw(), draw()
    mask = mask_u >= p if inverted else mask_u < p
    bits = (bits_u < bit_p).to(x.dtype)
    new = {"bits": bits, "flip": 1 - x, "zero": torch.zeros_like(x),
           "one": torch.ones_like(x)}[replace]
    return torch.where(mask, new, x)


SP_HINTS = (
    Hint(lambda x, p, g: _sp(x, p, g, replace="flip"),
         "you flipped the chosen pixels (1 - x); salt-and-pepper noise sets each chosen pixel "
         "to a fair random bit, which equals the old value half the time."),
    Hint(lambda x, p, g: 1 - x,
         "you flipped every pixel: only the pixels whose uniform number is below p are "
         "replaced."),
    Hint(lambda x, p, g: _sp(x, p, g, inverted=True),
         "a pixel is replaced when its uniform number is below p (probability p), not above."),
    Hint(lambda x, p, g: _sp(x, p, g, bits_first=True),
         "draw the mask first and the bits second, each with torch.rand(x.shape, "
         "generator=generator, dtype=x.dtype)."),
    Hint(lambda x, p, g: _sp(x, p, g, bit_p=p),
         "the new bit is fair: 1 when its uniform number is below 0.5, not below p."),
    Hint(lambda x, p, g: _sp(x, p, g, replace="zero"),
         "the chosen pixels become random bits, not all 0 (that is 'pepper' only)."),
    Hint(lambda x, p, g: _sp(x, p, g, replace="one"),
         "the chosen pixels become random bits, not all 1 (that is 'salt' only)."))

SALT_AND_PEPPER = Question(
    "salt_and_pepper", points=2, reference=_reference_salt_and_pepper, unchanged=True,
    forbidden=FORBIDDEN, hints=SP_HINTS,
    visible=[Case((torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]],
                                dtype=F64), 0.4, Seed(3)), description="n = 3, D = 4, p = 0.4, seed 3")],
    hidden=[Case((_data(30, 64, 4, binary=True), 0.3, Seed(4)),
                 description="30 binary digits-sized images, p = 0.3"),
            Case((_data(8, 5, 5, F32, binary=True), 0.8, Seed(5)), description="float32, p = 0.8"),
            Case((_data(4, 6, 6, binary=True), 0.0, Seed(6)), description="p = 0 (no noise)")])


# 3. dae_loss --------------------------------------------------------------------------

def _reference_loss(x, x_tilde, params):
    logits = _mlp(x_tilde, params)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()


def _bce(logits, target):
    return F.softplus(logits) - target * logits   # -log Bernoulli(target; sigmoid(logits))


LOSS_HINTS = (
    Hint(lambda x, xt, p: _bce(_mlp(xt, p), xt).sum(1).mean(),
         "the target is the clean x, not its corruption x_tilde: the DAE reconstructs x "
         "from x_tilde."),
    Hint(lambda x, xt, p: _bce(_mlp(x, p), x).sum(1).mean(),
         "the network's input is the corrupted x_tilde; from the clean x it is an ordinary "
         "autoencoder, which can learn the identity."),
    Hint(lambda x, xt, p: _bce(_mlp(xt, p), x).mean(),
         "sum the negative log-likelihood over the pixels of an example (nats per example), "
         "then average over the examples; you averaged over the pixels too."),
    Hint(lambda x, xt, p: _bce(_mlp(xt, p), x).sum(),
         "average over the n examples, do not sum."),
    Hint(lambda x, xt, p: -_bce(_mlp(xt, p), x).sum(1).mean(),
         "check the sign: the loss is the negative log-likelihood (never negative)."),
    Hint(lambda x, xt, p: ((torch.sigmoid(_mlp(xt, p)) - x) ** 2).sum(1).mean(),
         "this is the squared error of the probabilities; for binary pixels the loss is the "
         "Bernoulli negative log-likelihood, softplus(l) - x l per pixel."))

LOSS_VISIBLE_X = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=F64)
LOSS_VISIBLE_XT = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], dtype=F64)
LOSS_VISIBLE_PARAMS = (
    Param(torch.tensor([[0.5, -1.0], [1.0, 0.5], [-0.5, 1.0]], dtype=F64), "W1"),
    Param(torch.tensor([0.1, -0.2], dtype=F64), "b1"),
    Param(torch.tensor([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]], dtype=F64), "W2"),
    Param(torch.tensor([0.0, 0.2, -0.1], dtype=F64), "b2"))


def _loss_case(n, D, H, seed, dtype=F64, scale=1.0, description=""):
    x = _data(n, D, 300 + seed, dtype, binary=True)
    x_tilde = dae.corrupt(x, "salt_and_pepper", 0.4, generator=seed)
    return Case((x, x_tilde, _params(D, H, seed, dtype, scale, param=True)),
                description=description)


DAE_LOSS = Question(
    "dae_loss", points=3, reference=_reference_loss, forbidden=FORBIDDEN, hints=LOSS_HINTS,
    visible=[Case((LOSS_VISIBLE_X, LOSS_VISIBLE_XT, LOSS_VISIBLE_PARAMS),
                  description="n = 2, D = 3, H = 2")],
    hidden=[_loss_case(10, 8, 5, 1, description="n = 10, D = 8, H = 5"),
            _loss_case(6, 64, 16, 2, dtype=F32, description="n = 6, D = 64, float32"),
            _loss_case(5, 4, 3, 3, scale=60.0,
                       description="large weights (logits in the hundreds)"),
            _loss_case(1, 3, 2, 4, description="one example")])


# 4. chain_step ------------------------------------------------------------------------

def _reference_chain_step(x, sigma, s, params, generator):
    x_tilde = x + sigma * _randn(x, generator)                 # corrupt
    mean = x_tilde + _mlp(x_tilde, params)                     # r(x_tilde)
    return mean + s * _randn(x, generator)                     # sample P(x | x_tilde)


def _step(x, sigma, s, params, g, *, sample=True, corrupt=True, residual=True,
          sigma_power=1, s_power=1):
    eps1 = _randn(x, g)
    x_tilde = x + sigma ** sigma_power * eps1 if corrupt else x
    mean = (x_tilde if residual else 0) + _mlp(x_tilde, params)
    if not sample:
        return mean
    eps2 = _randn(x, g) if corrupt else eps1
    return mean + s ** s_power * eps2


STEP_HINTS = (
    Hint(lambda *a: _step(*a, sample=False),
         "you returned the mean r(x_tilde) of P(x | x_tilde): the chain must sample from it, "
         "r(x_tilde) + s * eps. A chain of means is a deterministic map that collapses onto "
         "fixed points."),
    Hint(lambda *a: _step(*a, corrupt=False),
         "the step starts by corrupting x: x_tilde = x + sigma * eps (the first draw); you "
         "reconstructed from x itself."),
    Hint(lambda *a: _step(*a, residual=False),
         "the mean is r(x_tilde) = x_tilde + mlp(x_tilde, params): the network outputs the "
         "correction, not the reconstruction."),
    Hint(lambda *a: _step(*a, sigma_power=2),
         "the corruption noise has standard deviation sigma: x_tilde = x + sigma * eps, not "
         "sigma^2."),
    Hint(lambda *a: _step(*a, s_power=2),
         "P(x | x_tilde) has standard deviation s: add s * eps, not s^2 * eps."),
    Hint(lambda x, sigma, s, params, g: x + sigma * _randn(x, g),
         "you returned x_tilde, the corruption; the step ends with a sample from "
         "P(x | x_tilde)."))

CHAIN_VISIBLE_PARAMS = (
    torch.tensor([[1.0, -0.5, 0.3], [0.2, 0.8, -1.0]], dtype=F64),
    torch.tensor([0.0, 0.1, -0.1], dtype=F64),
    torch.tensor([[-0.3, 0.1], [0.2, -0.4], [0.1, 0.3]], dtype=F64),
    torch.tensor([0.05, -0.05], dtype=F64))

CHAIN_STEP = Question(
    "chain_step", points=3, reference=_reference_chain_step, unchanged=True,
    forbidden=FORBIDDEN, hints=STEP_HINTS,
    visible=[Case((torch.tensor([[1.0, 0.0], [-0.5, 2.0], [0.0, 0.0]], dtype=F64), 0.3, 0.2,
                   CHAIN_VISIBLE_PARAMS, Seed(0)),
                  description="3 chains in 2-D, sigma = 0.3, s = 0.2, seed 0")],
    hidden=[Case((_data(50, 2, 7), 0.5, 0.4, _params(2, 16, 7), Seed(7)),
                 description="50 chains in 2-D, H = 16"),
            Case((_data(5, 6, 8, F32), 0.1, 0.05, _params(6, 4, 8, F32), Seed(8)),
                 description="float32, D = 6"),
            Case((_data(1, 3, 9), 1.5, 1.0, _params(3, 5, 9), Seed(9)),
                 description="one chain, large noise")])

QUESTIONS = [GAUSSIAN_CORRUPT, SALT_AND_PEPPER, DAE_LOSS, CHAIN_STEP]
