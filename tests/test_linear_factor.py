"""Tests of dgm_course.linear_factor: PPCA and factor analysis against scikit-learn, SciPy,
brute-force Gaussian conditioning and their own EM properties."""
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA
from sklearn.decomposition import FactorAnalysis as SkFactorAnalysis
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from dgm_course.data import dequantize
from dgm_course.linear_factor import (PPCA, FactorAnalysis, fa_em_step, mean_log_likelihood,
                                      ppca_closed_form, ppca_em_step)


def make_data(n=400, d=7, q=2, noise=(0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0), seed=0, data_seed=None):
    """x = W h + b + noise with a distinct noise level per feature; ``seed`` draws W and b,
    ``data_seed`` (default: ``seed``) the examples."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, q)) * 2
    b = rng.normal(size=d)
    if data_seed is not None:
        rng = np.random.default_rng([seed, data_seed])
    return rng.normal(size=(n, q)) @ W.T + b + rng.normal(size=(n, d)) * np.asarray(noise[:d])


@pytest.fixture(scope="module")
def X():
    return make_data()


def marginal(model):
    return model.W_ @ model.W_.T, np.mean(model.noise_variance_)


# ----------------------------------------------------------------------------- PPCA


@pytest.mark.parametrize("q", [1, 2, 4])
def test_ppca_is_at_least_as_likely_as_sklearn_pca(X, q):
    ours = PPCA(q).fit(X).score(X)
    theirs = PCA(n_components=q).fit(X).score(X)  # N-1 covariance: not quite the maximum
    assert ours >= theirs
    assert ours - theirs < 1e-3 * abs(ours)


def test_ppca_closed_form_matches_sklearn_parameters(X):
    ours, theirs = PPCA(2).fit(X), PCA(2).fit(X)
    n = X.shape[0]
    assert np.isclose(ours.sigma2_, theirs.noise_variance_ * (n - 1) / n, rtol=1e-10)
    np.testing.assert_allclose(ours.eigenvalues_[:2], theirs.explained_variance_ * (n - 1) / n, rtol=1e-10)


def test_ppca_em_converges_to_the_closed_form(X):
    closed = PPCA(2).fit(X)
    em = PPCA(2, method="em", random_state=3).fit(X)
    WWt_c, s_c = marginal(closed)
    WWt_e, s_e = marginal(em)
    np.testing.assert_allclose(WWt_e, WWt_c, atol=1e-5 * np.abs(WWt_c).max())
    assert np.isclose(s_e, s_c, rtol=1e-6)
    assert np.isclose(em.loglike_[-1], closed.loglike_[-1], rtol=1e-10)
    assert (np.diff(em.loglike_) >= -1e-10 * np.abs(em.loglike_[1:])).all()
    assert not np.allclose(em.W_, closed.W_)  # EM's W is a rotation of the closed form's


def test_ppca_closed_form_is_a_fixed_point_of_em(X):
    S = np.cov(X.T, bias=True)
    W, sigma2 = ppca_closed_form(S, 3)
    W2, sigma2_2 = ppca_em_step(S, W, sigma2)
    np.testing.assert_allclose(W2 @ W2.T, W @ W.T, atol=1e-9)
    assert np.isclose(sigma2_2, sigma2)


def test_ppca_is_rotation_invariant(X):
    model = PPCA(2).fit(X)
    before = model.score_samples(X[:5])
    theta = 0.7
    model.W_ = model.W_ @ np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    np.testing.assert_allclose(model.score_samples(X[:5]), before)


# ----------------------------------------------------------------------------- factor analysis


def test_fa_matches_sklearn(X):
    ours = FactorAnalysis(2).fit(X)
    theirs = SkFactorAnalysis(2, svd_method="lapack", tol=1e-8, max_iter=10_000).fit(X)
    assert abs(ours.score(X) - theirs.score(X)) < 1e-5 * abs(ours.score(X))
    np.testing.assert_allclose(ours.get_covariance(), theirs.get_covariance(), atol=1e-3)
    np.testing.assert_allclose(ours.psi_, theirs.noise_variance_, rtol=1e-2, atol=1e-4)


def test_fa_log_likelihood_never_decreases_and_matches_score(X):
    fa = FactorAnalysis(3).fit(X)
    assert (np.diff(fa.loglike_) >= -1e-8 * np.abs(fa.loglike_[1:])).all()
    assert fa.n_iter_ == len(fa.loglike_) - 1
    assert np.isclose(fa.loglike_[-1], fa.score(X), rtol=1e-12)


def test_fa_recovers_per_feature_noise_and_beats_ppca():
    noise = np.array([0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0])
    X = make_data(n=5000, noise=noise, seed=1)
    test = make_data(n=5000, noise=noise, seed=1, data_seed=2)  # held out: same W and b, new examples
    fa, ppca = FactorAnalysis(2).fit(X), PPCA(2).fit(X)
    np.testing.assert_allclose(np.sqrt(fa.psi_), noise, rtol=0.1)
    assert fa.score(test) > ppca.score(test) + 0.05


def test_fa_warns_when_max_iter_is_reached(X):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fa = FactorAnalysis(2, max_iter=2).fit(X)
    assert fa.n_iter_ == 2


def test_fa_em_step_floors_psi():
    S = np.diag([1.0, 1.0, 0.0])
    _, psi = fa_em_step(S, np.ones((3, 1)), np.ones(3), psi_min=1e-3)
    assert psi.min() >= 1e-3


# ----------------------------------------------------------------------------- shared methods


@pytest.fixture(scope="module", params=["ppca", "fa"])
def fitted(request, X):
    return (PPCA(2) if request.param == "ppca" else FactorAnalysis(2)).fit(X)


def test_score_samples_matches_scipy(fitted, X):
    expected = multivariate_normal(fitted.b_, fitted.get_covariance()).logpdf(X[:20])
    np.testing.assert_allclose(fitted.score_samples(X[:20]), expected, rtol=1e-10)
    assert np.isclose(fitted.score(X), fitted.score_samples(X).mean())


def test_mean_log_likelihood_is_the_mean_of_score_samples(fitted, X):
    S = np.cov(X.T, bias=True)
    assert np.isclose(mean_log_likelihood(S, fitted.get_covariance()), fitted.score(X))


def test_posterior_matches_conditioning_the_joint(fitted, X):
    W, C = fitted.W_, fitted.get_covariance()
    q = W.shape[1]
    # joint of (h, x): mean (0, b), covariance [[I, W^T], [W, C]]; condition h on x
    mean_brute = (X[:10] - fitted.b_) @ np.linalg.solve(C, W)  # (n, q)
    cov_brute = np.eye(q) - W.T @ np.linalg.solve(C, W)
    mean, cov = fitted.posterior(X[:10])
    np.testing.assert_allclose(mean, mean_brute, atol=1e-10)
    np.testing.assert_allclose(cov, cov_brute, atol=1e-10)
    np.testing.assert_allclose(fitted.transform(X[:10]), mean)


def test_samples_have_the_model_moments(fitted):
    n = 200_000
    x, h = fitted.sample(n, generator=0, return_latent=True)
    assert x.shape == (n, fitted.W_.shape[0]) and h.shape == (n, fitted.W_.shape[1])
    C = fitted.get_covariance()
    se = np.sqrt(np.diag(C) / n)
    assert (np.abs(x.mean(0) - fitted.b_) < 5 * se).all()
    # the standard error of a sample covariance entry is about sqrt((C_ii C_jj + C_ij^2) / n)
    se_cov = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / n)
    assert (np.abs(np.cov(x.T) - C) < 5 * se_cov).all()


def test_sample_is_reproducible(fitted):
    gen = torch.Generator().manual_seed(1)
    np.testing.assert_array_equal(fitted.sample(5, generator=1), fitted.sample(5, generator=gen))
    assert fitted.sample(0).shape == (0, fitted.W_.shape[0])
    with pytest.raises(TypeError):
        fitted.sample(5, 1)  # the generator is keyword-only


def test_noise_variance_and_log_prob(fitted, X):
    d = X.shape[1]
    assert fitted.noise_variance_.shape == (d,)
    np.testing.assert_allclose(fitted.get_covariance() - fitted.W_ @ fitted.W_.T,
                               np.diag(fitted.noise_variance_), atol=1e-12)
    log_p = fitted.log_prob(torch.tensor(X[:6]))
    assert isinstance(log_p, torch.Tensor) and log_p.dtype == torch.float64
    assert log_p.shape == (6,) and not log_p.requires_grad
    np.testing.assert_allclose(log_p.numpy(), fitted.score_samples(X[:6]))
    assert fitted.log_prob(np.ones((0, d))).shape == (0,)


def test_noise_variance_matches_sklearn(X):
    ppca, fa = PPCA(2).fit(X), FactorAnalysis(2).fit(X)
    assert np.allclose(ppca.noise_variance_, ppca.sigma2_)
    np.testing.assert_array_equal(fa.noise_variance_, fa.psi_)
    sk = SkFactorAnalysis(2, svd_method="lapack", tol=1e-10, max_iter=10_000).fit(X)
    np.testing.assert_allclose(fa.noise_variance_, sk.noise_variance_, rtol=1e-2, atol=1e-4)


def test_inverse_transform_of_the_posterior_mean_reconstructs(fitted, X):
    recon = fitted.inverse_transform(fitted.transform(X))
    assert recon.shape == X.shape
    assert ((recon - X) ** 2).mean() < ((X - X.mean(0)) ** 2).mean()


@pytest.mark.parametrize("Model", [PPCA, FactorAnalysis])
def test_torch_and_numpy_inputs_agree(Model, X):
    a = Model(2).fit(X)
    b = Model(2).fit(torch.tensor(X))
    c = Model(2).fit(X.tolist())
    np.testing.assert_allclose(b.score_samples(torch.tensor(X[:5])), a.score_samples(X[:5]))
    np.testing.assert_allclose(c.get_covariance(), a.get_covariance())
    assert isinstance(b.score_samples(torch.tensor(X[:5])), np.ndarray)
    f32 = Model(2).fit(torch.tensor(X, dtype=torch.float32))
    assert f32.W_.dtype == np.float64


def test_dequantize():
    x = torch.tensor([[0.0, 16.0], [3.0, 8.0]])
    y = dequantize(x, generator=0)
    assert y.dtype == torch.float64 and bool(((y * 17 - x) >= 0).all() and ((y * 17 - x) < 1).all())
    assert torch.equal(y, dequantize(x, generator=0))
    with pytest.raises(ValueError, match="integer levels 0..16"):
        dequantize(np.array([[17.0, 0.5]]))


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("Model", [PPCA, FactorAnalysis])
@pytest.mark.parametrize("kwargs, data, match", [
    ({}, np.ones(10), r"X must have 2 dimension\(s\)"),
    ({}, np.array([[1.0, np.nan, 2.0], [0.0, 1.0, 2.0]]), "X must be finite, got 1 NaN"),
    ({}, np.ones((1, 5)), r"X must hold at least 2 example\(s\), got 1"),
    ({}, "abc", "X must be a tensor or an array of numbers"),
    ({"n_components": 0}, None, "n_components must be a positive integer"),
    ({"n_components": 2.0}, None, "n_components must be a positive integer, got 2.0"),
    ({"n_components": 7}, None, "between 1 and n_features - 1 = 6"),
    ({"n_components": 9}, None, "between 1 and n_features - 1 = 6"),
    ({"max_iter": 0}, None, "max_iter"),
    ({"tol": -1.0}, None, "tol must be a non-negative"),
])
def test_bad_arguments_raise(Model, kwargs, data, match):
    data = make_data(n=50) if data is None else data
    with pytest.raises(ValueError, match=match):
        Model(**{"n_components": 2, **kwargs}).fit(data)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "svd"}, "method must be one of 'closed_form', 'em', got 'svd'"),
    ({"method": "em", "random_state": -1}, "random_state must be a non-negative integer"),
])
def test_bad_ppca_method(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PPCA(2, **kwargs).fit(make_data(n=50))


def test_bad_psi_min():
    with pytest.raises(ValueError, match="psi_min must be a positive"):
        FactorAnalysis(2, psi_min=0).fit(make_data(n=50))


def test_ppca_rejects_data_of_too_low_rank():
    X = np.random.default_rng(0).normal(size=(3, 6))  # rank 2 after centring
    with pytest.raises(ValueError, match="rank"):
        PPCA(2).fit(X)


@pytest.mark.parametrize("call, match", [
    (lambda m: m.score_samples(np.ones((3, 5))), r"X must have shape \(n, 7\), got \(3, 5\)"),
    (lambda m: m.log_prob(torch.ones(3, 5)), r"X must have shape \(n, 7\)"),
    (lambda m: m.score_samples(np.full((2, 7), np.nan)), "X must be finite, got 14 NaN"),
    (lambda m: m.log_prob(np.full((2, 7), np.nan)), "X must be finite"),
    (lambda m: m.score(np.ones((0, 7))), r"X must hold at least 1 example\(s\)"),
    (lambda m: m.posterior(np.ones(7)), r"X must have 2 dimension\(s\)"),
    (lambda m: m.inverse_transform(np.ones((3, 3))), r"H must have shape \(n, 2\)"),
    (lambda m: m.sample(3, return_latent="yes"), "return_latent must be True or False"),
    (lambda m: m.sample(-1), "n must be a non-negative integer, got -1"),
    (lambda m: m.sample(2.5), "n must be a non-negative integer, got 2.5"),
])
def test_bad_arguments_to_a_fitted_model(fitted, call, match):
    with pytest.raises(ValueError, match=match):
        call(fitted)


@pytest.mark.parametrize("Model", [PPCA, FactorAnalysis])
@pytest.mark.parametrize("method", ["score_samples", "score", "transform", "posterior", "get_covariance"])
def test_methods_before_fit_raise(Model, method):
    args = () if method == "get_covariance" else (np.ones((2, 3)),)
    with pytest.raises(NotFittedError, match="call fit first"):
        getattr(Model(2), method)(*args)
    with pytest.raises(ValueError):  # NotFittedError is a ValueError
        Model(2).sample(3)


def test_init_only_stores_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PPCA(n_components=-5, method="nonsense")  # checked in fit, not here
    assert model.n_components == -5
