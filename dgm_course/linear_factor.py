r"""Chapter 1 — Linear factor models: probabilistic PCA and factor analysis.

Both Gaussian models explain an observation :math:`x \in \mathbb R^d` by :math:`q < d`
continuous latent factors :math:`h`:

.. math::
    h \sim \mathcal N(0, I_q), \qquad x \mid h \sim \mathcal N(W h + b, \Psi), \qquad
    \text{so} \qquad x \sim \mathcal N(b,\; W W^\top + \Psi).

* :class:`PPCA` — isotropic noise :math:`\Psi = \sigma^2 I`, fitted in closed form
  (Tipping & Bishop 1999, eqs. 7–8) or by EM (their §3.2; Bishop 2006, §12.2.2).
* :class:`FactorAnalysis` — diagonal noise :math:`\Psi = \operatorname{diag}(\psi)`, fitted by
  EM (Rubin & Thayer 1982; Ghahramani & Hinton 1996; Bishop 2006, §12.2.4).

:func:`dgm_course.data.dequantize` turns the digits' 17 grey levels into continuous values
for these densities. The non-linear step the chapter closes with, the sigmoid belief net, is in
:mod:`dgm_course.sigmoid_belief_net`.

The two Gaussian models follow scikit-learn's habits: hyper-parameters in ``__init__``,
``fit(X)`` returns ``self``, fitted attributes end in ``_``, and ``score_samples`` /
``score`` / ``transform`` take NumPy arrays or torch tensors and return NumPy float64. All
log-likelihoods are in nats per example (summed over the ``d`` features). The maximum-
likelihood mean :math:`b` is the sample mean and :math:`S` below is the maximum-likelihood
covariance :math:`S = \frac1N \sum_n (x_n - b)(x_n - b)^\top` (1/N, not 1/(N−1)).
"""
import math
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from dgm_course.utils import check_int, make_generator

LOG_2PI = math.log(2 * math.pi)

# ---------------------------------------------------------------------------------------
# Input checks


def _as_data(X, name="X", n_features=None, min_rows=1):
    """``X`` (NumPy array, torch tensor or nested list) as a float64 array of shape (n, d)."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().double().numpy()
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of numbers, got {type(X).__name__}") from err
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got shape {X.shape}; "
                         f"use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample")
    if X.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(X)).sum())} NaN or infinite value(s)")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} features (columns) like the data the model was "
                         f"fitted on, got shape {X.shape}")
    return X


def _check_tol(tol):
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")


def _moments(X):
    """Sample mean b (d,) and maximum-likelihood covariance S (d, d), with 1/N."""
    b = X.mean(axis=0)
    Xc = X - b
    return b, Xc.T @ Xc / X.shape[0]


def mean_log_likelihood(S, C):
    r"""Mean Gaussian log-likelihood, in nats per example, of data with ML covariance ``S``
    under :math:`\mathcal N(b, C)` where :math:`b` is the data's mean:

    .. math:: \frac1N \sum_n \log \mathcal N(x_n; b, C)
              = -\tfrac12 \left( d \log 2\pi + \log|C| + \operatorname{tr}(C^{-1} S) \right).
    """
    L = np.linalg.cholesky(C)  # C = L L^T
    Linv_S = np.linalg.solve(L, np.linalg.solve(L, S).T)  # L^{-1} S L^{-T}
    return -0.5 * (S.shape[0] * LOG_2PI + 2 * np.log(np.diag(L)).sum() + np.trace(Linv_S))


# ---------------------------------------------------------------------------------------
# The updates, as functions of the data's covariance S


def ppca_closed_form(S, n_components):
    r"""Maximum-likelihood PPCA parameters from the ML covariance ``S`` (Tipping & Bishop 1999;
    chapter 1, eq. ``lf-ppca-ml``).

    .. math:: \sigma^2 = \frac{1}{d - q} \sum_{j = q+1}^{d} \lambda_j, \qquad
              W = U_q (\Lambda_q - \sigma^2 I)^{1/2},

    with :math:`\lambda_1 \ge \dots \ge \lambda_d` the eigenvalues of :math:`S` and
    :math:`U_q` the eigenvectors of the :math:`q` largest (rotation :math:`R = I`; each
    column's largest-magnitude entry is made positive so the answer is reproducible).

    Returns
    -------
    W : array of shape (d, q)
    sigma2 : float
    """
    d = S.shape[0]
    eigenvalues, U = np.linalg.eigh(S)  # ascending
    eigenvalues, U = np.clip(eigenvalues[::-1], 0, None), U[:, ::-1]  # descending
    sigma2 = float(eigenvalues[n_components:].mean())
    if not sigma2 > 1e-12 * eigenvalues[0]:
        raise ValueError(f"the data's covariance has rank <= n_components={n_components}, so the noise "
                         f"variance sigma2 would be 0; use fewer components (d={d})")
    U_q = U[:, :n_components]
    U_q = U_q * np.sign(U_q[np.abs(U_q).argmax(axis=0), np.arange(n_components)])
    W = U_q * np.sqrt(np.clip(eigenvalues[:n_components] - sigma2, 0, None))  # (d, q)
    return W, sigma2


def ppca_em_step(S, W, sigma2):
    r"""One EM step for PPCA in terms of ``S`` (Tipping & Bishop 1999, eqs. 29–30; chapter 1,
    eq. ``lf-ppca-em`` with the sums over examples written through ``S``):

    .. math:: M = W^\top W + \sigma^2 I, \quad
              W' = S W (\sigma^2 I + M^{-1} W^\top S W)^{-1}, \quad
              \sigma'^2 = \tfrac1d \operatorname{tr}(S - S W M^{-1} W'^\top).
    """
    q = W.shape[1]
    M = W.T @ W + sigma2 * np.eye(q)  # (q, q)
    SW = S @ W  # (d, q)
    W_new = np.linalg.solve((sigma2 * np.eye(q) + np.linalg.solve(M, W.T @ SW)).T, SW.T).T
    sigma2_new = float(np.trace(S - SW @ np.linalg.solve(M, W_new.T))) / S.shape[0]
    return W_new, sigma2_new


def fa_em_step(S, W, psi, psi_min=0.0):
    r"""One EM step for factor analysis in terms of ``S`` (Ghahramani & Hinton 1996; chapter 1,
    eq. ``lf-fa-em``).

    E-step: the posterior of each :math:`h_n` is :math:`\mathcal N(\beta (x_n - b), G)` with

    .. math:: G = (I + W^\top \Psi^{-1} W)^{-1}, \qquad \beta = G W^\top \Psi^{-1}.

    M-step, with :math:`\frac1N\sum_n (x_n-b)\,E[h_n]^\top = S\beta^\top` and
    :math:`\frac1N\sum_n E[h_n h_n^\top] = G + \beta S \beta^\top`:

    .. math:: W' = S \beta^\top (G + \beta S \beta^\top)^{-1}, \qquad
              \psi' = \operatorname{diag}(S - W' \beta S), \text{ floored at } \psi_{\min}.

    Parameters
    ----------
    S : array of shape (d, d)
    W : array of shape (d, q)
    psi : array of shape (d,)
    psi_min : float
        Floor of :math:`\psi'` (the step stays a maximisation: the bound is unimodal in each
        :math:`\psi_i`).

    Returns
    -------
    W : array of shape (d, q)
    psi : array of shape (d,)
    """
    q = W.shape[1]
    W_over_psi = W / psi[:, None]  # Psi^{-1} W, (d, q)
    G = np.linalg.inv(np.eye(q) + W.T @ W_over_psi)  # (q, q)
    beta = G @ W_over_psi.T  # (q, d)
    S_beta = S @ beta.T  # (d, q)
    W_new = np.linalg.solve((G + beta @ S_beta).T, S_beta.T).T  # (d, q)
    psi_new = np.diag(S) - np.einsum("ij,ij->i", W_new, S_beta)
    return W_new, np.maximum(psi_new, psi_min)


# ---------------------------------------------------------------------------------------
# The shared model: x ~ N(b, W W^T + diag(psi))


class _LinearGaussian:
    """Methods shared by PPCA and factor analysis; subclasses set ``b_``, ``W_`` and define
    ``_psi()`` (the noise variances, shape (d,))."""

    def _check_params(self, n_features):
        q = check_int(self.n_components, "n_components", 1)
        if q >= n_features:
            raise ValueError(f"n_components must be between 1 and n_features - 1 = {n_features - 1} (the noise "
                             f"is estimated from the directions the factors leave out), got {q}")
        check_int(self.max_iter, "max_iter", 1)
        _check_tol(self.tol)
        return q

    def _check_fitted(self):
        if not hasattr(self, "W_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def _em(self, S, step, params):
        """Iterate ``params = step(S, *params)`` until no entry of the model's covariance
        :math:`C` moves by more than ``tol * max|C|``; records ``loglike_`` (nats per example).

        (A test on the log-likelihood's gain would stop early: near the optimum the gain is
        quadratic in the parameters' error, so a gain of 1e-12 leaves errors of about 1e-6.)
        """
        C = self._covariance(*params)
        loglike = [mean_log_likelihood(S, C)]
        for _ in range(self.max_iter):
            params = step(S, *params)
            C, C_old = self._covariance(*params), C
            loglike.append(mean_log_likelihood(S, C))
            change = np.abs(C - C_old).max() / np.abs(C).max()
            if change <= self.tol:
                break
        else:
            warnings.warn(f"{type(self).__name__}: EM did not converge in max_iter={self.max_iter} iterations "
                          f"(last relative change of the covariance {change:.1e} > tol={self.tol:g}); "
                          f"raise max_iter or tol", ConvergenceWarning, stacklevel=3)
        self.loglike_ = np.array(loglike)
        self.n_iter_ = len(loglike) - 1
        return params

    def get_covariance(self):
        r"""The model's covariance :math:`C = W W^\top + \Psi`, shape (d, d)."""
        self._check_fitted()
        return self.W_ @ self.W_.T + np.diag(self._psi())

    def score_samples(self, X):
        r"""Log-density :math:`\log \mathcal N(x_n; b, W W^\top + \Psi)` of each row of ``X``, in nats
        (chapter 1, eqs. ``lf-ppca-marginal`` and ``lf-fa``), by a Cholesky factor of the covariance.

        Parameters
        ----------
        X : array or tensor of shape (n, d)

        Returns
        -------
        array of shape (n,)
        """
        self._check_fitted()
        X = _as_data(X, n_features=self.b_.shape[0])
        L = np.linalg.cholesky(self.get_covariance())  # C = L L^T, (d, d)
        z = np.linalg.solve(L, (X - self.b_).T)  # L^{-1}(x - b), (d, n)
        return -0.5 * (X.shape[1] * LOG_2PI + 2 * np.log(np.diag(L)).sum() + (z**2).sum(axis=0))

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`: the average log-likelihood in nats per example."""
        return float(self.score_samples(X).mean())

    def posterior(self, X):
        r"""Mean and covariance of :math:`p(h \mid x)`, a Gaussian for every row of ``X``
        (chapter 1, eq. ``lf-fa-posterior``):

        .. math:: \Lambda = (I + W^\top \Psi^{-1} W)^{-1} = I - W^\top (W W^\top + \Psi)^{-1} W,
                  \qquad \mu = \Lambda W^\top \Psi^{-1} (x - b) = W^\top (W W^\top + \Psi)^{-1} (x - b).

        Returns
        -------
        mean : array of shape (n, q)
        cov : array of shape (q, q)
            The same for every ``x``.
        """
        self._check_fitted()
        X = _as_data(X, n_features=self.b_.shape[0])
        W_over_psi = self.W_ / self._psi()[:, None]  # (d, q)
        cov = np.linalg.inv(np.eye(self.W_.shape[1]) + self.W_.T @ W_over_psi)  # (q, q)
        return (X - self.b_) @ W_over_psi @ cov, cov  # cov is symmetric

    def transform(self, X):
        """The posterior mean :math:`E[h \\mid x]` of each row: array of shape (n, q)."""
        return self.posterior(X)[0]

    def inverse_transform(self, H):
        """The decoder's mean :math:`W h + b` for each row of ``H`` (n, q): array of shape (n, d).
        ``inverse_transform(transform(X))`` is the model's reconstruction of ``X``."""
        self._check_fitted()
        H = _as_data(H, name="H", n_features=self.W_.shape[1])
        return H @ self.W_.T + self.b_

    def sample(self, n, generator=None, *, return_latent=False):
        r"""``n`` ancestral samples :math:`h \sim \mathcal N(0, I)`, :math:`x = W h + b + \Psi^{1/2}\epsilon`.

        Parameters
        ----------
        n : int
        generator : int, torch.Generator or None
            Seed or generator (see :func:`dgm_course.utils.make_generator`).
        return_latent : bool
            Also return the latent draws ``h``.

        Returns
        -------
        X : array of shape (n, d)
        H : array of shape (n, q), only if ``return_latent``
        """
        self._check_fitted()
        n = check_int(n, "n", 0)
        gen = make_generator(generator)
        d, q = self.W_.shape
        H = torch.randn(n, q, generator=gen, dtype=torch.float64).numpy()  # (n, q)
        eps = torch.randn(n, d, generator=gen, dtype=torch.float64).numpy()  # (n, d)
        X = H @ self.W_.T + self.b_ + eps * np.sqrt(self._psi())
        return (X, H) if return_latent else X


class PPCA(_LinearGaussian):
    r"""Probabilistic PCA: :math:`x = W h + b + \epsilon`, :math:`\epsilon \sim \mathcal N(0, \sigma^2 I)`.

    Parameters
    ----------
    n_components : int
        Number of latent factors :math:`q`, from 1 to ``n_features - 1``.
    method : {"closed_form", "em"}
        Maximum likelihood in closed form (:func:`ppca_closed_form`) or by EM
        (:func:`ppca_em_step`, from a random start); both reach the same :math:`W W^\top`
        and :math:`\sigma^2`, but EM's :math:`W` is rotated by an arbitrary orthogonal :math:`R`.
    max_iter, tol : int, float
        EM stops when no entry of :math:`C = W W^\top + \sigma^2 I` moves by more than
        ``tol * max|C|`` in an iteration.
    random_state : int
        Seed of EM's random start.

    Attributes
    ----------
    b_ : array of shape (d,)
        The mean (the sample mean).
    W_ : array of shape (d, q)
    sigma2_ : float
    noise_variance_ : array of shape (d,)
        The noise variance of each feature, all equal to ``sigma2_``.
    eigenvalues_ : array of shape (d,)
        Eigenvalues of the ML covariance :math:`S`, in decreasing order.
    loglike_ : array
        Training log-likelihood (nats per example) at the start and after each EM iteration;
        one entry for the closed form.
    n_iter_ : int

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(500, 5)) @ np.diag([3.0, 2.0, 1.0, 1.0, 1.0])
    >>> ppca = PPCA(2).fit(X)
    >>> round(ppca.sigma2_, 2), ppca.W_.shape
    (0.97, (5, 2))
    >>> bool(np.isclose(ppca.score(X), ppca.loglike_[-1]))
    True
    """

    def __init__(self, n_components=2, *, method="closed_form", max_iter=10_000, tol=1e-8, random_state=0):
        self.n_components = n_components
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _psi(self):
        return np.full(self.W_.shape[0], self.sigma2_)

    @staticmethod
    def _covariance(W, sigma2):
        return W @ W.T + sigma2 * np.eye(W.shape[0])

    def fit(self, X, y=None):
        """Fit by maximum likelihood; ``X`` is an array or tensor of shape (n, d). Returns ``self``."""
        X = _as_data(X, min_rows=2)
        q = self._check_params(X.shape[1])
        if self.method not in ("closed_form", "em"):
            raise ValueError(f"method must be 'closed_form' or 'em', got {self.method!r}")
        b, S = _moments(X)
        self.eigenvalues_ = np.clip(np.linalg.eigvalsh(S)[::-1], 0, None)
        if self.method == "closed_form":
            W, sigma2 = ppca_closed_form(S, q)
            self.loglike_ = np.array([mean_log_likelihood(S, self._covariance(W, sigma2))])
            self.n_iter_ = 0
        else:
            rng = np.random.default_rng(self.random_state)
            scale = np.trace(S) / S.shape[0]
            W0 = rng.normal(size=(S.shape[0], q)) * np.sqrt(scale)
            W, sigma2 = self._em(S, ppca_em_step, (W0, scale))
        self.b_, self.W_, self.sigma2_ = b, W, float(sigma2)
        self.noise_variance_ = np.full(W.shape[0], self.sigma2_)
        return self


class FactorAnalysis(_LinearGaussian):
    r"""Factor analysis: :math:`x = W h + b + \epsilon`, :math:`\epsilon \sim \mathcal N(0, \operatorname{diag}(\psi))`.

    Fitted by EM (:func:`fa_em_step`), started from the PPCA solution with each
    :math:`\psi_i` set so that the model's variance of feature :math:`i` equals the data's.
    The log-likelihood never decreases from one iteration to the next.

    Parameters
    ----------
    n_components : int
        Number of latent factors :math:`q`, from 1 to ``n_features - 1``.
    max_iter, tol : int, float
        EM stops when no entry of :math:`C = W W^\top + \Psi` moves by more than
        ``tol * max|C|`` in an iteration; a ``ConvergenceWarning`` says when ``max_iter`` was
        reached first.
    psi_min : float
        Floor of each noise variance, relative to the mean variance of the features (keeps
        :math:`\Psi` invertible on features that are nearly constant).

    Attributes
    ----------
    b_ : array of shape (d,)
    W_ : array of shape (d, q)
    psi_ : array of shape (d,)
        The noise variance of each feature.
    noise_variance_ : array of shape (d,)
        The same as ``psi_`` (the name PPCA shares).
    loglike_ : array
        Training log-likelihood (nats per example) at the start and after each EM iteration.
    n_iter_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 1)) @ np.ones((1, 4)) + rng.normal(size=(2000, 4)) * [0.1, 0.5, 1.0, 2.0]
    >>> fa = FactorAnalysis(1).fit(X)
    >>> np.round(np.sqrt(fa.psi_), 1)
    array([0.1, 0.5, 1. , 2. ])
    >>> bool((np.diff(fa.loglike_) >= 0).all())
    True
    """

    def __init__(self, n_components=2, *, max_iter=10_000, tol=1e-8, psi_min=1e-6):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.psi_min = psi_min

    def _psi(self):
        return self.psi_

    @staticmethod
    def _covariance(W, psi):
        return W @ W.T + np.diag(psi)

    def fit(self, X, y=None):
        """Fit by EM; ``X`` is an array or tensor of shape (n, d). Returns ``self``."""
        X = _as_data(X, min_rows=2)
        q = self._check_params(X.shape[1])
        if isinstance(self.psi_min, bool) or not isinstance(self.psi_min, (int, float)) or not self.psi_min > 0:
            raise ValueError(f"psi_min must be a positive number, got {self.psi_min!r}")
        b, S = _moments(X)
        floor = self.psi_min * max(np.trace(S) / S.shape[0], np.finfo(float).tiny)
        W, _ = ppca_closed_form(S, q)
        psi = np.maximum(np.diag(S) - (W**2).sum(axis=1), floor)
        W, psi = self._em(S, lambda S_, W_, psi_: fa_em_step(S_, W_, psi_, floor), (W, psi))
        self.b_, self.W_, self.psi_ = b, W, psi
        self.noise_variance_ = psi.copy()
        return self
