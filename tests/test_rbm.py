"""Tests of dgm_course.rbm: against exact enumeration, autograd, scikit-learn and a 2-D grid."""
import math

import numpy as np
import pytest
import torch
from sklearn.neural_network import BernoulliRBM

from dgm_course import data
from dgm_course.data import BarsAndStripes, load_digits
from dgm_course.evaluation import all_binary_states, grid_log_normalizer
from dgm_course.rbm import RBM, CDStep, ais_log_partition
from dgm_course.training import StepContext, fit


def random_rbm(n_visible=5, n_hidden=4, std=1.0, seed=0, **kwargs):
    rbm = RBM(n_visible, n_hidden, init_std=std, generator=seed, **kwargs).double()
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        rbm.b.copy_(torch.randn(n_visible, generator=gen, dtype=torch.float64))
        rbm.c.copy_(torch.randn(n_hidden, generator=gen, dtype=torch.float64))
    return rbm


def joint_table(rbm):
    """-E(v, h) for every (v, h) pair: shape (2**n_visible, 2**n_hidden), with the states."""
    vs = all_binary_states(rbm.n_visible, dtype=torch.float64)
    hs = all_binary_states(rbm.n_hidden, dtype=torch.float64)
    v = vs.repeat_interleave(len(hs), 0)
    h = hs.repeat(len(vs), 1)
    return -rbm.energy(v, h).detach().reshape(len(vs), len(hs)), vs, hs


# ------------------------------------------------------------------------ exact identities
def test_energy_is_minus_bv_minus_ch_minus_vWh_with_W_visible_by_hidden():
    rbm = random_rbm(5, 3)
    assert rbm.W.shape == (5, 3)
    v = torch.tensor([[1.0, 0, 1, 1, 0]], dtype=torch.float64)
    h = torch.tensor([[0.0, 1, 1]], dtype=torch.float64)
    W, b, c = rbm.W.detach(), rbm.b.detach(), rbm.c.detach()
    expected = -(v @ b) - (h @ c) - (v @ W @ h.T)[:, 0]
    torch.testing.assert_close(rbm.energy(v, h).detach(), expected)
    torch.testing.assert_close(rbm.p_h(v), torch.sigmoid(c + v @ W))
    torch.testing.assert_close(rbm.p_v(h), torch.sigmoid(b + h @ W.T))


def test_free_energy_sums_out_the_hidden_layer():
    rbm = random_rbm()
    neg_e, vs, hs = joint_table(rbm)
    expected = -torch.logsumexp(neg_e, dim=1)
    torch.testing.assert_close(rbm.free_energy(vs).detach(), expected)
    torch.testing.assert_close(rbm.hidden_free_energy(hs).detach(), -torch.logsumexp(neg_e, dim=0))


def test_conditionals_factorise_as_sigmoids():
    rbm = random_rbm()
    neg_e, vs, hs = joint_table(rbm)
    p_h_given_v = torch.softmax(neg_e, dim=1) @ hs  # E[h | v] by enumeration, (2^D, H)
    torch.testing.assert_close(rbm.p_h(vs), p_h_given_v)
    p_v_given_h = torch.softmax(neg_e, dim=0).T @ vs  # E[v | h], (2^H, D)
    torch.testing.assert_close(rbm.p_v(hs), p_v_given_h)


@pytest.mark.parametrize("n_visible, n_hidden", [(6, 3), (3, 6)])
def test_log_partition_enumerates_the_smaller_layer_and_normalises(n_visible, n_hidden):
    rbm = random_rbm(n_visible, n_hidden)
    neg_e, vs, _ = joint_table(rbm)
    log_z = rbm.log_partition()
    assert log_z.shape == () and log_z.dtype == torch.float64
    assert float(log_z) == pytest.approx(float(torch.logsumexp(neg_e.reshape(-1), 0)), abs=1e-10)
    log_p = rbm.log_prob(vs)
    assert log_p.shape == (2**n_visible,)
    assert float(torch.logsumexp(log_p, 0)) == pytest.approx(0.0, abs=1e-10)


def test_log_prob_takes_an_estimated_log_z():
    rbm = random_rbm()
    v = all_binary_states(5, dtype=torch.float64)[:3]
    torch.testing.assert_close(rbm.log_prob(v, log_z=1.5), -rbm.free_energy(v).detach() - 1.5)


def test_gaussian_visible_units_log_z_matches_a_grid_integral():
    rbm = random_rbm(2, 3, std=0.7, visible="gaussian")
    log_z_grid, _, _ = grid_log_normalizer(lambda v: -rbm.free_energy(v).detach(), lim=10.0, n=600)
    assert float(rbm.log_partition()) == pytest.approx(float(log_z_grid), abs=1e-6)
    hs = all_binary_states(3, dtype=torch.float64)
    v = torch.randn(4, 2, dtype=torch.float64)
    expected = -torch.logsumexp(-rbm.energy(v.repeat_interleave(8, 0), hs.repeat(4, 1)).reshape(4, 8), 1)
    torch.testing.assert_close(rbm.free_energy(v), expected)


# ------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("k, persistent", [(1, False), (3, False), (1, True)])
def test_cd_gradients_equal_autograd_of_the_free_energy_difference(k, persistent):
    rbm = random_rbm(6, 4)
    v = all_binary_states(6, dtype=torch.float64)[torch.randperm(64, generator=torch.Generator().manual_seed(1))[:10]]
    chain = torch.bernoulli(torch.full((7, 6), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(2))
    dW, db, dc, v_model = rbm.cd_gradients(v, k, chain=chain if persistent else None, generator=3)
    assert v_model.shape == (7 if persistent else 10, 6)
    loss = rbm.free_energy(v).mean() - rbm.free_energy(v_model).mean()  # -(log-likelihood estimate)
    gW, gb, gc = torch.autograd.grad(loss, [rbm.W, rbm.b, rbm.c])
    torch.testing.assert_close(dW, -gW)
    torch.testing.assert_close(db, -gb)
    torch.testing.assert_close(dc, -gc)


@pytest.mark.parametrize("method, weight_decay", [("cd", 0.0), ("pcd", 0.1)])
def test_cd_step_makes_the_sgd_update_of_the_cd_estimate(method, weight_decay):
    rbm = random_rbm(6, 4, std=0.3)
    v = torch.bernoulli(torch.full((12, 6), 0.4, dtype=torch.float64), generator=torch.Generator().manual_seed(5))
    W0, b0, c0 = (t.detach().clone() for t in (rbm.W, rbm.b, rbm.c))
    ph_data = rbm.p_h(v)
    step = CDStep(rbm, method=method, lr=0.5, lr_schedule="linear", weight_decay=weight_decay)
    metrics = step(v, StepContext(torch.Generator().manual_seed(0), step=1, epoch=0, total_steps=4))
    assert metrics == {"lr": pytest.approx(0.375)}  # 0.5 decayed linearly: 1/4 of the way
    v_model = step.chain  # the update's negative samples
    assert v_model.shape == (12, 6) and set(v_model.unique().tolist()) <= {0.0, 1.0}
    ph_model = torch.sigmoid(v_model @ W0 + c0)
    dW = (v.T @ ph_data - v_model.T @ ph_model) / 12
    eta = 0.375
    torch.testing.assert_close(rbm.W.detach(), (1 - eta * weight_decay) * W0 + eta * dW)
    torch.testing.assert_close(rbm.b.detach(), b0 + eta * (v - v_model).mean(0))
    torch.testing.assert_close(rbm.c.detach(), c0 + eta * (ph_data - ph_model).mean(0))


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_pcd_continues_its_chains_and_cd_restarts_them_at_the_data(method):
    v = torch.bernoulli(torch.full((8, 6), 0.4, dtype=torch.float64), generator=torch.Generator().manual_seed(5))
    rbm = random_rbm(6, 4, std=0.3)
    step = CDStep(rbm, method=method, lr=1e-12)  # parameters (nearly) frozen
    gen = torch.Generator().manual_seed(0)
    step(v, StepContext(gen, 0, 0, 2))
    first = step.chain
    step(v, StepContext(gen, 1, 0, 2))
    replay = torch.Generator().manual_seed(0)
    rbm.cd_gradients(v, generator=replay)  # the first update's random numbers
    start = first if method == "pcd" else None
    torch.testing.assert_close(step.chain, rbm.cd_gradients(v, chain=start, generator=replay)[3])


def test_fit_is_training_fit_with_the_cd_step():
    data = BarsAndStripes(3).sample(60, generator=1)
    ours = RBM(9, 5, generator=0)
    history = ours.fit(data, method="pcd", epochs=3, batch_size=10, lr=0.1, weight_decay=0.01,
                       init_visible_bias=False, generator=4)
    by_hand = RBM(9, 5, generator=0)
    step = CDStep(by_hand, method="pcd", lr=0.1, weight_decay=0.01)
    fit(by_hand, step, data, epochs=3, batch_size=10, generator=4, progress=False)
    assert torch.equal(ours.W, by_hand.W) and torch.equal(ours.b, by_hand.b)
    assert len(history.steps["lr"]) == 18 and history.steps["lr"][0] == 0.1
    assert history.steps["lr"][-1] == pytest.approx(0.1 / 18)


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_training_on_bars_and_stripes_lowers_the_exact_nll(method):
    data = BarsAndStripes(3).sample(300, generator=0)
    rbm = RBM(9, 16, init_std=0.1, generator=0)
    before = float(-rbm.log_prob(data).mean())
    history = rbm.fit(data, method=method, epochs=60, batch_size=10, lr=0.2, generator=0)
    after = float(-rbm.log_prob(data).mean())
    assert before == pytest.approx(9 * math.log(2), abs=0.3)
    assert after < 4.0, (before, after)  # from 6.24 nats towards the floor log 14 = 2.64
    errors = history["reconstruction_error"]
    assert len(errors) == 60 and errors[-1] < errors[0] and history.seconds > 0


def test_gaussian_rbm_training_raises_the_exact_log_likelihood():
    ring = data.toy_distribution("ring", std=0.2)
    x = 4 * ring.sample(500, generator=0)  # 8 modes of std 0.8, 6 apart: unit-variance visible units resolve them
    rbm = RBM(2, 8, visible="gaussian", init_std=0.1, generator=0)
    before = float(rbm.log_prob(x).mean())
    rbm.fit(x, method="cd", epochs=30, batch_size=20, lr=0.01, generator=0)
    after = float(rbm.log_prob(x).mean())
    entropy = ring.entropy() + 2 * math.log(4)  # of the scaled ring: the best achievable
    assert before < -20 and -after < entropy + 1.5, (before, after, entropy)
    assert rbm.sample(5, n_steps=3, generator=0).shape == (5, 2)


def test_fit_is_reproducible_and_calls_back():
    data = BarsAndStripes(3).sample(50, generator=1)
    runs = []
    for _ in range(2):
        rbm = RBM(9, 4, generator=0)
        epochs = iter(range(3))
        history = rbm.fit(data, epochs=3, batch_size=10, generator=7,
                          validate=lambda r: {"epoch": next(epochs), "W_norm": r.W.norm()})
        runs.append(rbm.W.detach().clone())
    assert torch.equal(runs[0], runs[1])
    assert history["epoch"] == [0, 1, 2]
    assert history["W_norm"][-1] == pytest.approx(float(runs[1].norm()))


# -------------------------------------------------------------------- against scikit-learn
def test_free_energy_and_p_h_match_scikit_learn():
    x = load_digits("val", binary=True)[:50].double()
    sk = BernoulliRBM(n_components=7, n_iter=2, random_state=0).fit(x.numpy())
    rbm = RBM(64, 7).double()
    with torch.no_grad():
        rbm.W.copy_(torch.from_numpy(sk.components_.T))  # scikit-learn stores W transposed
        rbm.b.copy_(torch.from_numpy(sk.intercept_visible_))
        rbm.c.copy_(torch.from_numpy(sk.intercept_hidden_))
    np.testing.assert_allclose(rbm.free_energy(x).detach().numpy(), sk._free_energy(x.numpy()), rtol=1e-10)
    np.testing.assert_allclose(rbm.p_h(x).numpy(), sk.transform(x.numpy()), rtol=1e-10)


# -------------------------------------------------------------------------------- sampling
def test_gibbs_samples_reproduce_the_exact_marginals():
    rbm = random_rbm(4, 3, std=0.8).float()
    vs = all_binary_states(4)
    p = rbm.log_prob(vs).exp()  # exact P(v)
    exact_mean = p @ vs  # (4,)
    samples = rbm.sample(4000, n_steps=50, generator=0)
    assert samples.shape == (4000, 4)
    se = (exact_mean * (1 - exact_mean) / 4000).sqrt()
    assert bool(((samples.mean(0) - exact_mean).abs() < 5 * se).all()), (samples.mean(0), exact_mean)


def test_gibbs_chain_records_means_and_is_seeded():
    rbm = random_rbm(5, 3).float()
    v0 = torch.ones(4, 5)
    chain = rbm.gibbs_chain(v0, 10, record_every=5, generator=0)
    assert chain.shape == (3, 4, 5)
    assert torch.equal(chain[0], v0)
    assert bool(((chain[1:] > 0) & (chain[1:] < 1)).all())  # probabilities P(v = 1 | h)
    assert torch.equal(chain, rbm.gibbs_chain(v0, 10, record_every=5, generator=0))


# --------------------------------------------------------------------------------------- AIS
@pytest.mark.parametrize("use_data, schedule", [(False, "linear"), (True, "linear"), (True, "sigmoid")])
def test_ais_is_within_a_few_standard_errors_of_the_exact_log_z(use_data, schedule):
    rbm = random_rbm(12, 10, std=0.5).float()
    data = rbm.sample(200, n_steps=20, generator=1) if use_data else None
    exact = rbm.log_partition()
    estimate, std_error = ais_log_partition(rbm, n_temperatures=300, n_runs=200, data=data,
                                            generator=0, schedule=schedule)
    assert estimate.shape == () and std_error.shape == ()
    assert 0 < std_error < 0.1
    assert abs(estimate - exact) < 4 * std_error + 0.01, (estimate, exact, std_error)


def test_ais_is_exact_when_the_rbm_is_its_base_rate_model():
    rbm = RBM(6, 3, init_std=0.0)
    estimate, std_error = ais_log_partition(rbm, n_temperatures=5, n_runs=10, generator=0)
    assert float(estimate) == pytest.approx(float(rbm.log_partition()), abs=1e-9)
    assert float(std_error) == pytest.approx(0.0, abs=1e-12)


def test_ais_error_shrinks_with_more_temperatures():
    rbm = random_rbm(12, 10, std=0.7).float()
    errors = [ais_log_partition(rbm, n_temperatures=k, n_runs=100, generator=0)[1] for k in (10, 1000)]
    assert errors[1] < errors[0] / 3


def test_sample_follows_the_protocol():
    rbm = random_rbm(5, 3).float()
    assert rbm.sample(0).shape == (0, 5)
    with pytest.raises(TypeError):
        rbm.sample(3, 0)  # n_steps is keyword-only: this once meant n_steps=0 silently
    a = rbm.sample(6, n_steps=5, generator=3)
    assert torch.equal(a, rbm.sample(6, n_steps=5, generator=3))
    v, h = rbm.sample(6, n_steps=5, generator=3, return_latent=True)
    assert torch.equal(v, a) and h.shape == (6, 3) and set(h.unique().tolist()) <= {0.0, 1.0}
    means = rbm.sample(6, n_steps=5, generator=3, mean=True)
    assert bool(((means > 0) & (means < 1)).all())
    assert rbm.sample(4, n_steps=0, generator=0).shape == (4, 5)  # the uniform start


def test_inputs_may_be_arrays_and_are_converted_to_the_model_dtype():
    rbm = random_rbm(4, 3)  # float64
    v = np.array([[0, 1, 1, 0], [1, 1, 0, 0]])
    out = rbm.free_energy(v)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, rbm.free_energy(torch.tensor(v, dtype=torch.float64)))
    assert rbm.float().log_prob(v.tolist()).dtype == torch.float32


# ------------------------------------------------------------------------- bad arguments
BINARY = RBM(4, 3)
GAUSS = RBM(2, 3, visible="gaussian")
NAN = torch.tensor([[0.0, float("nan"), 1.0, 0.0]])


@pytest.mark.parametrize("call, match", [
    (lambda: RBM(0, 3), "n_visible must be a positive integer"),
    (lambda: RBM(4, 2.5), "n_hidden must be a positive integer"),
    (lambda: RBM(4, 3, visible="poisson"), "visible must be one of"),
    (lambda: RBM(4, 3, init_std=-1.0), "init_std must be a non-negative number"),
    (lambda: RBM(4, 3, generator=-1), "seed must be a non-negative integer"),
    (lambda: BINARY.free_energy(torch.zeros(2, 5)), r"v must have shape \(n, 4\), got \(2, 5\)"),
    (lambda: BINARY.free_energy(torch.zeros(4)), "v must have 2 dimension"),
    (lambda: BINARY.free_energy(torch.full((2, 4), 0.5)), "v must be binary"),
    (lambda: BINARY.free_energy(NAN), "v must be finite"),
    (lambda: BINARY.free_energy("0101"), "v must be a tensor or an array"),
    (lambda: BINARY.log_prob(torch.full((2, 4), 2.0)), "v must be binary"),
    (lambda: BINARY.log_prob(torch.zeros(2, 4), log_z=float("nan")), "log_z must be a finite number"),
    (lambda: GAUSS.log_prob(torch.tensor([[0.3, float("nan")]])), "v must be finite"),
    (lambda: BINARY.p_h(NAN), "v must be finite"),
    (lambda: BINARY.p_h(torch.full((2, 4), 1.5)), r"v must lie in \[0, 1\]"),
    (lambda: BINARY.p_v(torch.zeros(2, 4)), r"h must have shape \(n, 3\)"),
    (lambda: BINARY.sample_h(NAN), "v must be finite"),
    (lambda: BINARY.energy(torch.zeros(2, 4), torch.zeros(3, 3)), "same number of rows"),
    (lambda: BINARY.energy(torch.zeros(2, 4), torch.full((2, 3), 0.3)), "h must be binary"),
    (lambda: BINARY.hidden_free_energy(torch.full((2, 3), 0.3)), "h must be binary"),
    (lambda: BINARY.cd_gradients(NAN), "v must be finite"),
    (lambda: BINARY.cd_gradients(torch.zeros(2, 4), k=0), "k must be a positive integer"),
    (lambda: BINARY.cd_gradients(torch.zeros(2, 4), chain=torch.zeros(2, 5)), "chain must have shape"),
    (lambda: BINARY.fit(torch.full((10, 4), 0.5)), "data must be binary"),
    (lambda: BINARY.fit(torch.full((10, 4), 2.0), allow_probabilities=True), r"data must lie in \[0, 1\]"),
    (lambda: BINARY.fit(torch.zeros(10, 4), allow_probabilities="yes"), "allow_probabilities must be True or False"),
    (lambda: GAUSS.fit(torch.tensor([[0.3, float("nan")]])), "data must be finite"),
    (lambda: BINARY.fit(torch.zeros(40, 4), method="sgd"), "method must be one of 'cd', 'pcd'"),
    (lambda: BINARY.fit(torch.zeros(10, 4), batch_size=20), "batch_size must be an integer from 1 to 10"),
    (lambda: BINARY.fit(torch.zeros(40, 4), lr=0.0), "lr must be a positive number"),
    (lambda: BINARY.fit(torch.zeros(40, 4), lr=np.nan), "lr must be a positive number"),
    (lambda: BINARY.fit(torch.zeros(40, 4), k=0), "k must be a positive integer"),
    (lambda: BINARY.fit(torch.zeros(40, 4), epochs=0), "epochs must be a positive integer"),
    (lambda: BINARY.fit(torch.zeros(40, 4), weight_decay=-1.0), "weight_decay must be a non-negative number"),
    (lambda: BINARY.fit(torch.zeros(40, 4), lr_schedule="cosine"), "lr_schedule must be one of"),
    (lambda: CDStep("rbm"), "rbm must be an RBM"),
    (lambda: RBM(30, 25).log_partition(), "enumerates all 2\\*\\*25"),
    (lambda: RBM(3, 30, visible="gaussian").log_partition(), "enumerates all 2\\*\\*30"),
    (lambda: BINARY.gibbs_chain(torch.zeros(2, 4), 0), "n_steps must be a positive integer"),
    (lambda: BINARY.gibbs_chain(NAN, 3), "v0 must be finite"),
    (lambda: BINARY.sample(-1), "n must be a non-negative integer"),
    (lambda: BINARY.sample(2, n_steps=-5), "n_steps must be a non-negative integer"),
    (lambda: BINARY.sample(2, n_steps=2.5), "n_steps must be a non-negative integer"),
    (lambda: BINARY.sample(2, return_latent="no"), "return_latent must be True or False"),
    (lambda: ais_log_partition(GAUSS), "binary visible units"),
    (lambda: ais_log_partition("rbm"), "rbm must be an RBM"),
    (lambda: ais_log_partition(BINARY, n_temperatures=0), "n_temperatures must be a positive integer"),
    (lambda: ais_log_partition(BINARY, n_runs=0), "n_runs must be a positive integer"),
    (lambda: ais_log_partition(BINARY, data=torch.full((5, 4), 0.5)), "data must be binary"),
    (lambda: ais_log_partition(BINARY, data=NAN), "data must be finite"),
    (lambda: ais_log_partition(BINARY, schedule="geometric"), "schedule must be one of"),
])
def test_bad_arguments_raise_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
