"""Tests for dgm_course.gan and the sample-quality measures of dgm_course.evaluation."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from dgm_course import data, gan
from dgm_course.evaluation import (class_coverage, digit_classifier, frechet_distance,
                                   mode_coverage)


def small_gan(pack=1, seed=0):
    return gan.toy_gan(n_hidden=16, n_layers=2, pack=pack, generator=seed)


# --- the theory on a grid -------------------------------------------------------------

def test_value_at_the_optimal_discriminator_is_minus_log4_plus_twice_js():
    x = torch.linspace(-12, 12, 20001, dtype=torch.float64)
    p_data = Normal(1.0, 0.7).log_prob(x).exp()
    p_g = Normal(-0.5, 1.3).log_prob(x).exp()
    d_star = gan.optimal_discriminator(p_data, p_g)
    js = gan.jensen_shannon(x, p_data, p_g)
    assert 0 < js < math.log(2)
    assert gan.game_value(d_star, x, p_data, p_g) == pytest.approx(-math.log(4) + 2 * js, abs=1e-7)
    # any other discriminator does worse
    assert gan.game_value(0.9 * d_star + 0.05, x, p_data, p_g) < -math.log(4) + 2 * js
    # equal densities: D* = 1/2 and the value is -log 4
    assert torch.allclose(gan.optimal_discriminator(p_data, p_data), torch.full_like(x, 0.5))
    assert gan.jensen_shannon(x, p_data, p_data) == pytest.approx(0, abs=1e-12)
    # disjoint supports: JS = log 2
    p, q = (x.abs() < 1).double() / 2, ((x - 5).abs() < 1).double() / 2
    assert gan.jensen_shannon(x, p, q) == pytest.approx(math.log(2), abs=1e-3)


# --- losses against hand computations ---------------------------------------------------

def test_losses_match_hand_computations_and_their_gradients():
    real = torch.tensor([2.0, -1.0, 0.5], requires_grad=True)
    fake = torch.tensor([-3.0, 1.0], requires_grad=True)
    sig = torch.sigmoid
    d_loss = gan.discriminator_loss(real, fake)
    hand = (-torch.log(sig(real.detach()))).mean() - torch.log(1 - sig(fake.detach())).mean()
    assert float(d_loss.detach()) == pytest.approx(float(hand), rel=1e-6)
    d_loss.backward()
    # d/dl of -log sigma(l) = sigma(l) - 1; d/dl of -log(1 - sigma(l)) = sigma(l)
    assert torch.allclose(real.grad, (sig(real.detach()) - 1) / 3)
    assert torch.allclose(fake.grad, sig(fake.detach()) / 2)

    for kind, value, slope in [
        ("minimax", lambda l: torch.log(1 - sig(l)), lambda l: -sig(l)),
        ("non_saturating", lambda l: -torch.log(sig(l)), lambda l: sig(l) - 1),
    ]:
        logits = torch.tensor([-3.0, 1.0], requires_grad=True)
        loss = gan.generator_loss(logits, kind)
        assert float(loss.detach()) == pytest.approx(float(value(logits.detach()).mean()), rel=1e-6)
        loss.backward()
        assert torch.allclose(logits.grad, slope(logits.detach()) / 2)

    scores_r = torch.tensor([1.0, 3.0], requires_grad=True)
    scores_f = torch.tensor([-2.0, 0.0, 5.0], requires_grad=True)
    critic = gan.wasserstein_critic_loss(scores_r, scores_f)
    assert float(critic.detach()) == pytest.approx(1.0 - 2.0)
    critic.backward()
    assert torch.allclose(scores_r.grad, torch.full((2,), -0.5))
    assert torch.allclose(scores_f.grad, torch.full((3,), 1 / 3))
    assert float(gan.wasserstein_generator_loss(torch.tensor([1.0, 2.0]))) == -1.5


def test_the_saturating_loss_vanishes_where_the_non_saturating_one_does_not():
    logits = torch.tensor([-8.0], requires_grad=True)  # D(G(z)) = 3e-4: confidently rejected
    grads = {}
    for kind in ["minimax", "non_saturating"]:
        (g,) = torch.autograd.grad(gan.generator_loss(logits, kind), logits)
        grads[kind] = abs(float(g))
    assert grads["non_saturating"] / grads["minimax"] > 1000


def test_gradient_penalty_matches_a_hand_written_autograd_version():
    torch.manual_seed(0)
    critic = gan.Discriminator(2, n_hidden=8, n_layers=2, generator=1).double()
    real, fake = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    penalty = gan.gradient_penalty(critic, real, fake, generator=3)

    eps = torch.rand(5, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    total = 0.0
    for i in range(5):
        x_hat = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat[None]).sum(), x_hat)
        total = total + (g.norm() - 1) ** 2
    assert float(penalty) == pytest.approx(float(total / 5), rel=1e-10)
    penalty.backward()  # differentiable in the critic's weights (not in its last bias)
    assert float(critic.net[0].weight.grad.abs().sum()) > 0


def test_clip_weights_bounds_every_parameter():
    critic = gan.Discriminator(2, n_hidden=8)
    gan.clip_weights(critic, 0.01)
    assert max(float(p.abs().max()) for p in critic.parameters()) <= 0.01


def test_packed_discriminator_judges_groups_of_rows():
    d = gan.Discriminator(2, n_hidden=8, pack=4, generator=0)
    x = torch.randn(8, 2)
    assert d(x).shape == (2,)
    assert torch.allclose(d(x)[1], d(x[4:])[0])
    assert d.probability(x).shape == (2,)


# --- mode coverage on constructed samples -------------------------------------------------

def test_mode_coverage_counts_exactly():
    means = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    samples = torch.tensor([
        [0.05, 0.0],   # near mode 0, within 3 std (0.3): high quality
        [2.0, 0.29],   # mode 1, high quality
        [2.0, 0.31],   # mode 1, just outside: low quality
        [1.0, 1.0],    # between modes: low quality
        [0.0, 2.5],    # mode 2 but too far: low quality
    ])
    cov = mode_coverage(samples, means, std=0.1)
    assert cov == (2, pytest.approx(2 / 5))
    assert cov.modes == 2 and isinstance(cov.modes, int)
    assert mode_coverage(np.zeros((0, 2)), means, 0.1) == (0, 0.0)
    exact = mode_coverage(means.repeat(3, 1), means, 0.1)
    assert exact == (4, 1.0)


def test_mode_coverage_of_the_true_distributions_follows_the_protocol():
    for name, toy in gan.veegan_toys().items():
        cov = mode_coverage(toy.sample(2500, generator=0), toy.means, float(toy.stds[0]))
        n_modes = len(toy.means)
        assert cov.modes == n_modes
        # within 3 std in 2-D: 1 - exp(-9/2) = 98.9 %
        assert abs(cov.high_quality - (1 - math.exp(-4.5))) < 0.01


# --- training ----------------------------------------------------------------------------

def test_same_seed_same_training_and_samples():
    toy = gan.veegan_toys()["ring"]
    x = toy.sample(2000, generator=0)
    runs = []
    for _ in range(2):
        model = small_gan()
        history = gan.train(model, x, gan.Recipe(n_steps=20, batch_size=64), generator=1,
                            progress=False)
        runs.append((history.steps["d_loss"], model.sample(10, generator=2)))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    assert model.sample(0).shape == (0, 2)
    assert not torch.equal(model.sample(10, generator=2), model.sample(10, generator=3))


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_every_loss_trains_with_k_and_pack(loss):
    toy = gan.veegan_toys()["ring"]
    model = small_gan(pack=2)
    recipe = gan.Recipe(loss=loss, k=3, n_steps=9, batch_size=32)
    history = gan.train(model, toy.sample(500, generator=0), recipe, generator=0, progress=False)
    assert len(history.steps["d_loss"]) == len(history.steps["g_loss"]) == 9
    if loss == "wasserstein_clip":
        assert max(float(p.abs().max()) for p in model.D.parameters()) <= recipe.clip + 1e-7


def test_the_generator_moves_only_every_k_steps():
    model = small_gan()
    step = gan.make_step(model, gan.Recipe(k=2))
    from dgm_course.training import StepContext
    x = gan.veegan_toys()["ring"].sample(64, generator=0)
    before = [p.clone() for p in model.G.parameters()]
    step(x, StepContext(torch.Generator().manual_seed(0), 0, 0, 4))  # step 0: D only
    assert all(torch.equal(a, b) for a, b in zip(before, model.G.parameters()))
    step(x, StepContext(torch.Generator().manual_seed(0), 1, 0, 4))  # step 1: D and G
    assert not all(torch.equal(a, b) for a, b in zip(before, model.G.parameters()))


def test_training_a_small_gan_improves_mode_coverage():
    toy = data.ring_of_gaussians(8, radius=2.0, std=0.1)  # wider modes than VEEGAN's, for speed
    model = gan.toy_gan(n_hidden=64, n_layers=2, generator=0)
    before = mode_coverage(model.sample(2500, generator=1), toy.means, 0.1)
    recipe = gan.Recipe(n_steps=400, batch_size=128, lr=2e-3, final_lr=1.0)
    gan.train(model, toy.sample(400 * 128, generator=2), recipe, generator=3, progress=False)
    after = mode_coverage(model.sample(2500, generator=1), toy.means, 0.1)
    assert before.modes <= 2 and after.modes >= 5
    assert after.high_quality > before.high_quality + 0.2


# --- digits ---------------------------------------------------------------------------

def test_digit_classifier_and_class_coverage():
    from dgm_course.data import load_digits
    clf = digit_classifier()
    assert clf.accuracy_ > 0.9
    x, y = load_digits("test", return_labels=True)
    cov = class_coverage(x / 16)
    assert cov.classes == 10 and cov.fractions.sum() == pytest.approx(1)
    x_train, y_train = load_digits("train", return_labels=True)
    ones = x_train[y_train == 1] / 16  # the classifier has seen these: all called 1
    assert class_coverage(ones).classes == 1
    assert frechet_distance(clf.features(x / 16), clf.features(x / 16)) == pytest.approx(0, abs=1e-6)
    assert frechet_distance(clf.features(x / 16), clf.features(ones)) > 1.0


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 2, generator=g, dtype=torch.float64)
    b = 2 * torch.randn(20000, 2, generator=g, dtype=torch.float64) + torch.tensor([1.0, 0.0])
    # |mu|^2 + tr(I + 4I - 2 * 2I) = 1 + 2 * (1 + 4 - 4) = 3
    assert frechet_distance(a, b) == pytest.approx(3.0, abs=0.15)


# --- bad arguments -----------------------------------------------------------------------

BAD = [
    (lambda: gan.Generator(0), "n_features"),
    (lambda: gan.Generator(2, n_latent=-1), "n_latent"),
    (lambda: gan.Generator(2, output="tanh"), "output"),
    (lambda: gan.Discriminator(2, pack=0), "pack"),
    (lambda: gan.GAN(gan.Generator(2), gan.Discriminator(3)), "n_features"),
    (lambda: gan.Generator(2).sample(-1), "n"),
    (lambda: gan.Generator(2).sample(2.5), "n"),
    (lambda: gan.Discriminator(2).probability([[float("nan"), 0.0]]), "x"),
    (lambda: gan.Discriminator(2, pack=2).probability(torch.zeros(3, 2)), "pack"),
    (lambda: gan.Discriminator(2).probability(torch.zeros(3, 5)), "x"),
    (lambda: gan.discriminator_loss(torch.zeros(2, 1), torch.zeros(2)), "real_logits"),
    (lambda: gan.generator_loss(torch.zeros(2), "wasserstein"), "kind"),
    (lambda: gan.generator_loss(torch.tensor([float("inf")])), "fake_logits"),
    (lambda: gan.clip_weights(gan.Discriminator(2), -0.1), "c"),
    (lambda: gan.gradient_penalty(gan.Discriminator(2), torch.zeros(3, 2), torch.zeros(4, 2)),
     "real and fake"),
    (lambda: gan.Recipe(loss="hinge"), "loss"),
    (lambda: gan.Recipe(k=0), "k"),
    (lambda: gan.Recipe(lr=0), "lr"),
    (lambda: gan.Recipe(penalty=-1), "penalty"),
    (lambda: gan.make_step("gan", gan.Recipe()), "gan"),
    (lambda: gan.train(gan.toy_gan(), torch.zeros(10, 3)), "x"),
    (lambda: gan.optimal_discriminator(torch.ones(3), torch.ones(4)), "p_data and p_g"),
    (lambda: gan.jensen_shannon(torch.zeros(3), -torch.ones(3), torch.ones(3)), "p_data"),
    (lambda: gan.toy_coverage(gan.veegan_toys()["ring"], gan.Recipe(), seed=-1), "seed"),
    (lambda: gan.toy_coverages([], processes=0), "processes"),
    (lambda: gan.toy_coverages([("ring", gan.Recipe())]), r"runs\[0\] must be a tuple"),
    (lambda: gan.toy_coverages([(gan.veegan_toys()["ring"], gan.Recipe(), -1)]),
     r"the seed of runs\[0\]"),
    (lambda: mode_coverage(torch.zeros(3, 2), torch.zeros(2, 3), 0.1), "samples"),
    (lambda: mode_coverage(torch.zeros(3, 2), torch.zeros(2, 2), 0), "std"),
    (lambda: mode_coverage(torch.zeros(3, 2), torch.zeros(0, 2), 0.1), "means"),
    (lambda: class_coverage(torch.full((2, 64), 2.0)), "x"),
    (lambda: class_coverage(torch.zeros(2, 64), min_fraction=1.5), "min_fraction"),
    (lambda: frechet_distance(torch.zeros(5, 3), torch.zeros(5, 2)), "features_b"),
]


@pytest.mark.parametrize("call, name", BAD)
def test_bad_arguments_raise_value_errors_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_rejection_sampling_is_seeded_and_needs_an_unpacked_discriminator():
    model = small_gan()
    a = gan.rejection_sample(model, 50, generator=0, batch_size=256)
    b = gan.rejection_sample(model, 50, generator=0, batch_size=256)
    assert a.shape == (50, 2) and torch.equal(a, b)
    assert gan.rejection_sample(model, 0, generator=0).shape == (0, 2)
    with pytest.raises(ValueError, match="pack"):
        gan.rejection_sample(small_gan(pack=2), 10)
    with pytest.raises(ValueError, match="rejection"):
        gan.Recipe(pack=2, rejection=True)


def test_rejection_sampling_with_the_optimal_discriminator_recovers_p_data():
    # G: N(0, 1) in 2-D (identity on z); D set by hand to the exact log-ratio towards N(1, 0.5^2 I)
    model = gan.GAN(gan.Generator(2, 2, n_hidden=2, n_layers=0), gan.Discriminator(2, n_layers=0))
    with torch.no_grad():
        model.G.net[0].weight.copy_(torch.eye(2))
        model.G.net[0].bias.zero_()

    class ExactRatio(torch.nn.Module):  # log N(x; 1, 0.25 I) - log N(x; 0, I)
        pack = 1

        def forward(self, x):
            target = Normal(1.0, 0.5).log_prob(x).sum(1)
            return target - Normal(0.0, 1.0).log_prob(x).sum(1)

    model.D = ExactRatio()
    x = gan.rejection_sample(model, 4000, generator=0)
    assert torch.allclose(x.mean(0), torch.ones(2), atol=0.05)
    assert torch.allclose(x.std(0), torch.full((2,), 0.5), atol=0.05)


def test_runs_in_two_processes_equal_the_runs_one_by_one():
    toy = gan.veegan_toys()["ring"]
    runs = [(toy, gan.Recipe(n_steps=40, batch_size=64), 0),
            (toy, gan.Recipe(loss="minimax", n_steps=40, batch_size=64), 1),
            (toy, gan.Recipe(n_steps=40, batch_size=64), 2)]
    here = [gan.toy_coverage(toy, recipe, seed=seed) for toy, recipe, seed in runs]
    there = gan.toy_coverages(runs, processes=2)
    assert len(there) == 3
    for (gan_here, cov_here), (gan_there, cov_there) in zip(here, there):
        assert cov_there.modes == cov_here.modes
        assert cov_there.high_quality == pytest.approx(cov_here.high_quality, abs=1e-3)
        for a, b in zip(gan_here.parameters(), gan_there.parameters()):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # different seeds give different generators: the comparison above can fail
    first, last = (list(g.parameters())[0] for g, _ in (there[0], there[2]))
    assert not torch.allclose(first, last)


def test_mode_table_keeps_each_cell_to_its_own_runs():
    recipes = {"short": gan.Recipe(n_steps=20, batch_size=64),
               "short minimax": gan.Recipe(loss="minimax", n_steps=20, batch_size=64)}
    table = gan.mode_table(recipes, seeds=[0, 1], processes=1)
    assert list(table) == [("ring", "short"), ("ring", "short minimax"),
                           ("grid", "short"), ("grid", "short minimax")]
    toys = gan.veegan_toys()
    for (toy_name, name), (modes, hq) in table.items():
        for j, seed in enumerate([0, 1]):
            _, cov = gan.toy_coverage(toys[toy_name], recipes[name], seed=seed)
            assert modes[j] == cov.modes and hq[j] == pytest.approx(100 * cov.high_quality)
