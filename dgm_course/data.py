"""The course's data sets, all offline: digits, 2-D toys with exact densities, bars and stripes.

* **Digits** — scikit-learn's bundled 8×8 handwritten digits (1,797 images, 17 grey levels
  0–16), split as in Tomczak's *Deep Generative Modeling* code: the first 1,000 images for
  training, the next 350 for validation and the last 447 for test, in the order scikit-learn
  ships them. Binary models use the binarised version, pixel ≥ 8 → 1.
* **2-D toys** — a ring of 8 Gaussians, a 5×5 grid of Gaussians, two moons and a spiral. Each
  is a :class:`GaussianMixture2D`, so each samples with a seed and knows its exact
  ``log_prob`` and its exact score :math:`\\nabla_x \\log p(x)`. The moons and the spiral are
  mixtures of many narrow Gaussians placed along a curve: a Gaussian-blurred curve, whose
  density is exact rather than estimated.
* **MNIST, from a file you already have** — :func:`load_mnist` reads the IDX files of the full
  28×28 MNIST (optionally gzipped) from a local path. Nothing is ever downloaded.
* **Bars and stripes** — every 3×3 (or 4×4) binary image whose pixels are constant along
  every row or along every column (MacKay 2003), a distribution small enough to enumerate.
* **The bars problem** — Hinton, Dayan, Frey & Neal's (1995) 4×4 images of random vertical
  or horizontal bars, :class:`BarsProblem`, with its exact probabilities and entropy
  (chapter 5).
"""
import gzip
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_choice, check_data, check_int,
                                   check_positive, check_probability, model_dtype)

# ---------------------------------------------------------------------------------------
# Digits

DIGITS_SPLITS = {"train": (0, 1000), "val": (1000, 1350), "test": (1350, 1797)}
"""Index ranges ``[start, stop)`` of each split, in scikit-learn's order."""

BINARIZE_THRESHOLD = 8
"""A grey level (0–16) at or above which a pixel is 1 in the binarised digits."""

DIGIT_SHAPE = (8, 8)


@lru_cache(maxsize=1)
def _digits_arrays():
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)


def load_digits(split="train", *, binary=False, return_labels=False):
    """One split of the 8×8 digits as a float32 tensor of shape ``(n, 64)``.

    Parameters
    ----------
    split : {"train", "val", "test", "all"}
        ``"train"`` is images 0–999 (1,000), ``"val"`` 1,000–1,349 (350), ``"test"``
        1,350–1,796 (447), ``"all"`` the 1,797 in scikit-learn's order.
    binary : bool
        If True, pixels are 0/1 (grey level ≥ :data:`BINARIZE_THRESHOLD`); otherwise they
        are the 17 grey levels 0–16.
    return_labels : bool
        If True, also return the digit classes as an int64 tensor of shape ``(n,)``.

    Examples
    --------
    >>> x = load_digits("val", binary=True)
    >>> tuple(x.shape), x.dtype, sorted(x.unique().tolist())
    ((350, 64), torch.float32, [0.0, 1.0])
    """
    check_choice(split, "split", (*DIGITS_SPLITS, "all"))
    binary = check_bool(binary, "binary")
    return_labels = check_bool(return_labels, "return_labels")
    start, stop = DIGITS_SPLITS.get(split, (0, 1797))
    images, labels = _digits_arrays()
    x = torch.from_numpy(images[start:stop].copy())
    if binary:
        x = (x >= BINARIZE_THRESHOLD).float()
    if return_labels:
        return x, torch.from_numpy(labels[start:stop].copy())
    return x


def dequantize(x, *, generator=None, levels=17):
    r"""Uniformly dequantized grey levels :math:`y = (x + u) / L`, :math:`u \sim U(0, 1)^d`.

    A Gaussian density fitted to the digits' 17 discrete grey levels can reach any height on
    pixels that are constant; after dequantization every pixel is continuous in (0, 1), and
    :math:`\log P(x) \ge E_u[\log p(y)] - d \log L` relates the density of :math:`y` to the
    probability of the discrete image (Theis et al. 2016).

    Parameters
    ----------
    x : tensor or array of shape (n, d)
        Integer grey levels 0 to ``levels - 1``.
    generator : int, torch.Generator or None

    Returns
    -------
    tensor of shape (n, d), float64
    """
    levels = check_int(levels, "levels", minimum=2)
    x = check_data(x, "x", support="levels", levels=levels, dtype=torch.float64)
    u = torch.rand(x.shape, generator=make_generator(generator), dtype=torch.float64)
    return (x + u) / levels


def discrete_log_prob(log_density, x, *, n_samples=1000, generator=None, levels=17):
    r"""Monte Carlo estimate of :math:`\log P(x)`, the probability that a density on
    :math:`[0, 1)^d` of dequantized images (see :func:`dequantize`) gives the discrete image
    ``x``: the integral of the density over the cell :math:`[x/L, (x+1)/L)` of ``x``,

    .. math:: \log P(x) = \log \int_{\text{cell}(x)} p(y)\, dy
              = \log E_{u \sim U(0,1)^d}\big[p\big((x + u)/L\big)\big] - d \log L
              \approx \log \frac1K \sum_{k=1}^K p\big((x + u_k)/L\big) - d \log L .

    With :math:`K = 1` it is the dequantization bound :math:`\log p(y) - d \log L`; every
    :math:`K` gives a lower bound on :math:`\log P(x)` in expectation, which tightens as
    :math:`K` grows (an importance-weighted bound with the uniform proposal on the cell)
    and reaches :math:`\log P(x)` as :math:`K \to \infty` (Theis et al. 2016).

    Parameters
    ----------
    log_density : callable
        Maps an array of shape (m, d) of points in :math:`[0, 1)^d` to their log-densities
        (m,), in nats (e.g. a fitted PPCA's ``score_samples``).
    x : tensor or array of shape (n, d)
        Integer grey levels 0 to ``levels - 1``.
    n_samples : int
        K, uniform points per image.
    generator : int, torch.Generator or None
    levels : int
        L, the number of grey levels.

    Returns
    -------
    log_p : array of shape (n,)
        The estimates of :math:`\log P(x)`, nats per image.
    std_error : array of shape (n,)
        Their standard errors (delta method: the relative standard error of the mean of
        the :math:`K` densities).
    """
    levels = check_int(levels, "levels", minimum=2)
    k = check_int(n_samples, "n_samples", 1)
    x = check_data(x, "x", support="levels", levels=levels, dtype=torch.float64)
    gen = make_generator(generator)
    n, d = x.shape
    log_p, std_error = np.empty(n), np.empty(n)
    rows = max(1, 100_000 // k)  # images per call of log_density: ~1e5 points
    for start in range(0, n, rows):
        block = x[start:start + rows]  # (m, d)
        m = block.shape[0]
        u = torch.rand(m, k, d, generator=gen, dtype=torch.float64)
        y = ((block[:, None, :] + u) / levels).reshape(m * k, d)
        values = np.asarray(log_density(y.numpy()), dtype=np.float64).reshape(m, k)
        top = values.max(axis=1, keepdims=True)
        w = np.exp(values - top)  # (m, K), densities relative to each image's largest
        mean = w.mean(axis=1)
        log_p[start:start + m] = top[:, 0] + np.log(mean) - d * math.log(levels)
        std_error[start:start + m] = (w.std(axis=1) / mean / math.sqrt(k) if k > 1
                                      else np.inf)
    return log_p, std_error


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path):
    """Read an IDX file (the format of the MNIST files, gzipped or not) into a NumPy array."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no IDX file at {str(path)!r}; MNIST is never downloaded, pass the path of a local copy")
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path.name} is not an IDX file: expected the magic bytes 00 00 <type> <ndim>, got {raw[:4].hex()}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path.name} announces shape {shape} ({math.prod(shape)} values) but holds {data.size}")
    return data.reshape(shape)


def load_mnist(images_path, labels_path=None, *, binary=False):
    """MNIST images from a local IDX file as a float32 tensor of shape ``(n, 784)``, grey levels 0–255.

    With ``binary=True`` pixels are 0/1 (grey level ≥ 128). With ``labels_path``, also returns
    the labels as an int64 tensor of shape ``(n,)``.
    """
    binary = check_bool(binary, "binary")
    images = load_idx(images_path)
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (n, rows, cols) in {images_path}, got shape {images.shape}")
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32))
    if binary:
        x = (x >= 128).float()
    if labels_path is None:
        return x
    labels = load_idx(labels_path)
    if labels.shape != (len(images),):
        raise ValueError(f"expected {len(images)} labels in {labels_path}, got shape {labels.shape}")
    return x, torch.from_numpy(labels.astype(np.int64))


# ---------------------------------------------------------------------------------------
# 2-D toy distributions


class GaussianMixture2D(nn.Module):
    r"""A mixture of isotropic Gaussians in the plane, with exact density and score.

    .. math::
        p(x) = \sum_k \pi_k \, \mathcal N(x;\, \mu_k,\, \sigma_k^2 I), \qquad
        \nabla_x \log p(x) = \sum_k r_k(x)\, \frac{\mu_k - x}{\sigma_k^2},

    where :math:`r_k(x) = \pi_k \mathcal N(x; \mu_k, \sigma_k^2 I) / p(x)` are the
    responsibilities.

    A reference distribution, not a learned model: its means, standard deviations and
    weights are float64 buffers (no parameters), so inputs are converted to float64 (the
    library's dtype rule) and :meth:`log_prob` and :meth:`score` are float64. Samples are
    float32, like every data set of the course.

    Parameters
    ----------
    means : array of shape (n_components, 2)
    stds : float or array of shape (n_components,)
        Standard deviation of each component (the same in both coordinates), > 0.
    weights : array of shape (n_components,), optional
        Non-negative mixing weights; normalised to sum to one. Uniform if omitted.
    name : str, optional
        Shown in plots and ``repr``.
    """

    def __init__(self, means, stds, weights=None, *, name="mixture"):
        super().__init__()
        means = check_data(means, "means", n_features=2, dtype=torch.float64, min_rows=1)
        k = means.shape[0]
        if isinstance(stds, (list, tuple)) or getattr(stds, "ndim", 0) > 0:
            stds = check_data(stds, "stds", ndim=1, dtype=torch.float64)
        else:
            stds = torch.tensor(check_positive(stds, "stds"), dtype=torch.float64)
        if stds.dim() == 1 and stds.shape != (k,) or not bool((stds > 0).all()):
            raise ValueError(f"stds must be a positive number or {k} positive numbers, got "
                             f"{stds.tolist()}")
        if weights is None:
            weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
        weights = check_data(weights, "weights", ndim=1, dtype=torch.float64)
        if weights.shape != (k,) or bool((weights < 0).any()) or float(weights.sum()) <= 0:
            raise ValueError(f"weights must be {k} non-negative numbers with a positive sum, "
                             f"got {weights.tolist()}")
        self.register_buffer("means", means.clone())  # (K, 2)
        self.register_buffer("stds", stds.expand(k).clone())  # (K,)
        self.register_buffer("weights", weights / weights.sum())  # (K,)
        self.name = name

    def extra_repr(self):
        return f"name={self.name!r}, n_components={len(self.weights)}"

    @property
    def distribution(self):
        """The same mixture as a ``torch.distributions.MixtureSameFamily`` (float64)."""
        components = Independent(Normal(self.means, self.stds[:, None].expand(-1, 2)), 1)
        return MixtureSameFamily(Categorical(probs=self.weights), components)

    def sample(self, n, *, generator=None):
        """``n`` samples, a float32 tensor of shape ``(n, 2)``; ``generator`` is a seed or a
        ``torch.Generator``."""
        n = check_int(n, "n")
        gen = make_generator(generator)
        if n == 0:
            return torch.zeros(0, 2)
        k = torch.multinomial(self.weights, n, replacement=True, generator=gen)  # (n,)
        eps = torch.randn(n, 2, generator=gen, dtype=torch.float64)
        return (self.means[k] + self.stds[k, None] * eps).float()

    def _log_joint(self, x64):
        # log pi_k + log N(x; mu_k, s_k^2 I) for a chunk: (n, K); |x - mu|^2 as a matmul
        sq = (x64**2).sum(1, keepdim=True) - 2 * x64 @ self.means.T + (self.means**2).sum(1)
        var = self.stds**2
        return torch.log(self.weights) - 0.5 * sq / var - torch.log(2 * math.pi * var)

    def log_prob(self, x, *, chunk_size=8192):
        r"""Exact log-density of each row of ``x`` (shape ``(n, 2)``), in nats: shape ``(n,)``,
        float64.

        :math:`\log p(x) = \operatorname{logsumexp}_k [\log \pi_k + \log \mathcal N(x; \mu_k,
        \sigma_k^2 I)]`. Differentiable with respect to ``x`` (the mixture has no parameters);
        the tests compare it with :attr:`distribution` and its gradient with :meth:`score`.
        """
        x = check_data(x, "x", n_features=2, dtype=torch.float64)
        chunk_size = check_int(chunk_size, "chunk_size", 1)
        out = [torch.logsumexp(self._log_joint(c), dim=1) for c in x.split(chunk_size)]
        return torch.cat(out) if out else x.new_zeros(0)

    def score(self, x, *, chunk_size=8192):
        r"""Exact score :math:`\nabla_x \log p(x)` of each row of ``x``: shape ``(n, 2)``,
        float64."""
        x = check_data(x, "x", n_features=2, dtype=torch.float64)
        chunk_size = check_int(chunk_size, "chunk_size", 1)
        out = []
        for c in x.split(chunk_size):
            r = torch.softmax(self._log_joint(c), dim=1)  # responsibilities (n, K)
            diff = self.means[None] - c[:, None, :]  # (n, K, 2)
            out.append(((r / self.stds**2)[:, :, None] * diff).sum(1))
        return torch.cat(out) if out else x.new_zeros(0, 2)

    def entropy(self, n_samples=100_000, *, generator=0):
        """Monte Carlo estimate of the differential entropy :math:`-E_p[\\log p(x)]` in nats:
        the floor of the test negative log-likelihood that any model can reach."""
        n_samples = check_int(n_samples, "n_samples", 1)
        return float(-self.log_prob(self.sample(n_samples, generator=generator)).mean())


def ring_of_gaussians(n_modes=8, radius=2.0, std=0.02):
    """``n_modes`` equal Gaussians evenly spaced on a circle (Metz et al. 2017's 2-D test)."""
    angles = torch.arange(n_modes, dtype=torch.float64) * 2 * math.pi / n_modes
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture2D(means, std, name="ring")


def grid_of_gaussians(size=5, spacing=1.0, std=0.05):
    """A ``size``×``size`` grid of equal Gaussians centred on the origin."""
    ticks = (torch.arange(size, dtype=torch.float64) - (size - 1) / 2) * spacing
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture2D(torch.stack([gx.flatten(), gy.flatten()], 1), std, name="grid")


def two_moons(noise=0.1, n_per_moon=200):
    """Two interleaved half-circles (scikit-learn's ``make_moons`` geometry) blurred by
    Gaussian noise of std ``noise``, as a mixture of ``n_per_moon`` Gaussians per moon."""
    t = (torch.arange(n_per_moon, dtype=torch.float64) + 0.5) * math.pi / n_per_moon
    outer = torch.stack([torch.cos(t), torch.sin(t)], 1)
    inner = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    means = torch.cat([outer, inner]) - torch.tensor([0.5, 0.25], dtype=torch.float64)
    return GaussianMixture2D(means * 1.5, noise, name="moons")


def spiral(noise=0.1, n_turns=1.5, n_points=400):
    """An Archimedean spiral :math:`r \\propto \\theta` blurred by Gaussian noise of std
    ``noise``, as a mixture of ``n_points`` Gaussians equally spaced in angle."""
    theta = torch.linspace(0.5, 2 * math.pi * n_turns, n_points, dtype=torch.float64)
    r = 2.5 * theta / theta[-1]
    return GaussianMixture2D(torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1), noise, name="spiral")


TOYS = {"ring": ring_of_gaussians, "grid": grid_of_gaussians, "moons": two_moons, "spiral": spiral}


def toy_distribution(name, **kwargs):
    """A 2-D toy by name: ``"ring"``, ``"grid"``, ``"moons"`` or ``"spiral"``.

    Keyword arguments go to the toy's constructor (e.g. ``std=0.1`` for the ring).

    Examples
    --------
    >>> ring = toy_distribution("ring")
    >>> tuple(ring.sample(5, generator=0).shape)
    (5, 2)
    """
    check_choice(name, "name", sorted(TOYS))
    return TOYS[name](**kwargs)


# ---------------------------------------------------------------------------------------
# Bars and stripes


class BarsAndStripes(nn.Module):
    """The uniform distribution over the ``size``×``size`` bars-and-stripes images.

    An image is a *stripe* pattern if every row is constant, a *bar* pattern if every column
    is; there are :math:`2 \\cdot 2^{size} - 2` distinct ones (all-off and all-on are both).
    Images are flattened row by row to vectors of length ``size**2``. The patterns are a
    float32 buffer, so inputs are converted to float32.
    """

    def __init__(self, size=3):
        super().__init__()
        self.size = size = check_int(size, "size", 2, 5)
        codes = torch.arange(2**size)
        lines = ((codes[:, None] >> torch.arange(size)) & 1).float()  # (2^size, size)
        stripes = lines[:, :, None].expand(-1, size, size)  # row i constant = lines[:, i]
        bars = lines[:, None, :].expand(-1, size, size)  # column j constant = lines[:, j]
        patterns = torch.cat([stripes, bars]).reshape(-1, size * size)
        self.register_buffer("patterns", torch.unique(patterns, dim=0))  # (K, size**2), sorted

    def extra_repr(self):
        return f"size={self.size}"

    @property
    def n_patterns(self):
        return self.patterns.shape[0]

    @property
    def entropy(self):
        """Entropy of the uniform distribution over the patterns, in nats: :math:`\\log K`."""
        return math.log(self.n_patterns)

    def sample(self, n, *, generator=None):
        """``n`` patterns drawn uniformly with replacement: float32 of shape ``(n, size**2)``."""
        n = check_int(n, "n")
        idx = torch.randint(self.n_patterns, (n,), generator=make_generator(generator))
        return self.patterns[idx].clone()

    def log_prob(self, x):
        """``-log K`` for rows of binary ``x`` (n, size**2) that are bars-and-stripes
        patterns, ``-inf`` for the others: shape ``(n,)``, nats. Not differentiable (it is
        piecewise constant)."""
        x = check_data(x, "x", n_features=self.size**2, support="binary",
                       dtype=model_dtype(self))
        member = (x[:, None, :] == self.patterns[None]).all(-1).any(-1)
        return torch.where(member, -self.entropy, -math.inf).to(x.dtype)


# ---------------------------------------------------------------------------------------
# The bars problem (Hinton, Dayan, Frey & Neal 1995)


class BarsProblem(nn.Module):
    r"""The bars problem of Hinton, Dayan, Frey & Neal (1995), with its exact distribution.

    A ``size``×``size`` image is made by choosing an orientation, vertical with probability
    ``p_vertical`` (2/3) and horizontal otherwise, then switching each of the ``size`` bars
    of that orientation on independently with probability ``p_bar`` (0.2). The all-off and
    all-on images can arise from either orientation, so there are :math:`2 \cdot 2^{size} - 2`
    distinct images, and

    .. math:: p(x) = \pi_v \prod_j p^{k_j}(1-p)^{1-k_j}\,[x \text{ vertical}]
              + (1-\pi_v) \prod_i p^{k_i}(1-p)^{1-k_i}\,[x \text{ horizontal}].

    The entropy :math:`H = -\sum_x p(x) \log p(x)` is the floor of the expected negative
    log-likelihood of any model: :math:`\mathbb E_p[-\log q(x)] = H + KL(p \| q)`. Images are
    flattened row by row; the patterns and their probabilities are float64 buffers.

    Examples
    --------
    >>> bars = BarsProblem()
    >>> bars.n_patterns, round(float(bars.probs.sum()), 12), round(bars.entropy, 4)
    (30, 1.0, 2.3764)
    """

    def __init__(self, size=4, *, p_vertical=2 / 3, p_bar=0.2):
        super().__init__()
        self.size = size = check_int(size, "size", 2, 5)
        self.p_vertical = check_probability(p_vertical, "p_vertical")
        self.p_bar = check_probability(p_bar, "p_bar", open_interval=True)
        codes = torch.arange(2**size)
        lines = ((codes[:, None] >> torch.arange(size)) & 1).double()  # (2^size, size)
        k = lines.sum(1)  # bars on
        p_lines = self.p_bar**k * (1 - self.p_bar) ** (size - k)  # (2^size,)
        vertical = lines[:, None, :].expand(-1, size, size).reshape(-1, size * size)
        horizontal = lines[:, :, None].expand(-1, size, size).reshape(-1, size * size)
        patterns, inverse = torch.unique(torch.cat([vertical, horizontal]), dim=0,
                                         return_inverse=True)
        probs = torch.zeros(len(patterns), dtype=torch.float64)
        weights = torch.cat([self.p_vertical * p_lines, (1 - self.p_vertical) * p_lines])
        probs.index_add_(0, inverse, weights)
        self.register_buffer("patterns", patterns)  # (K, size**2), sorted
        self.register_buffer("probs", probs)  # (K,), sums to one

    def extra_repr(self):
        return f"size={self.size}, p_vertical={self.p_vertical:.3g}, p_bar={self.p_bar:.3g}"

    @property
    def n_patterns(self):
        return self.patterns.shape[0]

    @property
    def entropy(self):
        """Exact entropy of the images, in nats: the floor of any model's expected NLL."""
        p = self.probs
        return float(-(p * p.log()).sum())

    def sample(self, n, *, generator=None):
        """``n`` images drawn from the exact distribution: float32 of shape ``(n, size**2)``."""
        n = check_int(n, "n")
        idx = torch.multinomial(self.probs, n, replacement=True,
                                generator=make_generator(generator)) if n else \
            torch.zeros(0, dtype=torch.long)
        return self.patterns[idx].float()

    def log_prob(self, x):
        """Exact log-probability of each row of binary ``x`` (n, size**2), ``-inf`` for images
        the process never makes: shape ``(n,)``, nats, float64. Not differentiable."""
        x = check_data(x, "x", n_features=self.size**2, support="binary",
                       dtype=torch.float64)
        match = (x[:, None, :] == self.patterns[None]).all(-1)  # (n, K)
        log_p = torch.where(match, self.probs.log()[None], -math.inf)
        return torch.logsumexp(log_p, dim=1)

    def expected_nll(self, log_prob):
        r""":math:`\mathbb E_{x \sim p}[-\log q(x)]` in nats, for ``log_prob`` a function
        returning a model's :math:`\log q` of the :attr:`patterns` (exact: a sum over them).
        The gap to :attr:`entropy` is :math:`KL(p \| q)`."""
        with torch.no_grad():
            log_q = torch.as_tensor(log_prob(self.patterns)).double().reshape(-1)
        return float(-(self.probs * log_q).sum())
