"""Exercise set 1: typical wrong answers fail with the message that says what to fix."""
import pytest

NOTEBOOK = "solutions/01_linear_factor_models/01_linear_factor_models.ipynb"

# The correct answers to questions 1-4, as building blocks for the wrong ones.
PPCA_HEAD = """def ppca_closed_form(X, q):
    b = X.mean(0)
"""
FA_POSTERIOR = """def fa_posterior(X, b, W, psi):
    C = W @ W.T + np.diag(psi)
    return (X - b) @ np.linalg.solve(C, W), np.eye(W.shape[1]) - W.T @ np.linalg.solve(C, W)
"""
FA_EM_HEAD = """def fa_em_step(X, W, psi):
    N, b = X.shape[0], X.mean(0)
    Xc = X - b
    mu, Lambda = fa_posterior(X, b, W, psi)
"""

WRONG = {  # question -> (wrong answer, phrase its feedback must contain)
    "ppca_closed_form": (PPCA_HEAD + """    lam, U = np.linalg.eigh(np.cov(X.T))      # 1/(N - 1)
    lam, U = lam[::-1], U[:, ::-1]
    s2 = lam[q:].mean()
    return b, U[:, :q] * np.sqrt(lam[:q] - s2), s2
""", "divides by N"),
    "ppca_log_likelihood": ("""def ppca_log_likelihood(X, b, W, sigma2):
    C = W @ W.T + sigma2 * np.eye(X.shape[1])
    Xc = X - b
    m = np.einsum("nd,nd->n", Xc, np.linalg.solve(C, Xc.T).T)
    return float(-0.5 * (X.shape[1] * np.log(2 * np.pi) + np.linalg.slogdet(C)[1] + m).sum())
""", "the mean over the examples"),
    "fa_posterior": ("""def fa_posterior(X, b, W, psi):
    C = W @ W.T + np.diag(psi)
    return (X - b) @ np.linalg.solve(C, W), -W.T @ np.linalg.solve(C, W)
""", "the identity is missing"),
    "fa_em_step": (FA_POSTERIOR + FA_EM_HEAD + """    W_new = (Xc.T @ mu) @ np.linalg.inv(mu.T @ mu)      # forgets N * Lambda
    return W_new, np.diag(Xc.T @ Xc / N - W_new @ mu.T @ Xc / N)
""", "the posterior covariance Lambda"),
}

WRONG_2 = {
    "ppca_closed_form": (PPCA_HEAD + """    lam, U = np.linalg.eigh(np.cov(X.T, bias=True))
    lam, U = lam[::-1], U[:, ::-1]
    s2 = lam[q:].mean()
    return b, U[:, :q] * np.sqrt(lam[:q]), s2          # sigma2 not subtracted
""", "subtract sigma2"),
    "ppca_log_likelihood": ("""def ppca_log_likelihood(X, b, W, sigma2):
    C = W @ W.T + np.sqrt(sigma2) * np.eye(X.shape[1])
    Xc = X - b
    m = np.einsum("nd,nd->n", Xc, np.linalg.solve(C, Xc.T).T)
    return float(-0.5 * (X.shape[1] * np.log(2 * np.pi) + np.linalg.slogdet(C)[1] + m).mean())
""", "sigma2 is already a variance"),
    "fa_posterior": ("""def fa_posterior(X, b, W, psi):
    C = W @ W.T + np.diag(psi)
    return X @ np.linalg.solve(C, W), np.eye(W.shape[1]) - W.T @ np.linalg.solve(C, W)
""", "subtract b first"),
    "fa_em_step": (FA_POSTERIOR + FA_EM_HEAD + """    W_new = (Xc.T @ mu) @ np.linalg.inv(N * Lambda + mu.T @ mu)
    return W_new, np.diag(Xc.T @ Xc / N - W @ mu.T @ Xc / N)   # old W
""", "the *new* loadings"),
}

WRONG_3 = {
    "ppca_closed_form": (PPCA_HEAD + """    lam, U = np.linalg.eigh(np.cov(X.T, bias=True))    # ascending, kept as is
    s2 = lam[q:].mean()
    return b, U[:, :q] * np.sqrt(lam[:q] - s2), s2
""", "ascending order"),
    "ppca_log_likelihood": ("""def ppca_log_likelihood(X, b, W, sigma2):
    C = W @ W.T + sigma2 * np.eye(X.shape[1])
    Xc = X - b
    m = np.einsum("nd,nd->n", Xc, np.linalg.solve(C, Xc.T).T)
    return float(-0.5 * (np.linalg.slogdet(C)[1] + m).mean())
""", "log(2 pi) is missing"),
    "fa_posterior": ("""def fa_posterior(X, b, W, psi):
    C = W @ W.T + np.eye(len(psi))
    return (X - b) @ np.linalg.solve(C, W), np.eye(W.shape[1]) - W.T @ np.linalg.solve(C, W)
""", "not the identity"),
    "fa_em_step": (FA_POSTERIOR + FA_EM_HEAD + """    W_new = (Xc.T @ mu) @ np.linalg.inv(N * Lambda + mu.T @ mu)
    return W_new, np.diag(Xc.T @ Xc - W_new @ mu.T @ Xc)      # sums, not averages
""", "divide the sums by N"),
}


@pytest.mark.slow
@pytest.mark.parametrize("wrong", [WRONG, WRONG_2, WRONG_3], ids=["first", "second", "third"])
def test_typical_wrong_answers_get_specific_feedback(wrong, check_feedback):
    check_feedback(NOTEBOOK, wrong)


@pytest.mark.slow
def test_a_rotated_or_sign_flipped_w_is_accepted(run_exercise):
    """W is defined up to rotation: a correct answer with another rotation must pass."""
    rotated = PPCA_HEAD + """    lam, U = np.linalg.eigh(np.cov(X.T, bias=True))
    lam, U = lam[::-1], U[:, ::-1]
    s2 = lam[q:].mean()
    W = -U[:, :q] * np.sqrt(lam[:q] - s2)
    R = np.linalg.qr(np.random.default_rng(0).normal(size=(q, q)))[0]
    return b, W @ R, s2
"""
    outcomes = run_exercise(NOTEBOOK, {"ppca_closed_form": rotated})
    assert outcomes["test_ppca_closed_form"].passed, outcomes["test_ppca_closed_form"].message
