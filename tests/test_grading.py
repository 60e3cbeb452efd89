"""The feedback helpers: each passes a right answer and fails wrong ones with the right message."""
import time

import numpy as np
import pytest
import scipy.special
import torch

from dgm_course.grading import (Case, CheckFailed, Hint, Param, check_close, check_function,
                                check_sample_mean, check_standard_normal, check_true, forbidden_uses,
                                run_student, time_limit)


def free_energy(v, b, c, W):
    """The RBM free energy -b.v - sum_j softplus(c_j + W_j v), one value per row."""
    return -(v @ b) - torch.nn.functional.softplus(c + v @ W).sum(-1)


def wrong_sign(v, b, c, W):
    return (v @ b) - torch.nn.functional.softplus(c + v @ W).sum(-1)


V = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
CASES = [Case((V, torch.tensor([0.5, -1.0, 2.0]), torch.zeros(2), torch.zeros(3, 2)), description="W = 0 and c = 0"),
         Case((V, torch.ones(3), torch.ones(2), torch.full((3, 2), 0.1)), description="W = 0.1")]
HINTS = [Hint(wrong_sign, "check the sign of the visible-bias term")]


def test_right_answer_passes_and_prints_a_tick(capsys):
    assert check_function(free_energy, free_energy, CASES, hints=HINTS)
    assert "✓ free_energy: all 2 case(s) pass" in capsys.readouterr().out


def test_typical_wrong_answer_gets_its_hint():
    with pytest.raises(CheckFailed) as err:
        check_function(wrong_sign, free_energy, CASES, name="free_energy", hints=HINTS)
    message = str(err.value)
    assert message.startswith("free_energy, for W = 0 and c = 0: 2 of 2 entries differ")
    assert "Hint: check the sign of the visible-bias term" in message


def test_unmatched_wrong_answer_gets_the_worst_entry_but_not_the_whole_answer():
    def off_by_one(v, b, c, W):
        return free_energy(v, b, c, W) + torch.tensor([0.0, 1.0])

    with pytest.raises(CheckFailed) as err:
        check_function(off_by_one, free_energy, CASES, name="free_energy", hints=HINTS)
    assert "1 of 2 entries differ from the expected values; entry (1,) should be" in str(err.value)
    assert "Hint" not in str(err.value)


def test_scalar_answers_are_reported_with_both_values():
    with pytest.raises(CheckFailed, match=r"f, in case 1: the result should be 4, yours is 5\.") :
        check_function(lambda x: x + 3.0, lambda x: x + 2.0, [Case((2.0,))], name="f")


def _stub(*args):
    raise NotImplementedError()


def _raises(*args):
    return [][1]


def _returns_none(*args):
    pass


def _loops(*args):
    while True:
        pass


def _as_numpy(v, b, c, W):
    return free_energy(v, b, c, W).numpy()


def _column(v, b, c, W):
    return free_energy(v, b, c, W)[:, None]


def _integer(v, b, c, W):
    return free_energy(v, b, c, W).long()


def _nan(v, b, c, W):
    out = free_energy(v, b, c, W)
    out[0] = float("nan")
    return out


BROKEN = [
    (_stub, r"free_energy is not implemented yet: replace `raise NotImplementedError\(\)` with your code."),
    (_raises, "free_energy, for W = 0 and c = 0: your function raised IndexError: list index out of range"),
    (_returns_none, "your function returned None; did you forget `return`?"),
    (_as_numpy, "the result should be a torch.Tensor, yours is a ndarray."),
    (_column, r"the result should have shape \(2,\), yours has shape \(2, 1\)."),
    (_integer, r"the result should be a floating-point tensor \(torch.float32\), yours has dtype torch.int64."),
    (_nan, "your result contains NaN in 1 of 2 entries."),
]


@pytest.mark.parametrize("student, message", BROKEN, ids=[f.__name__ for f, _ in BROKEN])
def test_broken_answers_are_caught_before_values_are_compared(student, message):
    with pytest.raises(CheckFailed, match=message):
        check_function(student, free_energy, CASES, name="free_energy")


def test_an_endless_loop_is_stopped():
    start = time.perf_counter()
    with pytest.raises(CheckFailed, match="no answer after 0.5 s; look for a loop that never ends"):
        check_function(_loops, free_energy, CASES, name="free_energy", timeout=0.5)
    assert time.perf_counter() - start < 5


def test_a_student_function_cannot_change_the_expected_answer():
    def vandal(v, b, c, W):
        b.mul_(0)  # modifies its input in place ...
        return free_energy(v, b, c, W)  # ... and so returns a wrong answer

    b = torch.tensor([0.5, -1.0, 2.0])
    with pytest.raises(CheckFailed):
        check_function(vandal, free_energy, [Case((V, b, torch.zeros(2), torch.zeros(3, 2)))], name="free_energy")
    assert torch.equal(b, torch.tensor([0.5, -1.0, 2.0]))


def test_tuples_are_compared_element_by_element():
    ref = lambda x: (x, 2 * x)  # noqa: E731
    assert check_function(lambda x: (x, 2 * x), ref, [Case((torch.ones(2),))], quiet=True)
    with pytest.raises(CheckFailed, match="output 1: 2 of 2 entries differ"):
        check_function(lambda x: (x, 3 * x), ref, [Case((torch.ones(2),))], name="f")
    with pytest.raises(CheckFailed, match=r"should be 2 values \(a tuple\), yours is a Tensor"):
        check_function(lambda x: x, ref, [Case((torch.ones(2),))], name="f")


def test_expected_infinities_are_not_errors():
    ref = lambda x: torch.log(x)  # noqa: E731
    assert check_function(lambda x: torch.log(x), ref, [Case((torch.tensor([0.0, 1.0]),))], quiet=True)


def test_numpy_references_and_scalars():
    assert check_close(np.float64(1.0), 1.0 + 1e-9, name="x", quiet=True)
    assert check_close(torch.tensor(2.0), 2.0, name="x", quiet=True)
    with pytest.raises(CheckFailed, match=r"x: the result should be a single number, yours has shape \(2,\)"):
        check_close(torch.ones(2), 1.0, name="x")
    with pytest.raises(CheckFailed, match="x: the result should be 1, yours is 1.5.\nHint: halve it"):
        check_close(1.5, 1.0, name="x", hint="halve it")


def test_check_true(capsys):
    assert check_true(True, "never shown", name="seeded")
    assert "✓ seeded" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="seeded: different samples"):
        check_true(False, "different samples", name="seeded")


def test_check_sample_mean():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10_000, 2, generator=g) + torch.tensor([1.0, -1.0])
    assert check_sample_mean(x, [1.0, -1.0], torch.eye(2), name="sampler", quiet=True)
    with pytest.raises(CheckFailed, match="the mean of your 10000 samples in coordinate 1 is -1.005, but the "
                                          "distribution's mean is -0.800"):
        check_sample_mean(x, [1.0, -0.8], torch.eye(2), name="sampler")
    with pytest.raises(CheckFailed, match=r"should have shape \(n, 3\)"):
        check_sample_mean(x, [0.0, 0.0, 0.0], torch.eye(3), name="sampler")
    with pytest.raises(CheckFailed, match="NaN or infinite"):
        check_sample_mean(torch.full((5, 2), float("nan")), [0.0, 0.0], torch.eye(2), name="sampler")


def test_run_student():
    assert run_student(lambda a, b=1: a + b, 1, b=2) == 3
    with pytest.raises(CheckFailed, match="sampler, for n = 5: your function raised ZeroDivisionError"):
        run_student(lambda n: n / 0, 5, name="sampler", description="n = 5")
    with pytest.raises(CheckFailed, match="did you forget `return`"):
        run_student(_returns_none, name="sampler")


def test_time_limit_restores_the_previous_alarm_handler():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with time_limit(1.0):
        pass
    assert signal.getsignal(signal.SIGALRM) is before


def test_checking_needs_cases():
    with pytest.raises(ValueError, match="needs at least one Case"):
        check_function(free_energy, free_energy, [])


# ---------------------------------------------------------------- cases with expected values

def test_cases_carry_their_expected_values(capsys):
    cases = [Case((torch.tensor([0.0, 0.0]),), expected=torch.tensor(0.6931472), description="a = 0")]
    assert check_function(lambda a: torch.log(torch.exp(a).sum()), cases, name="lse")
    assert "✓ lse: all 1 case(s) pass" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"lse, for a = 0: the result should be 0.6931, yours is 0."):
        check_function(lambda a: a.sum(), cases, name="lse")
    with pytest.raises(ValueError, match="case 1 has no expected value"):
        check_function(lambda a: a, [Case((1.0,))], name="f")


def test_python_floats_and_0d_tensors_are_alike():
    for expected in (torch.tensor(2.0, dtype=torch.float64), 2.0, np.float64(2.0)):
        for value in (2.0, torch.tensor(2.0), np.array(2.0), np.float32(2.0)):
            assert check_close(value, expected, name="x", quiet=True)
    with pytest.raises(CheckFailed, match="should be a number, yours is str"):
        check_close("2", torch.tensor(2.0), name="x")


def test_float32_answers_get_float32_tolerances():
    want = torch.tensor([1234.5678901, -0.001], dtype=torch.float64)
    assert check_close(want.float(), want, name="x", atol=1e-8, rtol=1e-8, quiet=True)
    with pytest.raises(CheckFailed):       # a float64 answer is held to the stated tolerance
        check_close(want + 1e-3, want, name="x", atol=1e-8, rtol=1e-8)
    with pytest.raises(CheckFailed):       # and float32 rounding does not excuse a real mistake
        check_close((want * 1.01).float(), want, name="x")


def test_changing_an_input_in_place_fails_where_the_text_forbids_it():
    def sweep(x):
        x[0] = 1.0
        return x

    cases = [Case((torch.zeros(2),), expected=torch.tensor([1.0, 0.0]))]
    assert check_function(sweep, cases, name="sweep", quiet=True)
    with pytest.raises(CheckFailed, match=r"changed its input `x` in place; .* x.clone\(\)"):
        check_function(sweep, cases, name="sweep", unchanged=True)


def _helper(a):
    return scipy.special.logsumexp(a)


def _by_helper(a):       # a notebook's functions are globals, and so are these
    return _helper(a)


def _slope_penalty(w, x):
    """sum_i (d/dx_i tanh(w x_i))^2: differentiable in w through a gradient in x."""
    x = x.clone().requires_grad_(True)
    slope, = torch.autograd.grad(torch.tanh(w * x).sum(), x, create_graph=True)
    return (slope ** 2).sum()


def _slope_penalty_cut(w, x):
    """The same value, cut off from w: the gradient is taken without create_graph."""
    x = x.clone().requires_grad_(True)
    slope, = torch.autograd.grad(torch.tanh(w * x).sum(), x)
    return (slope ** 2).sum()


def test_param_inputs_are_judged_with_the_gradient_of_the_result(capsys):
    w, x = torch.tensor([0.5, -1.0], dtype=torch.float64), torch.tensor([1.0, 2.0], dtype=torch.float64)
    cases = [Case((Param(w, "w"), x), description="two points")]
    assert check_function(_slope_penalty, _slope_penalty, cases)
    # a case with a literal answer gives (result, gradient with respect to w)
    w_leaf = w.clone().requires_grad_(True)
    value = _slope_penalty(w_leaf, x)
    grad, = torch.autograd.grad(value, w_leaf)
    literal = [Case((Param(w, "w"), x), description="two points", expected=(value.detach(), grad))]
    assert check_function(_slope_penalty, literal)
    with pytest.raises(CheckFailed) as err:
        check_function(_slope_penalty_cut, _slope_penalty, cases, name="penalty",
                       hints=[Hint(_slope_penalty_cut, "pass create_graph=True")])
    message = str(err.value)
    assert message.startswith("penalty, for two points: the gradient of your result with respect "
                              "to w: 2 of 2 entries differ"), message
    assert "does not depend on it through autograd" in message
    assert message.endswith("Hint: pass create_graph=True")
    with pytest.raises(CheckFailed, match="the result should be"):    # the value comes first
        check_function(lambda w, x: 2 * _slope_penalty(w, x), literal, name="penalty")


def test_forbidden_calls_are_found_in_the_function_and_its_helpers():
    from scipy.special import logsumexp as lse

    def by_attribute(a):
        return torch.logsumexp(a, -1)

    def by_method(a):
        return a.logsumexp(-1)

    def by_import(a):
        return lse(a)

    def own(a):
        m = a.max()
        return m + torch.log(torch.exp(a - m).sum())

    for fn in (by_attribute, by_method, by_import):
        assert forbidden_uses(fn, ("logsumexp",)) == ["logsumexp"], fn.__name__
    assert forbidden_uses(_by_helper, ("scipy.special",)) == ["scipy.special"]
    assert forbidden_uses(own, ("logsumexp", "scipy.special", "sklearn")) == []
    cases = [Case((torch.zeros(2),), expected=torch.tensor(0.6931472))]
    with pytest.raises(CheckFailed, match=r"not to use `.logsumexp` \(e.g. torch.logsumexp\)"):
        check_function(by_attribute, cases, name="logsumexp", forbidden=("logsumexp",))


def test_the_function_checked_must_be_one_the_student_wrote():
    cases = [Case((torch.zeros(2),), expected=torch.tensor(0.6931472))]
    with pytest.raises(CheckFailed, match="should be a function you write with `def logsumexp"):
        check_function(torch.special.logsumexp, cases, name="logsumexp")


def test_patched_numpy_is_noticed(monkeypatch):
    monkeypatch.setattr(np, "isclose", lambda *a, **k: np.ones(1, dtype=bool))
    with pytest.raises(CheckFailed, match="numpy.isclose was replaced in this kernel"):
        check_close(1.0, 2.0, name="x")


def test_reloading_the_module_undoes_a_patch():
    """What every test cell does first (run in a fresh interpreter: reloading changes the classes)."""
    import subprocess
    import sys

    script = """
import importlib
import dgm_course.grading as grading
grading.check_function = lambda *a, **k: True
grading.compare = lambda *a, **k: None
G = importlib.reload(importlib.import_module("dgm_course.grading"))
try:
    G.check_function(lambda a: a, [G.Case((1.0,), expected=2.0)], name="f")
except AssertionError as err:
    print("caught:", err)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "caught: f, in case 1: the result should be 2, yours is 1." in out


# ---------------------------------------------------------------- samplers

def test_standard_normal_noise_passes_and_every_kind_of_wrong_noise_fails():
    g = torch.Generator().manual_seed(0)
    n = 20_000
    assert check_standard_normal(torch.randn(n, 2, generator=g), name="noise", quiet=True)
    z = torch.randn(n, 1, generator=g)
    wrong = {
        "has mean": torch.randn(n, 2, generator=g) + 0.1,
        "has variance": torch.randn(n, 2, generator=g) * 0.9,
        "is correlated": torch.cat([z, 0.6 * z + 0.8 * torch.randn(n, 1, generator=g)], 1),
        "does not look Gaussian": (torch.rand(n, 2, generator=g) - 0.5) * 12 ** 0.5,
        "variance 0.000": torch.zeros(n, 2),                       # no noise at all
    }
    for phrase, eps in wrong.items():
        with pytest.raises(CheckFailed, match=phrase):
            check_standard_normal(eps, name="noise")


def test_standard_normal_false_failure_rate_is_small():
    """200 correct samplers, none rejected (the stated rate is below 1e-5 per check)."""
    g = torch.Generator().manual_seed(1)
    for _ in range(200):
        assert check_standard_normal(torch.randn(2_000, 2, generator=g), name="noise", quiet=True)
