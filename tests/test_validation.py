"""Tests of dgm_course.validation: every check with good and bad values (NaN, NumPy scalars,
0-d tensors, bools, strings), and the messages that name the argument and the value."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from dgm_course.validation import (
    check_bool,
    check_choice,
    check_data,
    check_int,
    check_nonnegative,
    check_number,
    check_positive,
    check_probability,
    check_same_length,
    check_shape,
    model_dtype,
)

NAN = float("nan")

# ---------------------------------------------------------------------------------------
# Numbers: (value, expected return)

GOOD_INTS = [(3, 3), (0, 0), (np.int64(4), 4), (np.int32(2), 2), (np.uint8(7), 7),
             (torch.tensor(5), 5), (np.array(6), 6)]
BAD_INTS = [-1, 2.5, 2.0, np.float32(2.0), True, np.bool_(False), "3", None, NAN, float("inf"),
            torch.tensor([1, 2]), torch.tensor(True), torch.tensor(2.0), [3]]


@pytest.mark.parametrize("value, expected", GOOD_INTS)
def test_check_int_accepts_integers(value, expected):
    out = check_int(value, "n")
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value", BAD_INTS, ids=repr)
def test_check_int_rejects(value):
    with pytest.raises(ValueError, match="n_steps must be a non-negative integer, got"):
        check_int(value, "n_steps")


@pytest.mark.parametrize("kwargs, value, message", [
    (dict(minimum=1), 0, "n must be a positive integer, got 0"),
    (dict(minimum=2), 1, "n must be an integer >= 2, got 1"),
    (dict(minimum=1, maximum=3), 4, "n must be an integer from 1 to 3, got 4"),
])
def test_check_int_ranges(kwargs, value, message):
    assert check_int(value + (-1 if value > 1 else 1), "n", **kwargs) >= kwargs["minimum"]
    with pytest.raises(ValueError, match=message):
        check_int(value, "n", **kwargs)


GOOD_NUMBERS = [(0.1, 0.1), (3, 3.0), (np.float32(0.5), 0.5), (np.float64(0.25), 0.25),
                (np.int64(2), 2.0), (torch.tensor(0.5), 0.5), (torch.tensor(2, dtype=torch.int64), 2.0),
                (np.array(1.5), 1.5)]
BAD_NUMBERS = [NAN, np.float32(NAN), torch.tensor(NAN), float("inf"), -float("inf"), True, np.bool_(True),
               "0.1", None, [0.1], np.array([0.1]), torch.tensor([0.1]), torch.tensor(True), 1 + 2j]


@pytest.mark.parametrize("value, expected", GOOD_NUMBERS, ids=repr)
@pytest.mark.parametrize("check", [check_number, check_positive, check_nonnegative])
def test_number_checks_accept_numbers(check, value, expected):
    out = check(value, "step_size")
    assert type(out) is float and out == pytest.approx(expected)


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("check", [check_number, check_positive, check_nonnegative, check_probability])
def test_number_checks_reject_non_numbers(check, value):
    with pytest.raises(ValueError, match="step_size must be"):
        check(value, "step_size")


def test_check_positive_and_nonnegative_boundaries():
    assert check_nonnegative(0, "alpha") == 0.0
    with pytest.raises(ValueError, match="alpha must be a positive number, got 0"):
        check_positive(0, "alpha")
    with pytest.raises(ValueError, match=r"alpha must be a positive number, got -0.1"):
        check_positive(np.float32(-0.1), "alpha")
    with pytest.raises(ValueError, match="alpha must be a non-negative number, got -1"):
        check_nonnegative(-1, "alpha")


def test_check_number_intervals():
    assert check_number(1.0, "x", minimum=0, maximum=1) == 1.0
    with pytest.raises(ValueError, match=r"x must be a number in \(0, 1\), got 1.0"):
        check_number(1.0, "x", minimum=0, maximum=1, strict=True)
    with pytest.raises(ValueError, match=r"x must be a number in \[-inf, 2\], got 3"):
        check_number(3, "x", maximum=2)
    with pytest.raises(ValueError, match="x must be a finite number, got nan"):
        check_number(NAN, "x")
    with pytest.raises(ValueError, match="x must be odd, got 2"):
        check_number(2, "x", minimum=3, expected="odd")


def test_check_probability():
    assert check_probability(np.float32(0.0), "p") == 0.0 and check_probability(1, "p") == 1.0
    assert check_probability(torch.tensor(0.3), "p") == pytest.approx(0.3)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        check_probability(1.5, "p")
    with pytest.raises(ValueError, match="p must be a probability strictly between 0 and 1, got 0"):
        check_probability(0, "p", open_interval=True)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_check_bool_accepts_booleans(value):
    assert check_bool(value, "progress") is bool(value)


@pytest.mark.parametrize("value", ["no", "False", 0, 1, None, NAN, torch.tensor(True), np.array([True])],
                         ids=repr)
def test_check_bool_rejects(value):
    with pytest.raises(ValueError, match="progress must be True or False, got"):
        check_bool(value, "progress")


def test_check_choice():
    assert check_choice("min", "mode", ("min", "max")) == "min"
    with pytest.raises(ValueError, match="mode must be one of 'min', 'max', got 'MIN'"):
        check_choice("MIN", "mode", ("min", "max"))
    with pytest.raises(ValueError, match="mode must be one of"):
        check_choice(["min"], "mode", {"min", "max"})  # unhashable
    with pytest.raises(ValueError, match="mode must be one of"):
        check_choice(NAN, "mode", ("min", "max"))


def test_long_values_are_shortened_in_messages():
    with pytest.raises(ValueError, match=r"got str '.*\.\.\.$"):
        check_int("x" * 200, "n")
    with pytest.raises(ValueError, match=r"got a tensor of shape \(2, 3\)"):
        check_int(torch.zeros(2, 3), "n")
    with pytest.raises(ValueError, match=r"got an array of shape \(4,\)"):
        check_positive(np.zeros(4), "lr")


# ---------------------------------------------------------------------------------------
# Data


def test_check_data_converts_arrays_lists_and_integers():
    out = check_data([[0, 1], [1, 1]], "v", n_features=2, support="binary")
    assert out.dtype == torch.get_default_dtype() and out.shape == (2, 2)
    a = np.array([[0.5, 1.5]])  # float64 stays float64 without a dtype
    assert check_data(a, "x").dtype == torch.float64
    assert check_data(a, "x", dtype=torch.float32).dtype == torch.float32
    t = torch.tensor([[1, 0]])
    torch.testing.assert_close(check_data(t, "v", support="binary"), torch.tensor([[1.0, 0.0]]))
    assert check_data(torch.tensor([[True, False]]), "v", support="binary").dtype == torch.float32
    same = torch.zeros(3, 2)
    assert check_data(same, "x") is same  # no copy when nothing changes


def test_check_data_shapes():
    assert check_data(torch.zeros(0, 4), "x", n_features=4).shape == (0, 4)  # an empty batch
    assert check_data(torch.zeros(5, 1, 8, 8), "x", n_features=(1, 8, 8), ndim=4).shape == (5, 1, 8, 8)
    assert check_data(torch.zeros(7), "b", ndim=1).shape == (7,)
    assert check_data(torch.zeros(2, 3, 4), "x", ndim=None).shape == (2, 3, 4)


def test_check_data_supports():
    assert check_data([[0.0, 0.5, 1.0]], "p", support="unit").shape == (1, 3)
    assert check_data([[0, 16, 3]], "x", support="levels", levels=17).shape == (1, 3)
    assert check_data([[-3.5, 1e6]], "x", support="real").shape == (1, 2)
    assert check_data(torch.zeros(0, 2), "x", support="binary").shape == (0, 2)


def test_model_dtype():
    assert model_dtype(nn.Linear(2, 2)) == torch.float32
    assert model_dtype(nn.Linear(2, 2).double()) == torch.float64
    assert model_dtype(nn.Module()) == torch.get_default_dtype()
    assert model_dtype(nn.Module(), default=torch.float16) == torch.float16
    m = nn.Module()
    m.register_buffer("n", torch.zeros(2, dtype=torch.int64))
    m.register_buffer("x", torch.zeros(2, dtype=torch.float64))
    assert model_dtype(m) == torch.float64  # integer buffers are skipped


def test_check_same_length_and_shape():
    check_same_length("x", torch.zeros(3, 2), "y", torch.zeros(3))
    with pytest.raises(ValueError, match="x and y must have the same number of rows, got 3 and 4"):
        check_same_length("x", torch.zeros(3, 2), "y", torch.zeros(4))
    t = torch.zeros(2, 3)
    assert check_shape(t, "W", (2, 3)) is t
    with pytest.raises(ValueError, match=r"W must have shape \(3, 2\), got \(2, 3\)"):
        check_shape(t, "W", (3, 2))


BAD_DATA = [
    (dict(x=[[0.0, NAN]]), "x must be finite, got 1 NaN and 0 infinite entries"),
    (dict(x=np.array([[np.inf, 1.0]])), "x must be finite, got 0 NaN and 1 infinite"),
    (dict(x=torch.tensor([[NAN, NAN]]), support="binary"), "x must be finite"),
    (dict(x=torch.zeros(5, 63), n_features=64), r"x must have shape \(n, 64\), got \(5, 63\)"),
    (dict(x=torch.zeros(5, 1, 8, 7), n_features=(1, 8, 8), ndim=4), r"x must have shape \(n, 1, 8, 8\)"),
    (dict(x=torch.zeros(3)), r"x must have 2 dimension\(s\) \(n, D\), got shape \(3,\)"),
    (dict(x=torch.zeros(2, 2, 2)), r"x must have 2 dimension\(s\)"),
    (dict(x=[[0.0, 0.5]], support="binary"), r"x must be binary \(0/1\) for a Bernoulli model, got values from 0 to 0.5"),
    (dict(x=[[0, 17]], support="levels", levels=17), "x must hold integer levels 0..16, got values from 0 to 17"),
    (dict(x=[[0.5, 1.0]], support="levels", levels=17), "x must hold integer levels 0..16"),
    (dict(x=[[1.0]], support="levels"), "levels must be an integer >= 2, got None"),
    (dict(x=[[-0.1, 1.0]], support="unit"), r"x must lie in \[0, 1\], got values from -0.1 to 1"),
    (dict(x=[[0.0]], support="ternary"), "support must be one of 'real', 'binary', 'levels', 'unit'"),
    (dict(x=torch.zeros(0, 3), min_rows=1), r"x must hold at least 1 example\(s\), got 0"),
    (dict(x="hello"), "x must be a tensor or an array of numbers, got 'hello'"),
    (dict(x=None), "x must be a tensor or an array of numbers, got None"),
    (dict(x=[[1, "a"]]), "x must be a tensor or an array of numbers"),
    (dict(x=[[1.0], [1.0, 2.0]]), "x must be a tensor or an array of numbers"),
    (dict(x=np.array([["a", "b"]])), "x must be a tensor or an array of numbers, got an array of dtype"),
    (dict(x=torch.zeros(2, 2, dtype=torch.complex64)), "x must be real"),
    (dict(x=[[0.0, 1.0]], dtype=torch.int64), "dtype for x must be a floating dtype"),
]


@pytest.mark.parametrize("kwargs, message", BAD_DATA)
def test_check_data_rejects(kwargs, message):
    kwargs = dict(kwargs)
    with pytest.raises(ValueError, match=message):
        check_data(kwargs.pop("x"), "x", **kwargs)


def test_messages_show_the_given_value():
    for value, shown in ((-5, "-5"), (np.float32(-0.5), "-0.5"), (torch.tensor(-2.0), "-2.0"), (True, "True")):
        with pytest.raises(ValueError) as err:
            check_positive(value, "step_size")
        assert str(err.value) == f"step_size must be a positive number, got {shown}"
    assert math.isclose(check_positive(np.float32(0.1), "step_size"), 0.1, rel_tol=1e-6)
