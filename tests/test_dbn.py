"""Tests of dgm_course.dbn: greedy training, the up-pass, ancestral sampling and unrolling."""
import pytest
import torch

from dgm_course.data import load_digits
from dgm_course.dbn import DBN
from dgm_course.evaluation import all_binary_states


@pytest.fixture(scope="module")
def digits():
    return load_digits("train", binary=True)[:200]


@pytest.fixture(scope="module")
def trained(digits):
    dbn = DBN([64, 24, 12], generator=0)
    histories = dbn.fit(digits, epochs=5, batch_size=20, lr=0.1, generator=0)
    return dbn, histories


def test_greedy_training_fits_every_layer(trained):
    dbn, histories = trained
    assert len(histories) == 2
    for history in histories:
        errors = history["reconstruction_error"]
        assert len(errors) == 5 and errors[-1] < errors[0]


def test_propagating_means_trains_the_upper_rbm_on_probabilities(digits):
    dbn = DBN([64, 10, 6], generator=0)
    dbn.fit(digits, propagate="mean", epochs=2, generator=0, init_visible_bias=False,
            lr_schedule="constant")
    # replay the upper RBM's training on the probabilities P(h1 = 1 | v): it must give the
    # same weights (training it on binary samples, or drawing them, would not)
    replay = DBN([64, 10, 6], generator=0)
    replay.rbms[0].load_state_dict(dbn.rbms[0].state_dict())
    x = replay.rbms[0].p_h(digits)
    assert not bool(((x == 0) | (x == 1)).all())
    replay.rbms[1].fit(x, epochs=2, generator=_generator_after_first_layer(digits),
                       init_visible_bias=False, lr_schedule="constant", allow_probabilities=True)
    torch.testing.assert_close(replay.rbms[1].W, dbn.rbms[1].W)


def _generator_after_first_layer(digits):
    """The shared generator of ``DBN([64, 10, 6]).fit(digits, epochs=2, generator=0)`` after
    the first RBM's training (which is all that drew from it before the second RBM)."""
    gen = torch.Generator().manual_seed(0)
    DBN([64, 10, 6], generator=0).rbms[0].fit(digits, epochs=2, generator=gen,
                                              init_visible_bias=False, lr_schedule="constant")
    return gen


def test_transform_is_the_chained_mean_field_up_pass(trained, digits):
    dbn, _ = trained
    expected = dbn.rbms[1].p_h(dbn.rbms[0].p_h(digits))
    torch.testing.assert_close(dbn.transform(digits), expected)
    torch.testing.assert_close(dbn.transform(digits, n_layers=1), dbn.rbms[0].p_h(digits))
    assert torch.equal(dbn.transform(digits, n_layers=0), digits)
    torch.testing.assert_close(dbn.transform(digits.numpy()), expected)  # arrays too


def test_ancestral_samples_are_binary_seeded_images(trained):
    dbn, _ = trained
    samples = dbn.sample(7, n_steps=20, generator=3)
    assert samples.shape == (7, 64)
    assert set(samples.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(samples, dbn.sample(7, n_steps=20, generator=3))
    means = dbn.sample(7, n_steps=20, generator=3, mean=True)
    assert bool(((means > 0) & (means < 1)).all())
    v, latents = dbn.sample(7, n_steps=20, generator=3, return_latent=True)
    assert torch.equal(v, samples) and [tuple(h.shape) for h in latents] == [(7, 24), (7, 12)]
    assert dbn.sample(0).shape == (0, 64)
    with pytest.raises(TypeError):
        dbn.sample(3, 10)  # n_steps is keyword-only


def test_ancestral_sampling_is_the_top_rbm_then_the_directed_layer(trained):
    dbn, _ = trained
    v, (h1, h2) = dbn.sample(5, n_steps=4, generator=1, return_latent=True)
    gen = torch.Generator().manual_seed(1)
    top_v, top_h = dbn.rbms[1].sample(5, n_steps=4, generator=gen, return_latent=True)
    assert torch.equal(h1, top_v) and torch.equal(h2, top_h)
    assert torch.equal(v, torch.bernoulli(dbn.rbms[0].p_v(h1), generator=gen))


def test_single_rbm_dbn_samples_means():
    dbn = DBN([5, 3], generator=0)
    means = dbn.sample(4, n_steps=3, generator=0, mean=True)
    assert means.shape == (4, 5)
    torch.testing.assert_close(means, dbn.rbms[0].sample(4, n_steps=3, generator=0, mean=True))


def test_unrolled_autoencoder_is_the_mean_field_up_down_pass(trained, digits):
    dbn, _ = trained
    autoencoder = dbn.to_autoencoder()
    assert len(autoencoder) == 8
    top = dbn.transform(digits)
    expected = dbn.rbms[0].p_v(dbn.rbms[1].p_v(top))
    with torch.no_grad():
        torch.testing.assert_close(autoencoder(digits), expected)
    # untied copies: training the autoencoder leaves the DBN alone
    autoencoder[0].weight.data.zero_()
    assert dbn.rbms[0].W.abs().sum() > 0


def test_unrolled_classifier_starts_from_the_features(trained, digits):
    dbn, _ = trained
    classifier = dbn.to_classifier(10, generator=0)
    with torch.no_grad():
        torch.testing.assert_close(classifier[:-1](digits), dbn.transform(digits))
        assert classifier(digits).shape == (200, 10)
    again = dbn.to_classifier(10, generator=0)
    assert torch.equal(classifier[-1].weight, again[-1].weight)


def test_exact_log_prob_and_bound_of_a_two_layer_dbn(digits):
    dbn = DBN([64, 6, 64], generator=0)
    bottom, top = dbn.rbms
    bottom.fit(digits, epochs=3, generator=0)
    with torch.no_grad():  # the top RBM is the bottom one upside down: the DBN is the bottom RBM
        top.W.copy_(bottom.W.T), top.b.copy_(bottom.c), top.c.copy_(bottom.b)
    assert top.W.shape == (6, 64)
    log_p, bound = dbn.log_prob_and_bound(digits[:40])
    torch.testing.assert_close(log_p, bottom.log_prob(digits[:40]).double(), atol=1e-4, rtol=0)
    torch.testing.assert_close(bound, log_p, atol=1e-9, rtol=0)  # Q is the exact posterior: tight
    top.fit(bottom.sample_h(digits, generator=0), epochs=3, generator=0)
    log_p, bound = dbn.log_prob(digits[:40]), dbn.elbo(digits[:40])
    torch.testing.assert_close((log_p, bound), dbn.log_prob_and_bound(digits[:40]))
    assert bool((bound <= log_p + 1e-9).all()) and bool((bound < log_p - 1e-6).any())


def test_log_prob_normalises_on_a_tiny_dbn():
    dbn = DBN([5, 3, 4], generator=0)
    for rbm in dbn.rbms:
        with torch.no_grad():
            rbm.W.normal_(generator=torch.Generator().manual_seed(1))
    log_p, bound = dbn.log_prob_and_bound(all_binary_states(5))
    assert float(torch.logsumexp(log_p, 0)) == pytest.approx(0.0, abs=1e-10)
    assert bool((bound <= log_p + 1e-12).all())


NAN = torch.zeros(3, 64)
NAN[0, 5] = float("nan")


@pytest.mark.parametrize("call, match", [
    (lambda: DBN([64]), "at least two layer sizes"),
    (lambda: DBN(64), "at least two layer sizes"),
    (lambda: DBN([64, 0]), r"layer_sizes\[1\] must be a positive integer"),
    (lambda: DBN([64, 8]).fit(torch.full((30, 64), 0.5)), "data must be binary"),
    (lambda: DBN([64, 8]).fit(NAN), "data must be finite"),
    (lambda: DBN([64, 8]).fit(torch.zeros(30, 64), propagate="max"), "propagate must be one of"),
    (lambda: DBN([64, 8]).fit(torch.zeros(30, 64), lr=-1.0), "lr must be a positive number"),
    (lambda: DBN([64, 8]).transform(torch.zeros(3, 10)), r"v must have shape \(n, 64\)"),
    (lambda: DBN([64, 8]).transform(NAN), "v must be finite"),
    (lambda: DBN([64, 8]).transform(torch.zeros(3, 64), n_layers=2), "n_layers must be an integer from 0 to 1"),
    (lambda: DBN([64, 8]).sample(-1), "n must be a non-negative integer"),
    (lambda: DBN([64, 8]).sample(2, n_steps=-5), "n_steps must be a non-negative integer"),
    (lambda: DBN([64, 8]).sample(2, mean="yes"), "mean must be True or False"),
    (lambda: DBN([64, 8]).to_classifier(0), "n_classes must be a positive integer"),
    (lambda: DBN([64, 8, 4, 2]).log_prob_and_bound(torch.zeros(2, 64)), "exactly two RBMs"),
    (lambda: DBN([64, 8, 4, 2]).elbo(torch.zeros(2, 64)), "exactly two RBMs"),
    (lambda: DBN([64, 30, 2]).log_prob(torch.zeros(2, 64)), "enumerates all 2\\*\\*30"),
    (lambda: DBN([64, 8, 2]).log_prob_and_bound(torch.full((2, 64), 0.5)), "v must be binary"),
    (lambda: DBN([64, 8, 2]).elbo(NAN), "v must be finite"),
])
def test_bad_arguments_raise_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
