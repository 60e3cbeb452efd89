"""Tests of dgm_course.mcmc: Langevin, MALA and Metropolis-Hastings on known densities; the 2-D EBM."""
import math

import pytest
import torch

from dgm_course.data import toy_distribution
from dgm_course.evaluation import grid_log_normalizer
from dgm_course.mcmc import (
    EnergyMLP,
    bin_probabilities,
    fit_ebm,
    histogram_kl,
    langevin,
    mala,
    metropolis_hastings,
)


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


def test_bin_probabilities_sum_to_one_and_match_a_sample():
    ring = toy_distribution("ring", std=0.3)
    p = bin_probabilities(ring, lim=3.0, bins=10)
    assert p.shape == (101,) and float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    n = 20000
    floor = (int((p > 1e-4).sum()) - 1) / (2 * n)  # expected KL of an exact sample
    assert histogram_kl(ring.sample(n, generator=0), ring, lim=3.0, bins=10) < 3 * floor
    assert histogram_kl(ring.sample(n, generator=0) * 1.3, ring, lim=3.0, bins=10) > 0.2


def test_ula_is_biased_and_mala_is_not_on_the_ring():
    ring = toy_distribution("ring", std=0.3)
    x0 = ring.sample(3000, generator=0)
    ula = langevin(ring.log_prob, x0, step_size=0.1, n_steps=100, score=ring.score, generator=1).last
    adjusted = mala(ring.log_prob, x0, step_size=0.1, n_steps=100, score=ring.score, generator=1).last
    exact = ring.sample(3000, generator=2)
    assert histogram_kl(ula, ring) > 3 * histogram_kl(exact, ring)
    assert histogram_kl(adjusted, ring) < 2 * histogram_kl(exact, ring)


def test_energy_mlp_log_prob_is_normalised_on_the_grid():
    torch.manual_seed(0)
    model = EnergyMLP(16, 2, lim=3.0)
    log_z, _, _ = grid_log_normalizer(lambda g: model.log_prob(g.float(), n=200).double(), lim=3.0, n=200)
    assert float(log_z.detach()) == pytest.approx(0.0, abs=1e-4)
    assert model.energy(torch.zeros(7, 2)).shape == (7,)


def test_energy_mlp_fourier_features():
    model = EnergyMLP(8, 1, n_features=5, feature_scale=2.0, generator=0)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    z = x @ model.B  # (6, 5)
    expected = model.net(torch.cat([torch.sin(z), torch.cos(z)], 1)).squeeze(1)
    assert model.B.shape == (2, 5) and model.net[0].in_features == 10
    assert torch.allclose(model.energy(x), expected)
    assert torch.equal(EnergyMLP(8, 1, n_features=5, feature_scale=2.0, generator=0).B, model.B)  # seeded
    plain = EnergyMLP(8, 1, n_features=0)
    assert plain.net[0].in_features == 2 and torch.allclose(plain.energy(x), plain.net(x).squeeze(1))


def test_fit_ebm_moves_the_density_towards_the_data():
    ring = toy_distribution("ring", std=0.5)
    train, test = ring.sample(2000, generator=0), ring.sample(2000, generator=1)
    torch.manual_seed(0)
    model = EnergyMLP(32, 2)
    before = float(-model.log_prob(test).mean().detach())
    losses = fit_ebm(model, train, n_iters=150, batch_size=128, buffer_size=2048, generator=0, progress=False)
    after = float(-model.log_prob(test).mean().detach())
    assert len(losses) == 150 and model.buffer_.shape == (2048, 2)
    assert after < before - 0.3 and after > ring.entropy() - 0.05  # the entropy is the floor


BAD = [
    (lambda: langevin(standard_normal, torch.zeros(3), step_size=0.1, n_steps=5), r"x0 must be .* \(n_chains, dim\)"),
    (lambda: langevin(standard_normal, torch.zeros(3, 2), step_size=0.0, n_steps=5), "step_size must be a positive number, got 0.0"),
    (lambda: mala(standard_normal, torch.zeros(3, 2), step_size=0.1, n_steps=-1), "n_steps"),
    (lambda: mala(standard_normal, torch.zeros(3, 2), step_size=0.1, n_steps=2, temperature=0), "temperature"),
    (lambda: metropolis_hastings(standard_normal, torch.zeros(3, 2), step_size=-1.0, n_steps=2), "step_size"),
    (lambda: histogram_kl(torch.zeros(5, 3), toy_distribution("ring")), r"shape \(n, 2\)"),
    (lambda: EnergyMLP(0), "hidden must be a positive integer"),
    (lambda: EnergyMLP(8, n_features=-1), "n_features must be a non-negative integer, got -1"),
    (lambda: EnergyMLP(8, feature_scale=0.0), "feature_scale must be a positive number, got 0.0"),
    (lambda: EnergyMLP(8).energy(torch.zeros(4, 3)), r"shape \(n, 2\), got \(4, 3\)"),
    (lambda: fit_ebm(EnergyMLP(8), torch.zeros(10, 2), n_iters=0), "n_iters"),
    (lambda: fit_ebm(EnergyMLP(8), torch.zeros(10, 2), reinit_prob=2.0), "reinit_prob"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
