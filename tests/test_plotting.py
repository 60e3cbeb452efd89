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
    assert not ax.patches  # no outlines by default
    plt.close("all")


def test_image_grid_draws_digits_about_60_px_wide_in_the_book():
    import io

    from PIL import Image
    ax = plotting.image_grid(data.load_digits("train")[:20], ncols=10, title="digits")
    buffer = io.BytesIO()  # as the notebook's inline backend saves it, at 100 dpi
    ax.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close("all")
    width = Image.open(buffer).size[0]
    assert width / 10 * 8 / 9 >= 58, f"{width / 10 * 8 / 9:.0f} px per digit"


def test_image_grid_border_outlines_every_image_the_blank_one_included():
    patterns = data.BarsAndStripes(3).patterns
    assert (patterns.sum(1) == 0).any()  # the blank pattern
    ax = plotting.image_grid(patterns, ncols=7, image_shape=(3, 3), border=True)
    assert len(ax.patches) == len(patterns)
    assert ax.patches[1].get_xy() == (4 - 0.5, -0.5)  # second image, first row
    plt.close("all")


def test_samples_over_density_and_curves():
    ring = data.toy_distribution("ring", std=0.1)
    ax = plotting.samples_2d(ring.sample(100, generator=0), log_density=ring.log_prob)
    assert len(ax.collections) == 1 and len(ax.images) == 1
    img = ax.images[0].get_array()
    assert np.isfinite(img).all() and img.max() > 0
    plt.close("all")


def test_training_curves_of_a_history_and_of_a_dict():
    history = History(epochs={"loss": [3, 2, 1], "val_nll": [3.5, 2.5, 2.0]})
    ax = plotting.training_curves(history)
    assert [line.get_label() for line in ax.lines] == ["loss", "val_nll"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [3.5, 2.5, 2.0])
    ax = plotting.training_curves(history, metrics=["val_nll"])
    assert len(ax.lines) == 1
    ax = plotting.training_curves({"train": [1.0, 0.5]})
    assert ax.lines[0].get_label() == "train"
    with pytest.raises(ValueError, match="metrics \\['kl'\\] are not in the history"):
        plotting.training_curves(history, metrics=["kl"])
    with pytest.raises(ValueError, match="history must be a training.History or a dict"):
        plotting.training_curves([1, 2, 3])
    plt.close("all")


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"images must have shape \(n, 64\)"):
        plotting.image_grid(torch.zeros(3, 10))
    with pytest.raises(ValueError, match=r"samples must have shape \(n, 2\)"):
        plotting.samples_2d(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="images must be finite"):
        plotting.image_grid(np.full((2, 64), np.nan))
    with pytest.raises(ValueError, match="samples must be finite"):
        plotting.samples_2d(torch.full((3, 2), float("nan")))


def test_graphical_model_draws_one_circle_per_unit_and_checks_its_arguments():
    import matplotlib.pyplot as plt

    from dgm_course.plotting import graphical_model

    ax = graphical_model([("v", 4), ("h1", 3), ("h2", 2)], edges=["down", "undirected"],
                         within=[2])
    circles = [p for p in ax.patches if isinstance(p, plt.Circle)]
    assert len(circles) == 9
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 4 * 3  # one arrow per directed edge v <- h1
    with pytest.raises(ValueError, match="edges"):
        graphical_model([("v", 2), ("h", 2)], edges="sideways")
    with pytest.raises(ValueError, match="one kind per pair"):
        graphical_model([("v", 2), ("h", 2)], edges=["down", "down"])
    with pytest.raises(ValueError, match="layers\\[1\\] size"):
        graphical_model([("v", 2), ("h", 0)])
    plt.close("all")
