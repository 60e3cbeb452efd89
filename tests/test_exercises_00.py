"""Exercise set 0: typical wrong answers fail with the message that says what to fix."""
import pytest

NOTEBOOK = "solutions/00_introduction/00_introduction.ipynb"

WRONG = {  # question -> (wrong answer, phrase its feedback must contain)
    "logsumexp": ("def logsumexp(a):\n    return torch.log(torch.exp(a).sum(-1))",
                  "subtract the maximum before exponentiating"),
    "bernoulli_log_likelihood": ("def bernoulli_log_likelihood(x, probs):\n    return (x * torch.log(probs)).sum(-1)",
                                 "pixels that are 0 contribute log(1 - p_i)"),
    "sample_mixture": ("def sample_mixture(means, stds, weights, n, generator):\n"
                       "    k = torch.randint(len(weights), (n,), generator=generator)\n"
                       "    return means[k] + stds[k, None] * torch.randn(n, 2, generator=generator)",
                       "check that you use the weights"),
}
WRONG_2 = {
    "logsumexp": ("def logsumexp(a):\n    m = a.max(-1, keepdim=True).values\n"
                  "    return torch.log(torch.exp(a - m).sum(-1))", "add m back outside the log"),
    "bernoulli_log_likelihood": ("def bernoulli_log_likelihood(x, probs):\n"
                                 "    return (x * torch.log(probs) + (1 - x) * torch.log(1 - probs)).mean(-1)",
                                 "do not average them"),
    "sample_mixture": ("def sample_mixture(means, stds, weights, n, generator):\n"
                       "    k = torch.multinomial(weights, n, replacement=True)\n"
                       "    return means[k] + stds[k, None] * torch.randn(n, 2)",
                       "draw every random number from `generator`"),
}


@pytest.mark.slow
@pytest.mark.parametrize("wrong", [WRONG, WRONG_2], ids=["first", "second"])
def test_typical_wrong_answers_get_specific_feedback(wrong, check_feedback):
    check_feedback(NOTEBOOK, wrong)
