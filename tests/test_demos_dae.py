"""The chapter 8 demo: its sliders change what it draws, and every redraw is fast."""
import statistics

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from dgm_course import dae, data  # noqa: E402
from dgm_course.demos.dae import PIXEL, SIGMAS, dae_demo, train_demo_models  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    toy = data.toy_distribution("ring", std=0.3)
    x = toy.sample(2000, generator=0)
    fields = {}
    for sigma in (0.1, 0.4):
        fields[sigma] = dae.DenoisingAutoencoder(2, noise=sigma, n_hidden=16, generator=0)
        dae.train(fields[sigma], x, dae.Recipe(n_steps=20, batch_size=256), progress=False)
    digit = dae.DenoisingAutoencoder(64, corruption="salt_and_pepper", noise=0.3, n_hidden=16,
                                     generator=0)
    dae.train(digit, data.load_digits("train", binary=True)[:200], dae.Recipe(n_steps=20),
              progress=False)
    return dae_demo(toy, fields, digit, n_chains=4, n_steps=10, ncols=2)


def test_sliders_change_the_drawing_and_reset_restores_it(demo):
    assert set(demo.sliders) == {"sigma", "step"}
    assert demo.sliders["step"].options == (0, 1, 2, 3, 5, 10)
    assert demo.sliders["sigma"].options == (0.1, 0.4)
    start_arrows, start_image = demo.last_arrows.copy(), demo.last_image.copy()
    demo.sliders["sigma"].value = 0.1
    assert not np.allclose(demo.last_arrows, start_arrows)
    demo.sliders["step"].value = 10
    assert not np.allclose(np.nan_to_num(demo.last_image), np.nan_to_num(start_image))
    assert "σ = 0.1" in demo._left_title.get_text()
    assert "after 10 steps" in demo._right_title.get_text()
    demo.reset()
    assert demo.settings() == {"sigma": 0.4, "step": 0}
    np.testing.assert_allclose(demo.last_arrows, start_arrows)


def test_every_redraw_is_under_0_3_seconds(demo):
    for control, values in {"sigma": [0.1, 0.4], "step": [0, 10]}.items():
        for value in values:
            times = []
            for _ in range(3):
                demo.sliders[control].value = values[0] if value != values[0] else values[-1]
                demo.sliders[control].value = value
                times.append(demo.last_redraw_seconds)
            assert statistics.median(times) < 0.3, (control, value, times)


def test_digits_are_at_least_60_pixels(demo):
    assert 8 * PIXEL >= 60
    bbox = demo._image.axes.get_window_extent()
    rows, cols = demo.last_image.shape
    assert bbox.width == pytest.approx(cols * PIXEL) and bbox.height == pytest.approx(rows * PIXEL)


def test_the_fields_are_scores_with_their_cosine(demo):
    for sigma, (arrows, cos) in demo.fields.items():
        assert arrows.shape == (17 * 17, 2) and np.all(np.linalg.norm(arrows, axis=1) < 0.35)
        assert -1 <= cos <= 1
    assert demo.chains.shape == (11, 4, 64)


def test_static_figure_has_a_panel_per_sigma_and_step(demo):
    fig = demo.figure(steps=(0, 5, 10))
    assert len([ax for ax in fig.get_axes() if ax.has_data()]) == 2 + 3
    matplotlib.pyplot.close(fig)


def test_the_demo_trains_its_own_models():
    toy, fields, digit = train_demo_models(sigmas=(0.2,), field_steps=5, digit_steps=5)
    assert set(fields) == {0.2} and digit.binary and isinstance(toy, data.GaussianMixture2D)
    assert SIGMAS[0] < SIGMAS[-1]


@pytest.mark.parametrize("args, message", [
    (({}, "digit"), "field_models must be a non-empty dict"),
    ((None, None), "field_models must be a non-empty dict"),
    (({0.1: dae.DenoisingAutoencoder(64, corruption="salt_and_pepper")}, None),
     "field_models must be a non-empty dict"),
    (({0.1: dae.DenoisingAutoencoder(2)}, dae.DenoisingAutoencoder(64)),
     "digit_model must be a salt-and-pepper DenoisingAutoencoder"),
])
def test_bad_arguments_raise(args, message):
    toy = data.toy_distribution("ring", std=0.3)
    with pytest.raises(ValueError, match=message):
        dae_demo(toy, *args)
    with pytest.raises(ValueError, match="toy must be a GaussianMixture2D"):
        dae_demo("ring", *args)
