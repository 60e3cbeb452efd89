"""Exercise set 0, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test blocks and by
the isolated regrade (`make regrade ASSIGNMENT=00_introduction`). See dgm_course.regrade.
"""
import math

import torch

from dgm_course.grading import CheckFailed, check_mixture_samples
from dgm_course.regrade import Case, Hint, Question, Seed


# 1. logsumexp ---------------------------------------------------------------------------

def _logsumexp(a):
    return torch.logsumexp(a, dim=-1)


def _naive(a):
    return torch.log(torch.exp(a).sum(dim=-1))


def _global_max(a):
    m = a.max()
    return m + torch.log(torch.exp(a - m).sum(dim=-1))


def _max_not_added_back(a):
    m = a.max(dim=-1, keepdim=True).values
    return torch.log(torch.exp(a - m).sum(dim=-1))


LOGSUMEXP = Question(
    "logsumexp", points=2, reference=_logsumexp, forbidden=("logsumexp", "scipy.special"),
    hints=(Hint(_naive, "exp overflows for large inputs (and underflows for very negative ones): "
                        "subtract the maximum before exponentiating, and add it back after the log."),
           Hint(_max_not_added_back, "after subtracting the maximum m inside the exponential, add m "
                                     "back outside the log."),
           Hint(_global_max, "take the maximum of each row (over the last dimension), not of the whole "
                             "tensor: rows on very different scales underflow otherwise.")),
    visible=[Case((torch.tensor([0.0, 0.0, 0.0, 0.0]),), description="a = (0, 0, 0, 0)"),
             Case((torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]]),), description="a 2x3 batch"),
             Case((torch.tensor([1000.0, 1000.0]),), description="a = (1000, 1000)")],
    hidden=[Case((torch.tensor([-1000.0, -1001.0], dtype=torch.float64),),
                 description="a = (-1000, -1001) in float64"),
            Case((torch.tensor([750.0, 712.5, -3.0], dtype=torch.float64),),
                 description="a = (750, 712.5, -3) in float64 (exp overflows above 709)"),
            Case((torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(0)) * 30,),
                 description="a 4x5x6 tensor"),
            Case((torch.tensor([[5.0]]),), description="a single entry"),
            Case((torch.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]]),),
                 description="rows on very different scales")])


# 2. bernoulli_log_likelihood -------------------------------------------------------------

def _bernoulli(x, probs):
    return torch.distributions.Bernoulli(probs=probs.expand_as(x)).log_prob(x).sum(-1)


_g = torch.Generator().manual_seed(1)
_x = (torch.rand(7, 64, generator=_g) < 0.3).float()

BERNOULLI = Question(
    "bernoulli_log_likelihood", points=2, reference=_bernoulli,
    hints=(Hint(lambda x, p: _bernoulli(x, p) / x.shape[-1],
                "the log-likelihood of an image sums over its pixels; do not average them."),
           Hint(lambda x, p: (x * torch.log(p)).sum(-1),
                "pixels that are 0 contribute log(1 - p_i): that term is missing."),
           Hint(lambda x, p: ((1 - x) * torch.log(p) + x * torch.log(1 - p)).sum(-1),
                "p_i is the probability that pixel i is 1: x_i goes with log p_i.")),
    visible=[Case((torch.tensor([[1.0, 0.0]]), torch.tensor([0.8, 0.3])),
                  description="x = (1, 0), p = (0.8, 0.3)"),
             Case((torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]), torch.tensor([0.1, 0.5, 0.9])),
                  description="2 images of 3 pixels, one probs vector")],
    hidden=[Case((_x, torch.rand(7, 64, generator=_g) * 0.98 + 0.01),
                 description="7 digits-sized images, probs per image"),
            Case((torch.ones(2, 3), torch.tensor([0.9, 0.5, 0.001])), description="all pixels on"),
            Case((_x.double(), torch.linspace(0.01, 0.99, 64, dtype=torch.float64)),
                 description="float64 images")])


# 3. sample_mixture ------------------------------------------------------------------------

_angles = torch.arange(8) * 2 * math.pi / 8
_RING = (5 * torch.stack([torch.cos(_angles), torch.sin(_angles)], 1),
         torch.linspace(0.1, 0.4, 8), torch.softmax(torch.arange(8.0) / 4, 0))
_PAIR = (torch.tensor([[-4.0, 0.0], [4.0, 0.0]]), torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.75]))


def _check_mixture(outputs, cases):
    """Cases come in pairs with the same seed: reproducible, right weights, Gaussian noise."""
    for i in range(0, len(cases), 2):
        means, stds, weights = cases[i].args[:3]
        try:
            check_mixture_samples(outputs[i], outputs[i + 1], means, stds, weights, quiet=True)
        except CheckFailed as err:
            return f"for {cases[i].description}: {str(err).removeprefix('sample_mixture: ')}"
    return None


SAMPLE_MIXTURE = Question(
    "sample_mixture", points=3, check=_check_mixture, timeout=30.0,
    visible=[Case(_PAIR + (4000, Seed(0)), description="two components, 4000 samples, seed 0"),
             Case(_PAIR + (4000, Seed(0)), description="the same again")],
    hidden=[Case(_RING + (20000, Seed(3)), description="a ring of 8 components, 20000 samples"),
            Case(_RING + (20000, Seed(3)), description="the ring again, same seed")])

QUESTIONS = [LOGSUMEXP, BERNOULLI, SAMPLE_MIXTURE]
