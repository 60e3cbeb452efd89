"""Tests of dgm_course.dae: corruption, the loss, the score against the truth, the chain."""
import math

import numpy as np
import pytest
import torch

from dgm_course import dae, data
from dgm_course.utils import seeded_init

BINARY = (torch.rand(50, 6, generator=torch.Generator().manual_seed(0)) < 0.4).float()


def test_gaussian_corruption_adds_sigma_times_standard_normal_noise():
    x = torch.zeros(20000, 2, dtype=torch.float64)
    x_tilde = dae.corrupt(x, "gaussian", 0.3, generator=0)
    assert x_tilde.dtype == torch.float64 and torch.equal(x, torch.zeros_like(x))
    assert abs(float(x_tilde.std()) - 0.3) < 0.01 and abs(float(x_tilde.mean())) < 0.01
    again = dae.corrupt(x, "gaussian", 0.3, generator=0)
    assert torch.equal(x_tilde, again)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    torch.testing.assert_close(x_tilde, 0.3 * noise)


def test_salt_and_pepper_replaces_a_fraction_noise_by_fair_bits():
    x = torch.zeros(20000, 8)
    x_tilde = dae.corrupt(x, "salt_and_pepper", 0.4, generator=0)
    assert set(x_tilde.unique().tolist()) <= {0.0, 1.0}
    # a pixel changes with probability noise / 2 (the random bit may equal the old one)
    assert abs(float(x_tilde.mean()) - 0.2) < 0.01
    ones = dae.corrupt(torch.ones(20000, 8), "salt_and_pepper", 0.4, generator=0)
    assert abs(float(1 - ones.mean()) - 0.2) < 0.01
    assert torch.equal(dae.corrupt(x, "salt_and_pepper", 0.0, generator=1), x)


def test_corruption_accepts_numpy_and_leaves_the_input_unchanged():
    x = BINARY.numpy().copy()
    out = dae.corrupt(x, "salt_and_pepper", 0.5, generator=0)
    assert isinstance(out, torch.Tensor) and out.shape == x.shape
    np.testing.assert_array_equal(x, BINARY.numpy())


def test_score_of_the_optimal_denoiser_is_the_blurred_score():
    """Tweedie: E[x | x~] = x~ + sigma^2 grad log p_sigma(x~). Checked by Monte Carlo on a
    1-component mixture, where p_sigma is N(mu, (s^2 + sigma^2) I)."""
    toy = data.GaussianMixture2D([[1.0, -0.5]], 0.4)
    blurred = dae.blurred(toy, 0.3)
    assert torch.allclose(blurred.stds, torch.tensor([0.5], dtype=torch.float64))
    x_tilde = torch.tensor([[1.5, 0.0]], dtype=torch.float64)
    # the posterior mean of x given x~ for a Gaussian prior: shrink towards mu
    posterior_mean = toy.means + 0.4**2 / 0.5**2 * (x_tilde - toy.means)
    torch.testing.assert_close(x_tilde + 0.3**2 * blurred.score(x_tilde), posterior_mean)


def test_a_trained_dae_estimates_the_score():
    torch.manual_seed(0)
    toy = data.toy_distribution("ring", std=0.3)
    model = dae.DenoisingAutoencoder(2, noise=0.2, n_hidden=64, generator=0)
    history = dae.train(model, toy.sample(20000, generator=1),
                        dae.Recipe(n_steps=300, batch_size=512, lr=3e-3), generator=0,
                        progress=False)
    assert history["loss"][-1] < history["loss"][0]
    points = toy.sample(2000, generator=2)
    cos = torch.nn.functional.cosine_similarity(model.score(points), toy.score(points).float())
    assert float(cos.mean()) > 0.85
    # the learned variance of P(x | x~) is near the posterior's, sigma^2 s^2 / (s^2 + sigma^2)
    s_opt = math.sqrt(0.2**2 * 0.3**2 / (0.3**2 + 0.2**2))
    assert abs(model.s - s_opt) < 0.03


def test_loss_is_the_negative_log_likelihood_of_x_given_its_corruption():
    model = dae.DenoisingAutoencoder(6, corruption="salt_and_pepper", noise=0.3, n_hidden=8,
                                     generator=0)
    x_tilde = dae.corrupt(BINARY, "salt_and_pepper", 0.3, generator=5)
    probs = torch.sigmoid(model(x_tilde))
    nll = -torch.distributions.Bernoulli(probs=probs).log_prob(BINARY).sum(1).mean()
    torch.testing.assert_close(model.loss(BINARY, generator=5), nll, rtol=1e-5, atol=1e-5)
    gauss = dae.DenoisingAutoencoder(2, noise=0.5, n_hidden=8, generator=0)
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    x_tilde = dae.corrupt(x, "gaussian", 0.5, generator=3)
    normal = torch.distributions.Normal(gauss(x_tilde), gauss.log_s.exp())
    torch.testing.assert_close(gauss.loss(x, generator=3), -normal.log_prob(x).sum(1).mean())


def test_walkback_loss_is_differentiable_and_reproducible():
    model = dae.DenoisingAutoencoder(6, corruption="salt_and_pepper", noise=0.3, n_hidden=8,
                                     generator=0)
    a = model.loss(BINARY, walkback=3, generator=0)
    b = model.loss(BINARY, walkback=3, generator=0)
    assert torch.equal(a, b) and a.requires_grad
    assert not torch.equal(a, model.loss(BINARY, walkback=0, generator=0))


def test_sample_protocol():
    for model, width in [(dae.DenoisingAutoencoder(2, noise=0.3, n_hidden=8, generator=0), 2),
                         (dae.DenoisingAutoencoder(6, corruption="salt_and_pepper", noise=0.3,
                                                   n_hidden=8, generator=0), 6)]:
        a = model.sample(5, n_steps=3, generator=0)
        assert a.shape == (5, width) and torch.equal(a, model.sample(5, n_steps=3, generator=0))
        assert model.sample(0, n_steps=3, generator=0).shape == (0, width)
        chain = model.sample(4, n_steps=3, generator=1, return_chain=True)
        assert chain.shape == (4, 4, width)
        start = chain[0].numpy()
        again = model.sample(4, n_steps=0, start=start)
        np.testing.assert_array_equal(again.numpy(), start)
    binary = model.sample(50, n_steps=2, generator=0)
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    means = model.sample(50, n_steps=2, generator=0, return_mean=True)
    assert float(means.min()) >= 0 and float(means.max()) <= 1 and not torch.equal(means, binary)


def test_the_chain_leaves_its_start_unchanged():
    model = dae.DenoisingAutoencoder(6, corruption="salt_and_pepper", noise=0.3, n_hidden=8,
                                     generator=0)
    start = BINARY[:5].clone()
    model.sample(5, n_steps=4, start=start, generator=0)
    assert torch.equal(start, BINARY[:5])


def test_seeded_init_fixes_the_weights():
    a = dae.DenoisingAutoencoder(4, generator=3).state_dict()
    b = dae.DenoisingAutoencoder(4, generator=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    layer = seeded_init(torch.nn.Linear(5, 1, bias=False), 0)
    assert float(layer.weight.abs().max()) <= 1 / math.sqrt(5)


BAD = [
    (lambda: dae.DenoisingAutoencoder(0), "n_features must be a positive integer"),
    (lambda: dae.DenoisingAutoencoder(2, corruption="mask"), "corruption must be one of"),
    (lambda: dae.DenoisingAutoencoder(2, noise=-0.1), "noise must be a positive number"),
    (lambda: dae.DenoisingAutoencoder(2, noise=float("nan")), "noise must be a positive"),
    (lambda: dae.DenoisingAutoencoder(2, corruption="salt_and_pepper", noise=1.5),
     "noise must be a probability"),
    (lambda: dae.corrupt(torch.full((2, 2), 0.5), "salt_and_pepper", 0.1),
     "x must be binary"),
    (lambda: dae.corrupt([[float("nan"), 0.0]], "gaussian", 0.1), "x must be finite"),
    (lambda: dae.corrupt([[0.0, 0.0]], "gaussian", 0.0), "noise must be a positive number"),
    (lambda: dae.DenoisingAutoencoder(2).score([[0.0, 1.0, 2.0]]), r"x must have shape \(n, 2\)"),
    (lambda: dae.DenoisingAutoencoder(2, corruption="salt_and_pepper").score([[0.0, 1.0]]),
     "score needs Gaussian corruption"),
    (lambda: dae.DenoisingAutoencoder(2).loss([[0.0, 1.0]], walkback=-1),
     "walkback must be a non-negative integer"),
    (lambda: dae.DenoisingAutoencoder(2).sample(-1), "n must be a non-negative integer"),
    (lambda: dae.DenoisingAutoencoder(2).sample(2, n_steps=1.5),
     "n_steps must be a non-negative integer"),
    (lambda: dae.DenoisingAutoencoder(2).sample(2, start=[[0.0, 0.0]]), "start must have n=2"),
    (lambda: dae.DenoisingAutoencoder(2).sample(2, return_chain="yes"),
     "return_chain must be True or False"),
    (lambda: dae.Recipe(walkback=-2), "walkback must be a non-negative integer"),
    (lambda: dae.Recipe(lr=0), "lr must be a positive number"),
    (lambda: dae.train(torch.nn.Linear(2, 2), [[0.0, 0.0]]), "dae must be a DenoisingAutoencoder"),
    (lambda: dae.train(dae.DenoisingAutoencoder(2), torch.zeros(0, 2)), "at least 1 example"),
    (lambda: dae.blurred(data.toy_distribution("ring"), 0), "sigma must be a positive number"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m for _, m in BAD])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
