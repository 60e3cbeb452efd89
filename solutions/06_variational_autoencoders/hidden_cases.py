"""Exercise set 6, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test
blocks and by the isolated regrade (`make regrade ASSIGNMENT=06_variational_...`).
See dgm_course.regrade. The references are the library's own pieces
(dgm_course.vae); the wrong answers are written out here.

The encoder gives the mean ``mu`` and the log-variance ``logvar`` = log sigma^2 of
q(z | x), each of shape (n, L). The reparameterised sample takes its noise ``eps``
as an input, so that it is deterministic; ``mu`` and ``logvar`` are passed as
Param, so the sample is judged with its gradients: a detached sample has the right
value and a zero gradient. The ELBO of question 3 has a Gaussian decoder (mean
``x_mean`` and log-variance ``x_logvar`` of p(x | z) for one z per example, as for
the 2-D toys).
"""
import math

import torch

from dgm_course import vae
from dgm_course.regrade import Case, Hint, Param, Question

F32, F64 = torch.float32, torch.float64
FORBIDDEN = ("dgm_course.vae",)
LOG_2PI = math.log(2 * math.pi)
SIGMA = ("logvar is log sigma^2, the log of the variance: the standard deviation is "
         "sigma = exp(logvar / 2) (torch.exp(0.5 * logvar)).")


def _normal(shape, seed, dtype=F64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(*shape, generator=g, dtype=F64)).to(dtype)


# 1. reparameterized_sample ----------------------------------------------------------

def _reference_sample(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


SAMPLE_HINTS = (
    Hint(lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps).detach(),
         "the sample must stay differentiable in mu and logvar (that is the point of "
         "the trick: the gradient flows through z into the encoder); do not detach "
         "anything or build z from .item() / .numpy() values."),
    Hint(lambda mu, lv, eps: mu + torch.exp(0.5 * lv).detach() * eps,
         "the sample must stay differentiable in logvar too: do not detach sigma."),
    Hint(lambda mu, lv, eps: mu.detach() + torch.exp(0.5 * lv) * eps,
         "the sample must stay differentiable in mu too: do not detach it."),
    Hint(lambda mu, lv, eps: mu + torch.exp(lv) * eps,
         "exp(logvar) is the variance sigma^2; the noise is scaled by the standard "
         "deviation, sigma = exp(logvar / 2)."),
    Hint(lambda mu, lv, eps: mu + lv * eps, SIGMA),
    Hint(lambda mu, lv, eps: mu + torch.exp(-0.5 * lv) * eps,
         "check the sign in the exponent: sigma = exp(+logvar / 2)."),
    Hint(lambda mu, lv, eps: (mu + eps) * torch.exp(0.5 * lv),
         "only the noise is scaled: z = mu + sigma * eps, not (mu + eps) * sigma."))


def _sample_case(n, L, seed, dtype=F64, description=""):
    return Case((Param(_normal((n, L), seed, dtype), "mu"),
                 Param(_normal((n, L), seed + 1, dtype), "logvar"),
                 _normal((n, L), seed + 2, dtype)), description=description)


SAMPLE_VISIBLE = Case(
    (Param(torch.tensor([[0.5, -1.0], [2.0, 0.0]], dtype=F64), "mu"),
     Param(torch.tensor([[0.0, math.log(4.0)], [-2.0, 1.0]], dtype=F64), "logvar"),
     torch.tensor([[1.0, -0.5], [0.3, 2.0]], dtype=F64)),
    description="n = 2, L = 2")

REPARAMETERIZED_SAMPLE = Question(
    "reparameterized_sample", points=2, reference=_reference_sample,
    forbidden=FORBIDDEN + ("randn", "randn_like", "normal_", "rsample"), hints=SAMPLE_HINTS,
    visible=[SAMPLE_VISIBLE],
    hidden=[_sample_case(6, 3, 0, description="n = 6, L = 3"),
            _sample_case(4, 5, 10, F32, description="n = 4, L = 5, float32"),
            _sample_case(1, 1, 20, description="n = L = 1")])


# 2. gaussian_kl ---------------------------------------------------------------------

def _reference_kl(mu, logvar):
    return vae.gaussian_kl(mu, logvar)


def _kl(mu, lv, *, half=0.5, sign=1.0, one=1.0, reduce="sum"):
    terms = half * (mu**2 + torch.exp(lv) - one - lv)
    return sign * (terms.sum(-1) if reduce == "sum" else terms.mean(-1))


KL_HINTS = (
    Hint(lambda mu, lv: _kl(mu, lv, half=1.0),
         "the KL has a factor 1/2 in front: 0.5 * sum_j (mu^2 + sigma^2 - 1 - log "
         "sigma^2)."),
    Hint(lambda mu, lv: _kl(mu, lv, sign=-1.0),
         "check the sign: a KL divergence is never negative; it is 0.5 * sum_j (mu^2 + "
         "sigma^2 - 1 - log sigma^2)."),
    Hint(lambda mu, lv: _kl(mu, lv, one=0.0),
         "the -1 per latent dimension is missing (without it the KL of q = p would be "
         "L / 2, not 0)."),
    Hint(lambda mu, lv: _kl(mu, lv, reduce="mean"),
         "sum the KL over the latent dimensions (they are independent), do not "
         "average."),
    Hint(lambda mu, lv: 0.5 * (mu**2 + lv**2 - 1 - torch.log(lv**2)).sum(-1),
         "logvar is log sigma^2, not sigma: sigma^2 = exp(logvar) and log sigma^2 = "
         "logvar."),
    Hint(lambda mu, lv: 0.5 * (mu**2 + torch.exp(2 * lv) - 1 - lv).sum(-1),
         "sigma^2 = exp(logvar), not exp(2 logvar): logvar is already the log of the "
         "variance."),
    Hint(lambda mu, lv: 0.5 * ((1 + mu**2) * torch.exp(-lv) - 1 + lv).sum(-1),
         "this is KL(p || q), the other direction; the ELBO needs KL(q(z | x) || p(z)) "
         "= 0.5 * sum_j (mu^2 + sigma^2 - 1 - log sigma^2)."))

KL_VISIBLE = Case((torch.tensor([[0.5, -1.0], [0.0, 0.0]], dtype=F64),
                   torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]], dtype=F64)),
                  description="n = 2, L = 2 (the second row is q = p)")

GAUSSIAN_KL = Question(
    "gaussian_kl", points=3, reference=_reference_kl,
    forbidden=FORBIDDEN + ("kl_divergence",), hints=KL_HINTS, visible=[KL_VISIBLE],
    hidden=[Case((_normal((8, 4), 30), _normal((8, 4), 31)), description="n = 8, L = 4"),
            Case((_normal((3, 16), 32, F32, 2.0), _normal((3, 16), 33, F32)),
                 description="n = 3, L = 16, float32"),
            Case((_normal((5, 2), 34), _normal((5, 2), 35, scale=4.0)),
                 description="large and small variances (|logvar| up to 10)"),
            Case((torch.tensor([[1.5]], dtype=F64), torch.tensor([[-0.5]], dtype=F64)),
                 description="n = L = 1")])


# 3. elbo ----------------------------------------------------------------------------

def _reconstruction(x, m, lv, *, log2pi=True, half=0.5, var="exp", reduce="sum"):
    variance = torch.exp(lv) if var == "exp" else lv
    log_det = lv if var == "exp" else torch.log(lv)
    terms = -(0.5 * LOG_2PI * log2pi + 0.5 * log_det + half * (x - m) ** 2 / variance)
    return terms.sum(-1) if reduce == "sum" else terms.mean(-1)          # (n,)


def _reference_elbo(x, x_mean, x_logvar, mu, logvar):
    return (_reconstruction(x, x_mean, x_logvar) - vae.gaussian_kl(mu, logvar)).mean()


def _elbo(x, m, lv, mu, logvar, *, batch="mean", kl_sign=-1.0, **rec):
    r, kl = _reconstruction(x, m, lv, **rec), vae.gaussian_kl(mu, logvar)
    if batch == "sum":
        return (r + kl_sign * kl).sum()
    if batch == "mixed":
        return r.sum() + kl_sign * kl.mean()
    return (r + kl_sign * kl).mean()


ELBO_HINTS = (
    Hint(lambda *a: _elbo(*a, log2pi=False),
         "the Gaussian log-density has a constant -1/2 log(2 pi) per pixel: log N(x; m, "
         "s^2) = -1/2 [log(2 pi) + log s^2 + (x - m)^2 / s^2]. It does not change the "
         "gradient, but without it the number is not a bound on log p(x)."),
    Hint(lambda *a: _elbo(*a, kl_sign=1.0),
         "the ELBO subtracts the KL: reconstruction - KL(q(z | x) || p(z))."),
    Hint(lambda *a: _elbo(*a, batch="sum"),
         "average the per-example ELBO over the batch, do not sum it."),
    Hint(lambda *a: _elbo(*a, batch="mixed"),
         "the reconstruction is summed over the batch and the KL averaged: use the "
         "same reduction for both, the mean over the examples of (reconstruction - KL)."),
    Hint(lambda *a: _elbo(*a, reduce="mean"),
         "sum the log-density over the pixels (it is the log of a product over "
         "pixels), do not average."),
    Hint(lambda *a: _elbo(*a, half=1.0),
         "the squared error has a factor 1/2: -(x - m)^2 / (2 s^2)."),
    Hint(lambda *a: _elbo(*a, var="raw"),
         "x_logvar is the log of the decoder's variance: s^2 = exp(x_logvar), and "
         "log s^2 = x_logvar."))


def _elbo_case(n, D, L, seed, dtype=F64, description=""):
    return Case((_normal((n, D), seed, dtype), _normal((n, D), seed + 1, dtype),
                 _normal((n, D), seed + 2, dtype, 0.5), _normal((n, L), seed + 3, dtype),
                 _normal((n, L), seed + 4, dtype, 0.5)), description=description)


ELBO_VISIBLE = Case(
    (torch.tensor([[1.0, -0.5], [0.0, 2.0], [0.5, 0.5]], dtype=F64),
     torch.tensor([[0.8, 0.0], [0.1, 1.5], [0.5, 0.0]], dtype=F64),
     torch.tensor([[0.0, -1.0], [0.5, 0.0], [-0.5, -0.5]], dtype=F64),
     torch.tensor([[0.5], [-1.0], [0.0]], dtype=F64),
     torch.tensor([[0.0], [-1.0], [1.0]], dtype=F64)),
    description="n = 3, D = 2, L = 1")

ELBO = Question(
    "elbo", points=3, reference=_reference_elbo, forbidden=FORBIDDEN, hints=ELBO_HINTS,
    visible=[ELBO_VISIBLE],
    hidden=[_elbo_case(10, 2, 2, 40, description="n = 10, D = 2, L = 2"),
            _elbo_case(4, 64, 16, 50, F32, description="n = 4, D = 64, L = 16, float32"),
            _elbo_case(1, 3, 2, 60, description="a single example (n = 1)")])

QUESTIONS = [REPARAMETERIZED_SAMPLE, GAUSSIAN_KL, ELBO]
