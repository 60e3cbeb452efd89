"""Tests of dgm_course.sigmoid_belief_net: exact enumeration against ancestral samples."""
import pytest
import torch

from dgm_course.data import BarsAndStripes
from dgm_course.evaluation import all_binary_states
from dgm_course.sigmoid_belief_net import SigmoidBeliefNet, bars_and_stripes_sbn


@pytest.fixture(scope="module")
def small_net():
    g = torch.Generator().manual_seed(0)
    return SigmoidBeliefNet(torch.randn(2, generator=g),
                            [torch.randn(3, 2, generator=g), torch.randn(4, 3, generator=g) * 2],
                            [torch.randn(3, generator=g), torch.randn(4, generator=g)])


def test_probabilities_sum_to_one(small_net):
    with torch.no_grad():
        log_p = small_net.log_prob(all_binary_states(4))
    assert torch.isclose(torch.logsumexp(log_p, 0), torch.zeros((), dtype=torch.float64), atol=1e-12)


def test_sample_frequencies_match_exact_probabilities(small_net):
    n = 100_000
    x = small_net.sample(n, generator=0)
    codes = (x * 2 ** torch.arange(4)).sum(1).long()  # the same order as all_binary_states
    freq = torch.bincount(codes, minlength=16).double() / n
    with torch.no_grad():
        p = small_net.log_prob(all_binary_states(4)).exp()
    assert (freq - p).abs().max() < 5 * (p * (1 - p) / n).sqrt().max()


def test_sample_shapes_and_reproducibility(small_net):
    x, hidden = small_net.sample(7, generator=3, return_hidden=True)
    assert x.shape == (7, 4) and [h.shape for h in hidden] == [(7, 2), (7, 3)]
    assert torch.equal(x, small_net.sample(7, generator=3))


def test_log_joint_is_differentiable(small_net):
    x, hidden = small_net.sample(5, generator=1, return_hidden=True)
    small_net.log_joint(hidden, x).sum().backward()
    assert small_net.weights[0].grad is not None
    small_net.zero_grad()


def test_bars_and_stripes_net_puts_its_mass_on_the_patterns():
    sbn = bars_and_stripes_sbn(size=3, gain=12.0)
    patterns = BarsAndStripes(3).patterns
    with torch.no_grad():
        mass = float(sbn.log_prob(patterns).exp().sum())
    x = sbn.sample(20_000, generator=0)
    valid = torch.isfinite(BarsAndStripes(3).log_prob(x)).double().mean()
    assert mass > 0.95
    assert abs(float(valid) - mass) < 5 * (mass * (1 - mass) / 20_000) ** 0.5


@pytest.mark.parametrize("args, match", [
    ((torch.zeros(2, 2), [torch.zeros(3, 2)], [torch.zeros(3)]), "top_bias of shape"),
    ((torch.zeros(2), [torch.zeros(3, 2)], []), "equally many"),
    ((torch.zeros(2), [torch.zeros(3, 4)], [torch.zeros(3)]), r"weights\[0\] must have shape"),
    ((torch.zeros(2), [torch.zeros(3, 2)], [torch.zeros(4)]), r"biases\[0\] shape"),
])
def test_bad_construction_raises(args, match):
    with pytest.raises(ValueError, match=match):
        SigmoidBeliefNet(*args)


@pytest.mark.parametrize("x, match", [
    (torch.zeros(3), "binary"), (torch.full((2, 4), 0.5), "binary"), (torch.zeros(2, 5), r"\(n, 4\)")])
def test_bad_log_prob_input_raises(small_net, x, match):
    with pytest.raises(ValueError, match=match):
        small_net.log_prob(x)


def test_bad_sample_count_and_size_raise(small_net):
    with pytest.raises(ValueError, match="n must be"):
        small_net.sample(-1)
    with pytest.raises(ValueError, match="size must be"):
        bars_and_stripes_sbn(size=9)
