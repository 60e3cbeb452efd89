"""The model protocol (protocol_spec.md) for every model of chapter 4.

tests/test_protocol.py, parametrised over every model of the course, is being written on
main; until it exists, this file holds the same checks for the autoregressive models. Move
the entries of MODELS into its registry when it lands."""
import inspect

import numpy as np
import pytest
import torch

from dgm_course.autoregressive import FVSBN, NADE
from dgm_course.masked_autoregressive import MADE, PixelCNN

D = 64
MODELS = {  # name -> (constructor, levels of the data it models)
    "FVSBN": (lambda: FVSBN(D), 2),
    "NADE": (lambda: NADE(D, 8, generator=0), 2),
    "MADE": (lambda: MADE(D, [16], generator=0), 2),
    "MADE, 3 orders": (lambda: MADE(D, [16], n_orders=3, generator=0), 2),
    "MADE, 17 levels": (lambda: MADE(D, [16], levels=17, generator=0), 17),
    "PixelCNN": (lambda: PixelCNN(2, channels=8, n_layers=1, generator=0), 2),
    "PixelCNN, 17 levels": (lambda: PixelCNN(17, channels=8, n_layers=1, generator=0), 17),
}


def _data(levels, n=5):
    gen = torch.Generator().manual_seed(0)
    return torch.randint(levels, (n, D), generator=gen).float()


@pytest.fixture(params=list(MODELS))
def case(request):
    make, levels = MODELS[request.param]
    return make(), levels


def test_log_prob_shape_for_tensor_and_numpy_input(case):
    model, levels = case
    x = _data(levels)
    a, b = model.log_prob(x), model.log_prob(x.numpy().astype(np.float64))
    assert a.shape == (5,) and b.shape == (5,)
    assert torch.allclose(a, b) and bool((a < 0).all())


def test_sample_zero_gives_an_empty_batch(case):
    model, _ = case
    assert model.sample(0).shape == (0, D)


def test_sample_arguments_after_n_are_keyword_only(case):
    model, _ = case
    parameters = list(inspect.signature(model.sample).parameters.values())
    assert parameters[0].name == "n"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[1:])


def test_sample_is_reproducible(case):
    model, levels = case
    a = model.sample(3, generator=7)
    assert torch.equal(a, model.sample(3, generator=torch.Generator().manual_seed(7)))
    assert a.shape == (3, D) and set(a.unique().tolist()) <= set(range(levels))


def test_nan_input_is_a_value_error(case):
    model, levels = case
    x = _data(levels)
    x[0, 3] = float("nan")
    with pytest.raises(ValueError, match="x"):
        model.log_prob(x)


def test_wrong_width_is_a_value_error(case):
    model, levels = case
    with pytest.raises(ValueError, match=r"x must have shape \(n, 64\)"):
        model.log_prob(_data(levels)[:, :63])


def test_values_off_the_support_are_a_value_error(case):
    model, levels = case
    x = _data(levels)
    x[0, 0] = levels  # one level too many (2 for a Bernoulli model)
    with pytest.raises(ValueError, match="x must"):
        model.log_prob(x)
