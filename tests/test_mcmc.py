"""Tests of dgm_course.mcmc: Langevin, MALA and Metropolis-Hastings on known densities."""
import numpy as np
import pytest
import torch

from dgm_course.data import toy_distribution
from dgm_course.evaluation import histogram_kl
from dgm_course.mcmc import langevin, mala, metropolis_hastings


def standard_normal(x):
    return -0.5 * (x**2).sum(1)


def test_ula_has_the_predicted_step_size_bias():
    # On N(0, 1), ULA is x' = (1 - eps) x + sqrt(2 eps) xi: stationary variance 1 / (1 - eps / 2)
    eps = 0.4
    chain = langevin(standard_normal, torch.zeros(20000, 2), step_size=eps, n_steps=60, generator=0)
    assert chain.accept_rate == 1.0 and chain.states.shape == (61, 20000, 2)
    assert float(chain.last.var()) == pytest.approx(1 / (1 - eps / 2), rel=0.03)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_mala_removes_the_bias_and_respects_temperature(temperature):
    chain = mala(standard_normal, torch.zeros(20000, 2), step_size=0.4, n_steps=60, temperature=temperature,
                 generator=0)
    assert 0.5 < chain.accept_rate < 1.0
    assert float(chain.last.var()) == pytest.approx(temperature, rel=0.03)


def test_random_walk_metropolis_hastings_targets_the_density():
    chain = metropolis_hastings(standard_normal, torch.zeros(20000, 1) + 3, step_size=0.5, n_steps=150,
                                generator=0)
    assert 0.2 < chain.accept_rate < 0.9
    assert float(chain.last.mean()) == pytest.approx(0.0, abs=0.05)
    assert float(chain.last.var()) == pytest.approx(1.0, rel=0.05)


def test_autograd_score_equals_the_exact_score():
    ring = toy_distribution("ring", std=0.3)
    x0 = ring.sample(50, generator=0).double()
    exact = langevin(ring.log_prob, x0, step_size=0.01, n_steps=5, score=ring.score, generator=1)
    auto = langevin(ring.log_prob, x0, step_size=0.01, n_steps=5, generator=1)
    torch.testing.assert_close(exact.states, auto.states)


def test_chains_are_reproducible_from_a_seed():
    a = mala(standard_normal, torch.zeros(10, 2), step_size=0.3, n_steps=10, generator=5)
    b = mala(standard_normal, torch.zeros(10, 2), step_size=0.3, n_steps=10, generator=5)
    assert torch.equal(a.states, b.states) and a.accept_rate == b.accept_rate


def test_ula_is_biased_and_mala_is_not_on_the_ring():
    ring = toy_distribution("ring", std=0.3)
    x0 = ring.sample(3000, generator=0)
    ula = langevin(ring.log_prob, x0, step_size=0.1, n_steps=100, score=ring.score, generator=1).last
    adjusted = mala(ring.log_prob, x0, step_size=0.1, n_steps=100, score=ring.score, generator=1).last
    exact = ring.sample(3000, generator=2)
    assert histogram_kl(ula, ring) > 3 * histogram_kl(exact, ring)
    assert histogram_kl(adjusted, ring) < 2 * histogram_kl(exact, ring)


def test_numpy_scalars_and_arrays_are_accepted():
    x0 = np.zeros((4, 2))
    chain = mala(standard_normal, x0, step_size=np.float32(0.1), n_steps=np.int64(3),
                 temperature=torch.tensor(1.0), generator=0)
    assert chain.states.shape == (4, 4, 2) and chain.states.dtype == torch.float64


def test_zero_steps_returns_the_start():
    x0 = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    for sampler in (langevin, mala, metropolis_hastings):
        chain = sampler(standard_normal, x0, step_size=0.1, n_steps=0, generator=0)
        assert chain.states.shape == (1, 5, 3) and torch.equal(chain.last, x0)
        assert chain.accept_rate == 1.0


NAN_START = torch.tensor([[0.0, float("nan")], [1.0, 1.0]])
BAD = [
    (lambda: langevin(standard_normal, torch.zeros(3), step_size=0.1, n_steps=5), r"x0 must have 2 dimension"),
    (lambda: langevin(standard_normal, NAN_START, step_size=0.1, n_steps=5), "x0 must be finite, got 1 NaN"),
    (lambda: mala(standard_normal, NAN_START, step_size=0.1, n_steps=5), "x0 must be finite"),
    (lambda: metropolis_hastings(standard_normal, NAN_START, step_size=0.1, n_steps=5), "x0 must be finite"),
    (lambda: langevin(standard_normal, "abc", step_size=0.1, n_steps=5), "x0 must be a tensor or an array"),
    (lambda: langevin(standard_normal, torch.zeros(3, 2), step_size=0.0, n_steps=5),
     "step_size must be a positive number, got 0.0"),
    (lambda: langevin(standard_normal, torch.zeros(3, 2), step_size=float("nan"), n_steps=5), "step_size"),
    (lambda: langevin(standard_normal, torch.zeros(3, 2), step_size=True, n_steps=5), "step_size"),
    (lambda: langevin(standard_normal, torch.zeros(3, 2), step_size="0.1", n_steps=5), "step_size"),
    (lambda: mala(standard_normal, torch.zeros(3, 2), step_size=0.1, n_steps=-1), "n_steps"),
    (lambda: mala(standard_normal, torch.zeros(3, 2), step_size=0.1, n_steps=2.5),
     "n_steps must be a non-negative integer, got 2.5"),
    (lambda: mala(standard_normal, torch.zeros(3, 2), step_size=0.1, n_steps=2, temperature=0), "temperature"),
    (lambda: mala(standard_normal, torch.zeros(3, 2), step_size=0.1, n_steps=2, temperature=float("inf")),
     "temperature"),
    (lambda: metropolis_hastings(standard_normal, torch.zeros(3, 2), step_size=-1.0, n_steps=2), "step_size"),
    (lambda: metropolis_hastings(None, torch.zeros(3, 2), step_size=0.1, n_steps=2), "log_density must be a function"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
