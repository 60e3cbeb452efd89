"""Tests of dgm_course.energy_mlp (importable from dgm_course.ebm): the neural 2-D energy."""
import math

import numpy as np
import pytest
import torch

from dgm_course import ebm
from dgm_course.data import toy_distribution
from dgm_course.ebm import EnergyMLP, energy_mlp_step, fit_ebm
from dgm_course.evaluation import grid_log_normalizer
from dgm_course.training import History, StepContext


def test_names_are_importable_from_ebm():
    from dgm_course import energy_mlp

    assert ebm.EnergyMLP is energy_mlp.EnergyMLP and ebm.fit_ebm is energy_mlp.fit_ebm


class Quadratic(torch.nn.Module):
    """E(x) = sum_i (x_i - m_i)^2 / (2 s_i^2): log Z = log(2 pi s_1 s_2) in closed form."""

    def __init__(self, m, s):
        super().__init__()
        self.m, self.s = torch.tensor(m), torch.tensor(s)

    def forward(self, x):
        return (((x - self.m) / self.s) ** 2 / 2).sum(1, keepdim=True)


def test_log_partition_of_a_quadratic_energy_has_the_closed_form():
    model = EnergyMLP(8, 1, n_features=0, lim=6.0)
    model.net = Quadratic([0.5, -1.0], [0.7, 1.2])  # the energy is the quadratic
    exact = math.log(2 * math.pi * 0.7 * 1.2)
    assert float(model.log_partition()) == pytest.approx(exact, abs=1e-4)  # float32 energies
    assert abs(float(model.log_partition(grid_size=3)) - exact) > 0.1  # a 3 x 3 grid is not enough


def test_log_partition_matches_a_finer_grid():
    # a bumpy random energy: log Z on the default 300 x 300 grid against a 900 x 900 one
    torch.manual_seed(0)
    model = EnergyMLP(16, 2, feature_scale=4.0, lim=3.0)
    with torch.no_grad():
        model.net[-1].weight.mul_(20.0)
    fine, _, _ = grid_log_normalizer(lambda g: -model.energy(g.float()).double(), lim=3.0, n=900)
    log_z = model.log_partition()
    assert torch.is_tensor(log_z) and log_z.dim() == 0 and log_z.dtype == torch.float64
    assert float(log_z) == pytest.approx(float(fine.detach()), abs=1e-3)
    assert abs(float(model.log_partition(grid_size=10)) - float(fine.detach())) > 1e-2


def test_log_prob_integrates_to_one_on_another_grid():
    torch.manual_seed(1)
    model = EnergyMLP(16, 2, lim=3.0)
    total, _, _ = grid_log_normalizer(lambda g: model.log_prob(g).double(), lim=3.0, n=437)
    assert float(total) == pytest.approx(0.0, abs=1e-4)


def test_log_prob_is_not_differentiable_and_says_so():
    model = EnergyMLP(8, 1, generator=0)
    x = torch.zeros(3, 2, requires_grad=True)
    out = model.log_prob(x)
    assert out.shape == (3,) and not out.requires_grad  # no half-gradient (detached log Z) trap
    assert "no_grad" in EnergyMLP.log_prob.__doc__
    assert model.energy(x).requires_grad  # the energy is differentiable


def test_energy_mlp_fourier_features():
    model = EnergyMLP(8, 1, n_features=5, feature_scale=2.0, generator=0)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    z = x @ model.B  # (6, 5)
    expected = model.net(torch.cat([torch.sin(z), torch.cos(z)], 1)).squeeze(1)
    assert model.B.shape == (2, 5) and model.net[0].in_features == 10
    assert torch.allclose(model.energy(x), expected)
    assert torch.equal(EnergyMLP(8, 1, n_features=5, feature_scale=2.0, generator=0).B, model.B)
    plain = EnergyMLP(8, 1, n_features=0)
    assert plain.net[0].in_features == 2 and torch.allclose(plain.energy(x), plain.net(x).squeeze(1))


def test_inputs_are_converted_to_the_model_dtype():
    model = EnergyMLP(8, 1, generator=0)
    x = np.array([[0.5, -1.0], [1.0, 2.0]])  # float64 array, float32 model
    assert model.energy(x).dtype == torch.float32
    torch.testing.assert_close(model.energy(x), model.energy(torch.tensor(x, dtype=torch.float32)))


def test_sample_protocol():
    model = EnergyMLP(8, 1, generator=0)
    assert model.sample(0).shape == (0, 2)
    a = model.sample(5, n_steps=3, generator=1)
    assert a.shape == (5, 2) and torch.equal(a, model.sample(5, n_steps=3, generator=1))


def test_step_takes_its_randomness_from_the_context():
    ring = toy_distribution("ring", std=0.5)
    data = ring.sample(64, generator=0)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = EnergyMLP(8, 1)
        buffer = torch.zeros(32, 2)
        step = energy_mlp_step(model, torch.optim.SGD(model.parameters(), lr=0.01), buffer)
        metrics = step(data, StepContext(torch.Generator().manual_seed(4), 0, 0, 1))
        runs.append((buffer.clone(), model.net[0].weight.detach().clone()))
    assert set(metrics) == {"loss", "energy_gap"}
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    assert (runs[0][0] != 0).any()  # chains moved and went back into the buffer


def test_fit_ebm_moves_the_density_towards_the_data():
    ring = toy_distribution("ring", std=0.5)
    train, test = ring.sample(2000, generator=0), ring.sample(2000, generator=1)
    torch.manual_seed(0)
    model = EnergyMLP(32, 2)
    before = float(-model.log_prob(test).mean())
    history = fit_ebm(model, train, n_iters=150, batch_size=128, buffer_size=2048, generator=0,
                      progress=False)
    after = float(-model.log_prob(test).mean())
    assert isinstance(history, History) and len(history.steps["loss"]) == 150
    assert model.buffer_.shape == (2048, 2)
    assert after < before - 0.3 and after > ring.entropy() - 0.05  # the entropy is the floor
    # the learning rate followed the cosine to zero
    assert math.isfinite(history.steps["loss"][-1])


def test_fit_ebm_is_reproducible():
    ring = toy_distribution("ring", std=0.5)
    train = ring.sample(300, generator=0)
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        model = EnergyMLP(8, 1)
        fit_ebm(model, train, n_iters=5, batch_size=64, buffer_size=128, generator=3, progress=False)
        weights.append(model.net[0].weight.detach().clone())
    assert torch.equal(*weights)


NAN = torch.tensor([[0.0, float("nan")]])
BAD = [
    (lambda: EnergyMLP(0), "hidden must be a positive integer"),
    (lambda: EnergyMLP(8, n_features=-1), "n_features must be a non-negative integer, got -1"),
    (lambda: EnergyMLP(8, feature_scale=0.0), "feature_scale must be a positive number, got 0.0"),
    (lambda: EnergyMLP(8, lim=float("nan")), "lim must be a positive number"),
    (lambda: EnergyMLP(8).energy(torch.zeros(4, 3)), r"x must have shape \(n, 2\), got \(4, 3\)"),
    (lambda: EnergyMLP(8).energy(NAN), "x must be finite, got 1 NaN"),
    (lambda: EnergyMLP(8).log_prob(NAN), "x must be finite"),
    (lambda: EnergyMLP(8).log_partition(grid_size=1), "grid_size"),
    (lambda: EnergyMLP(8).sample(-1), "n must be"),
    (lambda: EnergyMLP(8).sample(2, n_steps=-5), "n_steps"),
    (lambda: fit_ebm(EnergyMLP(8), torch.zeros(10, 2), n_iters=0), "n_iters"),
    (lambda: fit_ebm(EnergyMLP(8), torch.zeros(10, 2), reinit_prob=2.0), "reinit_prob"),
    (lambda: fit_ebm(EnergyMLP(8), torch.zeros(10, 2), step_size=np.float32(-0.1)), "step_size"),
    (lambda: fit_ebm(EnergyMLP(8), torch.cat([torch.zeros(9, 2), NAN]), n_iters=1), "data must be finite"),
    (lambda: fit_ebm(EnergyMLP(8), torch.zeros(10, 3)), r"data must have shape \(n, 2\)"),
    (lambda: energy_mlp_step(EnergyMLP(8), None, torch.zeros(4, 2, dtype=torch.float64)), "buffer must have"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
