"""The chapter 1 demo: moving its sliders changes the digit it draws."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from dgm_course.demos.linear_factor import PPCADigitDemo, ppca_digit_demo  # noqa: E402
from dgm_course.linear_factor import PPCA, FactorAnalysis  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    return ppca_digit_demo(n_components=5)


@pytest.mark.parametrize("name, value", [("h1", 2.0), ("h2", -1.5), ("sigma2", 0.0)])
def test_moving_a_slider_redraws_the_digit(demo, name, value):
    before, png_before = demo.last_image.copy(), demo.image.value
    demo.sliders[name].value = value
    assert demo.last_image.shape == (8, 8)
    assert not np.allclose(demo.last_image, before)
    assert demo.image.value != png_before and demo.image.value[:4] == b"\x89PNG"


def test_the_digit_moves_along_the_learned_directions(demo):
    for name, value in [("h1", 1.0), ("h2", 0.5), ("sigma2", 0.0)]:
        demo.sliders[name].value = value
    W, b = demo.model.W_, demo.model.b_
    np.testing.assert_allclose(demo.last_image.ravel(), b + 1.0 * W[:, 0] + 0.5 * W[:, 1])
    assert "h₁ = 1, h₂ = 0.5, σ² = 0" in demo._title.get_text()
    demo.reset()


def test_the_noise_slider_starts_at_the_fitted_noise(demo):
    assert demo.sliders["sigma2"].value == pytest.approx(demo.model.sigma2_)
    noise = demo.generate(0.0, 0.0, demo.model.sigma2_) - demo.generate(0.0, 0.0, 0.0)
    np.testing.assert_allclose(noise.ravel(), np.sqrt(demo.model.sigma2_) * demo._eps)


def test_factor_analysis_noise_follows_its_pattern():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 64)) + rng.normal(size=(300, 64)) * np.linspace(0.1, 1, 64)
    fa = FactorAnalysis(2).fit(X)
    np.testing.assert_array_equal(fa.noise_variance_, fa.psi_)
    demo = PPCADigitDemo(fa, vmax=None)
    sigma2 = demo.sliders["sigma2"].value
    assert sigma2 == pytest.approx(fa.psi_.mean())
    noise = demo.generate(0.0, 0.0, sigma2) - demo.generate(0.0, 0.0, 0.0)
    np.testing.assert_allclose(noise.ravel(), np.sqrt(fa.psi_) * demo._eps)


def test_ppca_noise_variance_is_sigma2():
    ppca = PPCA(2).fit(np.random.default_rng(0).normal(size=(50, 10)))
    np.testing.assert_array_equal(ppca.noise_variance_, np.full(10, ppca.sigma2_))


def test_static_figure(demo):
    fig = demo.figure(h_values=(-1.0, 1.0), sigma2_values=(0.0, 0.01))
    assert len(fig.axes) == 2 * 4
    matplotlib.pyplot.close(fig)


def test_demo_rejects_a_model_that_does_not_fit_the_image():
    model = PPCA(2).fit(np.random.default_rng(0).normal(size=(50, 10)))
    with pytest.raises(ValueError, match="image_shape"):
        PPCADigitDemo(model)
    with pytest.raises(ValueError, match="fitted PPCA"):
        PPCADigitDemo(PPCA(2))
