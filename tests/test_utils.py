import math

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
    assert torch.equal(torch.rand(4, generator=utils.make_generator(7)), torch.rand(4, generator=utils.make_generator(7)))
    utils.seed_everything(0)
    a = torch.rand(2, generator=utils.make_generator(None))
    utils.seed_everything(0)
    assert torch.equal(a, torch.rand(2, generator=utils.make_generator(None)))


def test_get_device():
    assert utils.get_device() == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert utils.get_device("auto").type == expected


def test_log_mean_exp_is_stable_and_exact():
    x = torch.tensor([[1e4, 1e4 + math.log(3.0)], [-1e4, -1e4]], dtype=torch.float64)
    out = utils.log_mean_exp(x, dim=1)
    torch.testing.assert_close(out, torch.tensor([1e4 + math.log(2.0), -1e4], dtype=torch.float64))
    y = torch.randn(5, 7, dtype=torch.float64)
    torch.testing.assert_close(utils.log_mean_exp(y, dim=0), y.exp().mean(0).log())


def test_as_tensor():
    t = utils.as_tensor(np.zeros((2, 3), dtype=np.int64), ndim=2)
    assert t.dtype == torch.float32 and t.shape == (2, 3)
    d = torch.zeros(2, dtype=torch.float64)
    assert utils.as_tensor(d) is d


BAD = [
    (lambda: utils.seed_everything(-1), "seed must be a non-negative integer, got -1"),
    (lambda: utils.seed_everything(1.5), "seed must be a non-negative integer"),
    (lambda: utils.make_generator("abc"), "seed must be a non-negative integer, a torch.Generator or None"),
    (lambda: utils.get_device("tpu"), "device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'tpu'"),
    (lambda: utils.as_tensor(np.zeros(3), name="x", ndim=2), r"x must have 2 dimension\(s\), got shape \(3,\)"),
    (lambda: utils.as_tensor("hello", name="x"), "x must be array-like of numbers"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_asking_for_missing_cuda_is_an_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        utils.get_device("cuda")
