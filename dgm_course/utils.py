"""Seeding, the one helper every chapter uses.

Reproducibility: :func:`seed_everything` seeds Python, NumPy and PyTorch so a chapter run
twice on the same machine prints the same numbers; :func:`make_generator` turns a seed into
the ``torch.Generator`` that every ``generator=`` argument of the library accepts;
:func:`seeded_init` draws a network's initial weights from such a generator (chapters 7, 8).

Input checks live in :mod:`dgm_course.validation` (``check_int``, ``check_data``, ...) and
log-space reductions such as ``log_mean_exp`` in :mod:`dgm_course.evaluation`.
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


def seeded_init(module, generator=None):
    r"""Re-draw the weights and biases of every ``torch.nn.Linear`` in ``module`` from
    ``generator`` (a seed or a ``torch.Generator``), by PyTorch's default rule (uniform on
    :math:`\pm 1/\sqrt{\text{fan-in}}`), so that a seed fixes a network's initial weights
    without touching the global random state. Returns ``module``.

    Examples
    --------
    >>> a = seeded_init(torch.nn.Linear(3, 2), 0)
    >>> b = seeded_init(torch.nn.Linear(3, 2), 0)
    >>> bool(torch.equal(a.weight, b.weight))
    True
    """
    gen = make_generator(generator)
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            bound = 1 / math.sqrt(layer.in_features)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=gen)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=gen)
    return module
