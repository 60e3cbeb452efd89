"""Figures every chapter draws: digit grids, 2-D samples over a density, training curves,
and diagrams of graphical models.

Each function draws into a Matplotlib ``Axes`` (a new figure when none is given) and
returns it, so a chapter can compose panels and the book shows the figure. A chapter calls
:func:`book_style` once at the top, so that its figures are sharp on a laptop screen
(high-resolution PNG) and their text is readable.
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


def image_grid(images, *, ncols=10, image_shape=(8, 8), ax=None, title=None, vmin=None, vmax=None, cmap="gray_r",
               border=False):
    """Show flattened images (shape ``(n, h*w)``) as one tiled picture, ``ncols`` per row.

    Digits are drawn dark on light (``cmap="gray_r"``); grey levels keep their own range
    unless ``vmin``/``vmax`` are given. With ``border=True`` (or a Matplotlib colour) each
    image is outlined, so that an image whose pixels are all "off" (white, like the gaps
    between images) is still visible, e.g. the blank bars-and-stripes pattern.
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
        # 0.65 inch per digit and no margins (a title goes above, in the saved bounding box):
        # about 62 px per 8x8 digit in the book (100 dpi, stored at twice that for retina)
        fig, ax = plt.subplots(figsize=(0.65 * ncols, 0.65 * nrows))
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    ax.imshow(canvas, cmap=plt.get_cmap(cmap).with_extremes(bad="white"), vmin=vmin, vmax=vmax, interpolation="nearest")
    if border is not False and border is not None:
        color = "0.45" if border is True else border
        for i in range(n):
            r, c = divmod(i, ncols)
            ax.add_patch(plt.Rectangle((c * (w + 1) - 0.5, r * (h + 1) - 0.5), w, h, fill=False,
                                       edgecolor=color, lw=1.0))
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


def book_style():
    """Make the notebook's figures sharp and readable in the book: high-resolution PNG
    output (``retina``, twice the pixels of the displayed size), 100 dpi, 11-pt text and
    tight bounding boxes. Call it once at the top of a chapter."""
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    plt.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight", "font.size": 11,
                         "axes.titlesize": 12, "axes.labelsize": 11})


def graphical_model(layers, *, edges="undirected", within=(), labels=None, ax=None,
                    title=None, node_size=0.32):
    r"""Draw a layered graphical model: one row of units per layer, data at the bottom.

    Parameters
    ----------
    layers : sequence of (name, n_units)
        From the data upward, e.g. ``[("v", 4), ("h", 3)]`` for an RBM. A layer is drawn as
        a row of circles; a layer named ``"v"`` or ``"x"`` (observed) is shaded.
    edges : str or sequence of str
        How each pair of adjacent layers is connected, bottom pair first: ``"undirected"``
        (lines: Boltzmann machines, RBMs, DBMs), ``"down"`` (arrows from the upper layer to
        the lower one: belief nets, factor models), ``"up"`` or ``"none"``. One string
        applies to every pair.
    within : sequence of int
        Indices of the layers whose units are all connected among themselves (a Boltzmann
        machine's visible-visible couplings), drawn as arcs.
    labels : sequence of str, optional
        A label per layer (default: the names, as :math:`h^1` for ``"h1"``).
    node_size : float
        Radius of a unit's circle, in units of the spacing between units.

    Examples
    --------
    >>> ax = graphical_model([("v", 4), ("h1", 3), ("h2", 2)], edges=["down", "undirected"])
    >>> len(ax.patches) >= 9  # one circle per unit
    True
    """
    layers = [(str(name), check_int(n, f"layers[{i}] size", 1))
              for i, (name, n) in enumerate(layers)]
    if not layers:
        raise ValueError("layers must name at least one layer, got none")
    kinds = [edges] * (len(layers) - 1) if isinstance(edges, str) else list(edges)
    if len(kinds) != len(layers) - 1:
        raise ValueError(f"edges must give one kind per pair of adjacent layers "
                         f"({len(layers) - 1}), got {len(kinds)}")
    for kind in kinds:
        if kind not in ("undirected", "down", "up", "none"):
            raise ValueError(f"edges must be 'undirected', 'down', 'up' or 'none', got {kind!r}")
    width = max(n for _, n in layers)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.7 * width + 1.6, 1.1 * len(layers) + 0.3))
    pos = [[(i - (n - 1) / 2, 1.6 * level) for i in range(n)]
           for level, (_, n) in enumerate(layers)]
    r = node_size
    for level, kind in enumerate(kinds):
        if kind == "none":
            continue
        for xa, ya in pos[level]:
            for xb, yb in pos[level + 1]:
                if kind == "undirected":
                    ax.plot([xa, xb], [ya + r, yb - r], color="0.35", lw=1.0, zorder=1)
                else:
                    down = kind == "down"
                    x0, y0, x1, y1 = (xb, yb - r, xa, ya + r) if down else (xa, ya + r, xb, yb - r)
                    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=1,
                                arrowprops=dict(arrowstyle="-|>", color="0.35", lw=1.0,
                                                shrinkA=0, shrinkB=0, mutation_scale=10))
    for level in within:
        level = check_int(level, "within", 0, len(layers) - 1)
        row, below = pos[level], level == 0  # arcs under the bottom row, over the others
        for a in range(len(row)):
            for b in range(a + 1, len(row)):
                (xa, y), (xb, _) = row[a], row[b]
                arc = plt.matplotlib.patches.Arc(
                    ((xa + xb) / 2, y - r if below else y + r), xb - xa, 0.5 * (b - a) + 0.3,
                    theta1=180 if below else 0, theta2=360 if below else 180, color="0.35", lw=0.9)
                ax.add_patch(arc)
    for level, (name, _) in enumerate(layers):
        observed = name in ("v", "x")
        for x, y in pos[level]:
            ax.add_patch(plt.Circle((x, y), r, facecolor="0.75" if observed else "white",
                                    edgecolor="black", lw=1.2, zorder=2))
        label = labels[level] if labels is not None else (
            f"${name[0]}^{{{name[1:]}}}$" if len(name) > 1 and name[1:].isdigit() else f"${name}$")
        ax.text(pos[level][0][0] - 0.9, pos[level][0][1], label, ha="right", va="center",
                fontsize=13)
    ax.set_xlim(-width / 2 - 1.4, width / 2 + 0.2)
    top = 1.6 * (len(layers) - 1)
    ax.set_ylim(-1.0 if 0 in within else -0.6, top + (1.0 if len(layers) - 1 in within and top else 0.6))
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
