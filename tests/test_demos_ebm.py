"""The chapter 2 Langevin demo: moving its sliders changes what it draws."""
import matplotlib
import numpy as np

matplotlib.use("Agg")

from dgm_course.demos.ebm import langevin_demo  # noqa: E402


def test_sliders_change_the_drawing():
    demo = langevin_demo(n_chains=100, grid=40)
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
    demo.sliders["sampler"].value = "MALA"
    assert not np.allclose(demo.last_samples, ula)
    assert 0 < demo.last_chain.accept_rate < 1


def test_static_figure_has_one_panel_per_setting():
    demo = langevin_demo(n_chains=50, grid=30)
    fig = demo.figure([dict(n_steps=10), dict(n_steps=20, sampler="MALA")])
    assert len(fig.axes) == 2
    assert len(demo.figure().axes) == 5
