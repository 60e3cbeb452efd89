r"""The course's one validator: every public function checks its inputs here.

Each check either returns the value in the form the library computes with (a tensor of the
model's dtype, a Python ``int`` or ``float``) or raises a ``ValueError`` whose message names
the argument, says what was expected and shows what was given, for example::

    x must have shape (n, 64), got (5, 63)
    x must be binary (0/1) for a Bernoulli model, got values from 0 to 16; binarise it first
    step_size must be a positive number, got -0.1
    n_steps must be a non-negative integer, got 2.5

NaN never passes: data with a NaN or an infinite entry, and numbers that are NaN, are
rejected by every check.

**The dtype rule** (DESIGN's model protocol): data may be a tensor, a NumPy array or a
(nested) list; it is converted to the dtype the caller asks for, which for a model is the
dtype of its parameters (``check_data(x, dtype=model_dtype(model))``). Integer and boolean
inputs are converted too, so ``torch.tensor([[0, 1]])`` and ``np.array([[0., 1.]])`` are the
same input to a Bernoulli model.

**Numbers**: Python numbers, NumPy scalars (``np.float32(0.1)``) and 0-d tensors are all
accepted wherever a number is asked for; ``bool`` is never taken for a number.

Examples
--------
>>> check_data([[0, 1], [1, 1]], "v", n_features=2, support="binary").dtype
torch.float32
>>> check_positive(np.float32(0.1), "step_size")  # doctest: +ELLIPSIS
0.10000000149...
>>> check_int(3, "n_hidden", minimum=1)
3
>>> check_int(-5, "n_steps")
Traceback (most recent call last):
    ...
ValueError: n_steps must be a non-negative integer, got -5
"""
import math
import numbers

import numpy as np
import torch

SUPPORTS = ("real", "binary", "levels", "unit")
"""What values ``check_data`` allows: any finite number, 0/1, the integers 0..levels-1, or
numbers in [0, 1] (probabilities or intensities)."""


# ---------------------------------------------------------------------------------------
# Numbers


def _show(value):
    """A short description of ``value`` for an error message."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}" if value.dim() else repr(value.item())
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}" if value.ndim else repr(value.item())
    if isinstance(value, np.generic):  # np.float32(-0.5) is shown as -0.5
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} {text[:57]}..."


def _scalar(value):
    """``value`` as a Python number if it is a real number (Python, NumPy or 0-d tensor), else None."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return None
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or value.dtype == torch.bool or value.is_complex():
            return None
        return value.item()
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iuf":
            return None
        return value.item()
    if isinstance(value, numbers.Real):
        return value.item() if isinstance(value, np.generic) else value
    return None


def check_int(value, name, minimum=0, maximum=None):
    """``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``, else a ``ValueError``.

    Floats are not integers here, even ``2.0``: a count given as a float is usually a slip.

    Examples
    --------
    >>> check_int(np.int64(4), "batch_size", minimum=1)
    4
    """
    number = _scalar(value)
    ok = isinstance(number, int) and number >= minimum and (maximum is None or number <= maximum)
    if not ok:
        if maximum is not None:
            expected = f"an integer from {minimum} to {maximum}"
        else:
            expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
                minimum, f"an integer >= {minimum}")
        raise ValueError(f"{name} must be {expected}, got {_show(value)}")
    return int(number)


def check_number(value, name, *, minimum=None, maximum=None, strict=False, expected=None):
    """``value`` as a finite ``float`` in the interval ``[minimum, maximum]`` (open at both
    ends when ``strict``), else a ``ValueError``. ``expected`` words the message."""
    number = _scalar(value)
    ok = number is not None and math.isfinite(number)
    if ok and minimum is not None:
        ok = number > minimum if strict else number >= minimum
    if ok and maximum is not None:
        ok = number < maximum if strict else number <= maximum
    if not ok:
        if expected is None:
            lo = "(" if strict else "["
            hi = ")" if strict else "]"
            if minimum is None and maximum is None:
                expected = "a finite number"
            else:
                low = "-inf" if minimum is None else f"{minimum:g}"
                high = "inf" if maximum is None else f"{maximum:g}"
                expected = f"a number in {lo}{low}, {high}{hi}"
        raise ValueError(f"{name} must be {expected}, got {_show(value)}")
    return float(number)


def check_positive(value, name):
    """``value`` as a ``float`` if it is a finite number > 0, else a ``ValueError``."""
    return check_number(value, name, minimum=0, strict=True, expected="a positive number")


def check_nonnegative(value, name):
    """``value`` as a ``float`` if it is a finite number >= 0, else a ``ValueError``."""
    return check_number(value, name, minimum=0, expected="a non-negative number")


def check_probability(value, name, *, open_interval=False):
    """``value`` as a ``float`` in [0, 1] (in (0, 1) with ``open_interval``), else a ``ValueError``."""
    if open_interval:
        return check_number(value, name, minimum=0, maximum=1, strict=True,
                            expected="a probability strictly between 0 and 1")
    return check_number(value, name, minimum=0, maximum=1, expected="a probability in [0, 1]")


def check_bool(value, name):
    """``value`` if it is ``True`` or ``False`` (NumPy booleans too), else a ``ValueError``.

    Strings such as ``"no"`` are rejected: they are truthy, which is never what was meant.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {_show(value)}")


def check_choice(value, name, choices):
    """``value`` if it is one of ``choices``, else a ``ValueError`` listing them."""
    try:
        if value in choices:
            return value
    except TypeError:  # unhashable values in a set/dict lookup
        pass
    raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {_show(value)}")


# ---------------------------------------------------------------------------------------
# Data


def model_dtype(model, default=None):
    """The floating dtype of ``model``'s first parameter or buffer (the dtype its inputs are
    converted to), or ``default`` (``torch.get_default_dtype()`` if None) when it has none."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return default if default is not None else torch.get_default_dtype()


def _to_tensor(x, name, dtype, device):
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, (np.ndarray, list, tuple, numbers.Real)) and not isinstance(x, (str, bytes)):
        try:
            array = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a tensor or an array of numbers, got {_show(x)}") from err
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be a tensor or an array of numbers, got an array of "
                             f"dtype {array.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(array))
    else:
        raise ValueError(f"{name} must be a tensor or an array of numbers, got {_show(x)}")
    if t.is_complex():
        raise ValueError(f"{name} must be real, got a complex tensor")
    if dtype is None:
        dtype = t.dtype if t.is_floating_point() else torch.get_default_dtype()
    return t.to(device=device if device is not None else t.device, dtype=dtype)


def check_data(x, name="x", *, n_features=None, ndim=2, support="real", levels=None, dtype=None,
               device=None, min_rows=0):
    r"""Check data and return it as a floating tensor.

    Parameters
    ----------
    x : tensor, array or nested list
        Examples along the first dimension.
    name : str
        The argument's name, for messages.
    n_features : int or tuple of int, optional
        The required size of the last dimension (an int), or of every dimension after the
        first (a tuple, e.g. ``(1, 8, 8)`` for images).
    ndim : int or None
        The required number of dimensions (2 for ``(n, D)``); None allows any.
    support : {"real", "binary", "levels", "unit"}
        Any finite value; only 0 and 1; only the integers ``0 .. levels - 1``; or [0, 1].
    levels : int, optional
        The number of levels, with ``support="levels"`` (17 for the grey-level digits).
    dtype : torch.dtype, optional
        Convert to this dtype (a model passes :func:`model_dtype`); by default floating
        inputs keep theirs and others become ``torch.get_default_dtype()``.
    device : torch.device, optional
        Move to this device (a model passes its parameters' device).
    min_rows : int
        The fewest examples allowed (0: an empty batch of the right shape is fine).

    Returns
    -------
    tensor of the checked shape, finite, of a floating dtype
    """
    check_choice(support, "support", SUPPORTS)
    t = _to_tensor(x, name, dtype, device)
    if not t.is_floating_point():
        raise ValueError(f"dtype for {name} must be a floating dtype, got {t.dtype}")
    if ndim is not None and t.dim() != ndim:
        want = "(n, D)" if ndim == 2 else f"{ndim} dimensions"
        raise ValueError(f"{name} must have {ndim} dimension(s) {want}, got shape {tuple(t.shape)}")
    if n_features is not None:
        want = (n_features,) if isinstance(n_features, int) else tuple(n_features)
        have = tuple(t.shape[-len(want):]) if t.dim() > len(want) - 1 else tuple(t.shape)
        if t.dim() < 1 + len(want) or have != want:
            shape = ", ".join(["n", *map(str, want)])
            raise ValueError(f"{name} must have shape ({shape}), got {tuple(t.shape)}")
    if t.dim() > 0 and t.shape[0] < min_rows:
        raise ValueError(f"{name} must hold at least {min_rows} example(s), got {t.shape[0]}")
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        n_nan, n_inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
        raise ValueError(f"{name} must be finite, got {n_nan} NaN and {n_inf} infinite entries")
    if t.numel() and support != "real":
        lo, hi = float(t.min()), float(t.max())
        if support == "binary" and not bool(((t == 0) | (t == 1)).all()):
            raise ValueError(f"{name} must be binary (0/1) for a Bernoulli model, got values from "
                             f"{lo:.3g} to {hi:.3g}; binarise it first")
        if support == "unit" and (lo < 0 or hi > 1):
            raise ValueError(f"{name} must lie in [0, 1], got values from {lo:.3g} to {hi:.3g}")
        if support == "levels":
            levels = check_int(levels, "levels", minimum=2)
            if lo < 0 or hi > levels - 1 or not bool((t == t.round()).all()):
                raise ValueError(f"{name} must hold integer levels 0..{levels - 1}, got values "
                                 f"from {lo:.3g} to {hi:.3g}")
    return t


def check_same_length(name_a, a, name_b, b):
    """A ``ValueError`` unless tensors ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} must have the same number of rows, got "
                         f"{a.shape[0]} and {b.shape[0]}")


def check_shape(x, name, shape):
    """A ``ValueError`` unless tensor ``x`` has exactly ``shape``; returns ``x``."""
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(x.shape)}")
    return x
