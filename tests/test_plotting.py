import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dgm_course import data, plotting  # noqa: E402
from dgm_course.training import History  # noqa: E402


def test_image_grid_tiles_images():
    ax = plotting.image_grid(data.load_digits("train")[:23], ncols=10)
    canvas = ax.images[0].get_array()
    assert canvas.shape == (3 * 9 - 1, 10 * 9 - 1)
    plt.close("all")


def test_samples_over_density_and_curves():
    ring = data.toy_distribution("ring", std=0.1)
    ax = plotting.samples_2d(ring.sample(100, generator=0), log_density=ring.log_prob)
    assert len(ax.collections) == 1 and len(ax.images) == 1
    img = ax.images[0].get_array()
    assert np.isfinite(img).all() and img.max() > 0
    ax = plotting.training_curves(History(train_loss=[3, 2, 1], val_loss=[3.5, 2.5, 2.0]))
    assert len(ax.lines) == 2
    plt.close("all")


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"images must have shape \(n, 64\)"):
        plotting.image_grid(torch.zeros(3, 10))
    with pytest.raises(ValueError, match=r"samples must have shape \(n, 2\)"):
        plotting.samples_2d(torch.zeros(3, 3))
