"""The chapter 2 Langevin demo: moving its controls changes what it draws."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from dgm_course.demos.ebm import langevin_demo  # noqa: E402
from dgm_course.mcmc import mala  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    return langevin_demo(n_chains=100, grid=40, max_steps=200)


def test_sliders_change_the_drawing(demo):
    assert set(demo.sliders) == {"step_size", "temperature", "n_steps", "sampler"}
    samples, image = demo.last_samples.copy(), demo.last_image.copy()
    assert samples.shape == (100, 2) and image.shape == (40, 40)

    demo.sliders["step_size"].value = 0.1
    assert not np.allclose(demo.last_samples, samples)
    samples = demo.last_samples.copy()

    demo.sliders["temperature"].value = 2.0
    assert not np.allclose(demo.last_image, image)  # the tempered density is flatter
    assert demo.last_image.max() < image.max()
    assert not np.allclose(demo.last_samples, samples)

    demo.sliders["n_steps"].value = 0
    np.testing.assert_allclose(demo.last_samples, demo.x0.numpy())  # no steps: the starting points

    demo.sliders["n_steps"].value = 50
    ula = demo.last_samples.copy()
    assert demo.last_accept_rate == 1.0
    demo.sliders["sampler"].value = "MALA"
    assert not np.allclose(demo.last_samples, ula)
    assert 0 < demo.last_accept_rate < 1
    demo.reset()


def test_steps_slice_one_cached_chain(demo):
    demo.clear_cache()
    with demo.hold():
        demo.sliders["sampler"].value = "MALA"
        demo.sliders["step_size"].value = 0.2
        demo.sliders["n_steps"].value = 200
    assert len(demo._chains) == 1
    full = demo.last_samples.copy()
    demo.sliders["n_steps"].value = 20
    assert len(demo._chains) == 1  # no new chain: a slice of the same one
    # the same states and acceptance as a chain run for just 20 steps
    chain = mala(demo.toy.log_prob, demo.x0, step_size=0.2, n_steps=20, score=demo.toy.score,
                 generator=demo.seed + 1)
    np.testing.assert_array_equal(demo.last_samples, chain.last.numpy())
    assert demo.last_accept_rate == pytest.approx(chain.accept_rate)
    assert not np.allclose(full, demo.last_samples)
    demo.reset()


def test_the_radial_histograms_are_densities(demo):
    exact, hist = demo.radial_densities(1.0, demo.last_samples)
    width = np.diff(demo.bins)
    assert (exact * width).sum() == pytest.approx(1.0, abs=0.02)  # the ring lies inside the plot
    inside = (np.linalg.norm(demo.last_samples, axis=1) < demo.bins[-1]).mean()
    assert (hist * width).sum() == pytest.approx(inside)


def test_title_shows_the_acceptance_of_mala_only(demo):
    demo.sliders["sampler"].value = "MALA"
    assert "acceptance" in demo._title.get_text()
    demo.sliders["sampler"].value = "ULA"
    assert "acceptance" not in demo._title.get_text()
    assert demo._title.get_text().count("\n") == 1


def test_static_figure_has_one_panel_per_setting(demo):
    fig = demo.figure([dict(n_steps=10), dict(n_steps=20, sampler="MALA")])
    assert len(fig.axes) == 2
    assert len(demo.figure().axes) == 5
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize("kwargs, message", [(dict(n_chains=0), "n_chains must be a positive integer"),
                                             (dict(max_steps=2.5), "max_steps must be a positive integer")])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        langevin_demo(**kwargs)


def test_more_steps_than_were_run_is_an_error(demo):
    with pytest.raises(ValueError, match="n_steps must be an integer from 0 to 200, got 500"):
        demo.run(step_size=0.01, temperature=1.0, n_steps=500, sampler="ULA")
