"""The chapter 6 latent explorer: its sliders move the decoded digit and the marker, and
every redraw is fast."""
import io
import statistics
import time

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from dgm_course import vae  # noqa: E402
from dgm_course.demos.vae import LatentExplorerDemo, latent_explorer_demo  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    start = time.perf_counter()
    d = latent_explorer_demo(epochs=5)
    d.build_seconds = time.perf_counter() - start
    return d


def test_builds_in_seconds_and_scatters_the_test_digits(demo):
    assert demo.build_seconds < 20
    assert demo.codes.shape == (447, 2) and set(demo.labels.tolist()) == set(range(10))


@pytest.mark.parametrize("name, value", [("z1", 2.0), ("z2", -1.5)])
def test_moving_a_slider_redraws_the_digit(demo, name, value):
    before, png_before = demo.last_image.copy(), demo.image.value
    demo.sliders[name].value = value
    assert demo.last_image.shape == (8, 8)
    assert not np.allclose(demo.last_image, before)
    assert demo.image.value != png_before and demo.image.value[:4] == b"\x89PNG"
    demo.reset()


def test_the_digit_is_the_decoders_mean(demo):
    with demo.hold():
        demo.sliders["z1"].value, demo.sliders["z2"].value = 1.0, -0.5
    expected = demo.model.decode(torch.tensor([[1.0, -0.5]]))[0].numpy().reshape(8, 8)
    np.testing.assert_allclose(demo.last_image, expected, rtol=1e-6)
    assert tuple(demo._point.get_data()[0]) == (1.0,)
    assert "z₁ = 1, z₂ = -0.5" in demo._title.get_text()
    demo.reset()
    assert demo.settings() == {"z1": 0.0, "z2": 0.0}


def test_every_redraw_is_under_0_3_seconds(demo):
    for name in ("z1", "z2"):
        times = []
        for value in (-3.0, 3.0, 0.5, -0.5):
            start = time.perf_counter()
            demo.sliders[name].value = value
            times.append(time.perf_counter() - start)
        assert statistics.median(times) < 0.3, (name, times)
    demo.reset()


def test_static_figure(demo):
    fig = demo.figure(values=(-1.0, 1.0))
    assert len(fig.axes) == 4
    fig.savefig(io.BytesIO(), format="png")


def test_refuses_a_model_it_cannot_show():
    with pytest.raises(ValueError, match="n_latent=2"):
        LatentExplorerDemo(vae.VAE(64, 3, n_hidden=8, generator=0))
