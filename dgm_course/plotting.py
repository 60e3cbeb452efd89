"""Figures every chapter draws: digit grids, 2-D samples over a density, training curves.

Each function draws into a Matplotlib ``Axes`` (a new figure when none is given) and
returns it, so a chapter can compose panels and the book shows the figure.
"""
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from dgm_course.evaluation import grid_log_normalizer
from dgm_course.validation import check_data, check_int


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def image_grid(images, *, ncols=10, image_shape=(8, 8), ax=None, title=None, vmin=None, vmax=None, cmap="gray_r"):
    """Show flattened images (shape ``(n, h*w)``) as one tiled picture, ``ncols`` per row.

    Digits are drawn dark on light (``cmap="gray_r"``); grey levels keep their own range
    unless ``vmin``/``vmax`` are given.
    """
    h, w = (check_int(k, "image_shape", 1) for k in image_shape)
    images = check_data(images, "images", n_features=h * w, dtype=torch.float64)
    images = _to_numpy(images)
    n = images.shape[0]
    ncols = max(1, min(check_int(ncols, "ncols", 1), n))
    nrows = math.ceil(n / ncols)
    canvas = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = img.reshape(h, w)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * ncols + 0.3, 0.45 * nrows + 0.3))
    ax.imshow(canvas, cmap=plt.get_cmap(cmap).with_extremes(bad="white"), vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def density_contour(log_density, *, lim=3.0, n=200, ax=None, cmap="Blues", title=None, normalize=False):
    """Shade ``exp(log_density)`` on the square ``[-lim, lim]^2``.

    ``log_density`` maps an ``(m, 2)`` tensor to ``(m,)`` log-densities. With
    ``normalize=True`` the values are first normalised on the grid (for unnormalised models).
    """
    log_z, grid, log_values = grid_log_normalizer(lambda g: log_density(g.float()), lim=lim, n=n)
    if normalize:
        log_values = log_values - log_z
    values = log_values.exp().reshape(n, n).numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(values, origin="lower", extent=(-lim, lim, -lim, lim), cmap=cmap, interpolation="bilinear")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def samples_2d(samples, *, log_density=None, lim=3.0, ax=None, title=None, s=2, color="C3", alpha=0.5):
    """Scatter 2-D samples, over the true density ``log_density`` when one is given."""
    samples = _to_numpy(check_data(samples, "samples", n_features=2))
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    if log_density is not None:
        density_contour(log_density, lim=lim, ax=ax)
    ax.scatter(samples[:, 0], samples[:, 1], s=s, color=color, alpha=alpha, linewidths=0)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def training_curves(history, *, metrics=None, ax=None, ylabel="loss", title=None):
    """Plot metrics per epoch: those of a :class:`~dgm_course.training.History` (its
    ``epochs`` table: training metrics averaged over each epoch, and the ``validate``
    metrics), or of a dict ``{label: list of values}``.

    Parameters
    ----------
    history : History or dict
    metrics : sequence of str, optional
        The names to plot (default: every metric of ``history``).
    """
    table = history if isinstance(history, dict) else getattr(history, "epochs", None)
    if not isinstance(table, dict):
        raise ValueError("history must be a training.History or a dict of lists, got "
                         f"{type(history).__name__}")
    names = list(table) if metrics is None else list(metrics)
    missing = [name for name in names if name not in table]
    if missing:
        raise ValueError(f"metrics {missing} are not in the history, which has {sorted(table)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for name in names:
        values = _to_numpy(table[name]).astype(float).ravel()
        if len(values):
            ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if names:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax
