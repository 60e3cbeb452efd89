"""The chapter 5 demo: its sliders move q, and log p(x) = ELBO + KL at every setting; every
redraw is under the projector standard's 0.3 s (CPU time always, wall time when the
machine is not overloaded), timed as tests/test_demos_speed.py times the other demos."""
import os
import statistics
import time

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from dgm_course.demos.helmholtz import elbo_demo  # noqa: E402
from dgm_course.demos.projector import REDRAW_SECONDS, figure_size_px  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    return elbo_demo()


@pytest.mark.parametrize("mean, width", [(-3.0, 0.05), (0.0, 1.0), (0.7, 0.5), (3.0, 3.16)])
def test_log_evidence_is_elbo_plus_kl(demo, mean, width):
    with demo.hold():
        demo.sliders["mean"].value = mean
        demo.sliders["width"].value = width
    assert demo.last["kl"] > 0
    assert abs(demo.last["gap"] - demo.last["kl"]) < 1e-6
    assert f"{demo.last['kl']:.3g}" in demo._title.get_text()


def test_the_evidence_is_the_normaliser_of_the_joint(demo):
    from scipy.integrate import quad
    from scipy.special import expit

    value, _ = quad(lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
                    * expit(demo.a * z + demo.b) ** 3, -10, 10)
    assert demo.log_evidence == pytest.approx(np.log(value), abs=1e-6)


def test_the_best_gaussian_still_has_a_gap(demo):
    grid = [(m, s) for m in np.linspace(-0.5, 1.5, 41) for s in np.linspace(0.3, 1.2, 37)]
    best = min(demo.terms(m, s)[1] for m, s in grid)
    assert 1e-4 < best < 0.1  # skewed posterior: no Gaussian removes the KL


def test_moving_a_slider_changes_the_picture(demo):
    demo.reset()
    before = demo.image.value
    demo.sliders["mean"].value = 1.5
    assert demo.image.value != before and demo.image.value[:4] == b"\x89PNG"
    assert figure_size_px(demo.fig)[0] >= 600
    demo.reset()


@pytest.mark.parametrize("control, value", [("mean", 3.0), ("width", 3.16), ("reset", None)])
def test_redraw_is_fast(demo, control, value):
    def move():
        with demo.hold():
            demo.sliders["mean"].value = -3.0
            demo.sliders["width"].value = 0.05
        cpu, wall = time.process_time(), time.perf_counter()
        if control == "reset":
            demo.reset_button.click()
        else:
            demo.sliders[control].value = value
        return time.process_time() - cpu, time.perf_counter() - wall

    move()  # warm-up
    cpu, wall = (statistics.median(t) for t in zip(*[move() for _ in range(3)]))
    assert cpu < REDRAW_SECONDS, f"{control}: {cpu:.3f} s of CPU per redraw"
    if os.getloadavg()[0] < os.cpu_count():
        assert wall < REDRAW_SECONDS, f"{control}: {wall:.3f} s per redraw"


def test_static_figure(demo):
    fig = demo.figure()
    assert len(fig.axes) == 3
