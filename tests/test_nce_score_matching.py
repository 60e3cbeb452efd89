"""Tests of dgm_course.nce_score_matching: the objectives against closed forms and autograd,
the ring energy's log Z and sampler against quadrature, the fits against their optimality
conditions."""
import math

import pytest
import torch
from torch.nn import functional as F

from dgm_course.evaluation import grid_log_normalizer
from dgm_course.nce_score_matching import (RingEnergy, fit_energy, nce_loss,
                                           score_matching_loss)

TRUTH = dict(a=1.0, b=4.0)


def _data(n=500, seed=0):
    return RingEnergy(**TRUTH).sample(n, generator=seed)


# ------------------------------------------------------------------- score matching


def test_score_matching_loss_of_a_gaussian_matches_its_closed_form():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    mu = torch.tensor([0.3, -0.2, 1.0], dtype=torch.float64)
    L = torch.tensor([[1.0, 0, 0], [0.4, 0.8, 0], [-0.3, 0.2, 1.5]], dtype=torch.float64)
    P = L @ L.T  # a precision matrix

    def log_density(x):  # -1/2 (x - mu)^T P (x - mu)
        d = x - mu
        return -0.5 * ((d @ P) * d).sum(1)

    # score -P (x - mu), Laplacian -tr P
    expected = (-torch.trace(P) + 0.5 * (((x - mu) @ P) ** 2).sum(1)).mean()
    torch.testing.assert_close(score_matching_loss(log_density, x), expected)


def test_score_matching_loss_of_the_ring_matches_its_closed_form():
    x, model = _data(200), RingEnergy(a=0.7, b=3.0)
    u, a, b = (x ** 2).sum(1), 0.7, 3.0
    # score (b - a u) x, Laplacian in 2-D: 2b - 4 a u
    expected = (2 * b - 4 * a * u + 0.5 * (b - a * u) ** 2 * u).mean()
    loss = score_matching_loss(lambda x: -model.energy(x), x)
    torch.testing.assert_close(loss, expected)


def test_score_matching_loss_gradient_passes_gradcheck():
    x = torch.randn(20, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def loss(w):  # log density sum_i w_i x_i^2 + w_3 x_1^4
        return score_matching_loss(lambda x: (w[:2] * x ** 2).sum(1) + w[2] * x[:, 0] ** 4, x)

    w = torch.tensor([-0.5, -1.0, -0.1], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(loss, (w,))


def test_score_matching_fit_equals_the_closed_form_estimate():
    x = _data(500, seed=3)
    model = RingEnergy()
    fit_energy(model, x, method="score_matching")
    u = (x ** 2).sum(1)
    m1, m2, m3 = u.mean(), (u ** 2).mean(), (u ** 3).mean()
    # the objective is quadratic in (b, a): zero gradient is a 2x2 linear system
    A = torch.stack([torch.stack([m1, -m2]), torch.stack([-m2, m3])])
    b, a = torch.linalg.solve(A, torch.stack([torch.tensor(-2.0, dtype=u.dtype), 4 * m1]))
    with torch.no_grad():
        assert abs(float(model.a) - float(a)) < 1e-6 and abs(float(model.b) - float(b)) < 1e-6


# ------------------------------------------------------------------- NCE


def test_nce_loss_is_the_logistic_regression_loss():
    gen = torch.Generator().manual_seed(2)
    data = torch.randn(30, 2, generator=gen, dtype=torch.float64) + 1.0
    noise = torch.randn(90, 2, generator=gen, dtype=torch.float64)
    noise_dist = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(2, dtype=torch.float64), 1.0), 1)

    def log_model(x):
        return -((x - 1.0) ** 2).sum(1) / 2 - 2.0

    loss = nce_loss(log_model, data, noise, noise_dist.log_prob)
    u = torch.cat([data, noise])
    logits = log_model(u) - noise_dist.log_prob(u) - math.log(3)
    labels = torch.cat([torch.ones(30), torch.zeros(90)]).double()
    expected = 4 * F.binary_cross_entropy_with_logits(logits, labels)  # (1 + nu) x mean
    torch.testing.assert_close(loss, expected)


def test_nce_recovers_the_parameters_and_the_log_partition():
    x = _data(2000, seed=4)
    model = RingEnergy()
    history = fit_energy(model, x, method="nce", nu=10, generator=5)
    with torch.no_grad():
        log_z = float(model.log_partition())
    c = float(model.nce_log_partition_)
    assert history.steps["log_z"][-1] == pytest.approx(c)
    # 2,000 points: spreads about 0.036 for a, 0.15 for b, 0.008 for c - log Z
    assert abs(float(model.a.detach()) - 1) < 0.15 and abs(float(model.b.detach()) - 4) < 0.5
    assert abs(c - log_z) < 0.04


# ------------------------------------------------------------------- the ring energy


def test_ring_log_partition_matches_quadrature_for_several_parameters():
    for a, b in [(1.0, 4.0), (2.0, -1.0), (0.5, 0.0)]:
        model = RingEnergy(a=a, b=b)
        with torch.no_grad():
            exact = float(model.log_partition())
            grid = float(grid_log_normalizer(lambda g: -model.energy(g), lim=7, n=700)[0])
        assert abs(exact - grid) < 1e-6, (a, b, exact, grid)


def test_ring_log_partition_gradient_is_the_mean_statistic():
    # d log Z / d b = E[u] / 2, with u = |x|^2 (an exponential family)
    model = RingEnergy(**TRUTH)
    (grad_b,) = torch.autograd.grad(model.log_partition(), [model.b])
    u = (model.sample(200_000, generator=6) ** 2).sum(1)
    se = float(u.std()) / 2 / math.sqrt(len(u))
    assert abs(float(grad_b) - float(u.mean()) / 2) < 5 * se


def test_ring_samples_follow_the_density():
    model = RingEnergy(a=1.0, b=2.0)
    x = model.sample(100_000, generator=7)
    # mean of |x|^2 against quadrature on a grid
    n, lim = 600, 6.0
    g = torch.linspace(-lim, lim, n + 1, dtype=torch.float64)
    mid = (g[1:] + g[:-1]) / 2
    grid = torch.cartesian_prod(mid, mid)
    with torch.no_grad():
        p = model.log_prob(grid).exp() * (2 * lim / n) ** 2
    expected = float((p * (grid ** 2).sum(1)).sum())
    u = (x ** 2).sum(1)
    assert abs(float(u.mean()) - expected) < 5 * float(u.std()) / math.sqrt(len(u))
    assert abs(float(p.sum()) - 1) < 1e-6  # log_prob is normalised


def test_ring_sample_protocol():
    model = RingEnergy(**TRUTH)
    assert model.sample(0, generator=0).shape == (0, 2)
    assert torch.equal(model.sample(5, generator=1), model.sample(5, generator=1))
    assert model.log_prob(torch.zeros(3, 2)).shape == (3,)


def test_maximum_likelihood_fit_matches_the_moments():
    x = _data(500, seed=8)
    model = RingEnergy()
    fit_energy(model, x, method="ml")
    loss = -model.log_prob(x).mean()
    grads = torch.autograd.grad(loss, [model.log_a, model.b])
    assert max(abs(float(g)) for g in grads) < 1e-5  # E_data[T] = E_model[T]


# ------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("call, match", [
    (lambda: RingEnergy(a=0.0), "a"),
    (lambda: RingEnergy(a=-1.0), "a"),
    (lambda: RingEnergy(b=float("nan")), "b"),
    (lambda: RingEnergy().energy(torch.zeros(3, 3)), "x"),
    (lambda: RingEnergy().log_prob(torch.tensor([[float("nan"), 0.0]])), "x"),
    (lambda: RingEnergy().sample(-1), "n"),
    (lambda: fit_energy(RingEnergy(), _data(10), method="mcmc"), "method"),
    (lambda: fit_energy(RingEnergy(), _data(10), method="nce", nu=0), "nu"),
    (lambda: fit_energy(RingEnergy(), _data(10), n_rounds=0), "n_rounds"),
    (lambda: fit_energy(RingEnergy(), _data(1)), "data"),
    (lambda: score_matching_loss("energy", _data(10)), "log_density"),
    (lambda: score_matching_loss(lambda x: x.sum(1), torch.zeros(0, 2)), "x"),
    (lambda: nce_loss(lambda x: x.sum(1), _data(10), torch.zeros(5, 3), lambda x: x.sum(1)),
     "noise"),
    (lambda: nce_loss(lambda x: x.sum(1), _data(10), _data(10), None), "log_noise"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
