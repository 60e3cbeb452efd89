"""Exercise set 2: typical wrong answers fail with the message that says what to fix."""
import pytest

NOTEBOOK = "solutions/02_energy_based_models/02_energy_based_models.ipynb"

WRONG = {  # question -> (wrong answer, phrase its feedback must contain)
    "log_partition": ("def log_partition(R, b):\n"
                      "    x = all_binary_states(b.shape[0], dtype=b.dtype)\n"
                      "    energy = -((x @ R) * x).sum(1) - x @ b\n"
                      "    return torch.logsumexp(energy, dim=0)",
                      "Check the sign of the energy"),
    "log_likelihood_gradient": ("def log_likelihood_gradient(X, R, b):\n"
                                "    n = b.shape[0]\n"
                                "    x = all_binary_states(n, dtype=b.dtype)\n"
                                "    p = torch.softmax(((x @ R) * x).sum(1) + x @ b, dim=0)\n"
                                "    mask = 1 - torch.eye(n, dtype=b.dtype)\n"
                                "    return (x.T @ (p[:, None] * x) - X.T @ X / len(X)) * mask, p @ x - X.mean(0)",
                                "positive phase minus negative phase"),
    "gibbs_sweep": ("def gibbs_sweep(x, R, b, u):\n"
                    "    p = torch.sigmoid(b + 2 * x @ R)\n"
                    "    return (u < p).to(x.dtype)",
                    "a sweep is sequential"),
}
WRONG_2 = {
    "log_partition": ("def log_partition(R, b):\n"
                      "    x = all_binary_states(b.shape[0], dtype=b.dtype)\n"
                      "    return torch.logsumexp(((x @ R) * x).sum(1), dim=0)",
                      "the bias term b^T x is missing"),
    "log_likelihood_gradient": ("def log_likelihood_gradient(X, R, b):\n"
                                "    mask = 1 - torch.eye(b.shape[0], dtype=b.dtype)\n"
                                "    return X.T @ X / len(X) * mask, X.mean(0)",
                                "the negative phase is missing"),
    "gibbs_sweep": ("def gibbs_sweep(x, R, b, u):\n"
                    "    x = x.clone()\n"
                    "    for i in range(b.shape[0]):\n"
                    "        x[:, i] = (u[:, i] < torch.sigmoid(b[i] + x @ R[i])).to(x.dtype)\n"
                    "    return x",
                    "contains each pair twice"),
}
WRONG_3 = {
    "log_partition": ("def log_partition(R, b):\n"
                      "    x = all_binary_states(b.shape[0], dtype=b.dtype)\n"
                      "    return torch.logsumexp(0.5 * ((x @ R) * x).sum(1) + x @ b, dim=0)",
                      "no factor 1/2"),
    "log_likelihood_gradient": ("def log_likelihood_gradient(X, R, b):\n"
                                "    n = b.shape[0]\n"
                                "    x = all_binary_states(n, dtype=b.dtype)\n"
                                "    w = (((x @ R) * x).sum(1) + x @ b).exp()\n"
                                "    mask = 1 - torch.eye(n, dtype=b.dtype)\n"
                                "    return (X.T @ X / len(X) - x.T @ (w[:, None] * x)) * mask, X.mean(0) - w @ x",
                                "normalise the weights"),
    "gibbs_sweep": ("def gibbs_sweep(x, R, b, u):\n"
                    "    x = x.clone()\n"
                    "    for i in range(b.shape[0]):\n"
                    "        x[:, i] = (u[:, i] > torch.sigmoid(b[i] + 2 * x @ R[i])).to(x.dtype)\n"
                    "    return x",
                    "set it to 1 when u_i < p_i"),
}


@pytest.mark.slow
@pytest.mark.parametrize("wrong", [WRONG, WRONG_2, WRONG_3], ids=["first", "second", "third"])
def test_typical_wrong_answers_get_specific_feedback(wrong, check_feedback):
    check_feedback(NOTEBOOK, wrong)


@pytest.mark.slow
def test_diagonal_mistake_in_the_gradient_is_named(run_exercise):
    source = ("def log_likelihood_gradient(X, R, b):\n"
              "    x = all_binary_states(b.shape[0], dtype=b.dtype)\n"
              "    p = torch.softmax(((x @ R) * x).sum(1) + x @ b, dim=0)\n"
              "    return X.T @ X / len(X) - x.T @ (p[:, None] * x), X.mean(0) - p @ x")
    outcome = run_exercise(NOTEBOOK, {"log_likelihood_gradient": source})["test_log_likelihood_gradient"]
    assert not outcome.passed and "set the diagonal of grad_R to 0" in outcome.message, outcome.message
