"""The chapter 4 demo: its controls change what it draws, and every redraw is fast."""
import statistics
import time

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from dgm_course.autoregressive import NADE  # noqa: E402
from dgm_course.data import load_digits  # noqa: E402
from dgm_course.demos.autoregressive import drawing_demo  # noqa: E402
from dgm_course.masked_autoregressive import PixelCNN  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    torch.set_num_threads(2)
    models = {"NADE": NADE(64, 50, generator=0),  # untrained: the timing is the same
              "PixelCNN, 17 levels": PixelCNN(17, channels=64, n_layers=4, generator=0)}
    return drawing_demo(models, load_digits("test")[:20], generator=0)


def _redraw_seconds(demo, control, value):
    """Median of 3 redraws after a warm-up, moving ``control`` away from and back to ``value``."""
    slider = demo.sliders[control]
    other = slider.options[0] if control == "model" else slider.min
    times = []
    for _ in range(4):
        slider.value = other
        start = time.perf_counter()
        slider.value = value
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def test_step_slider_changes_the_drawing(demo):
    demo.sliders["step"].value = 10
    before = demo.last_images[0].copy()
    demo.sliders["step"].value = 50
    assert np.isnan(before).sum() > np.isnan(demo.last_images[0]).sum()


def test_full_drawing_is_the_sample(demo):
    demo.sliders["model"].value = "NADE"
    demo.sliders["step"].value = 64
    assert np.array_equal(demo.last_images[0].ravel(), demo.samples["NADE"])


def test_completions_keep_the_top_half(demo):
    demo.sliders["model"].value = "PixelCNN, 17 levels"
    demo.sliders["digit"].value = 3
    canvas = demo.last_images[1]
    given = canvas[:4, :8]
    for i in range(1, demo.n_completions + 1):
        assert np.array_equal(canvas[:4, 9 * i: 9 * i + 8], given)


def test_reset_returns_to_the_start(demo):
    demo.sliders["step"].value = 3
    demo.sliders["digit"].value = 5
    demo.reset()
    assert demo.sliders["step"].value == 32 and demo.sliders["digit"].value == 0


@pytest.mark.parametrize("control, value", [("step", 64), ("digit", 19),
                                            ("model", "PixelCNN, 17 levels")])
def test_every_redraw_is_under_0_3_seconds(demo, control, value):
    demo.sliders["model"].value = "PixelCNN, 17 levels"  # the heaviest model
    assert _redraw_seconds(demo, control, value) < 0.3


def test_static_figure(demo):
    fig = demo.figure(steps=(0, 32, 64), digits=(0, 1))
    assert len(fig.axes) == 2 * (3 + 2)  # per model: 3 steps, 2 completions


def test_bad_models_raise():
    with pytest.raises(ValueError, match="models must be"):
        drawing_demo({}, load_digits("test")[:5])
