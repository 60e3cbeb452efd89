"""Exercise set 3: typical wrong answers fail with the message that says what to fix."""
import pytest

NOTEBOOK = "solutions/03_rbms_and_dbns/03_rbms_and_dbns.ipynb"

CD1_HEAD = """def cd1_gradients(v, W, b, c, u_h, u_v):
    n = v.shape[0]
    p0 = torch.sigmoid(v @ W.T + c)
"""
CD1_TAIL = """    p1 = torch.sigmoid(v1 @ W.T + c)
    return (p0.T @ v - p1.T @ v1) / n, (v - v1).mean(0), (p0 - p1).mean(0)
"""
LOGZ_HEAD = """def log_partition(W, b, c):
    h = all_binary_states(W.shape[0], dtype=W.dtype)
"""
AIS_HEAD = """def ais_log_weight_increment(v, W, b, c, b_A, beta_prev, beta):
    a = v @ W.T + c
"""

WRONG = {  # question -> (wrong answer, phrase its feedback must contain)
    "free_energy": ("""def free_energy(v, W, b, c):
    return v @ b - F.softplus(v @ W.T + c).sum(1)
""", "check the sign of the visible-bias term"),
    "cd1_gradients": ("""def cd1_gradients(v, W, b, c, u_h, u_v):
    n = v.shape[0]
    p0 = torch.sigmoid(v @ W.T + c)
    h0 = (u_h < p0).double()
    v1 = (u_v < torch.sigmoid(h0 @ W + b)).double()
    p1 = torch.sigmoid(v1 @ W.T + c)
    return (p1.T @ v1 - p0.T @ v) / n, (v1 - v).mean(0), (p1 - p0).mean(0)
""", "the data (positive) phase minus the model (negative) phase"),
    "log_partition": (LOGZ_HEAD + """    return torch.logsumexp(F.softplus(h @ W + b).sum(1), 0)
""", "the hidden-bias term c.h is missing"),
    "ais_log_weight_increment": (AIS_HEAD + """    return (beta_prev - beta) * (v @ (b - b_A)) + (F.softplus(beta_prev * a) - F.softplus(beta * a)).sum(1)
""", "the new temperature first"),
}

WRONG_2 = {
    "free_energy": ("""def free_energy(v, W, b, c):
    return -(v @ b) - torch.sigmoid(v @ W.T + c).sum(1)
""", "softplus(x), not the sigmoid"),
    "cd1_gradients": (CD1_HEAD + """    h0 = (u_h < p0).double()
    v1 = torch.sigmoid(h0 @ W + b)
""" + CD1_TAIL, "a binary sample"),
    "log_partition": (LOGZ_HEAD + """    return torch.log(torch.exp(h @ c + F.softplus(h @ W + b).sum(1)).sum())
""", "use torch.logsumexp"),
    "ais_log_weight_increment": (AIS_HEAD + """    return (beta - beta_prev) * (v @ b) + (F.softplus(beta * a) - F.softplus(beta_prev * a)).sum(1)
""", "base-rate biases b_A are missing"),
}

WRONG_3 = {
    "free_energy": ("""def free_energy(v, W, b, c):
    return -(v @ b) - F.softplus(v @ W.T).sum(1)
""", "hidden biases c are missing"),
    "cd1_gradients": (CD1_HEAD + """    v1 = (u_v < torch.sigmoid(p0 @ W + b)).double()
""" + CD1_TAIL, "from the binary h0"),
    "log_partition": (LOGZ_HEAD + """    return torch.logsumexp(h @ c - F.softplus(h @ W + b).sum(1), 0)
""", "check the sign"),
    "ais_log_weight_increment": (AIS_HEAD + """    return (beta - beta_prev) * (v @ (b - b_A) + F.softplus(a).sum(1))
""", "inside the softplus"),
}

WRONG_4 = {
    "cd1_gradients": (CD1_HEAD + """    h0 = (u_h < p0).double()
    v1 = (u_v < torch.sigmoid(h0 @ W + b)).double()
    p1 = torch.sigmoid(v1 @ W.T + c)
    return p0.T @ v - p1.T @ v1, (v - v1).sum(0), (p0 - p1).sum(0)
""", "average over the n examples"),
}


@pytest.mark.slow
@pytest.mark.parametrize("wrong", [WRONG, WRONG_2, WRONG_3, WRONG_4], ids=["first", "second", "third", "fourth"])
def test_typical_wrong_answers_get_specific_feedback(wrong, check_feedback):
    check_feedback(NOTEBOOK, wrong)


@pytest.mark.slow
def test_summing_out_the_visible_layer_instead_is_accepted(run_exercise):
    """log Z by enumerating the visible states is correct too (for small D)."""
    by_visible = """def log_partition(W, b, c):
    if W.shape[1] > 12:
        h = all_binary_states(W.shape[0], dtype=W.dtype)
        return torch.logsumexp(h @ c + F.softplus(h @ W + b).sum(1), 0)
    v = all_binary_states(W.shape[1], dtype=W.dtype)
    return torch.logsumexp(v @ b + F.softplus(v @ W.T + c).sum(1), 0)
"""
    outcomes = run_exercise(NOTEBOOK, {"log_partition": by_visible})
    assert outcomes["test_log_partition"].passed, outcomes["test_log_partition"].message
