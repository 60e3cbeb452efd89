"""Tests of the generic annealed importance sampling in dgm_course.evaluation: against a
closed-form log Z, against exact enumeration of a small RBM, and its bad arguments."""
import math

import pytest
import torch
import torch.nn.functional as F

from dgm_course.evaluation import annealed_importance_sampling, inverse_temperatures
from dgm_course.rbm import RBM


def gaussian_path(mu=2.0, sigma=0.5):
    """A unit Gaussian annealed geometrically to f_1(x) = exp(-(x - mu)^2 / (2 sigma^2)), whose
    log Z = log(sigma sqrt(2 pi)). Every p_beta is a Gaussian, which the transition samples
    exactly (a valid, if ideal, Markov kernel)."""
    precision = lambda beta: (1 - beta) + beta / sigma**2  # noqa: E731

    def log_f(x, beta):
        return -0.5 * (1 - beta) * x[:, 0] ** 2 - 0.5 * beta * (x[:, 0] - mu) ** 2 / sigma**2

    def transition(x, beta, gen):
        mean = beta * mu / sigma**2 / precision(beta)
        return mean + precision(beta) ** -0.5 * torch.randn(x.shape, generator=gen, dtype=x.dtype)

    return log_f, transition, math.log(sigma * math.sqrt(2 * math.pi))


@pytest.mark.parametrize("n_temperatures", [3, 30, 300])
def test_ais_matches_a_closed_form_log_z(n_temperatures):
    log_f, transition, exact = gaussian_path()
    x0 = torch.randn(400, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    log_z, se = annealed_importance_sampling(
        log_f, transition, x0, log_z0=0.5 * math.log(2 * math.pi),
        betas=inverse_temperatures(n_temperatures), generator=0)
    assert log_z.shape == () and log_z.dtype == torch.float64 and se.shape == ()
    assert 0 < float(se) < 0.2
    assert abs(float(log_z) - exact) < 4 * float(se), (float(log_z), exact, float(se))


def test_ais_standard_error_falls_with_more_temperatures_and_runs():
    log_f, transition, _ = gaussian_path(mu=3.0, sigma=0.3)
    x0 = lambda n: torch.randn(n, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # noqa: E731
    ses = [float(annealed_importance_sampling(log_f, transition, x0(n), log_z0=0.0,
                                              betas=inverse_temperatures(k), generator=0)[1])
           for k, n in [(5, 100), (200, 100), (200, 1600)]]
    assert ses[1] < ses[0] / 2 and ses[2] < ses[1] / 2.5, ses


def test_ais_through_the_generic_function_matches_an_rbms_exact_log_z():
    rbm = RBM(10, 8, init_std=0.6, generator=0).double()
    W, b, c = (t.detach() for t in (rbm.W, rbm.b, rbm.c))

    def log_f(v, beta):  # uniform base (b_A = 0): f_beta(v) = e^{beta b.v} prod_j (1 + e^{beta a_j})
        return beta * (v @ b) + F.softplus(beta * (v @ W + c)).sum(1)

    def transition(v, beta, gen):
        h = torch.bernoulli(torch.sigmoid(beta * (v @ W + c)), generator=gen)
        return torch.bernoulli(torch.sigmoid(beta * (h @ W.T + b)), generator=gen)

    gen = torch.Generator().manual_seed(0)
    v0 = torch.bernoulli(torch.full((300, 10), 0.5, dtype=torch.float64), generator=gen)
    log_z0 = (10 + 8) * math.log(2)
    log_z, se = annealed_importance_sampling(log_f, transition, v0, log_z0=log_z0,
                                             betas=inverse_temperatures(200), generator=gen)
    exact = float(rbm.log_partition())
    assert 0 < float(se) < 0.05
    assert abs(float(log_z) - exact) < 4 * float(se) + 0.005, (float(log_z), exact, float(se))


def test_ais_is_exact_when_target_and_base_agree():
    log_f = lambda x, beta: -0.5 * x[:, 0] ** 2  # noqa: E731
    x0 = torch.randn(10, 1, dtype=torch.float64)
    log_z, se = annealed_importance_sampling(log_f, lambda x, beta, gen: x, x0, log_z0=1.25,
                                             betas=[0.0, 0.5, 1.0])
    assert float(log_z) == pytest.approx(1.25, abs=1e-12) and float(se) == 0.0


def test_a_single_run_has_an_infinite_standard_error():
    log_f, transition, _ = gaussian_path()
    _, se = annealed_importance_sampling(log_f, transition, torch.zeros(1, 1, dtype=torch.float64),
                                         log_z0=0.0, betas=inverse_temperatures(3), generator=0)
    assert math.isinf(float(se))


def test_inverse_temperatures_run_from_0_to_1_and_crowd_the_ends():
    linear = inverse_temperatures(10, schedule="linear")
    sigmoid = inverse_temperatures(10)
    for betas in (linear, sigmoid):
        assert betas.shape == (11,) and betas[0] == 0 and betas[-1] == 1
        assert bool((betas[1:] > betas[:-1]).all())
    assert sigmoid[1] < linear[1] and sigmoid[5] == pytest.approx(0.5)


X0 = torch.zeros(4, 1)
LOG_F = lambda x, beta: x[:, 0]  # noqa: E731
STEP = lambda x, beta, gen: x  # noqa: E731


@pytest.mark.parametrize("call, match", [
    (lambda: annealed_importance_sampling(LOG_F, STEP, X0, log_z0=0.0, betas=[0.0, 0.7]), "betas must increase from 0 to 1"),
    (lambda: annealed_importance_sampling(LOG_F, STEP, X0, log_z0=0.0, betas=[0.0, 0.6, 0.4, 1.0]), "betas must increase"),
    (lambda: annealed_importance_sampling(LOG_F, STEP, X0, log_z0=0.0, betas=[1.0]), "betas must increase"),
    (lambda: annealed_importance_sampling(LOG_F, STEP, X0, log_z0=float("nan"), betas=[0.0, 1.0]), "log_z0 must be a finite number"),
    (lambda: annealed_importance_sampling(LOG_F, STEP, torch.zeros(0, 1), log_z0=0.0, betas=[0.0, 1.0]), "x0 must hold at least 1"),
    (lambda: annealed_importance_sampling(LOG_F, STEP, torch.full((2, 1), float("nan")), log_z0=0.0, betas=[0.0, 1.0]), "x0 must be finite"),
    (lambda: inverse_temperatures(0), "n_temperatures must be a positive integer"),
    (lambda: inverse_temperatures(10, schedule="cosine"), "schedule must be one of"),
])
def test_bad_arguments_raise_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
