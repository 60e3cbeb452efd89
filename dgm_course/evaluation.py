r"""The course's shared estimators: measuring generative models against the truth.

* **Exact enumeration** of small binary models (chapters 2, 3 and 5):
  :func:`all_binary_states`, :func:`log_sum_exp_over_states`, with one limit,
  :data:`MAX_ENUMERATED_UNITS`, and one message, :func:`check_enumerable`, used by every
  function of the library that enumerates.
* **Numerical integration** of a 2-D density on a grid (:func:`grid_log_normalizer`),
  exact to the grid's resolution for a smooth density whose mass lies inside the square.
* **Importance sampling**: :func:`log_mean_exp`, the reduction behind every importance-
  sampled estimate, and :func:`importance_sampled_log_likelihood`, the estimate
  :math:`\log p(x) \approx \log \frac1K \sum_k p(x, z_k) / q(z_k \mid x)` of a latent-variable
  model with an inference network (chapters 5 and 6; Burda et al. 2016).
* **Sample quality on the 2-D toys**: :func:`bin_probabilities` and :func:`histogram_kl`.
* **Annealed importance sampling** (Neal 2001; Salakhutdinov and Murray 2008), for models
  too large to enumerate.

Log-likelihoods are in nats per example, summed over the dimensions of an example.
"""
import math
from typing import NamedTuple

import numpy as np
import torch

from dgm_course.utils import make_generator
from dgm_course.validation import (check_choice, check_data, check_int, check_number,
                                   check_positive)

MAX_ENUMERATED_UNITS = 22
"""The most binary units the library enumerates (2**22 = 4,194,304 states)."""


# ---------------------------------------------------------------------------------------
# Exact enumeration


def check_enumerable(n_units, what="enumeration"):
    """``n_units`` as an ``int`` if its :math:`2^{n}` states may be enumerated, else the
    library's one ``ValueError`` about the limit; ``what`` names the computation.

    Examples
    --------
    >>> check_enumerable(9, "log_partition")
    9
    >>> check_enumerable(30, "log_partition")
    Traceback (most recent call last):
        ...
    ValueError: log_partition enumerates all 2**30 = 1,073,741,824 states of 30 binary units, more than the limit of 2**22 = 4,194,304 states (dgm_course.evaluation.MAX_ENUMERATED_UNITS); estimate it instead (annealed importance sampling)
    """
    n_units = check_int(n_units, "n_units")
    if n_units > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"{what} enumerates all 2**{n_units} = {2**n_units:,} states of {n_units} binary "
            f"units, more than the limit of 2**{MAX_ENUMERATED_UNITS} = "
            f"{2**MAX_ENUMERATED_UNITS:,} states (dgm_course.evaluation.MAX_ENUMERATED_UNITS); "
            "estimate it instead (annealed importance sampling)")
    return n_units


def _states(codes, n_units, dtype):
    # binary expansions of the integers `codes`, least significant bit first: (len(codes), n_units)
    return ((codes[:, None] >> torch.arange(n_units)) & 1).to(dtype)


def all_binary_states(n_units, dtype=None):
    """Every binary vector of length ``n_units``: a tensor of shape ``(2**n_units, n_units)``
    of ``dtype`` (``torch.get_default_dtype()`` when None).

    Row ``i`` is the binary expansion of ``i`` with the least significant bit first.

    Examples
    --------
    >>> all_binary_states(2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """
    n_units = check_enumerable(n_units, "all_binary_states")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    return _states(torch.arange(2**n_units), n_units, dtype)


def log_sum_exp_over_states(log_weight, n_units, batch_size=2**16, dtype=torch.float64):
    r"""Exact :math:`\log \sum_{s \in \{0,1\}^n} e^{f(s)}` for a function ``log_weight`` = f.

    With ``log_weight = lambda s: -energy(s)`` this is the log partition function
    :math:`\log Z`; with ``-free_energy`` it is :math:`\log Z` of a latent-variable model.
    States are made and visited in batches of ``batch_size``, so memory stays small even for
    :data:`MAX_ENUMERATED_UNITS` units. Differentiable through ``log_weight``.
    """
    n_units = check_enumerable(n_units, "log_sum_exp_over_states")
    batch_size = check_int(batch_size, "batch_size", 1)
    codes = torch.arange(2**n_units)
    parts = [torch.logsumexp(log_weight(_states(batch, n_units, dtype)).reshape(-1), dim=0)
             for batch in codes.split(batch_size)]
    return torch.logsumexp(torch.stack(parts), dim=0)


# ---------------------------------------------------------------------------------------
# Numerical integration in 2-D


def grid_log_normalizer(log_density, lim=4.0, n=400):
    r"""Log of the integral of :math:`e^{f(x)}` over the square :math:`[-lim, lim]^2`.

    A midpoint rule on an ``n``×``n`` grid: exact in the limit, and accurate for smooth
    densities whose mass lies inside the square. Returns ``(log_integral, grid, log_values)``
    where ``grid`` has shape ``(n*n, 2)`` (float64) and ``log_values = f(grid)``.
    """
    lim = check_positive(lim, "lim")
    n = check_int(n, "n", 1)
    h = 2 * lim / n
    ticks = -lim + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)
    log_values = log_density(grid).double().reshape(-1)
    return torch.logsumexp(log_values, 0) + 2 * math.log(h), grid, log_values


# ---------------------------------------------------------------------------------------
# Importance sampling


def log_mean_exp(x, dim=0):
    r"""Numerically stable :math:`\log \frac{1}{K}\sum_k e^{x_k}` along ``dim``.

    This is the reduction behind importance-sampling estimates such as the IWAE bound and
    AIS: :math:`\log \hat Z = \operatorname{logsumexp}_k(\log w_k) - \log K`.

    Examples
    --------
    >>> float(log_mean_exp(torch.tensor([0.0, 0.0, 0.0])))
    0.0
    >>> round(float(log_mean_exp(torch.tensor([1000.0, 1000.0 + math.log(3)]))), 4)
    1000.6931
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if x.dim() == 0 or x.shape[dim] == 0:
        raise ValueError(f"x must have at least one entry along dim={dim}, got shape "
                         f"{tuple(x.shape)}")
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


class ImportanceEstimate(NamedTuple):
    """An importance-sampled log-likelihood: per-example estimates and standard errors."""

    log_likelihood: torch.Tensor  # (n,) nats per example
    stderr: torch.Tensor  # (n,) standard error of each estimate (delta method), nats
    ess: torch.Tensor  # (n,) effective sample size of the k weights, 1..k


def importance_sampled_log_likelihood(x, log_joint, sample_q, *, k, generator=None):
    r"""Importance-sampled estimate of :math:`\log p(x)` for each example of ``x``:

    .. math::
        \log \hat p(x) = \log \frac1K \sum_{k=1}^K \frac{p(x, z_k)}{q(z_k \mid x)},
        \qquad z_k \sim q(z \mid x).

    The average of the weights is unbiased for :math:`p(x)`; its log is a lower bound in
    expectation (the IWAE bound of Burda et al. 2016), tight as :math:`K \to \infty` and
    exact at any :math:`K` when :math:`q` is the true posterior.

    Parameters
    ----------
    x : tensor or array of shape (n, ...)
        The examples (any shape after the first dimension).
    log_joint : callable
        ``log_joint(x, z)`` → :math:`\log p(x, z)` of shape (K, n), for ``z`` as returned
        by ``sample_q``.
    sample_q : callable
        ``sample_q(x, K, generator)`` → ``(z, log_q)``: ``K`` draws per example from
        :math:`q(z \mid x)` (first two dimensions (K, n)) and their log-densities, (K, n).
    k : int
        Importance samples per example, >= 1.
    generator : int or torch.Generator, optional
        Passed to ``sample_q``; the same seed gives the same estimate.

    Returns
    -------
    ImportanceEstimate
        ``log_likelihood`` (n,), nats per example; ``stderr`` (n,), its standard error by the
        delta method, :math:`\mathrm{sd}(w) / (\sqrt K\, \bar w)` (0 when every weight is the
        same); ``ess`` (n,), the effective sample size :math:`(\sum w)^2 / \sum w^2`.
        Computed under ``torch.no_grad()``.
    """
    x = check_data(x, "x", ndim=None, min_rows=1)
    k = check_int(k, "k", 1)
    gen = make_generator(generator)
    with torch.no_grad():
        z, log_q = sample_q(x, k, gen)
        log_p = log_joint(x, z)
        for name, value in (("log_joint(x, z)", log_p), ("log_q from sample_q", log_q)):
            if tuple(value.shape) != (k, x.shape[0]):
                raise ValueError(f"{name} must have shape (k, n) = {(k, x.shape[0])}, got "
                                 f"{tuple(value.shape)}")
        log_w = (log_p - log_q).double()  # (K, n)
        if torch.isnan(log_w).any():
            raise ValueError("log_joint(x, z) - log_q contains NaN; check both functions")
        estimate = log_mean_exp(log_w, dim=0)  # (n,)
        w = torch.exp(log_w - log_w.max(0).values)  # (K, n), the largest weight is 1
        sd = w.std(0, correction=1) if k > 1 else torch.zeros_like(estimate)
        stderr = sd / (math.sqrt(k) * w.mean(0))
        ess = w.sum(0) ** 2 / (w**2).sum(0)
    return ImportanceEstimate(estimate, stderr, ess)


# ---------------------------------------------------------------------------------------
# A 2-D sample against the truth


def bin_probabilities(mixture, *, lim=4.0, bins=24):
    """Exact probability of each square bin of ``[-lim, lim]^2`` under a
    ``dgm_course.data.GaussianMixture2D`` (products of normal CDF differences), plus the mass
    outside the square as a last entry: shape (bins * bins + 1,), float64, summing to one.
    Bins are ordered as in ``numpy.histogram2d`` (x index major)."""
    lim = check_positive(lim, "lim")
    bins = check_int(bins, "bins", 1)
    edges = torch.linspace(-lim, lim, bins + 1, dtype=torch.float64)
    means = mixture.means.double()  # (K, 2)
    stds = mixture.stds.double()  # (K,)
    normal = torch.distributions.Normal(0.0, 1.0)
    cdf = normal.cdf((edges[None, :, None] - means[:, None, :]) / stds[:, None, None])  # (K, bins+1, 2)
    mass = cdf[:, 1:] - cdf[:, :-1]  # (K, bins, 2)
    p = torch.einsum("k,ki,kj->ij", mixture.weights.double(), mass[:, :, 0], mass[:, :, 1])
    p = p.flatten()
    return torch.cat([p, (1 - p.sum()).clamp(min=0)[None]])


def histogram_kl(samples, mixture, *, lim=4.0, bins=24):
    r"""KL divergence, in nats, from the binned sample to the binned truth,
    :math:`\sum_k \hat q_k \log(\hat q_k / p_k)`, with bins as in :func:`bin_probabilities`
    (the last bin is everything outside the square).

    A sample of size :math:`n` from the truth itself scores about :math:`(B - 1)/(2n)` for
    :math:`B` occupied bins: compare with that floor, not with zero."""
    from scipy.special import rel_entr  # imported here: SciPy takes 0.4 s to import

    x = check_data(samples, "samples", n_features=2, dtype=torch.float64, min_rows=1)
    x = x.detach().cpu().numpy()
    lim = check_positive(lim, "lim")
    bins = check_int(bins, "bins", 1)
    box = [[-lim, lim], [-lim, lim]]
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=box)
    q = np.append(counts.flatten(), len(x) - counts.sum()) / len(x)
    p = bin_probabilities(mixture, lim=lim, bins=bins).numpy()
    return float(rel_entr(q, np.maximum(p, 1e-300)).sum())


# ---------------------------------------------------------------------------------------
# Annealed importance sampling (owned by chapter 3's engineer; a generic estimator)


def inverse_temperatures(n_temperatures, *, schedule="sigmoid"):
    r"""The inverse temperatures :math:`0 = \beta_0 < \beta_1 < \dots < \beta_K = 1` of an
    annealing path: a float64 tensor of shape ``(n_temperatures + 1,)``.

    ``"linear"`` spaces them evenly; ``"sigmoid"`` packs them near both ends, where the
    intermediate distributions change fastest (Grosse, Maddison & Salakhutdinov 2013).

    Examples
    --------
    >>> inverse_temperatures(4, schedule="linear").tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    n_temperatures = check_int(n_temperatures, "n_temperatures", 1)
    schedule = check_choice(schedule, "schedule", ("sigmoid", "linear"))
    t = torch.linspace(0, 1, n_temperatures + 1, dtype=torch.float64)
    if schedule == "linear":
        return t
    s = torch.sigmoid(8.0 * (t - 0.5))
    return (s - s[0]) / (s[-1] - s[0])


@torch.no_grad()
def annealed_importance_sampling(log_density, transition, x0, *, log_z0, betas, generator=None):
    r"""Estimate a log normalising constant by annealed importance sampling (Neal 2001).

    A path of unnormalised densities :math:`f_\beta`, :math:`0 \le \beta \le 1`, leads from a
    base distribution :math:`p_0 = f_0 / Z_0` that can be sampled exactly and whose
    :math:`Z_0` is known to the target :math:`f_1`, whose :math:`Z` is wanted. Each of
    :math:`R` runs starts from :math:`x_1 \sim p_0` and, for :math:`k = 1, \dots, K`,

    .. math::
        \log w \mathrel{+}= \log f_{\beta_k}(x_k) - \log f_{\beta_{k-1}}(x_k),
        \qquad x_{k+1} \sim T_{\beta_k}(\cdot \mid x_k)
        \qquad \text{(eq. rbm-ais-weight)}

    where :math:`T_\beta` is any Markov transition that leaves :math:`f_\beta / Z_\beta`
    invariant. Then :math:`\hat Z = Z_0 \cdot \frac1R \sum_r w_r` is unbiased for :math:`Z`,
    so :math:`\log \hat Z` is biased slightly *low* (Jensen). All runs move together, as
    one batch.

    Parameters
    ----------
    log_density : callable
        ``log_density(x, beta)`` → :math:`\log f_\beta(x)`, shape ``(R,)``, for a batch of
        states ``x`` (first dimension R) and a Python float ``beta``.
    transition : callable
        ``transition(x, beta, generator)`` → new states like ``x``, a step of a Markov chain
        that leaves :math:`p_\beta` invariant, drawing its randomness from ``generator``.
    x0 : tensor of shape (R, ...)
        Exact samples of :math:`p_0`, one per run.
    log_z0 : float or 0-d tensor
        :math:`\log Z_0` of :math:`f_0`.
    betas : sequence or 1-d tensor
        Increasing from 0 to 1, e.g. :func:`inverse_temperatures`.
    generator : int or torch.Generator, optional
        Passed to ``transition``.

    Returns
    -------
    (log_z, std_error) : 0-d float64 tensors
        :math:`\log \hat Z` in nats, and its standard error by the delta method,
        :math:`\operatorname{sd}(w) / (\sqrt R\, \bar w)` (inf for a single run). The
        standard error measures the spread of the runs only: a path annealed too fast can be
        consistently wrong, so validate the setting where the truth is known.

    Examples
    --------
    A unit Gaussian annealed to :math:`f_1(x) = e^{-x^2/8}`, whose :math:`Z = \sqrt{8\pi}`;
    along the path :math:`f_\beta = f_0^{1-\beta} f_1^\beta` every :math:`p_\beta` is a
    Gaussian, which the transition samples exactly:

    >>> def log_f(x, beta):
    ...     return -0.5 * x[:, 0] ** 2 * ((1 - beta) + beta / 4)
    >>> def step(x, beta, gen):
    ...     std = ((1 - beta) + beta / 4) ** -0.5
    ...     return std * torch.randn(x.shape, generator=gen, dtype=x.dtype)
    >>> x0 = torch.randn(500, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> log_z, se = annealed_importance_sampling(
    ...     log_f, step, x0, log_z0=0.5 * math.log(2 * math.pi),
    ...     betas=inverse_temperatures(50), generator=0)
    >>> bool(abs(log_z - 0.5 * math.log(8 * math.pi)) < 4 * se)
    True
    """
    betas = torch.as_tensor(betas, dtype=torch.float64).reshape(-1)
    ok = (len(betas) >= 2 and bool(torch.isfinite(betas).all()) and float(betas[0]) == 0.0
          and float(betas[-1]) == 1.0 and bool((betas[1:] > betas[:-1]).all()))
    if not ok:
        raise ValueError(f"betas must increase from 0 to 1 with at least two entries, got "
                         f"{betas.tolist() if len(betas) <= 6 else f'{len(betas)} values'}")
    x = check_data(x0, "x0", ndim=None, dtype=x0.dtype if torch.is_tensor(x0) else None,
                   min_rows=1)
    log_z0 = check_number(log_z0, "log_z0")
    gen = make_generator(generator)
    betas = betas.tolist()
    log_w = torch.zeros(x.shape[0], dtype=torch.float64)  # (R,)
    for beta_prev, beta in zip(betas[:-1], betas[1:]):
        log_w += (log_density(x, beta) - log_density(x, beta_prev)).double()  # eq. rbm-ais-weight
        if beta < 1:
            x = transition(x, beta, gen)
    n_runs = len(log_w)
    log_z = log_z0 + log_mean_exp(log_w)
    w = torch.exp(log_w - log_w.max())  # the largest weight is 1
    std_error = w.std() / (w.mean() * math.sqrt(n_runs)) if n_runs > 1 else torch.tensor(math.inf)
    return log_z, std_error.double()


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
