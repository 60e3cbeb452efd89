"""Tests of dgm_course.ebm / dgm_course.boltzmann: the Boltzmann machine against brute-force
enumeration and autograd, and its training through dgm_course.training."""
import itertools
import math

import numpy as np
import pytest
import torch

from dgm_course.data import BarsAndStripes
from dgm_course.ebm import (
    PARAMETER_NAMES,
    BoltzmannMachine,
    boltzmann_step,
    exact_gradient,
    fit_boltzmann,
    gradient_distance,
    mcmc_gradient,
    negative_phase,
    positive_phase,
    pseudo_log_likelihood,
)
from dgm_course.evaluation import all_binary_states
from dgm_course.training import History


def random_machine(nv, nh, seed=0, scale=0.7):
    bm = BoltzmannMachine(nv, nh, init_std=scale, generator=seed).double()
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        bm.b.copy_(scale * torch.randn(nv, generator=gen, dtype=torch.float64))
        bm.c.copy_(scale * torch.randn(nh, generator=gen, dtype=torch.float64))
    return bm


def brute_energy(bm, v, h):
    """E(v, h) written term by term from the definition, for one pair of state vectors."""
    R, S = bm.R.detach(), bm.S.detach()
    Rs, Ss = 0.5 * (R + R.T), 0.5 * (S + S.T)
    e = 0.0
    for i, j in itertools.product(range(bm.n_visible), repeat=2):
        if i != j:
            e -= Rs[i, j] * v[i] * v[j]
    for i, k in itertools.product(range(bm.n_visible), range(bm.n_hidden)):
        e -= bm.W[i, k].detach() * v[i] * h[k]
    for k, m in itertools.product(range(bm.n_hidden), repeat=2):
        if k != m:
            e -= Ss[k, m] * h[k] * h[m]
    return float(e - bm.b.detach() @ v - bm.c.detach() @ h)


@pytest.mark.parametrize("nv, nh", [(3, 0), (2, 2), (3, 2)])
def test_energy_and_log_partition_match_brute_force(nv, nh):
    bm = random_machine(nv, nh)
    weights = []
    for v in all_binary_states(nv, torch.float64):
        for h in all_binary_states(nh, torch.float64):
            e = brute_energy(bm, v, h)
            assert float(bm.energy(v[None], h[None] if nh else None).detach()) == pytest.approx(e, abs=1e-10)
            weights.append(math.exp(-e))
    assert float(bm.log_partition().detach()) == pytest.approx(math.log(sum(weights)), abs=1e-10)


@pytest.mark.parametrize("nv, nh", [(4, 0), (3, 3)])
def test_log_prob_is_normalised(nv, nh):
    bm = random_machine(nv, nh)
    total = torch.logsumexp(bm.log_prob(all_binary_states(nv, torch.float64)).detach(), 0)
    assert float(total) == pytest.approx(0.0, abs=1e-10)


def test_free_energy_has_closed_form_without_hidden_hidden_couplings():
    bm = random_machine(4, 3)
    with torch.no_grad():
        bm.S.zero_()
    v = all_binary_states(4, torch.float64)
    R = 0.5 * (bm.R + bm.R.T) * (1 - torch.eye(4, dtype=torch.float64))
    closed = -((v @ R) * v).sum(1) - v @ bm.b - torch.nn.functional.softplus(bm.c + v @ bm.W).sum(1)
    torch.testing.assert_close(bm.free_energy(v), closed)


@pytest.mark.parametrize("nv, nh", [(4, 0), (3, 2)])
def test_exact_gradient_matches_autograd(nv, nh):
    bm = random_machine(nv, nh)
    data = torch.tensor([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0]], dtype=torch.float64)[:, :nv]
    bm.log_prob(data).mean().backward()
    grad = exact_gradient(bm, data)
    for name in PARAMETER_NAMES:
        torch.testing.assert_close(grad[name], getattr(bm, name).grad, atol=1e-12, rtol=1e-10)
    assert torch.equal(grad["R"], grad["R"].T) and bool((grad["R"].diagonal() == 0).all())


def test_log_partition_gradcheck():
    R = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    b = torch.randn(3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    W = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def log_z(R, b, W):
        bm = BoltzmannMachine(3, 2, generator=0).double()
        for name, value in (("R", R), ("b", b), ("W", W)):  # plain tensors in place of the parameters
            delattr(bm, name)
            setattr(bm, name, value)
        return bm.log_partition()

    assert torch.autograd.gradcheck(log_z, (R.requires_grad_(), b.requires_grad_(), W.requires_grad_()))


def test_gibbs_sweep_extremes_and_determinism():
    bm = random_machine(3, 2)
    v = torch.zeros(5, 3, dtype=torch.float64)
    v1, h1 = bm.gibbs_sweep(v, uniforms=torch.zeros(5, 5, dtype=torch.float64))
    assert bool((v1 == 1).all() and (h1 == 1).all())  # u = 0 < p always switches a unit on
    v0, h0 = bm.gibbs_sweep(v, uniforms=torch.ones(5, 5, dtype=torch.float64))
    assert bool((v0 == 0).all() and (h0 == 0).all())
    a = bm.gibbs_sweep(v, generator=3)
    b = bm.gibbs_sweep(v, generator=3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_gibbs_sweep_is_sequential():
    """Unit 1 must see the value unit 0 took in the same sweep."""
    bm = BoltzmannMachine.from_parameters(R=torch.tensor([[0.0, 5.0], [5.0, 0.0]]), b=torch.tensor([0.0, -5.0]))
    u = torch.tensor([[0.4, 0.9]])  # unit 0 turns on (p = 0.5); then unit 1's input is -5 + 10 = 5
    v, _ = bm.gibbs_sweep(torch.zeros(1, 2), uniforms=u)
    assert v.tolist() == [[1.0, 1.0]]


def test_gibbs_samples_follow_the_exact_distribution():
    bm = random_machine(3, 2, scale=0.5)
    v = bm.sample(20000, n_steps=20, generator=0)
    codes = (v * torch.tensor([1.0, 2.0, 4.0])).sum(1).long()
    empirical = torch.bincount(codes, minlength=8).double() / len(v)
    exact = bm.log_prob(all_binary_states(3, torch.float64)).detach().exp()
    assert float((empirical - exact).abs().sum() / 2) < 0.02  # total variation


def test_mcmc_gradient_approaches_exact_gradient():
    bm = random_machine(3, 2, scale=0.5)
    data = BarsAndStripes(2).patterns[:, :3].double()
    exact = exact_gradient(bm, data)
    v, h = bm.sample(20000, n_steps=20, generator=1, return_latent=True)
    chains = torch.cat([v, h], 1)
    grad, new_chains = mcmc_gradient(bm, data, chains, n_steps=1, generator=2)
    assert new_chains.shape == chains.shape
    assert gradient_distance(grad, exact) < 0.03
    few, _ = mcmc_gradient(bm, data, chains[:50], generator=2)
    assert gradient_distance(few, exact) > gradient_distance(grad, exact)


def test_phases_are_expectations_of_the_statistics():
    bm = random_machine(2, 1)
    pos, neg = positive_phase(bm, torch.tensor([[1.0, 1.0]])), negative_phase(bm)
    assert float(pos["b"][0]) == 1.0 and float(pos["R"][0, 1]) == 1.0
    assert 0 < float(neg["b"][0]) < 1 and float(neg["R"][0, 0]) == 0.0


def test_pseudo_log_likelihood_matches_enumeration():
    bm = random_machine(4, 0)
    v = all_binary_states(4, torch.float64)
    expected = torch.zeros(len(v), dtype=torch.float64)
    for i in range(4):
        on, off = v.clone(), v.clone()
        on[:, i], off[:, i] = 1, 0
        e_v, e_on, e_off = bm.energy(v), bm.energy(on), bm.energy(off)
        expected += -e_v - torch.logaddexp(-e_on, -e_off)
    torch.testing.assert_close(pseudo_log_likelihood(bm, v), expected)


@pytest.mark.parametrize("method, nh", [("exact", 2), ("mcmc", 2), ("pseudo_likelihood", 0)])
def test_training_lowers_the_exact_nll(method, nh):
    data = BarsAndStripes(3).patterns
    bm = BoltzmannMachine(9, nh, generator=0)
    with torch.no_grad():
        start = float(-bm.log_prob(data).mean())
    history = fit_boltzmann(bm, data, method=method, n_updates=60, record_every=20, generator=0,
                            progress=False)
    assert isinstance(history, History) and len(history["nll"]) == 3
    metric = "neg_pseudo_log_likelihood" if method == "pseudo_likelihood" else "gradient_norm"
    assert len(history.steps[metric]) == 60
    assert history["nll"][-1] < start - 1.0
    assert history["nll"][-1] > BarsAndStripes(3).entropy  # the entropy is the floor
    with torch.no_grad():  # the curve is the exact NLL of the final model
        assert history["nll"][-1] == pytest.approx(float(-bm.log_prob(data).mean()), abs=1e-5)


@pytest.mark.parametrize("method", ["exact", "mcmc"])
def test_fit_boltzmann_is_reproducible(method):
    data = BarsAndStripes(2).patterns
    runs = []
    for _ in range(2):
        bm = BoltzmannMachine(4, 2, generator=0)
        fit_boltzmann(bm, data, method=method, n_updates=10, n_chains=20, n_gibbs_steps=2,
                      generator=3, progress=False)
        runs.append(torch.cat([p.detach().flatten() for p in bm.parameters()]))
    assert torch.equal(*runs)


def test_boltzmann_step_follows_the_exact_gradient():
    data = BarsAndStripes(2).patterns.double()
    bm = random_machine(4, 1)
    before = {k: getattr(bm, k).detach().clone() for k in PARAMETER_NAMES}
    grad = exact_gradient(bm, data)
    step = boltzmann_step(bm, torch.optim.SGD(bm.parameters(), lr=0.1), method="exact")
    metrics = step(data, None)
    for k in PARAMETER_NAMES:  # plain SGD on -log-likelihood moves along +gradient
        torch.testing.assert_close(getattr(bm, k).detach(), before[k] + 0.1 * grad[k])
    assert float(metrics["gradient_norm"]) > 0


def test_inputs_are_converted_to_the_model_dtype():
    bm = random_machine(3, 1)  # float64
    v = np.array([[0, 1, 1], [1, 0, 0]])
    assert bm.log_prob(v).dtype == torch.float64
    torch.testing.assert_close(bm.log_prob(v), bm.log_prob(torch.tensor(v, dtype=torch.float32)))
    assert bm.free_energy([[1.0, 0.0, 1.0]]).shape == (1,)


def test_sample_protocol():
    bm = BoltzmannMachine(3, 2, generator=0)
    assert bm.sample(0).shape == (0, 3)
    v, h = bm.sample(0, return_latent=True)
    assert v.shape == (0, 3) and h.shape == (0, 2)
    assert torch.equal(bm.sample(5, n_steps=3, generator=1), bm.sample(5, n_steps=3, generator=1))
    v0 = bm.sample(4, n_steps=0, generator=2)  # the uniform random start
    assert bool(((v0 == 0) | (v0 == 1)).all())
    with pytest.raises(TypeError):
        bm.sample(3, 0)  # keyword-only: no silent n_steps=0


def test_log_partition_is_a_tensor_with_the_library_limit():
    assert torch.is_tensor(BoltzmannMachine(3, 1).log_partition())
    with pytest.raises(ValueError, match=r"2\*\*30 = 1,073,741,824 states"):
        BoltzmannMachine(20, 10).log_partition()
    with pytest.raises(ValueError, match=r"MAX_ENUMERATED_UNITS"):
        BoltzmannMachine(3, 23).free_energy(torch.zeros(1, 3))


def test_from_parameters_sets_the_parameters():
    R = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    bm = BoltzmannMachine.from_parameters(R=R, b=torch.tensor([0.5, -0.5]), W=torch.ones(2, 1))
    assert bm.n_hidden == 1 and torch.equal(bm.R.detach(), R) and float(bm.c.detach()) == 0.0


NAN = torch.tensor([[0.0, float("nan"), 1.0]])
BAD = [
    (lambda: BoltzmannMachine(0), "n_visible must be a positive integer"),
    (lambda: BoltzmannMachine(3, -1), "n_hidden must be a non-negative integer"),
    (lambda: BoltzmannMachine(2.5), "n_visible"),
    (lambda: BoltzmannMachine(3, init_std=-1.0), "init_std"),
    (lambda: BoltzmannMachine(3, init_std=float("nan")), "init_std"),
    (lambda: BoltzmannMachine(3).log_prob(torch.full((2, 3), 0.5)), "v must be binary"),
    (lambda: BoltzmannMachine(3).log_prob(torch.zeros(2, 4)), r"v must have shape \(n, 3\), got \(2, 4\)"),
    (lambda: BoltzmannMachine(3).log_prob(torch.zeros(3)), "v must have 2 dimension"),
    (lambda: BoltzmannMachine(3).log_prob(NAN), "v must be finite, got 1 NaN"),
    (lambda: BoltzmannMachine(3).free_energy(NAN), "v must be finite"),
    (lambda: BoltzmannMachine(3).energy(NAN), "v must be finite"),
    (lambda: BoltzmannMachine(3, 2).energy(torch.zeros(2, 3)), "h is needed"),
    (lambda: BoltzmannMachine(3, 2).energy(torch.zeros(2, 3), torch.zeros(3, 2)), "same number of rows"),
    (lambda: BoltzmannMachine(3, 1).gibbs_sweep(torch.zeros(2, 3), uniforms=torch.zeros(2, 3)),
     r"uniforms must have shape \(n, 4\)"),
    (lambda: BoltzmannMachine(3, 1).gibbs_sweep(torch.zeros(2, 3), uniforms=torch.full((2, 4), 2.0)),
     r"uniforms must lie in \[0, 1\]"),
    (lambda: BoltzmannMachine(3).gibbs_sweep(NAN), "v must be finite"),
    (lambda: BoltzmannMachine(3).sample(-1), "n must be"),
    (lambda: BoltzmannMachine(3).sample(2, n_steps=-5), "n_steps must be a non-negative integer, got -5"),
    (lambda: BoltzmannMachine(3).sample(2, return_latent="yes"), "return_latent must be True or False"),
    (lambda: negative_phase(BoltzmannMachine(3, 1), torch.zeros(5, 3)), r"samples must have shape \(n, 4\)"),
    (lambda: negative_phase(BoltzmannMachine(3, 1), torch.full((5, 4), 0.5)), "samples must be binary"),
    (lambda: positive_phase(BoltzmannMachine(3, 1), torch.zeros(5, 4)), r"v must have shape \(n, 3\)"),
    (lambda: exact_gradient(BoltzmannMachine(3), NAN), "v must be finite"),
    (lambda: mcmc_gradient(BoltzmannMachine(3, 1), torch.zeros(2, 3), torch.zeros(5, 3)),
     r"chains must have shape \(n, 4\)"),
    (lambda: mcmc_gradient(BoltzmannMachine(3), torch.zeros(2, 3), torch.zeros(5, 3), n_steps=-1), "n_steps"),
    (lambda: gradient_distance({"R": 0}, {}), "grad must be a dict"),
    (lambda: pseudo_log_likelihood(BoltzmannMachine(3, 1), torch.zeros(1, 3)), "fully visible"),
    (lambda: pseudo_log_likelihood(BoltzmannMachine(3), NAN), "v must be finite"),
    (lambda: fit_boltzmann(BoltzmannMachine(3), torch.zeros(2, 3), method="cd"), "method must be one of"),
    (lambda: fit_boltzmann(BoltzmannMachine(3), torch.zeros(2, 3), n_updates=0), "n_updates"),
    (lambda: fit_boltzmann(BoltzmannMachine(3), torch.zeros(2, 3), lr=np.float32(-0.1)), "lr must be a positive"),
    (lambda: fit_boltzmann(BoltzmannMachine(3), torch.zeros(2, 4)), r"data must have shape \(n, 3\)"),
    (lambda: fit_boltzmann(BoltzmannMachine(3), NAN), "data must be finite"),
    (lambda: fit_boltzmann(BoltzmannMachine(3, 1), torch.zeros(2, 3), method="pseudo_likelihood"), "fully visible"),
    (lambda: boltzmann_step(BoltzmannMachine(3), None, method="mcmc"), "needs chains"),
    (lambda: BoltzmannMachine.from_parameters(b=torch.zeros(2), R=torch.zeros(3, 3)), r"R must have shape \(2, 2\)"),
    (lambda: BoltzmannMachine.from_parameters(b=[0.0, float("nan")]), "b must be finite"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
