"""Small helpers every chapter uses: seeding, the device, and log-space reductions.

Reproducibility: :func:`seed_everything` seeds Python, NumPy and PyTorch so a chapter run
twice on the same machine prints the same numbers. Devices: everything runs on the CPU by
default; :func:`get_device` hands out CUDA only when it is asked for and present.
"""
import math
import random

import numpy as np
import torch


def seed_everything(seed):
    """Seed Python's ``random``, NumPy's global generator and PyTorch (CPU and CUDA).

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``, for code that takes ``generator=``.

    Examples
    --------
    >>> g = seed_everything(0)
    >>> a = torch.rand(2, generator=g)
    >>> b = torch.rand(2, generator=seed_everything(0))
    >>> bool(torch.equal(a, b))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def check_int(value, name, minimum=0, maximum=None):
    """``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``, else a ``ValueError``.

    The message names the argument, the range and what was given, e.g. ``"n must be a
    non-negative integer, got -1"``.

    Examples
    --------
    >>> check_int(3, "n_hidden", minimum=1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum or (
            maximum is not None and value > maximum):
        if maximum is not None:
            expected = f"an integer from {minimum} to {maximum}"
        else:
            expected = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def make_generator(seed=None, device="cpu"):
    """A ``torch.Generator``: seeded when ``seed`` is an int, passed through when it is one.

    ``None`` gives a generator seeded from PyTorch's global state, so that code seeded by
    :func:`seed_everything` stays reproducible.
    """
    if isinstance(seed, torch.Generator):
        return seed
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, a torch.Generator or None, got {seed!r}")
    return torch.Generator(device=device).manual_seed(int(seed))


def get_device(device="cpu"):
    """The ``torch.device`` to run on: ``"cpu"`` (default), ``"cuda"``, or ``"auto"``.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise. Asking for ``"cuda"``
    on a machine without it is a ``ValueError`` rather than a silent fall-back.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if isinstance(device, str) and device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but CUDA is not available here; use 'cpu' or 'auto'")
        return torch.device(device)
    raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")


def as_tensor(x, *, name="x", dtype=torch.float32, ndim=None):
    """Turn an array-like into a floating tensor and check its number of dimensions.

    Tensors keep their device; NumPy arrays and lists become CPU tensors of ``dtype``
    (floating tensors keep their own floating dtype).
    """
    if isinstance(x, torch.Tensor):
        t = x if x.is_floating_point() else x.to(dtype)
    else:
        try:
            t = torch.as_tensor(np.asarray(x), dtype=dtype)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be array-like of numbers, got {type(x).__name__}") from err
    if ndim is not None and t.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(t.shape)}")
    return t


def log_mean_exp(x, dim=0):
    r"""Numerically stable :math:`\log \frac{1}{K}\sum_k e^{x_k}` along ``dim``.

    This is the reduction behind importance-sampling estimates such as the IWAE bound and
    AIS: :math:`\log \hat Z = \operatorname{logsumexp}_k(\log w_k) - \log K`.

    Examples
    --------
    >>> float(log_mean_exp(torch.tensor([0.0, 0.0, 0.0])))
    0.0
    >>> round(float(log_mean_exp(torch.tensor([1000.0, 1000.0 + math.log(3)]))), 4)
    1000.6931
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x, dtype=torch.float64)
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])
