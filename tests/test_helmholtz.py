"""Tests of dgm_course.helmholtz (and the bars problem of dgm_course.data): the ELBO
identity, the score-function gradient against enumeration, baselines, training, bad
arguments."""
import math

import numpy as np
import pytest
import torch

from dgm_course import training
from dgm_course.data import BarsProblem
from dgm_course.evaluation import all_binary_states
from dgm_course.helmholtz import (HelmholtzMachine, RecognitionNet, bar_features, fit,
                                  recovers_bars, reinforce_step, wake_sleep_step)


@pytest.fixture(scope="module")
def hm():
    """4 visible, 3 + 2 hidden units, float64, strong random weights in both nets."""
    return HelmholtzMachine([4, 3, 2], init_std=1.5, generator=0, dtype=torch.float64)


X4 = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0]],
                  dtype=torch.float64)


def test_log_p_is_elbo_plus_kl_for_any_q(hm):
    for seed in range(3):  # three different recognition nets q
        other = HelmholtzMachine([4, 3, 2], init_std=2.0, generator=seed, dtype=torch.float64)
        hm.recognition.load_state_dict(other.recognition.state_dict())
        with torch.no_grad():
            gap = hm.log_prob(X4) - hm.exact_elbo(X4) - hm.kl_to_posterior(X4)
            assert float(gap.abs().max()) < 1e-12
            assert bool((hm.kl_to_posterior(X4) >= 0).all())


def test_exact_elbo_against_a_hand_sum(hm):
    x = X4[:1]
    total = 0.0
    with torch.no_grad():
        for s in all_binary_states(5, dtype=torch.float64):
            hidden = [s[None, :3], s[None, 3:]]
            log_q = float(hm.recognition.log_prob(x, hidden))
            total += math.exp(log_q) * (float(hm.generative.log_joint(x, hidden)) - log_q)
        assert float(hm.exact_elbo(x)) == pytest.approx(total, rel=1e-12)


def test_the_elbo_is_tight_when_q_is_the_posterior():
    # one hidden unit, one visible unit: q can equal the posterior exactly
    hm = HelmholtzMachine([1, 1], generator=0, dtype=torch.float64)
    with torch.no_grad():
        hm.generative.weights[0].fill_(3.0)
        hm.generative.biases[0].fill_(-1.0)
        hm.generative.biases[1].fill_(0.5)
        x = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
        hs = torch.tensor([[[0.0]], [[1.0]]], dtype=torch.float64)
        log_joint = hm.generative.log_joint(x[None], [hs])  # (2 states, 2 examples)
        logit = log_joint[1] - log_joint[0]  # posterior logit of h = 1 given x
        hm.recognition.weights[0].fill_(float(logit[1] - logit[0]))
        hm.recognition.biases[0].fill_(float(logit[0]))
        assert float(hm.kl_to_posterior(x).abs().max()) < 1e-12
        assert float((hm.exact_elbo(x) - hm.log_prob(x)).abs().max()) < 1e-12


def test_monte_carlo_elbo_is_unbiased(hm):
    n = 20_000
    with torch.no_grad():
        draws = torch.stack([hm.elbo(X4, n_samples=1, generator=s) for s in range(200)])
        estimate = hm.elbo(X4, n_samples=n, generator=1)
        exact = hm.exact_elbo(X4)
    sd = draws.std(0)  # one-sample standard deviation
    # |error| < 5 standard errors: a false failure about once in 10^6 runs per example
    assert bool(((estimate - exact).abs() < 5 * sd / math.sqrt(n)).all())


def _exact_and_sampled_gradients(hm, x, n, baseline, seed):
    params = list(hm.recognition.parameters())
    exact = torch.cat([g.flatten() for g in torch.autograd.grad(hm.exact_elbo(x).sum(),
                                                                params)])
    with torch.no_grad():
        hidden, log_q = hm.recognition.sample(x, n_samples=n, generator=seed)
        f = hm.generative.log_joint(x, hidden) - log_q  # (n, 1), the learning signal
        scores = hm.recognition_scores(x, hidden)  # (n, 1, P)
        per_draw = ((f - baseline)[..., None] * scores)[:, 0]  # (n, P)
    return exact, per_draw


@pytest.mark.parametrize("baseline", [0.0, "mean"])
def test_score_function_gradient_is_unbiased(hm, baseline):
    x, n = X4[:1], 50_000
    with torch.no_grad():
        b = float(hm.exact_elbo(x)) if baseline == "mean" else 0.0
    exact, per_draw = _exact_and_sampled_gradients(hm, x, n, b, seed=0)
    mean, se = per_draw.mean(0), per_draw.std(0) / math.sqrt(n)
    random = se > 0  # weights from pixels that are off have score 0 and gradient 0
    assert float(exact[~random].abs().max()) < 1e-12 and bool((mean[~random] == 0).all())
    z = (mean - exact)[random] / se[random]
    # 20 parameters, each |z| < 4.5: a false failure about once in 7,000 runs
    assert float(z.abs().max()) < 4.5, z


def test_recognition_scores_match_autograd(hm):
    hidden, log_q = hm.recognition.sample(X4, n_samples=2, generator=0)
    params = list(hm.recognition.parameters())
    grads = torch.cat([g.flatten() for g in torch.autograd.grad(log_q[1, 2], params)])
    torch.testing.assert_close(hm.recognition_scores(X4, hidden)[1, 2], grads)


def test_a_baseline_lowers_the_variance_without_moving_the_mean(hm):
    x, n = X4[:1], 50_000
    with torch.no_grad():
        b = float(hm.exact_elbo(x))
    _, plain = _exact_and_sampled_gradients(hm, x, n, 0.0, seed=0)
    _, centred = _exact_and_sampled_gradients(hm, x, n, b, seed=0)
    assert float(centred.var(0).sum()) < 0.5 * float(plain.var(0).sum())
    diff = plain - centred  # the same draws: b * score, whose mean is 0
    se = diff.std(0) / math.sqrt(n)
    random = se > 0
    assert float((diff.mean(0)[random] / se[random]).abs().max()) < 4.5


def test_wake_sleep_improves_the_exact_nll_on_a_tiny_problem():
    bars = BarsProblem(2)
    data = bars.sample(400, generator=0)
    hm = HelmholtzMachine([4, 4, 1], init_std=0.1, generator=0)
    before = bars.expected_nll(hm.log_prob)
    history = fit(hm, data, rule="wake-sleep", epochs=15, batch_size=10, lr=0.05,
                  generator=0, progress=False,
                  validate=lambda m: {"nll": bars.expected_nll(m.log_prob)})
    after = history["nll"][-1]
    assert after < before - 0.5 and after > bars.entropy - 1e-9
    assert "wake_loss" in history.steps and "sleep_loss" in history.steps


@pytest.mark.parametrize("baseline", ["none", "mean", "input"])
def test_reinforce_improves_the_elbo(baseline):
    bars = BarsProblem(2)
    data = bars.sample(400, generator=0)
    hm = HelmholtzMachine([4, 4, 1], init_std=0.1, generator=0)
    with torch.no_grad():
        before = float(hm.exact_elbo(data).mean())
    fit(hm, data, rule="reinforce", baseline=baseline, epochs=10, batch_size=10, lr=0.05,
        generator=0, progress=False)
    with torch.no_grad():
        assert float(hm.exact_elbo(data).mean()) > before + 0.5


def test_training_is_reproducible():
    data = BarsProblem(2).sample(100, generator=0)
    states = []
    for _ in range(2):
        hm = HelmholtzMachine([4, 3, 1], generator=0)
        fit(hm, data, rule="reinforce", baseline="input", epochs=2, generator=3,
            progress=False)
        states.append(torch.cat([p.detach().flatten() for p in hm.parameters()]))
    assert torch.equal(states[0], states[1])


def test_step_functions_run_in_the_one_loop():
    hm = HelmholtzMachine([4, 2], generator=0)
    data = BarsProblem(2).sample(40, generator=0)
    for step in (wake_sleep_step(hm), reinforce_step(hm, baseline="none")):
        history = training.fit(hm, step, data, epochs=1, batch_size=20, progress=False,
                               generator=0)
        assert len(next(iter(history.steps.values()))) == 2


def test_sample_and_importance_estimate(hm):
    x, hidden = hm.sample(5, generator=2, return_latent=True)
    assert x.shape == (5, 4) and [h.shape for h in hidden] == [(5, 3), (5, 2)]
    assert torch.equal(x, hm.sample(5, generator=2))
    est = hm.log_likelihood_estimate(X4, k=20_000, generator=0)
    exact = hm.log_prob(X4).detach()
    assert bool(((est.log_likelihood - exact).abs() < 5 * est.stderr + 1e-3).all())


def test_bars_problem_distribution():
    bars = BarsProblem()
    assert bars.n_patterns == 30 and abs(float(bars.probs.sum()) - 1) < 1e-12
    off = torch.zeros(1, 16)
    assert float(bars.log_prob(off).exp()) == pytest.approx(0.8**4)  # both orientations
    one_column = torch.zeros(4, 4)
    one_column[:, 1] = 1
    p = 2 / 3 * 0.2 * 0.8**3
    assert float(bars.log_prob(one_column.reshape(1, 16)).exp()) == pytest.approx(p)
    assert float(bars.log_prob(torch.eye(4).reshape(1, 16))) == -math.inf
    x = bars.sample(60_000, generator=0)
    freq = (x[:, None, :] == bars.patterns[None].float()).all(-1).double().mean(0)
    assert float(((freq - bars.probs) / (bars.probs / 60_000).sqrt()).abs().max()) < 5
    assert bars.expected_nll(bars.log_prob) == pytest.approx(bars.entropy)


def test_bar_features():
    W = torch.full((16, 3), -2.0, dtype=torch.float64)
    W[[4, 5, 6, 7], 0] = 3.0  # row 1
    W[[2, 6, 10, 14], 1] = 3.0  # column 2
    W[[0, 1, 2, 4], 2] = 3.0  # no bar
    assert bar_features(W) == ["row 1", "column 2", None]
    hm = HelmholtzMachine([16, 8, 1], generator=0)
    assert not recovers_bars(hm)


BAD = [
    (lambda: HelmholtzMachine([4]), "sizes"),
    (lambda: HelmholtzMachine([4, 0]), r"sizes\[1\]"),
    (lambda: HelmholtzMachine([4, 2], init_std=-1.0), "init_std"),
    (lambda: HelmholtzMachine([4, 2]).elbo([[0.0, 1.0, 2.0, 0.0]]), "x"),
    (lambda: HelmholtzMachine([4, 2]).elbo([[0.0, 1.0]]), "x"),
    (lambda: HelmholtzMachine([4, 2]).elbo(X4, n_samples=0), "n_samples"),
    (lambda: HelmholtzMachine([4, 2]).log_likelihood_estimate(X4, k=0), "k"),
    (lambda: HelmholtzMachine([4, 2]).sample(-1), "n"),
    (lambda: HelmholtzMachine([4, 30]).exact_elbo(X4), "enumerates"),
    (lambda: HelmholtzMachine([4, 2]).recognition.log_prob(X4, [torch.zeros(3, 3)]),
     r"hidden\[0\]"),
    (lambda: RecognitionNet([4, 2]).sample(X4, n_samples=1.5), "n_samples"),
    (lambda: reinforce_step(HelmholtzMachine([4, 2]), baseline="median"), "baseline"),
    (lambda: reinforce_step(HelmholtzMachine([4, 2]), lr=0.0), "lr"),
    (lambda: reinforce_step(HelmholtzMachine([4, 2]), decay=1.5), "decay"),
    (lambda: wake_sleep_step(HelmholtzMachine([4, 2]), lr=-1), "lr"),
    (lambda: fit(HelmholtzMachine([4, 2]), X4, rule="backprop"), "rule"),
    (lambda: fit(HelmholtzMachine([4, 2]), X4 * 2), "data"),
    (lambda: bar_features(torch.zeros(15, 2)), "W"),
    (lambda: BarsProblem(p_bar=1.0), "p_bar"),
    (lambda: BarsProblem(p_vertical=-0.1), "p_vertical"),
    (lambda: BarsProblem().log_prob(torch.zeros(2, 15)), "x"),
]


@pytest.mark.parametrize("call, name", BAD, ids=[f"{i}-{name}" for i, (_, name) in
                                                 enumerate(BAD)])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
