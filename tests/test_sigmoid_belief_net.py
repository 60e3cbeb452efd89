"""Tests of dgm_course.sigmoid_belief_net: exact enumeration against ancestral samples, the
weight orientation, autograd, and a table of bad arguments."""
import numpy as np
import pytest
import torch

from dgm_course.data import BarsAndStripes
from dgm_course.evaluation import MAX_ENUMERATED_UNITS, all_binary_states
from dgm_course.sigmoid_belief_net import SigmoidBeliefNet, bars_and_stripes_sbn


@pytest.fixture(scope="module")
def small_net():
    """4 visible units, h^1 of 3 units, h^2 of 2 units; float64, strong random weights."""
    return SigmoidBeliefNet([4, 3, 2], init_std=2.0, generator=0, dtype=torch.float64)


def test_layout_and_orientation(small_net):
    assert small_net.sizes == (4, 3, 2) and small_net.n_layers == 2
    assert [tuple(W.shape) for W in small_net.weights] == [(4, 3), (3, 2)]  # (n_below, n_above)
    assert [tuple(b.shape) for b in small_net.biases] == [(4,), (3,), (2,)]
    h1 = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    expected = h1 @ small_net.weights[0].T + small_net.biases[0]  # p(x = 1 | h^1) = sigma(.)
    torch.testing.assert_close(small_net.layer_logits(0, h1), expected)
    torch.testing.assert_close(small_net.layer_logits(2), small_net.biases[2])


def test_probabilities_sum_to_one(small_net):
    with torch.no_grad():
        log_p = small_net.log_prob(all_binary_states(4))
    assert log_p.shape == (16,) and log_p.dtype == torch.float64
    assert abs(float(torch.logsumexp(log_p, 0))) < 1e-12


def test_log_prob_is_the_sum_of_the_joint_over_hidden_states(small_net):
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    total = 0.0
    with torch.no_grad():
        for h in all_binary_states(5, dtype=torch.float64):
            total += float(small_net.log_joint(x, [h[None, :3], h[None, 3:]]).exp())
        assert float(small_net.log_prob(x).exp()) == pytest.approx(total, rel=1e-12)
        # chunking the enumeration does not change the answer
        torch.testing.assert_close(small_net.log_prob(x, chunk_size=3), small_net.log_prob(x))


def test_sample_frequencies_match_exact_probabilities(small_net):
    n = 100_000
    x = small_net.sample(n, generator=0)
    codes = (x * 2 ** torch.arange(4)).sum(1).long()  # the same order as all_binary_states
    freq = torch.bincount(codes, minlength=16).double() / n
    with torch.no_grad():
        p = small_net.log_prob(all_binary_states(4)).exp()
    assert (freq - p).abs().max() < 5 * (p * (1 - p) / n).sqrt().max()


def test_sample_shapes_and_reproducibility(small_net):
    x, hidden = small_net.sample(7, generator=3, return_latent=True)
    assert x.shape == (7, 4) and [h.shape for h in hidden] == [(7, 3), (7, 2)]  # bottom-up
    assert x.dtype == torch.float64 and set(x.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(x, small_net.sample(7, generator=3))
    assert torch.equal(x, small_net.sample(7, generator=torch.Generator().manual_seed(3)))
    assert small_net.sample(0).shape == (0, 4)
    with pytest.raises(TypeError):
        small_net.sample(7, 3)  # the generator is keyword-only


def test_log_joint_and_log_prob_are_differentiable(small_net):
    x, hidden = small_net.sample(5, generator=1, return_latent=True)
    small_net.zero_grad()
    small_net.log_joint(x, hidden).sum().backward()
    assert all(W.grad is not None for W in small_net.weights)
    small_net.zero_grad()
    # d/db of the exact log-likelihood, against finite differences
    b = small_net.biases[0]
    small_net.log_prob(x).sum().backward()
    eps, e0 = 1e-6, torch.zeros_like(b)
    e0[0] = eps
    with torch.no_grad():
        b += e0
        up = small_net.log_prob(x).sum()
        b -= 2 * e0
        down = small_net.log_prob(x).sum()
        b += e0
    assert float(b.grad[0]) == pytest.approx(float(up - down) / (2 * eps), rel=1e-6)
    small_net.zero_grad()


def test_numpy_and_integer_inputs_are_converted(small_net):
    x = np.array([[1, 0, 1, 1], [0, 0, 0, 0]])
    torch.testing.assert_close(small_net.log_prob(x),
                               small_net.log_prob(torch.tensor(x, dtype=torch.float64)))


def test_from_parameters_copies_and_keeps_the_dtype():
    W = torch.ones(3, 2)
    net = SigmoidBeliefNet.from_parameters([W], [torch.zeros(3), torch.zeros(2)])
    assert net.sizes == (3, 2) and net.weights[0].dtype == torch.float32
    W += 1
    assert float(net.weights[0].detach().sum()) == 6.0


def test_a_new_net_is_seeded():
    a = SigmoidBeliefNet([5, 3], generator=0)
    b = SigmoidBeliefNet([5, 3], generator=0)
    assert torch.equal(a.weights[0], b.weights[0]) and a.weights[0].dtype == torch.float32
    assert float(a.weights[0].detach().std()) == pytest.approx(0.01, rel=0.5)


def test_bars_and_stripes_net_puts_its_mass_on_the_patterns():
    sbn = bars_and_stripes_sbn(size=3, gain=12.0)
    bars = BarsAndStripes(3)
    with torch.no_grad():
        mass = float(sbn.log_prob(bars.patterns).exp().sum())
    x = sbn.sample(20_000, generator=0)
    valid = torch.isfinite(bars.log_prob(x)).double().mean()
    assert mass > 0.95
    assert abs(float(valid) - mass) < 5 * (mass * (1 - mass) / 20_000) ** 0.5


NET = SigmoidBeliefNet([4, 3, 2], generator=0)
BIG = SigmoidBeliefNet([4, MAX_ENUMERATED_UNITS, 1], generator=0)

BAD = [
    (lambda: SigmoidBeliefNet([4]), "sizes must be a sequence of two or more"),
    (lambda: SigmoidBeliefNet(4), "sizes must be a sequence"),
    (lambda: SigmoidBeliefNet([4, 0]), r"sizes\[1\] must be a positive integer, got 0"),
    (lambda: SigmoidBeliefNet([4, 2], init_std=-1.0), "init_std must be a non-negative number"),
    (lambda: SigmoidBeliefNet.from_parameters([torch.zeros(3, 2)], [torch.zeros(3)]),
     "expected L >= 1 weights and L \\+ 1 biases"),
    (lambda: SigmoidBeliefNet.from_parameters(torch.zeros(3, 2), [torch.zeros(3)]),
     "weights and biases must be lists"),
    (lambda: SigmoidBeliefNet.from_parameters([torch.zeros(2, 3)], [torch.zeros(3), torch.zeros(2)]),
     r"weights\[0\] must have shape \(n_0, n_1\) = \(3, 2\)"),
    (lambda: SigmoidBeliefNet.from_parameters([torch.full((3, 2), float("nan"))],
                                              [torch.zeros(3), torch.zeros(2)]),
     r"weights\[0\] must be finite"),
    (lambda: NET.log_prob(torch.zeros(3)), r"x must have 2 dimension\(s\)"),
    (lambda: NET.log_prob(torch.full((2, 4), 0.5)), "x must be binary"),
    (lambda: NET.log_prob(torch.zeros(2, 5)), r"x must have shape \(n, 4\), got \(2, 5\)"),
    (lambda: NET.log_prob(torch.full((2, 4), float("nan"))), "x must be finite, got 8 NaN"),
    (lambda: NET.log_prob(torch.zeros(2, 4), chunk_size=0), "chunk_size must be a positive"),
    (lambda: BIG.log_prob(torch.zeros(2, 4)),
     "SigmoidBeliefNet.log_prob enumerates all 2\\*\\*23 .* more than the limit"),
    (lambda: NET.log_joint(torch.zeros(2, 4), [torch.zeros(2, 3)]), "hidden must be a list of 2"),
    (lambda: NET.log_joint(torch.zeros(2, 4), [torch.zeros(2, 3), torch.zeros(2, 3)]),
     r"hidden\[1\] must have shape \(n, 2\)"),
    (lambda: NET.log_joint(torch.zeros(2, 4), [torch.zeros(2, 3), torch.full((2, 2), 0.3)]),
     r"hidden\[1\] must be binary"),
    (lambda: NET.layer_logits(3, torch.zeros(1, 2)), "level must be an integer from 0 to 2"),
    (lambda: NET.layer_logits(0, torch.zeros(1, 2)), r"above must have shape \(n, 3\)"),
    (lambda: NET.sample(-1), "n must be a non-negative integer, got -1"),
    (lambda: NET.sample(3, return_latent="yes"), "return_latent must be True or False"),
    (lambda: bars_and_stripes_sbn(size=9), "size must be an integer from 2 to 5"),
    (lambda: bars_and_stripes_sbn(gain=-1), "gain must be a non-negative number"),
]


@pytest.mark.parametrize("call, match", BAD)
def test_bad_arguments_raise_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
