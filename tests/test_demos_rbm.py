"""The chapter 3 demo: moving its slider and toggle changes what it draws."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from dgm_course.data import load_digits  # noqa: E402
from dgm_course.demos.rbm import gibbs_chain_demo  # noqa: E402
from dgm_course.rbm import RBM  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    x = load_digits("train", binary=True)[:200]
    models = {}
    for method in ("cd", "pcd"):
        models[method] = RBM(64, 8, generator=0)
        models[method].fit(x, method=method, epochs=2, generator=0)
    return gibbs_chain_demo(models, n_chains=6, n_steps=10, ncols=3)


def test_step_slider_changes_the_picture(demo):
    demo.sliders["step"].value = 0
    start = demo.last_image.copy()
    demo.sliders["step"].value = 10
    assert demo.last_image.shape == start.shape
    assert not np.allclose(np.nan_to_num(demo.last_image), np.nan_to_num(start))
    assert np.array_equal(demo._image.get_array().filled(np.nan), demo.last_image, equal_nan=True)


def test_model_toggle_changes_the_picture(demo):
    demo.sliders["step"].value = 5
    demo.sliders["model"].value = "cd"
    cd = demo.last_image.copy()
    demo.sliders["model"].value = "pcd"
    assert not np.allclose(np.nan_to_num(demo.last_image), np.nan_to_num(cd))


def test_static_figure_has_a_panel_per_model_and_step(demo):
    fig = demo.figure(steps=(0, 5, 10), n_show=4)
    assert len(fig.axes) == 6


def test_bad_models_raise():
    with pytest.raises(ValueError, match="models must be a non-empty dict"):
        gibbs_chain_demo({})
