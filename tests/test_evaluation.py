"""Tests of dgm_course.evaluation: enumeration, grid normalisation, importance sampling and
the histogram KL, against closed forms and exact enumeration."""
import math

import numpy as np
import pytest
import torch

from dgm_course import evaluation
from dgm_course.data import toy_distribution
from dgm_course.evaluation import (
    MAX_ENUMERATED_UNITS,
    all_binary_states,
    bin_probabilities,
    check_enumerable,
    grid_log_normalizer,
    histogram_kl,
    importance_sampled_log_likelihood,
    log_mean_exp,
    log_sum_exp_over_states,
)


def test_all_binary_states_are_distinct_and_complete():
    s = all_binary_states(5)
    assert s.shape == (32, 5)
    assert len({tuple(r) for r in s.tolist()}) == 32
    assert all_binary_states(0).shape == (1, 0)


def test_all_binary_states_follow_the_default_dtype():
    assert all_binary_states(3).dtype == torch.get_default_dtype()
    assert all_binary_states(3, torch.float64).dtype == torch.float64
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert all_binary_states(3).dtype == torch.float64
    finally:
        torch.set_default_dtype(previous)


def test_log_sum_exp_over_states_matches_a_factorised_model():
    # independent units: log Z = sum_i log(1 + e^{b_i}), whatever the batching
    b = torch.linspace(-2, 3, 12, dtype=torch.float64)
    exact = torch.nn.functional.softplus(b).sum()
    got = log_sum_exp_over_states(lambda s: s @ b, 12, batch_size=100)
    assert float(got) == pytest.approx(float(exact), rel=1e-12)


def test_one_limit_and_one_message():
    assert check_enumerable(MAX_ENUMERATED_UNITS) == MAX_ENUMERATED_UNITS
    n = MAX_ENUMERATED_UNITS + 1
    messages = []
    for call in (lambda: all_binary_states(n), lambda: log_sum_exp_over_states(lambda s: s.sum(1), n),
                 lambda: check_enumerable(n, "this")):
        with pytest.raises(ValueError, match=r"2\*\*23 = 8,388,608 states") as err:
            call()
        messages.append(str(err.value).split(" enumerates ")[1])
    assert len(set(messages)) == 1 and "MAX_ENUMERATED_UNITS" in messages[0]


@pytest.mark.parametrize("mean, cov", [((0.0, 0.0), ((1.0, 0.0), (0.0, 1.0))),
                                       ((0.7, -0.4), ((0.5, 0.3), (0.3, 0.8)))])
def test_grid_normalizer_of_a_quadratic_energy(mean, cov):
    # e^{-E} with E = (x - m)^T C^{-1} (x - m) / 2 integrates to 2 pi sqrt(det C)
    m, C = torch.tensor(mean, dtype=torch.float64), torch.tensor(cov, dtype=torch.float64)
    P = torch.linalg.inv(C)

    def neg_energy(x):
        d = x - m
        return -0.5 * ((d @ P) * d).sum(1)

    exact = math.log(2 * math.pi) + 0.5 * math.log(float(torch.linalg.det(C)))
    log_z, grid, values = grid_log_normalizer(neg_energy, lim=6.0, n=300)
    assert float(log_z) == pytest.approx(exact, abs=1e-6)
    assert grid.shape == (90_000, 2) and values.shape == (90_000,)
    coarse, _, _ = grid_log_normalizer(neg_energy, lim=6.0, n=3)
    assert abs(float(coarse) - exact) > 0.1  # a 3 x 3 grid is measurably wrong


def test_log_mean_exp_is_stable_and_exact():
    x = torch.tensor([[1e4, 1e4 + math.log(3.0)], [-1e4, -1e4]], dtype=torch.float64)
    torch.testing.assert_close(log_mean_exp(x, dim=1),
                               torch.tensor([1e4 + math.log(2.0), -1e4], dtype=torch.float64))
    y = torch.randn(5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(log_mean_exp(y, dim=0), y.exp().mean(0).log())
    assert float(log_mean_exp([0.0, math.log(3.0)])) == pytest.approx(math.log(2.0))


# A small latent-variable model whose log p(x) is exact by enumeration: z in {0,1}^3 with a
# Bernoulli prior, x in {0,1}^4 with p(x | z) Bernoulli(sigmoid(z W + b)).
GEN = torch.Generator().manual_seed(0)
W = torch.randn(3, 4, generator=GEN, dtype=torch.float64)
B = torch.randn(4, generator=GEN, dtype=torch.float64)
PRIOR = torch.distributions.Bernoulli(logits=torch.tensor([0.3, -0.5, 1.0], dtype=torch.float64))
X = all_binary_states(4, torch.float64)  # every x: (16, 4)


def log_joint(x, z):  # z: (K, n, 3) -> (K, n)
    likelihood = torch.distributions.Bernoulli(logits=z @ W + B)
    return PRIOR.log_prob(z).sum(-1) + likelihood.log_prob(x.expand(z.shape[0], -1, -1)).sum(-1)


def exact_log_p(x):
    zs = all_binary_states(3, torch.float64)[:, None, :].expand(-1, x.shape[0], -1)  # (8, n, 3)
    return torch.logsumexp(log_joint(x, zs), 0)


def sample_prior(x, k, generator):
    z = torch.bernoulli(PRIOR.probs.expand(k, x.shape[0], 3), generator=generator)
    return z, PRIOR.log_prob(z).sum(-1)


def sample_posterior(x, k, generator):
    zs = all_binary_states(3, torch.float64)  # (8, 3)
    joint = log_joint(x, zs[:, None, :].expand(-1, x.shape[0], -1))  # (8, n)
    posterior = torch.distributions.Categorical(logits=joint.T)  # over the 8 states, per x
    idx = posterior.sample((k,))  # (K, n); uses the global generator, seeded below
    return zs[idx], posterior.log_prob(idx)


def test_importance_sampling_is_consistent_with_enumeration():
    exact = exact_log_p(X)
    est = importance_sampled_log_likelihood(X, log_joint, sample_prior, k=4000, generator=0)
    assert est.log_likelihood.shape == (16,) and est.stderr.shape == (16,)
    z = (est.log_likelihood - exact) / est.stderr
    assert float(z.abs().max()) < 4.5  # within the reported standard errors
    assert float(est.stderr.max()) < 0.05
    assert bool(((est.ess >= 1) & (est.ess <= 4000)).all())
    again = importance_sampled_log_likelihood(X, log_joint, sample_prior, k=4000, generator=0)
    assert torch.equal(again.log_likelihood, est.log_likelihood)  # seeded


def test_importance_sampling_with_the_true_posterior_is_exact():
    torch.manual_seed(0)
    est = importance_sampled_log_likelihood(X, log_joint, sample_posterior, k=3)
    torch.testing.assert_close(est.log_likelihood, exact_log_p(X))
    assert float(est.stderr.max()) < 1e-10 and torch.allclose(est.ess, torch.full((16,), 3.0, dtype=torch.float64))


def test_importance_sampling_is_a_lower_bound_on_average():
    exact = exact_log_p(X)
    small = [importance_sampled_log_likelihood(X, log_joint, sample_prior, k=2, generator=s).log_likelihood
             for s in range(200)]
    assert float((torch.stack(small).mean(0) - exact).max()) < 0  # Jensen: E log mean w <= log p


def test_bin_probabilities_sum_to_one_and_match_a_sample():
    ring = toy_distribution("ring", std=0.3)
    p = bin_probabilities(ring, lim=3.0, bins=10)
    assert p.shape == (101,) and float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    n = 20000
    floor = (int((p > 1e-4).sum()) - 1) / (2 * n)  # expected KL of an exact sample
    assert histogram_kl(ring.sample(n, generator=0), ring, lim=3.0, bins=10) < 3 * floor
    assert histogram_kl(ring.sample(n, generator=0) * 1.3, ring, lim=3.0, bins=10) > 0.2


def test_histogram_kl_matches_the_definition():
    ring = toy_distribution("ring", std=0.3)
    x = ring.sample(500, generator=1).double().numpy()
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=8, range=[[-4, 4], [-4, 4]])
    q = np.append(counts.flatten(), 500 - counts.sum()) / 500
    p = bin_probabilities(ring, lim=4.0, bins=8).numpy()
    keep = q > 0
    expected = float(np.sum(q[keep] * np.log(q[keep] / p[keep])))
    assert histogram_kl(x, ring, bins=8) == pytest.approx(expected, rel=1e-12)  # NumPy input too


NAN = torch.tensor([[0.0, float("nan")]])
BAD = [
    (lambda: all_binary_states(-1), "n_units must be a non-negative integer"),
    (lambda: all_binary_states(2.0), "n_units must be a non-negative integer"),
    (lambda: all_binary_states(23), r"2\*\*23 = 8,388,608 states"),
    (lambda: log_sum_exp_over_states(lambda s: s.sum(1), 3, batch_size=0), "batch_size"),
    (lambda: grid_log_normalizer(lambda g: g.sum(1), lim=-1.0), "lim must be a positive number"),
    (lambda: grid_log_normalizer(lambda g: g.sum(1), n=0), "n must be a positive integer"),
    (lambda: log_mean_exp(torch.zeros(0)), "at least one entry"),
    (lambda: histogram_kl(torch.zeros(5, 3), toy_distribution("ring")), r"samples must have shape \(n, 2\)"),
    (lambda: histogram_kl(NAN, toy_distribution("ring")), "samples must be finite, got 1 NaN"),
    (lambda: histogram_kl(torch.zeros(0, 2), toy_distribution("ring")), "at least 1 example"),
    (lambda: histogram_kl(torch.zeros(5, 2), toy_distribution("ring"), bins=0), "bins"),
    (lambda: bin_probabilities(toy_distribution("ring"), lim=float("nan")), "lim"),
    (lambda: importance_sampled_log_likelihood(X, log_joint, sample_prior, k=0), "k must be a positive integer"),
    (lambda: importance_sampled_log_likelihood(torch.full((2, 4), float("nan")), log_joint, sample_prior, k=2),
     "x must be finite"),
    (lambda: importance_sampled_log_likelihood(X, lambda x, z: log_joint(x, z)[0], sample_prior, k=2),
     r"must have shape \(k, n\)"),
    (lambda: importance_sampled_log_likelihood(X, lambda x, z: log_joint(x, z) * float("nan"), sample_prior, k=2),
     "NaN"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_module_documents_its_estimators():
    for name in ("check_enumerable", "importance_sampled_log_likelihood", "histogram_kl", "log_mean_exp"):
        assert name in evaluation.__doc__
