"""Feedback helpers for the graded exercises (nbgrader test cells call these).

nbgrader does the grading — releases, autograding with a time limit per cell, the gradebook.
What it does not give is feedback a student can act on. A test cell such as::

    check_function(free_energy, rbm.free_energy_reference, cases, name="free_energy",
                   hints=[Hint(wrong_sign_bias, "check the sign of the visible-bias term")])

runs the student's function on every case, catches what goes wrong *before* comparing
values (an exception, no return value, the wrong type, shape or dtype, NaNs, a loop that
never ends) and reports the first problem in one sentence, naming the case::

    CheckFailed: free_energy, for W = 0 and c = 0: the result should be -4.39, yours is 1.61.
    Hint: check the sign of the visible-bias term.

A failed check raises :class:`CheckFailed` (an ``AssertionError``), so nbgrader gives the
cell no points; a passed one prints a ``✓`` line. The reference is computed from fresh
copies of the inputs, so a student's function that modifies its arguments cannot change
the expected answer, and no reference answer is printed in full: arrays are summarised by
their worst entry.
"""
import copy
import math
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch


class CheckFailed(AssertionError):
    """A check of a student's answer failed; the message says what to fix."""


class _TimeLimit(Exception):
    pass


@dataclass(frozen=True)
class Case:
    """One input to a checked function: ``fn(*args, **kwargs)``, described for the student."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    description: str = ""  # e.g. "W = 0 and c = 0"; empty means "case 1", "case 2", ...


@dataclass(frozen=True)
class Hint:
    """A typical wrong answer and the advice to give when a student's output matches it.

    ``wrong`` has the reference's signature and implements the mistake (a flipped sign, a
    missing term); ``message`` says what to look at, not what the answer is.
    """

    wrong: object
    message: str


@contextmanager
def time_limit(seconds):
    """Raise :class:`CheckFailed`-friendly ``_TimeLimit`` if the block runs past ``seconds``.

    Uses ``SIGALRM``, so it only limits code in the main thread on Unix (where Jupyter
    kernels and pytest run code); elsewhere the block runs without a limit and nbgrader's
    per-cell timeout remains the backstop.
    """
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _copy(value):
    """A fresh copy of a case's inputs, so neither function sees the other's changes."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return copy.deepcopy(value)


def _fmt(x):
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.4g}"


def _where(label):
    return f"{label}: " if label else ""


def _to_array(value, expected, label):
    """Turn ``value`` into a float64 NumPy array after checking its kind against ``expected``."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(value, torch.Tensor):
            raise CheckFailed(f"{_where(label)}the result should be a torch.Tensor, yours is a {type(value).__name__}.")
        if expected.is_floating_point() and not value.is_floating_point():
            raise CheckFailed(f"{_where(label)}the result should be a floating-point tensor "
                              f"({expected.dtype}), yours has dtype {value.dtype}.")
        return value.detach().cpu().double().numpy()
    if isinstance(expected, np.ndarray):
        if not isinstance(value, (np.ndarray, torch.Tensor)):
            raise CheckFailed(f"{_where(label)}the result should be an array, yours is a {type(value).__name__}.")
        return np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    # a number is expected: accept Python and NumPy numbers and 0-d tensors/arrays
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if value.ndim != 0:
            raise CheckFailed(f"{_where(label)}the result should be a single number, "
                              f"yours has shape {tuple(value.shape)}.")
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
        return np.asarray(value, dtype=np.float64).reshape(())
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise CheckFailed(f"{_where(label)}the result should be a number, yours is {value!r}.")
    return np.asarray(float(value))


def _compare(value, expected, *, label, atol, rtol):
    """Return ``None`` if ``value`` matches ``expected``, else a sentence saying how it differs."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(value, (tuple, list)) or len(value) != len(expected):
            got = f"a {type(value).__name__}" if not isinstance(value, (tuple, list)) else f"{len(value)} values"
            return f"{_where(label)}the result should be {len(expected)} values (a tuple), yours is {got}."
        for i, (v, e) in enumerate(zip(value, expected)):
            problem = _compare(v, e, label=f"{label}, output {i}" if label else f"output {i}", atol=atol, rtol=rtol)
            if problem:
                return problem
        return None
    try:
        got = _to_array(value, expected, label)
    except CheckFailed as err:
        return str(err)
    want = _to_array(expected, expected, label)
    if got.shape != want.shape:
        return f"{_where(label)}the result should have shape {want.shape}, yours has shape {got.shape}."
    nan = np.isnan(got) & ~np.isnan(want)
    if nan.any():
        return f"{_where(label)}your result contains NaN in {int(nan.sum())} of {got.size} entries."
    inf = np.isinf(got) & ~np.isinf(want)
    if inf.any():
        return f"{_where(label)}your result contains infinite values in {int(inf.sum())} of {got.size} entries."
    close = np.isclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
    if close.all():
        return None
    if want.size == 1:
        got, want = got.reshape(()), want.reshape(())
        return f"{_where(label)}the result should be {_fmt(want)}, yours is {_fmt(got)}."
    bad = np.argwhere(~close)
    worst = tuple(int(i) for i in bad[np.argmax(np.abs(got - want)[~close])])
    return (f"{_where(label)}{len(bad)} of {got.size} entries differ from the expected values; "
            f"entry {worst} should be {_fmt(want[worst])}, yours is {_fmt(got[worst])}.")


def _run_student(fn, case, name, label, timeout):
    __tracebackhide__ = True
    try:
        with time_limit(timeout):
            return fn(*_copy(case.args), **_copy(case.kwargs))
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet: replace `raise NotImplementedError()` "
                          f"with your code.") from None
    except _TimeLimit:
        raise CheckFailed(f"{name}, {label}: no answer after {timeout:g} s; look for a loop that never ends "
                          f"or work that is not vectorised.") from None
    except Exception as err:  # the student's code may raise anything: report it, do not crash
        raise CheckFailed(f"{name}, {label}: your function raised {type(err).__name__}: {err}") from None


def run_student(fn, *args, name=None, timeout=10.0, description="", **kwargs):
    """Call a student's ``fn(*args, **kwargs)`` on copies of the arguments, with a time limit.

    Whatever goes wrong (not implemented yet, an exception, no return value within
    ``timeout`` seconds) becomes a :class:`CheckFailed` with a message naming ``fn``.
    """
    __tracebackhide__ = True
    name = name or getattr(fn, "__name__", "your function")
    label = f"for {description}" if description else "when called"
    value = _run_student(fn, Case(args, kwargs, description), name, label, timeout)
    if value is None:
        raise CheckFailed(f"{name}, {label}: your function returned None; did you forget `return`?")
    return value


def check_function(student_fn, reference_fn, cases, *, name=None, hints=(), atol=1e-5, rtol=1e-4,
                   timeout=10.0, quiet=False):
    """Check ``student_fn`` against ``reference_fn`` on each of ``cases``.

    Parameters
    ----------
    student_fn, reference_fn : callable
    cases : sequence of Case
    name : str, optional
        How the function is called in messages (default: ``student_fn.__name__``).
    hints : sequence of Hint
        Typical wrong answers; when the student's output matches one, its message is added.
    atol, rtol : float
        Tolerances of ``numpy.isclose``.
    timeout : float
        Seconds the student's function may run per case (``None`` for no limit).
    quiet : bool
        Do not print the ``✓`` line.

    Raises
    ------
    CheckFailed
        On the first case that fails, with a message naming the case and what is wrong.
    """
    __tracebackhide__ = True
    if not callable(student_fn):
        raise CheckFailed(f"expected a function to check, got {type(student_fn).__name__}.")
    name = name or getattr(student_fn, "__name__", "your function")
    if not cases:
        raise ValueError("check_function needs at least one Case, got none")
    for i, case in enumerate(cases, start=1):
        label = f"for {case.description}" if case.description else f"in case {i}"
        expected = reference_fn(*_copy(case.args), **_copy(case.kwargs))
        value = _run_student(student_fn, case, name, label, timeout)
        if value is None and expected is not None:
            raise CheckFailed(f"{name}, {label}: your function returned None; did you forget `return`?")
        problem = _compare(value, expected, label="", atol=atol, rtol=rtol)
        if problem is None:
            continue
        message = f"{name}, {label}: {problem}"
        for hint in hints:
            wrong = hint.wrong(*_copy(case.args), **_copy(case.kwargs))
            if _compare(value, wrong, label="", atol=atol, rtol=rtol) is None:
                message += f"\nHint: {hint.message}"
                break
        raise CheckFailed(message)
    if not quiet:
        print(f"✓ {name}: all {len(cases)} case(s) pass")
    return True


def check_close(value, expected, *, name, atol=1e-5, rtol=1e-4, hint=None, quiet=False):
    """Check one computed value (a number or an array) against the expected one."""
    __tracebackhide__ = True
    problem = _compare(value, expected, label="", atol=atol, rtol=rtol)
    if problem:
        raise CheckFailed(f"{name}: {problem}" + (f"\nHint: {hint}" if hint else ""))
    if not quiet:
        print(f"✓ {name}")
    return True


def check_true(condition, message, *, name="check", quiet=False):
    """Fail with ``message`` unless ``condition`` holds (for properties such as reproducibility)."""
    __tracebackhide__ = True
    if not bool(condition):
        raise CheckFailed(f"{name}: {message}")
    if not quiet:
        print(f"✓ {name}")
    return True


def check_sample_mean(samples, mean, cov, *, name, n_sigmas=5.0, quiet=False):
    r"""Check that the mean of i.i.d. ``samples`` (shape ``(n, d)``) is consistent with ``mean``.

    Each coordinate of the sample mean must be within ``n_sigmas`` standard errors
    :math:`\sqrt{\Sigma_{ii}/n}` of the true mean, which a correct sampler fails with
    probability below :math:`10^{-5}` per coordinate at the default 5.
    """
    __tracebackhide__ = True
    if not isinstance(samples, torch.Tensor):
        raise CheckFailed(f"{name}: the samples should be a torch.Tensor, yours are a {type(samples).__name__}.")
    mean = torch.as_tensor(mean, dtype=torch.float64)
    cov = torch.as_tensor(cov, dtype=torch.float64)
    d = mean.shape[0]
    if samples.dim() != 2 or samples.shape[1] != d:
        raise CheckFailed(f"{name}: the samples should have shape (n, {d}), yours have shape {tuple(samples.shape)}.")
    if not bool(torch.isfinite(samples).all()):
        raise CheckFailed(f"{name}: your samples contain NaN or infinite values.")
    n = samples.shape[0]
    se = (torch.diagonal(cov) / n).sqrt()
    z = (samples.double().mean(0) - mean) / se
    worst = int(z.abs().argmax())
    if float(z.abs()[worst]) > n_sigmas:
        raise CheckFailed(f"{name}: the mean of your {n} samples in coordinate {worst} is "
                          f"{float(samples.double().mean(0)[worst]):.3f}, but the distribution's mean is "
                          f"{float(mean[worst]):.3f} ({float(z[worst]):+.1f} standard errors away).")
    if not quiet:
        print(f"✓ {name}")
    return True
