"""dgm_course.vae: the closed-form KL, the bounds against the truth, training, bad arguments."""
import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from dgm_course import vae as V

G = torch.Generator


def _small(likelihood="bernoulli", decoder="mlp", n_latent=2, d=6, **kw):
    return V.VAE(d, n_latent, likelihood=likelihood, decoder=decoder, n_hidden=16,
                 levels=5, generator=0, **kw)


def _data(likelihood, n=7, d=6, seed=0):
    g = G().manual_seed(seed)
    if likelihood == "bernoulli":
        return torch.randint(0, 2, (n, d), generator=g).float()
    if likelihood == "categorical":
        return torch.randint(0, 5, (n, d), generator=g).float()
    return torch.randn(n, d, generator=g)


# ------------------------------------------------------------------------- the KL


def test_gaussian_kl_matches_torch_distributions():
    g = G().manual_seed(0)
    mu_q, lv_q, mu_p, lv_p = (torch.randn(5, 3, generator=g, dtype=torch.float64)
                              for _ in range(4))
    ours = V.gaussian_kl(mu_q, lv_q, mu_p, lv_p)
    ref = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()),
                        Normal(mu_p, (0.5 * lv_p).exp())).sum(-1)
    torch.testing.assert_close(ours, ref)
    standard = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(V.gaussian_kl(mu_q, lv_q), standard)


def test_gaussian_kl_matches_monte_carlo():
    mu, lv = torch.tensor([[0.7, -1.2]]), torch.tensor([[-0.5, 0.4]])
    z = V.reparameterize(mu, lv, n_samples=200_000, generator=0)  # (K, 1, 2)
    q, p = Normal(mu, (0.5 * lv).exp()), Normal(0.0, 1.0)
    terms = (q.log_prob(z) - p.log_prob(z)).sum(-1)[:, 0]  # (K,)
    se = float(terms.std() / math.sqrt(len(terms)))
    assert abs(float(terms.mean()) - float(V.gaussian_kl(mu, lv)[0])) < 4 * se


def test_gaussian_kl_is_zero_only_at_equality():
    mu, lv = torch.randn(4, 3), torch.randn(4, 3)
    assert torch.allclose(V.gaussian_kl(mu, lv, mu, lv), torch.zeros(4), atol=1e-6)
    assert bool((V.gaussian_kl(mu, lv) > 0).all())


def test_reparameterize_moments_and_gradient():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    lv = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)
    z = V.reparameterize(mu, lv, n_samples=100_000, generator=0)
    assert torch.allclose(z.mean((0, 1)), torch.tensor([1.0, -2.0]), atol=0.03)
    assert torch.allclose(z.std((0, 1)), torch.tensor([1.0, 2.0]), atol=0.03)
    z.sum().backward()  # d z / d mu = 1 per draw
    assert torch.allclose(mu.grad, torch.full((1, 2), 100_000.0))
    assert lv.grad is not None and bool(torch.isfinite(lv.grad).all())


# ------------------------------------------------------------------------- the model


@pytest.mark.parametrize("likelihood, decoder", [("bernoulli", "mlp"), ("categorical", "mlp"),
                                                 ("gaussian", "mlp"), ("bernoulli", "made"),
                                                 ("categorical", "made")])
def test_shapes_and_elbo_terms(likelihood, decoder):
    model, x = _small(likelihood, decoder), _data(likelihood)
    out = model.elbo(x, n_samples=3, generator=0)
    for t in out:
        assert t.shape == (7,)
    torch.testing.assert_close(out.total, out.reconstruction - out.kl)
    mu, lv = model.encode(x.numpy())
    torch.testing.assert_close(out.kl, V.gaussian_kl(mu, lv))
    assert model.iwae_bound(x, 5, generator=0).shape == (7,)
    samples = model.sample(4, generator=1)
    assert samples.shape == (4, 6) and torch.equal(samples, model.sample(4, generator=1))
    assert model.sample(0).shape == (0, 6)
    assert model.decode(torch.zeros(3, 2), generator=0).shape == (3, 6)
    if likelihood != "gaussian":
        model._x(samples)  # samples lie on the support


def test_made_decoder_is_autoregressive():
    model = _small("bernoulli", "made")
    x, z = torch.zeros(1, 6, requires_grad=True), torch.zeros(1, 2)
    logits = model.decoder.logits(x, z)
    for i in range(6):
        (grad,) = torch.autograd.grad(logits[0, i], x, retain_graph=True)
        assert bool((grad[0, i:] == 0).all()), f"output {i} sees inputs at or after it"


def test_categorical_decoder_normalised_over_images():
    # p(x | z) sums to one over every image of D = 2 pixels with 5 levels
    model = V.VAE(2, 2, likelihood="categorical", levels=5, n_hidden=8, generator=0,
                  decoder="made")
    grid = torch.cartesian_prod(torch.arange(5.0), torch.arange(5.0))
    z = torch.randn(1, 25, 2, generator=G().manual_seed(0)).expand(1, 25, 2)
    total = torch.logsumexp(model._log_px(grid, z[:, :1].expand(1, 25, 2))[0], 0)
    assert abs(float(total.detach())) < 1e-5


def test_bounds_are_ordered_against_quadrature():
    """ELBO <= IWAE_k <= log p(x) (exact, by quadrature on a 2-D latent grid)."""
    model, x = _small("bernoulli", n_latent=2), _data("bernoulli", n=4)
    log_p = model.log_marginal_quadrature(x, lim=6.0, n=201)
    finer = model.log_marginal_quadrature(x, lim=6.0, n=401)
    torch.testing.assert_close(log_p, finer, atol=1e-4, rtol=0)
    with torch.no_grad():
        elbo = model.elbo(x, n_samples=20_000, generator=0).total.double()
        iwae = {k: model.iwae_bound(x.repeat(200, 1), k, generator=0).reshape(200, 4)
                .mean(0).double() for k in (1, 10, 100)}
    assert bool((elbo < iwae[10]).all() and (iwae[10] < iwae[100]).all())
    assert bool((iwae[100] <= log_p + 1e-3).all())
    torch.testing.assert_close(iwae[1], elbo, atol=0.05, rtol=0)
    estimate = model.log_likelihood_estimate(x, k=20_000, generator=0)
    assert bool(((estimate.log_likelihood - log_p).abs() < 0.02).all())


def test_gradient_estimators_agree_in_mean_and_differ_in_variance():
    model, x = _small("bernoulli", n_latent=2), _data("bernoulli", n=1)
    rep = model.gradient_samples(x, n_draws=20_000, generator=0)
    sf = model.gradient_samples(x, n_draws=20_000, estimator="score_function", generator=1)
    se = (rep.var(0) / len(rep) + sf.var(0) / len(sf)).sqrt()
    assert bool(((rep.mean(0) - sf.mean(0)).abs() < 4.5 * se).all())
    assert float(sf.var(0).sum() / rep.var(0).sum()) > 10


def test_training_raises_the_elbo_and_records_terms():
    x = torch.tensor([[1.0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]]).repeat(32, 1)  # 2 images
    model = _small("bernoulli")
    before = float(model.elbo(x, n_samples=10, generator=0).total.mean().detach())
    history = V.train(model, x, V.Recipe(epochs=30, batch_size=16, lr=1e-2, warmup=0.5,
                                         free_bits=0.1),
                      x_val=x[:8], generator=0, progress=False)
    after = float(model.elbo(x, n_samples=10, generator=0).total.mean().detach())
    assert after > before + 1.0
    for name in ("loss", "reconstruction", "kl", "elbo", "beta", "val_elbo"):
        assert name in history
    assert history.steps["beta"][0] == 0.0 and history.steps["beta"][-1] == 1.0


def test_training_is_reproducible():
    x = _data("categorical", n=32)
    runs = []
    for _ in range(2):
        model = _small("categorical")
        V.train(model, x, V.Recipe(epochs=2, batch_size=8), generator=3, progress=False)
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(*runs)


# ------------------------------------------------------------------------- bad arguments


BAD = [
    (lambda: V.VAE(0, 2), "n_features"),
    (lambda: V.VAE(4, 2, likelihood="poisson"), "likelihood"),
    (lambda: V.VAE(4, 2, decoder="pixelcnn"), "decoder"),
    (lambda: V.VAE(4, 2, likelihood="gaussian", decoder="made"), "decoder='made'"),
    (lambda: _small().elbo(torch.full((2, 6), 0.5)), "binary"),
    (lambda: _small("categorical").elbo(torch.full((2, 6), 7.0)), "levels"),
    (lambda: _small().elbo(torch.zeros(2, 5)), "shape"),
    (lambda: _small("gaussian").elbo(torch.tensor([[float("nan")] * 6])), "finite"),
    (lambda: _small().iwae_bound(torch.zeros(2, 6), 0), "k must"),
    (lambda: _small().elbo(torch.zeros(2, 6), n_samples=0), "n_samples"),
    (lambda: _small().decode(torch.zeros(2, 3)), "z must"),
    (lambda: _small().sample(-1), "n must"),
    (lambda: _small(n_latent=3).log_marginal_quadrature(torch.zeros(1, 6)), "n_latent=2"),
    (lambda: _small().gradient_samples(torch.zeros(2, 6)), "one example"),
    (lambda: _small().gradient_samples(torch.zeros(1, 6), estimator="reinforce"),
     "estimator"),
    (lambda: V.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 2)), "same shape"),
    (lambda: V.gaussian_kl(torch.zeros(2, 3), torch.tensor([[float("nan")] * 3] * 2)),
     "finite"),
    (lambda: V.reparameterize(torch.zeros(2), torch.zeros(3)), "same shape"),
    (lambda: V.Recipe(warmup=1.5), "warmup"),
    (lambda: V.Recipe(free_bits=-1.0), "free_bits"),
    (lambda: V.make_step(torch.nn.Linear(2, 2), V.Recipe()), "VAE"),
]


@pytest.mark.parametrize("call, phrase", BAD, ids=[b[1] for b in BAD])
def test_bad_arguments_raise_value_error(call, phrase):
    with pytest.raises(ValueError, match=phrase):
        call()


def test_numpy_input_gives_the_same_bound():
    model, x = _small("gaussian"), _data("gaussian")
    a = model.elbo(x, generator=0).total
    b = model.elbo(np.asarray(x, dtype=np.float64), generator=0).total
    torch.testing.assert_close(a, b)
