"""Feedback helpers for the graded exercises (nbgrader test cells call these).

nbgrader does the bookkeeping (releases, autograding, the gradebook); this module gives the
student feedback they can act on. A visible test cell holds the visible cases with their
expected values, and nothing that computes the answer::

    G = importlib.reload(importlib.import_module("dgm_course.grading"))
    G.check_function(free_energy, [
        G.Case((v, W, b, c), expected=torch.tensor([-1.5, 0.25]), description="W = 0"),
    ], forbidden=("dgm_course.rbm",))

``check_function`` runs the student's function on every case, catches what goes wrong
*before* comparing values (an exception, no return value, the wrong type or shape, NaNs,
infinities, an input changed in place, a call the exercise forbids, a loop that never ends)
and reports the first problem in one sentence, naming the case::

    CheckFailed: free_energy, for W = 0: the result should be -4.39, yours is 1.61.

An input wrapped in :class:`Param` (a critic's weights, say) is one the answer must stay
differentiable in: the check compares the gradient of the result with respect to it too,
so a result with the right value that autograd cannot differentiate fails.

Reference implementations, hidden cases and the hints that recognise typical mistakes
(:class:`Hint`) live in instructor-only files, and are run by :mod:`dgm_course.regrade`.

The checks run in the student's kernel, so they are feedback, not the grade of record (that
is the isolated regrade). They are still hard to fool: a test cell reloads this module from
its file, the numerical functions it relies on are checked to be NumPy's own, and the
function checked must be one the student wrote (``def``), not a library's.

A failed check raises :class:`CheckFailed` (an ``AssertionError``), so nbgrader gives the
cell no points; a passed one prints one ``✓`` line.
"""
import copy
import dis
import inspect
import math
import signal
import threading
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from dgm_course.sandbox import with_gradients  # noqa: F401  (the checks and the sandbox share it)


class CheckFailed(AssertionError):
    """A check of a student's answer failed; the message says what to fix."""


class _TimeLimit(Exception):
    pass


_NO_VALUE = object()
SINGLE_TOLERANCE = 1e-4
"""Relative tolerance (to the largest expected entry) granted to float32/float16 answers."""


@dataclass(frozen=True)
class Case:
    """One input to a checked function, ``fn(*args, **kwargs)``, and the value it should give.

    ``expected`` is the right answer (a number, an array, a tensor or a tuple of them); it
    may be left out when a reference function computes it. Where ``args`` hold
    :class:`Param` inputs, the answer is the tuple ``(result, gradient, ...)`` (see there).
    """

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    description: str = ""  # e.g. "W = 0 and c = 0"; empty means "case 1", "case 2", ...
    expected: object = _NO_VALUE


@dataclass(frozen=True)
class Param:
    """An input tensor that the answer must stay differentiable in, such as a critic's weights.

    The function gets it as a fresh leaf tensor that requires grad, and its answer is judged
    together with the gradient of its result (summed) with respect to every ``Param``:
    what is compared is ``(result, gradient, ...)``, one gradient per ``Param`` in the order
    they appear in the arguments, zero where the result does not depend on it through
    autograd. So a result cut off from the graph (a ``.detach()``, a gradient taken without
    ``create_graph=True``) fails, although its value is right. ``name`` names it in messages.
    """

    value: torch.Tensor
    name: str = ""


def _is_param(value):
    """Whether ``value`` is a :class:`Param`, also one made before a test cell reloaded this
    module (the class is then a new one, with the same name)."""
    return type(value).__module__ == __name__ and type(value).__qualname__ == "Param"


def param_inputs(original, copied):
    """``[(name, tensor)]``: the tensors of ``copied`` that stand for a :class:`Param` of
    ``original`` (the case's arguments before :func:`copy_inputs`), in order."""
    if _is_param(original):
        return [(original.name or "a parameter", copied)]
    if isinstance(original, (tuple, list)):
        return [p for o, c in zip(original, copied) for p in param_inputs(o, c)]
    if isinstance(original, dict):
        return [p for k in original for p in param_inputs(original[k], copied[k])]
    return []


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
    """Raise ``_TimeLimit`` if the block runs past ``seconds``.

    Uses ``SIGALRM``, so it only limits code in the main thread on Unix (where Jupyter
    kernels and pytest run code); elsewhere the block runs without a limit and nbgrader's
    per-cell timeout remains the backstop.
    """
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
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


# ---------------------------------------------------------------- the checker itself is genuine

_RELIED_ON = [(np, name) for name in ("isclose", "asarray", "isnan", "isinf", "argwhere", "abs",
                                      "array_equal")] + [(torch, "equal"), (torch, "as_tensor")]


def _genuine(obj, package):
    """Whether ``obj`` is the object ``package`` defines (not a replacement set by a student)."""
    module = getattr(obj, "__module__", None) or ""
    code = getattr(obj, "__code__", None)
    if code is not None:  # a Python function: it must come from the package's own files
        return Path(code.co_filename).resolve().is_relative_to(Path(package.__file__).resolve().parent)
    return module.startswith(package.__name__) or type(obj).__module__ == "numpy"


def assert_untouched():
    """Fail if the NumPy/torch functions the checks rely on were replaced in this kernel."""
    for package, name in _RELIED_ON:
        if not _genuine(getattr(package, name, None), package):
            raise CheckFailed(f"{package.__name__}.{name} was replaced in this kernel, so the checks "
                              "cannot run: restart the kernel and run all cells without patching "
                              "the libraries.")


def _user_function(fn, name):
    """Fail unless ``fn`` is a Python function the student wrote (not a library's)."""
    if isinstance(fn, types.FunctionType):
        where = Path(fn.__code__.co_filename).resolve()
        libraries = [Path(m.__file__).resolve().parent for m in (np, torch)]
        libraries.append(Path(__file__).resolve().parent)
        if not any(where.is_relative_to(lib) for lib in libraries):
            return
    raise CheckFailed(f"{name} should be a function you write with `def {name}(...)` in the "
                      f"notebook, not {type(fn).__name__} {getattr(fn, '__qualname__', fn)!r}.")


# ---------------------------------------------------------------- forbidden calls, mutation

def _code_objects(fn, seen):
    """The code of ``fn`` and of the notebook functions it calls (transitively)."""
    if not isinstance(fn, types.FunctionType) or fn.__code__ in seen:
        return
    seen.add(fn.__code__)
    stack = [fn.__code__]
    while stack:
        code = stack.pop()
        yield code
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        for name in code.co_names:
            helper = fn.__globals__.get(name)
            if isinstance(helper, types.FunctionType) and helper.__module__ == fn.__module__:
                yield from _code_objects(helper, seen)


def _uses(fn):
    """(attributes, modules, global names) that ``fn`` and its notebook helpers use."""
    attrs, modules, names = set(), set(), set()
    closure = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))
    lookup = {**fn.__globals__, **closure}
    for code in _code_objects(fn, set()):
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD"):
                attrs.add(ins.argval)
            elif ins.opname == "IMPORT_NAME":
                modules.add(ins.argval)
            elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF"):
                value = lookup.get(ins.argval)
                if isinstance(value, types.ModuleType):
                    modules.add(value.__name__)
                elif value is not None and not (isinstance(value, types.FunctionType)
                                                and value.__module__ == fn.__module__):
                    modules.add(getattr(value, "__module__", None) or "")
                    names.add(getattr(value, "__name__", None) or "")
    return attrs, modules, names


def _matches(entry, attrs, modules, names):
    in_module = any(m == entry or m.startswith(entry + ".") for m in modules)
    if "." not in entry:
        return in_module or entry in attrs or entry in names
    first, *_, last = entry.split(".")
    return in_module or (last in attrs and any(m.split(".")[0] == first for m in modules))


def forbidden_uses(fn, forbidden):
    """The entries of ``forbidden`` that ``fn`` (or a notebook function it calls) uses.

    An entry is an attribute name (``"logsumexp"``: ``torch.logsumexp``, ``a.logsumexp``
    and a name imported as ``from torch import logsumexp``) or a dotted module
    (``"sklearn"``, ``"dgm_course.rbm"``: importing it, or using what it defines).
    """
    used = _uses(fn)
    return [entry for entry in forbidden if _matches(entry, *used)]


def _describe_forbidden(entry):
    return f"`{entry}`" if "." in entry else f"`.{entry}` (e.g. torch.{entry})"


def _changed(before, after):
    if isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor):
        return before.shape != after.shape or not torch.equal(before, after)
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        return before.shape != after.shape or not np.array_equal(before, after, equal_nan=True)
    return False


def copy_inputs(value):
    """A fresh copy of a case's inputs, so neither function sees the other's changes."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if _is_param(value):
        return value.value.detach().clone().requires_grad_(True)
    if isinstance(value, torch.Generator):
        return torch.Generator().set_state(value.get_state())
    if isinstance(value, tuple):
        return tuple(copy_inputs(v) for v in value)
    if isinstance(value, dict):
        return {k: copy_inputs(v) for k, v in value.items()}
    return copy.deepcopy(value)


# ---------------------------------------------------------------- comparing values

def _fmt(x):
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.4g}"


def _where(label):
    return f"{label}: " if label else ""


def _kind(value):
    """The type of a student's result, as it is named in messages."""
    return getattr(value, "type_name", None) or type(value).__name__


def _is_scalar(x):
    if isinstance(x, (torch.Tensor, np.ndarray)):
        return x.ndim == 0
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _low_precision(value):
    dtype = getattr(value, "dtype", None)
    return dtype in (torch.float32, torch.float16, torch.bfloat16, np.float32, np.float16)


def _to_array(value, expected, label):
    """Turn ``value`` into a float64 NumPy array after checking its kind against ``expected``.

    Where a single number is expected, Python and NumPy numbers and 0-d tensors and arrays
    are all accepted; float32 and float64 are accepted alike.
    """
    if _is_scalar(expected):
        if isinstance(value, (torch.Tensor, np.ndarray)):
            if value.ndim != 0:
                raise CheckFailed(f"{_where(label)}the result should be a single number, "
                                  f"yours has shape {tuple(value.shape)}.")
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().double()
            return np.asarray(value, dtype=np.float64).reshape(())
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise CheckFailed(f"{_where(label)}the result should be a number, "
                              f"yours is {_kind(value)} {value!r:.60}.")
        return np.asarray(float(value))
    if isinstance(expected, torch.Tensor):
        if not isinstance(value, torch.Tensor):
            raise CheckFailed(f"{_where(label)}the result should be a torch.Tensor, "
                              f"yours is a {_kind(value)}.")
        if expected.is_floating_point() and not value.is_floating_point():
            raise CheckFailed(f"{_where(label)}the result should be a floating-point tensor "
                              f"({expected.dtype}), yours has dtype {value.dtype}.")
        return value.detach().cpu().double().numpy()
    if not isinstance(value, (np.ndarray, torch.Tensor)):
        raise CheckFailed(f"{_where(label)}the result should be an array, "
                          f"yours is a {_kind(value)}.")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double()
    return np.asarray(value, dtype=np.float64)


def compare(value, expected, *, label, atol, rtol):
    """Return ``None`` if ``value`` matches ``expected``, else a sentence saying how it differs."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(value, (tuple, list)) or len(value) != len(expected):
            got = (f"a {_kind(value)}" if not isinstance(value, (tuple, list))
                   else f"{len(value)} values")
            return (f"{_where(label)}the result should be {len(expected)} values (a tuple), "
                    f"yours is {got}.")
        for i, (v, e) in enumerate(zip(value, expected)):
            sub = f"{label}, output {i}" if label else f"output {i}"
            problem = compare(v, e, label=sub, atol=atol, rtol=rtol)
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
        return (f"{_where(label)}your result contains infinite values in {int(inf.sum())} of "
                f"{got.size} entries.")
    if _low_precision(value):  # float32 rounding grows with the size of the numbers
        finite = want[np.isfinite(want)]
        scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
        atol, rtol = max(atol, SINGLE_TOLERANCE * scale), max(rtol, SINGLE_TOLERANCE)
    close = np.isclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
    if close.all():
        return None
    if want.size == 1:
        got, want = got.reshape(()), want.reshape(())
        return f"{_where(label)}the result should be {_fmt(want)}, yours is {_fmt(got)}."
    bad = np.argwhere(~close)
    with np.errstate(invalid="ignore"):   # inf - inf where both are infinite
        worst = tuple(int(i) for i in bad[np.argmax(np.nan_to_num(np.abs(got - want))[~close])])
    return (f"{_where(label)}{len(bad)} of {got.size} entries differ from the expected values; "
            f"entry {worst} should be {_fmt(want[worst])}, yours is {_fmt(got[worst])}.")


NO_GRADIENT = (" Your result does not depend on it through autograd: compute it from this input "
               "with differentiable torch operations (no .detach(), .item() or NumPy), and where it "
               "is built from a gradient of torch.autograd.grad, pass create_graph=True so that "
               "the gradient can be differentiated again.")


def compare_answer(value, expected, *, names=(), atol=1e-5, rtol=1e-4):
    """:func:`compare` for an answer that may carry gradients (``names`` of its
    :class:`Param` inputs): the result first, then each gradient, named in the message."""
    if not names:
        return compare(value, expected, label="", atol=atol, rtol=rtol)
    problem = compare(value[0], expected[0], label="", atol=atol, rtol=rtol)
    if problem:
        return problem
    for name, got, want in zip(names, value[1:], expected[1:]):
        problem = compare(got, want, label=f"the gradient of your result with respect to {name}",
                           atol=atol, rtol=rtol)
        if problem:
            want = _to_array(want, want, "")
            if not np.any(_to_array(got, want, "")) and np.any(want):
                problem += NO_GRADIENT
            return problem
    return None


# ---------------------------------------------------------------- running the student's code

def _run_student(fn, args, kwargs, name, label, timeout):
    __tracebackhide__ = True
    try:
        with time_limit(timeout):
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet: replace `raise NotImplementedError()` "
                          f"with your code.") from None
    except _TimeLimit:
        raise CheckFailed(f"{name}, {label}: no answer after {timeout:g} s; look for a loop that "
                          f"never ends or work that is not vectorised.") from None
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
    value = _run_student(fn, copy_inputs(args), copy_inputs(kwargs), name, label, timeout)
    if value is None:
        raise CheckFailed(f"{name}, {label}: your function returned None; did you forget `return`?")
    return value


def _argument_names(fn, n):
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(n)]


def check_function(student_fn, reference_or_cases, cases=None, *, name=None, hints=(), atol=1e-5,
                   rtol=1e-4, timeout=10.0, quiet=False, forbidden=(), unchanged=False):
    """Check ``student_fn`` on each case: against ``case.expected``, or a reference function.

    Parameters
    ----------
    student_fn : callable
        The student's function (it must be defined with ``def`` in the notebook).
    reference_or_cases : sequence of Case, or callable
        The cases with their expected values; or a reference function, followed by ``cases``.
        Cases with :class:`Param` inputs compare the result and its gradients.
    name : str, optional
        How the function is called in messages (default: ``student_fn.__name__``).
    hints : sequence of Hint
        Typical wrong answers; when the student's output matches one, its message is added.
    atol, rtol : float
        Tolerances of ``numpy.isclose`` (float32 answers get at least
        :data:`SINGLE_TOLERANCE`, relative to the largest expected entry).
    timeout : float
        Seconds the student's function may run per case (``None`` for no limit).
    quiet : bool
        Do not print the ``✓`` line.
    forbidden : sequence of str
        Attributes or modules the exercise forbids (see :func:`forbidden_uses`).
    unchanged : bool
        The exercise asks the function to leave its inputs unchanged: fail if it changes one.

    Raises
    ------
    CheckFailed
        On the first case that fails, with a message naming the case and what is wrong.
    """
    __tracebackhide__ = True
    reference = reference_or_cases if callable(reference_or_cases) else None
    cases = cases if reference is not None else reference_or_cases
    if not cases:
        raise ValueError("check_function needs at least one Case, got none")
    if not callable(student_fn):
        raise CheckFailed(f"expected a function to check, got {type(student_fn).__name__}.")
    name = name or getattr(student_fn, "__name__", "your function")
    assert_untouched()
    _user_function(student_fn, name)
    used = forbidden_uses(student_fn, forbidden)
    if used:
        raise CheckFailed(f"{name}: the exercise asks you not to use "
                          f"{', '.join(map(_describe_forbidden, used))}; write it yourself.")

    def call(fn, case):   # fn on fresh copies of the inputs, with the gradients the case asks for
        args, kwargs = copy_inputs(case.args), copy_inputs(case.kwargs)
        params = param_inputs((case.args, case.kwargs), (args, kwargs))
        value = fn(*args, **kwargs)
        return with_gradients(value, [p for _, p in params]), args

    for i, case in enumerate(cases, start=1):
        label = f"for {case.description}" if case.description else f"in case {i}"
        names = [n for n, _ in param_inputs((case.args, case.kwargs), (case.args, case.kwargs))]
        if reference is not None:
            expected = call(reference, case)[0]
        elif case.expected is _NO_VALUE:
            raise ValueError(f"case {i} has no expected value and there is no reference function")
        else:
            expected = case.expected
        value, args = call(lambda *a, **k: _run_student(student_fn, a, k, name, label, timeout), case)
        if value is None and expected is not None:
            raise CheckFailed(f"{name}, {label}: your function returned None; did you forget `return`?")
        problem = compare_answer(value, expected, names=names, atol=atol, rtol=rtol)
        if problem is None and unchanged:
            arg_names = _argument_names(student_fn, len(args))
            for arg_name, before, after in zip(arg_names, case.args, args):
                if _changed(before, after):
                    problem = (f"your function changed its input `{arg_name}` in place; the exercise "
                               f"asks you to leave it unchanged (work on a copy, e.g. "
                               f"{arg_name}.clone()).")
                    break
        if problem is None:
            continue
        message = f"{name}, {label}: {problem}"
        for hint in hints:
            wrong = call(hint.wrong, case)[0]
            if compare_answer(value, wrong, names=names, atol=atol, rtol=rtol) is None:
                message += f"\nHint: {hint.message}"
                break
        raise CheckFailed(message)
    if not quiet:
        print(f"✓ {name}: all {len(cases)} case(s) pass")
    return True


def check_close(value, expected, *, name, atol=1e-5, rtol=1e-4, hint=None, quiet=False):
    """Check one computed value (a number or an array) against the expected one."""
    __tracebackhide__ = True
    assert_untouched()
    problem = compare(value, expected, label="", atol=atol, rtol=rtol)
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



# ---------------------------------------------------------------- samplers

def _samples(samples, d, name):
    if not isinstance(samples, torch.Tensor):
        raise CheckFailed(f"{name}: the samples should be a torch.Tensor, yours are a "
                          f"{type(samples).__name__}.")
    if samples.dim() != 2 or samples.shape[1] != d:
        raise CheckFailed(f"{name}: the samples should have shape (n, {d}), yours have shape "
                          f"{tuple(samples.shape)}.")
    if not bool(torch.isfinite(samples).all()):
        raise CheckFailed(f"{name}: your samples contain NaN or infinite values.")
    return samples.detach().double()


def check_sample_mean(samples, mean, cov, *, name, n_sigmas=5.0, quiet=False):
    r"""Check that the mean of i.i.d. ``samples`` (shape ``(n, d)``) is consistent with ``mean``.

    Each coordinate of the sample mean must be within ``n_sigmas`` standard errors
    :math:`\sqrt{\Sigma_{ii}/n}` of the true mean, which a correct sampler fails with
    probability below :math:`10^{-6}` per coordinate at the default 5.
    """
    __tracebackhide__ = True
    mean = torch.as_tensor(mean, dtype=torch.float64)
    cov = torch.as_tensor(cov, dtype=torch.float64)
    x = _samples(samples, mean.shape[0], name)
    n = x.shape[0]
    z = (x.mean(0) - mean) / (torch.diagonal(cov) / n).sqrt()
    worst = int(z.abs().argmax())
    if float(z.abs()[worst]) > n_sigmas:
        raise CheckFailed(f"{name}: the mean of your {n} samples in coordinate {worst} is "
                          f"{float(x.mean(0)[worst]):.3f}, but the distribution's mean is "
                          f"{float(mean[worst]):.3f} ({float(z[worst]):+.1f} standard errors away).")
    if not quiet:
        print(f"✓ {name}")
    return True


def check_standard_normal(eps, *, name, n_sigmas=5.0, p_min=1e-6, seed=0, quiet=False):
    r"""Check that the rows of ``eps`` (shape ``(n, d)``) look like i.i.d. :math:`N(0, I)` draws.

    Four tests, each of which a correct sampler fails with probability below about
    :math:`6 \cdot 10^{-7}` per statistic (so below :math:`10^{-5}` in all for ``d`` = 2):
    the mean of each coordinate (z-test), the variance of each coordinate (its standard
    error is :math:`\sqrt{2/n}`), the correlation of each pair (standard error
    :math:`1/\sqrt n`), all within ``n_sigmas`` standard errors, and a Kolmogorov–Smirnov
    test of normality on a random unit projection, at level ``p_min``. A sampler with
    no noise, too little or too much noise, correlated or non-Gaussian noise fails.
    """
    __tracebackhide__ = True
    from scipy.stats import kstest

    x = _samples(eps, eps.shape[-1] if isinstance(eps, torch.Tensor) and eps.dim() else 1, name)
    n, d = x.shape
    mean, var = x.mean(0), x.var(0)
    z_mean = mean * math.sqrt(n)
    z_var = (var - 1) / math.sqrt(2 / n)
    for i in range(d):
        if abs(float(z_mean[i])) > n_sigmas:
            raise CheckFailed(f"{name}: the noise in coordinate {i} has mean {float(mean[i]):.3f}, "
                              "not 0: draw it from torch.randn.")
        if abs(float(z_var[i])) > n_sigmas:
            raise CheckFailed(f"{name}: the noise in coordinate {i} has variance {float(var[i]):.3f} "
                              "after scaling by the standard deviation, not 1: draw standard normal "
                              "noise (torch.randn) and scale it by the standard deviation.")
    corr = torch.corrcoef(x.T) if d > 1 else torch.ones(1, 1, dtype=x.dtype)
    for i in range(d):
        for j in range(i + 1, d):
            if abs(float(corr[i, j])) * math.sqrt(n) > n_sigmas:
                raise CheckFailed(f"{name}: the noise in coordinates {i} and {j} is correlated "
                                  f"({float(corr[i, j]):+.2f}): draw independent noise for each "
                                  "coordinate.")
    direction = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    projection = x @ (direction / direction.norm())
    p = kstest(projection.numpy(), "norm").pvalue
    if p < p_min:
        raise CheckFailed(f"{name}: the noise does not look Gaussian (Kolmogorov-Smirnov test, "
                          f"p = {p:.1e}): draw it from torch.randn.")
    if not quiet:
        print(f"✓ {name}")
    return True


def check_mixture_samples(x, again, means, stds, weights, *, name="sample_mixture", quiet=False):
    r"""Check samples ``x`` (and ``again``, drawn with the same seed) of a 2-D Gaussian mixture.

    The components must be far apart (each sample is assigned to its nearest mean). Checks
    the shape, reproducibility, how often each component is chosen
    (:func:`check_sample_mean` on the one-hot assignments) and that the standardised
    residuals :math:`(x - \mu_k) / \sigma_k` are i.i.d. :math:`N(0, I)`
    (:func:`check_standard_normal`). A correct sampler fails with probability below
    :math:`10^{-5}`.
    """
    __tracebackhide__ = True
    assert_untouched()
    k = len(weights)
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or tuple(x.shape[1:]) != (2,):
        raise CheckFailed(f"{name}: expected a tensor of shape (n, 2), got {type(x).__name__} of "
                          f"shape {tuple(getattr(x, 'shape', ()))}.")
    if not isinstance(again, torch.Tensor) or not torch.equal(x, again):
        raise CheckFailed(f"{name}: two calls with generators seeded alike gave different samples: "
                          "draw every random number from `generator`.")
    x = _samples(x, 2, name)
    means, stds = means.double(), stds.double()
    weights = torch.as_tensor(weights, dtype=torch.float64)
    nearest = ((x[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    onehot = torch.nn.functional.one_hot(nearest, k).double()
    check_sample_mean(onehot, weights, torch.diag(weights * (1 - weights)), quiet=True,
                      name=f"{name}: how often each component is chosen (check that you use the "
                           "weights)")
    eps = (x - means[nearest]) / stds[nearest, None]
    check_standard_normal(eps, quiet=True, name=f"{name}: the noise around each mean (x - mean) / std")
    if not quiet:
        print(f"✓ {name}: shape, reproducibility, weights and noise")
    return True
