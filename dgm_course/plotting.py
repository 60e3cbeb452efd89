"""Figures every chapter draws: digit grids, 2-D samples over a density, training curves.

Each function draws into a Matplotlib ``Axes`` (a new figure when none is given) and
returns it, so a chapter can compose panels and the book shows the figure.
"""
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from dgm_course.evaluation import grid_log_normalizer


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def image_grid(images, *, ncols=10, image_shape=(8, 8), ax=None, title=None, vmin=None, vmax=None, cmap="gray_r"):
    """Show flattened images (shape ``(n, h*w)``) as one tiled picture, ``ncols`` per row.

    Digits are drawn dark on light (``cmap="gray_r"``); grey levels keep their own range
    unless ``vmin``/``vmax`` are given.
    """
    images = _to_numpy(images)
    h, w = image_shape
    if images.ndim != 2 or images.shape[1] != h * w:
        raise ValueError(f"images must have shape (n, {h * w}) for image_shape {image_shape}, got {images.shape}")
    n = images.shape[0]
    ncols = max(1, min(ncols, n))
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
    samples = _to_numpy(samples)
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"samples must have shape (n, 2), got {samples.shape}")
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


def training_curves(history, *, ax=None, ylabel="loss", title=None):
    """Plot the train (and validation) loss per epoch of a :class:`~dgm_course.training.History`,
    or of a dict ``{label: list of values}``."""
    curves = history if isinstance(history, dict) else {"train": history.train_loss, "validation": history.val_loss}
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for label, values in curves.items():
        if len(values):
            ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax
