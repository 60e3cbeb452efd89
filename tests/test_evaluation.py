import math

import pytest
import torch

from dgm_course import evaluation


def test_all_binary_states_are_distinct_and_complete():
    s = evaluation.all_binary_states(5)
    assert s.shape == (32, 5)
    assert len({tuple(r) for r in s.tolist()}) == 32


def test_log_sum_exp_over_states_matches_a_factorised_model():
    # independent units: log Z = sum_i log(1 + e^{b_i}), whatever the batching
    b = torch.linspace(-2, 3, 12, dtype=torch.float64)
    exact = torch.nn.functional.softplus(b).sum()
    got = evaluation.log_sum_exp_over_states(lambda s: s @ b, 12, batch_size=100)
    assert float(got) == pytest.approx(float(exact), rel=1e-12)


def test_grid_normalizer_of_a_gaussian():
    log_density = lambda x: -0.5 * (x**2).sum(1) - math.log(2 * math.pi)  # noqa: E731
    log_z, grid, values = evaluation.grid_log_normalizer(log_density, lim=6.0, n=300)
    assert abs(float(log_z)) < 1e-6
    assert grid.shape == (90_000, 2) and values.shape == (90_000,)


@pytest.mark.parametrize("n, message", [(23, r"2\*\*23 = 8,388,608 states"), (-1, "non-negative integer")])
def test_too_many_or_negative_units(n, message):
    with pytest.raises(ValueError, match=message):
        evaluation.all_binary_states(n)
