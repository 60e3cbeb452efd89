"""The chapter 3 demo: moving its slider and toggle changes what it draws."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from dgm_course.data import load_digits  # noqa: E402
from dgm_course.demos.rbm import PIXEL, gibbs_chain_demo, train_demo_rbms  # noqa: E402
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
    assert demo.sliders["step"].options == (0, 1, 2, 3, 5, 10)
    demo.sliders["step"].value = 0
    start = demo.last_image.copy()
    demo.sliders["step"].value = 10
    assert demo.last_image.shape == start.shape
    assert not np.allclose(np.nan_to_num(demo.last_image), np.nan_to_num(start))
    assert np.array_equal(demo._image.get_array().filled(np.nan), demo.last_image, equal_nan=True)
    assert demo._title.get_text() == "cd: P(v = 1 | h) after 10 Gibbs steps"


def test_model_toggle_changes_the_picture(demo):
    demo.sliders["step"].value = 5
    demo.sliders["model"].value = "cd"
    cd = demo.last_image.copy()
    demo.sliders["model"].value = "pcd"
    assert not np.allclose(np.nan_to_num(demo.last_image), np.nan_to_num(cd))


def test_digits_are_at_least_60_pixels(demo):
    tile = 8 * PIXEL
    assert tile >= 60
    bbox = demo._image.axes.get_window_extent()
    rows, cols = demo.last_image.shape  # 8 pixels per digit and a blank line between digits
    assert bbox.width == pytest.approx(cols * PIXEL) and bbox.height == pytest.approx(rows * PIXEL)


def test_static_figure_has_a_panel_per_model_and_step(demo):
    fig = demo.figure(steps=(0, 5, 10), n_show=4)
    assert len(fig.axes) == 6
    matplotlib.pyplot.close(fig)


def test_the_demo_trains_its_own_rbms_in_seconds():
    models = train_demo_rbms(epochs=2)
    assert set(models) == {"CD-1", "PCD"} and all(isinstance(m, RBM) for m in models.values())
    assert not np.allclose(models["CD-1"].W.detach(), models["PCD"].W.detach())


@pytest.mark.parametrize("models, kwargs, message", [
    ({}, {}, "models must be a non-empty dict"),
    ({"a": RBM(64, 4)}, {"n_steps": 0}, "n_steps must be a positive integer"),
    ({"a": RBM(64, 4)}, {"ncols": 0}, "ncols must be a positive integer"),
])
def test_bad_arguments_raise(models, kwargs, message):
    with pytest.raises(ValueError, match=message):
        gibbs_chain_demo(models, **kwargs)
