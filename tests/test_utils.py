"""Tests of dgm_course.utils: seeding."""
import numpy as np
import pytest
import torch

from dgm_course import utils


def test_seed_everything_makes_runs_reproducible():
    utils.seed_everything(5)
    a = (torch.rand(3), np.random.rand(3))
    utils.seed_everything(5)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_make_generator():
    g = torch.Generator().manual_seed(1)
    assert utils.make_generator(g) is g
    assert torch.equal(torch.rand(4, generator=utils.make_generator(7)),
                       torch.rand(4, generator=utils.make_generator(np.int64(7))))
    utils.seed_everything(0)
    a = torch.rand(2, generator=utils.make_generator(None))
    utils.seed_everything(0)
    assert torch.equal(a, torch.rand(2, generator=utils.make_generator(None)))


def test_moved_helpers_are_gone():
    # check_int -> dgm_course.validation, log_mean_exp -> dgm_course.evaluation,
    # as_tensor -> dgm_course.validation.check_data; get_device was unused
    for name in ("get_device", "check_int", "as_tensor", "log_mean_exp"):
        assert not hasattr(utils, name)


BAD = [
    (lambda: utils.seed_everything(-1), "seed must be a non-negative integer, got -1"),
    (lambda: utils.seed_everything(1.5), "seed must be a non-negative integer"),
    (lambda: utils.seed_everything(True), "seed must be a non-negative integer"),
    (lambda: utils.make_generator("abc"), "seed must be a non-negative integer, a torch.Generator or None"),
    (lambda: utils.make_generator(-3), "seed must be a non-negative integer"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
