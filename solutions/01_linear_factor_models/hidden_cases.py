"""Exercise set 1, instructor only: references, typical mistakes and hidden cases.

Never released (nbgrader_config.py ignores this file); read by the hidden test blocks and by
the isolated regrade (`make regrade ASSIGNMENT=01_linear_factor_models`). See dgm_course.regrade.
"""
import numpy as np
from scipy.stats import multivariate_normal

import dgm_course.linear_factor as _lf
from dgm_course.regrade import Case, Hint, Question

FORBIDDEN = ("dgm_course.linear_factor", "sklearn")


# 1. ppca_closed_form ----------------------------------------------------------------------

def _ppca(X, q, cov=lambda X: np.cov(X.T, bias=True), descending=True, keep=lambda lam, s2: lam - s2,
          sigma2_from=lambda lam, q: lam[q:].mean()):
    b = X.mean(0)
    lam, U = np.linalg.eigh(cov(X))
    if descending:
        lam, U = lam[::-1], U[:, ::-1]
    s2 = sigma2_from(lam, q)
    with np.errstate(invalid="ignore"):
        return b, U[:, :q] * np.sqrt(keep(lam[:q], s2)), s2


def _as_marginal(out, args):
    """(b, sigma2, W W^T + sigma2 I): what the model is, whatever the rotation of W."""
    X, q = args
    if not isinstance(out, tuple) or len(out) != 3:
        raise ValueError("ppca_closed_form should return a tuple (b, W, sigma2).")
    b, W, sigma2 = out
    W = np.asarray(W, dtype=float)
    if W.shape != (X.shape[1], q):
        raise ValueError(f"W should have shape (d, q) = {(X.shape[1], q)}, yours has shape {W.shape}.")
    sigma2 = float(np.asarray(sigma2, dtype=float))
    return np.asarray(b, dtype=float), sigma2, W @ W.T + sigma2 * np.eye(X.shape[1])


_rng = np.random.default_rng(0)
_X1 = (_rng.normal(size=(200, 2)) @ np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 1.0]]) + 3
       + 0.3 * _rng.normal(size=(200, 3)))
_X2 = _rng.normal(size=(40, 6)) * np.arange(1, 7) + _rng.normal(size=6)
_X3 = _rng.normal(size=(300, 3)) @ _rng.normal(size=(3, 10)) + 0.5 * _rng.normal(size=(300, 10)) - 2
_X4 = _rng.normal(size=(25, 8)) * np.array([5, 4, 3, 2, 1, 1, 1, 1])

PPCA = Question(
    "ppca_closed_form", points=3, reference=_ppca, transform=_as_marginal, forbidden=FORBIDDEN,
    hints=(Hint(lambda X, q: _ppca(X, q, cov=lambda X: np.cov(X.T)),
                "use the maximum-likelihood covariance S, which divides by N "
                "(np.cov(X.T, bias=True)), not the unbiased 1/(N - 1) covariance."),
           Hint(lambda X, q: _ppca(X, q, keep=lambda lam, s2: lam),
                "the columns of W have length sqrt(lambda_j - sigma2): subtract sigma2 from the kept "
                "eigenvalues before the square root."),
           Hint(lambda X, q: _ppca(X, q, sigma2_from=lambda lam, q: lam.mean()),
                "sigma2 is the mean of the d - q *discarded* eigenvalues, not of all of them."),
           Hint(lambda X, q: _ppca(X, q, descending=False),
                "np.linalg.eigh returns the eigenvalues in ascending order: keep the q largest (and "
                "their eigenvectors), and average the d - q smallest for sigma2."),
           Hint(lambda X, q: (X.mean(0),) + _ppca(X, q, cov=lambda X: X.T @ X / len(X))[1:],
                "subtract the mean b from the data before forming the covariance S.")),
    visible=[Case((np.array([[0.0, 0.0, 1.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 3.0, 3.0]]), 1),
                  description="4 examples in 3-D and q = 1")],
    hidden=[Case((_X1, 1), description="a 200 x 3 data set and q = 1"),
            Case((_X2, 2), description="a 40 x 6 data set and q = 2"),
            Case((_X3, 3), description="a 300 x 10 data set with 3 true factors and q = 3"),
            Case((_X3, 5), description="the same data and q = 5"),
            Case((_X4, 4), description="a 25 x 8 data set and q = 4"),
            Case((_X2, 5), description="a 40 x 6 data set and q = 5 = d - 1")])


# 2. ppca_log_likelihood ------------------------------------------------------------------

def _ll(X, b, W, sigma2):
    return float(multivariate_normal(b, W @ W.T + sigma2 * np.eye(len(b))).logpdf(X).mean())


_rng = np.random.default_rng(1)
LOG_LIKELIHOOD = Question(
    "ppca_log_likelihood", points=2, reference=_ll, forbidden=FORBIDDEN + ("scipy.stats",),
    hints=(Hint(lambda X, b, W, s2: _ll(X, b, W, s2) * X.shape[0],
                "return the mean over the examples (nats per example), not the sum."),
           Hint(lambda X, b, W, s2: _ll(X, b, W, s2) + 0.5 * X.shape[1] * np.log(2 * np.pi),
                "the normalising constant -d/2 log(2 pi) is missing."),
           Hint(lambda X, b, W, s2: _ll(X, b, W, np.sqrt(s2)),
                "sigma2 is already a variance: C = W W^T + sigma2 I, not W W^T + sqrt(sigma2) I."),
           Hint(lambda X, b, W, s2: 2 * _ll(X, b, W, s2),
                "every term of the Gaussian log-density carries a factor -1/2.")),
    visible=[Case((np.zeros((1, 3)), np.zeros(3), np.zeros((3, 1)), 1.0),
                  description="x = 0 under N(0, I) in 3-D"),
             Case((np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]]), np.array([0.5, 0.5]),
                   np.array([[1.0], [2.0]]), 0.5), description="3 examples, d = 2, q = 1")],
    hidden=[Case((_rng.normal(size=(30, 4)), _rng.normal(size=4), _rng.normal(size=(4, 2)), 0.5),
                 description="30 examples, d = 4, q = 2"),
            Case((_rng.normal(size=(100, 12)) * 4, np.ones(12), _rng.normal(size=(12, 3)) * 3, 0.01),
                 description="100 examples, d = 12, small sigma2"),
            Case((_rng.normal(size=(7, 5)), np.zeros(5), _rng.normal(size=(5, 1)), 3.0),
                 description="7 examples, d = 5, q = 1")])


# 3. fa_posterior --------------------------------------------------------------------------

def _posterior(X, b, W, psi):
    # condition the joint N((0, b), [[I, W^T], [W, C]]) on x, via the Woodbury form
    G = np.linalg.inv(np.eye(W.shape[1]) + W.T @ (W / psi[:, None]))
    return (X - b) @ (W / psi[:, None]) @ G, G


_rng = np.random.default_rng(2)
POSTERIOR = Question(
    "fa_posterior", points=3, reference=_posterior, forbidden=FORBIDDEN, atol=1e-6,
    hints=(Hint(lambda X, b, W, psi: _posterior(X, np.zeros_like(b), W, psi),
                "the posterior mean is W^T (W W^T + Psi)^{-1} (x - b): subtract b first."),
           Hint(lambda X, b, W, psi: (_posterior(X, b, W, psi)[0], np.eye(W.shape[1])),
                "Lambda is the *posterior* covariance: the prior's I minus what x explains, "
                "W^T (W W^T + Psi)^{-1} W."),
           Hint(lambda X, b, W, psi: (_posterior(X, b, W, psi)[0],
                                      _posterior(X, b, W, psi)[1] - np.eye(W.shape[1])),
                "Lambda = I - W^T (W W^T + Psi)^{-1} W: the identity is missing (a covariance has a "
                "positive diagonal)."),
           Hint(lambda X, b, W, psi: _posterior(X, b, W, np.sqrt(psi)),
                "psi holds variances: Psi = diag(psi), not diag(sqrt(psi))."),
           Hint(lambda X, b, W, psi: _posterior(X, b, W, np.ones_like(psi)),
                "the noise covariance is Psi = diag(psi), not the identity.")),
    visible=[Case((np.ones((1, 2)), np.zeros(2), np.array([[1.0], [1.0]]), np.array([1.0, 1.0])),
                  description="x = (1, 1), W = (1, 1)^T, psi = (1, 1), b = 0"),
             Case((np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([0.5, 0.0]),
                   np.array([[1.0], [2.0]]), np.array([0.5, 2.0])),
                  description="2 examples, d = 2, q = 1, psi = (0.5, 2)")],
    hidden=[Case((_rng.normal(size=(8, 5)), _rng.normal(size=5), _rng.normal(size=(5, 2)),
                  np.array([0.1, 0.5, 1.0, 2.0, 4.0])), description="8 examples, d = 5, q = 2"),
            Case((_rng.normal(size=(50, 20)) * 3, _rng.normal(size=20), _rng.normal(size=(20, 4)) * 2,
                  _rng.uniform(0.05, 2, size=20)), description="50 examples, d = 20, q = 4"),
            Case((_rng.normal(size=(3, 6)), np.zeros(6), _rng.normal(size=(6, 1)), np.full(6, 0.3)),
                 description="PPCA: psi all equal, q = 1")])


# 4. fa_em_step ---------------------------------------------------------------------------

def _em_step(X, W, psi):
    return _lf.fa_em_step(np.cov(X.T, bias=True), W, psi)


def _moments(X, W, psi):
    b = X.mean(0)
    G = np.linalg.inv(np.eye(W.shape[1]) + W.T @ (W / psi[:, None]))
    return X - b, (X - b) @ (W / psi[:, None]) @ G, G


def _no_posterior_covariance(X, W, psi):
    Xc, mu, G = _moments(X, W, psi)
    W_new = np.linalg.solve(mu.T @ mu, (Xc.T @ mu).T).T
    return W_new, np.diag(Xc.T @ Xc / len(X) - W_new @ mu.T @ Xc / len(X))


def _old_W_in_psi(X, W, psi):
    Xc, mu, G = _moments(X, W, psi)
    return _em_step(X, W, psi)[0], np.diag(Xc.T @ Xc / len(X) - W @ mu.T @ Xc / len(X))


def _not_centred(X, W, psi):
    G = np.linalg.inv(np.eye(W.shape[1]) + W.T @ (W / psi[:, None]))
    mu = X @ (W / psi[:, None]) @ G                     # as if b were 0
    W_new = np.linalg.solve(len(X) * G + mu.T @ mu, (X.T @ mu).T).T
    return W_new, np.diag(X.T @ X / len(X) - W_new @ mu.T @ X / len(X))


_rng = np.random.default_rng(3)
_X = (_rng.normal(size=(60, 2)) @ _rng.normal(size=(2, 5))
      + _rng.normal(size=(60, 5)) * [0.2, 0.5, 1.0, 1.5, 2.0] + 1)
_X2 = (_rng.normal(size=(200, 3)) @ _rng.normal(size=(3, 12)) * 2
       + _rng.normal(size=(200, 12)) * _rng.uniform(0.1, 2, 12))
_iterates = [(_rng.normal(size=(12, 3)), np.ones(12))]   # an EM run: its steps are checked too
for _ in range(19):
    _iterates.append(_em_step(_X2, *_iterates[-1]))

EM_STEP = Question(
    "fa_em_step", points=4, reference=_em_step, forbidden=FORBIDDEN, atol=1e-6,
    hints=(Hint(_no_posterior_covariance, "E[h_n h_n^T] = Lambda + mu_n mu_n^T: the posterior "
                                          "covariance Lambda (N times, once per example) is missing "
                                          "from the sum."),
           Hint(_old_W_in_psi, "update psi with the *new* loadings W', not the old W."),
           Hint(lambda X, W, psi: (_em_step(X, W, psi)[0], _em_step(X, W, psi)[1] * len(X)),
                "psi' is a variance: divide the sums by N (S is the 1/N covariance)."),
           Hint(_not_centred, "centre the data: every x_n appears as x_n - b, with b the mean of X.")),
    visible=[Case((np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 2.0, 0.0], [1.0, 3.0, 1.0]]),
                   np.ones((3, 1)), np.ones(3)), description="4 examples, d = 3, from W = 1, psi = 1")],
    hidden=[Case((_X, np.ones((5, 1)), np.ones(5)), description="60 examples, d = 5, from W = 1, psi = 1"),
            Case((_X, _rng.normal(size=(5, 2)), np.full(5, 0.5)),
                 description="the same data, q = 2 from a random W"),
            Case((_X2[:15], _rng.normal(size=(12, 1)), np.full(12, 1.0)),
                 description="15 examples, d = 12, q = 1")]
    + [Case((_X2,) + _iterates[k], description=f"step {k + 1} of an EM run, d = 12, q = 3")
       for k in (0, 4, 19)])

QUESTIONS = [PPCA, LOG_LIKELIHOOD, POSTERIOR, EM_STEP]
