"""The feedback helpers: each passes a right answer and fails wrong ones with the right message."""
import time

import numpy as np
import pytest
import torch

from dgm_course.grading import (Case, CheckFailed, Hint, check_close, check_function, check_sample_mean,
                                check_true, run_student, time_limit)


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
