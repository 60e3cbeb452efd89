"""Measuring generative models against the truth: exact enumeration and numerical integration.

Chapters 2 and 3 compute partition functions exactly by summing over every binary state of
a small model (:func:`all_binary_states`, :func:`log_sum_exp_over_states`); chapter 2 and
the 2-D chapters normalise a density on a grid (:func:`grid_log_normalizer`), which in 2-D
is exact to within the grid's resolution. Annealed importance sampling, for models too
large to enumerate, lives with the RBM in :mod:`dgm_course.rbm`.
"""
import math

import torch

from dgm_course.utils import check_int

MAX_ENUMERATED_UNITS = 22
"""The most binary units :func:`all_binary_states` enumerates (4,194,304 states)."""


def all_binary_states(n_units, dtype=torch.float32):
    """Every binary vector of length ``n_units``: a tensor of shape ``(2**n_units, n_units)``.

    Row ``i`` is the binary expansion of ``i`` with the least significant bit first.

    Examples
    --------
    >>> all_binary_states(2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """
    _check_n_units(n_units)
    return _states(torch.arange(2**n_units), n_units, dtype)


def _check_n_units(n_units):
    check_int(n_units, "n_units")
    if n_units > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"enumerating {n_units} binary units means 2**{n_units} = {2**n_units:,} states; "
            f"at most {MAX_ENUMERATED_UNITS} units ({2**MAX_ENUMERATED_UNITS:,} states) are enumerated"
        )


def _states(codes, n_units, dtype):
    # binary expansions of the integers `codes`, least significant bit first: (len(codes), n_units)
    return ((codes[:, None] >> torch.arange(n_units)) & 1).to(dtype)


def log_sum_exp_over_states(log_weight, n_units, batch_size=2**16, dtype=torch.float64):
    r"""Exact :math:`\log \sum_{s \in \{0,1\}^n} e^{f(s)}` for a function ``log_weight`` = f.

    With ``log_weight = lambda s: -energy(s)`` this is the log partition function
    :math:`\log Z`; with ``-free_energy`` it is :math:`\log Z` of a latent-variable model.
    States are made and visited in batches of ``batch_size``, so memory stays small even for
    :data:`MAX_ENUMERATED_UNITS` units.
    """
    _check_n_units(n_units)
    codes = torch.arange(2**n_units)
    parts = [torch.logsumexp(log_weight(_states(batch, n_units, dtype)).reshape(-1), dim=0)
             for batch in codes.split(batch_size)]
    return torch.logsumexp(torch.stack(parts), dim=0)


def grid_log_normalizer(log_density, lim=4.0, n=400):
    r"""Log of the integral of :math:`e^{f(x)}` over the square :math:`[-lim, lim]^2`.

    A midpoint rule on an ``n``×``n`` grid: exact in the limit, and accurate for smooth
    densities whose mass lies inside the square. Returns ``(log_integral, grid, log_values)``
    where ``grid`` has shape ``(n*n, 2)`` and ``log_values = f(grid)``.
    """
    h = 2 * lim / n
    ticks = -lim + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)
    log_values = log_density(grid).double().reshape(-1)
    return torch.logsumexp(log_values, 0) + 2 * math.log(h), grid, log_values


# =======================================================================================
# Sample-quality measures (chapter 7, generative adversarial networks; issue 14).
# For models without a likelihood: mode coverage on the 2-D mixtures (VEEGAN's protocol)
# and, on the digits, class coverage and a Fréchet distance from a small classifier
# trained once on the real digits.
# =======================================================================================

from collections import namedtuple  # noqa: E402
from functools import lru_cache  # noqa: E402

import numpy as np  # noqa: E402

from dgm_course.validation import (check_data as _check_data,  # noqa: E402
                                   check_positive as _check_positive,
                                   check_probability as _check_probability)

ModeCoverage = namedtuple("ModeCoverage", ["modes", "high_quality"])
ModeCoverage.__doc__ = """What :func:`mode_coverage` returns: modes captured (an int) and the
fraction of high-quality samples (a float in [0, 1])."""


def mode_coverage(samples, means, std):
    r"""Modes captured and fraction of high-quality samples, by VEEGAN's protocol.

    A sample is **high quality** if it lies within 3 ``std`` of its nearest mode (Euclidean
    distance); a mode is **captured** if it is the nearest mode of at least one
    high-quality sample (Srivastava et al. 2017, who draw 2,500 samples).

    Parameters
    ----------
    samples : array of shape (n, D)
    means : array of shape (n_modes, D)
        The mixture's component means.
    std : float
        The components' standard deviation.

    Returns
    -------
    ModeCoverage(modes, high_quality)
        ``modes`` an int in ``[0, n_modes]``, ``high_quality`` a float in [0, 1] (0 for no
        samples).

    Examples
    --------
    >>> means = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
    >>> mode_coverage([[0.1, 0.0], [9.0, 0.0], [10.0, 0.2]], means, std=0.1)
    ModeCoverage(modes=2, high_quality=0.6666666666666666)
    """
    means = _check_data(means, "means", dtype=torch.float64, min_rows=1)
    samples = _check_data(samples, "samples", n_features=means.shape[1], dtype=torch.float64)
    std = _check_positive(std, "std")
    if samples.shape[0] == 0:
        return ModeCoverage(0, 0.0)
    distance, nearest = torch.cdist(samples, means).min(dim=1)  # (n,), (n,)
    good = distance <= 3 * std
    return ModeCoverage(int(nearest[good].unique().numel()), float(good.double().mean()))


class DigitClassifier:
    """A small MLP classifier (scikit-learn, 64 ReLU units) trained once on the real training
    digits scaled to [0, 1]; its test accuracy is ``accuracy_``. Get the shared one from
    :func:`digit_classifier`."""

    def __init__(self):
        from sklearn.neural_network import MLPClassifier

        from dgm_course.data import load_digits

        x, y = load_digits("train", return_labels=True)
        x_test, y_test = load_digits("test", return_labels=True)
        self.mlp_ = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=400,
                                  random_state=0).fit(x.numpy() / 16, y.numpy())
        self.accuracy_ = float(self.mlp_.score(x_test.numpy() / 16, y_test.numpy()))

    def _check(self, x):
        return _check_data(x, "x", n_features=64, support="unit", dtype=torch.float64).numpy()

    def predict(self, x):
        """Digit classes (int array of shape ``(n,)``) of images ``x`` of shape ``(n, 64)`` in [0, 1]."""
        return self.mlp_.predict(self._check(x))

    def features(self, x):
        """The hidden layer's 64 ReLU activations of images ``x`` (n, 64) in [0, 1]: (n, 64)."""
        x = self._check(x)
        return np.maximum(x @ self.mlp_.coefs_[0] + self.mlp_.intercepts_[0], 0.0)


@lru_cache(maxsize=1)
def digit_classifier():
    """The course's :class:`DigitClassifier`, trained on first use (about a second)."""
    return DigitClassifier()


ClassCoverage = namedtuple("ClassCoverage", ["classes", "fractions"])
ClassCoverage.__doc__ = """What :func:`class_coverage` returns: the number of digit classes
covered (an int) and the fraction of samples given to each class (array of shape (10,))."""


def class_coverage(samples, *, min_fraction=0.01, classifier=None):
    """How many of the 10 digit classes the samples cover, by the classifier's labels.

    A class is covered if at least ``min_fraction`` of the samples (shape ``(n, 64)``,
    values in [0, 1]) are classified as it. Returns :class:`ClassCoverage`.
    """
    min_fraction = _check_probability(min_fraction, "min_fraction")
    classifier = digit_classifier() if classifier is None else classifier
    labels = classifier.predict(samples)
    fractions = np.bincount(labels, minlength=10) / max(len(labels), 1)
    return ClassCoverage(int((fractions >= max(min_fraction, 1e-12)).sum()), fractions)


def frechet_distance(features_a, features_b):
    r"""The Fréchet distance between Gaussians fitted to two sets of features (shape
    ``(n, d)`` each): :math:`\lVert \mu_a - \mu_b \rVert^2 + \mathrm{tr}(\Sigma_a + \Sigma_b
    - 2 (\Sigma_a \Sigma_b)^{1/2})` (the FID of Heusel et al. 2017 on our classifier's
    features). Zero for identical sets."""
    from scipy import linalg

    a = _check_data(features_a, "features_a", dtype=torch.float64, min_rows=2).numpy()
    b = _check_data(features_b, "features_b", n_features=a.shape[1], dtype=torch.float64,
                    min_rows=2).numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    ridge = 1e-6 * np.eye(a.shape[1])  # dead ReLU features make covariances singular
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))
