"""Measuring generative models against the truth: exact enumeration and numerical integration.

Chapters 2 and 3 compute partition functions exactly by summing over every binary state of
a small model (:func:`all_binary_states`, :func:`log_sum_exp_over_states`); chapter 2 and
the 2-D chapters normalise a density on a grid (:func:`grid_log_normalizer`), which in 2-D
is exact to within the grid's resolution. Annealed importance sampling, for models too
large to enumerate, lives with the RBM in :mod:`dgm_course.rbm`.
"""
import math

import torch

from dgm_course.utils import check_int

MAX_ENUMERATED_UNITS = 22
"""The most binary units :func:`all_binary_states` enumerates (4,194,304 states)."""


def all_binary_states(n_units, dtype=torch.float32):
    """Every binary vector of length ``n_units``: a tensor of shape ``(2**n_units, n_units)``.

    Row ``i`` is the binary expansion of ``i`` with the least significant bit first.

    Examples
    --------
    >>> all_binary_states(2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """
    _check_n_units(n_units)
    return _states(torch.arange(2**n_units), n_units, dtype)


def _check_n_units(n_units):
    check_int(n_units, "n_units")
    if n_units > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"enumerating {n_units} binary units means 2**{n_units} = {2**n_units:,} states; "
            f"at most {MAX_ENUMERATED_UNITS} units ({2**MAX_ENUMERATED_UNITS:,} states) are enumerated"
        )


def _states(codes, n_units, dtype):
    # binary expansions of the integers `codes`, least significant bit first: (len(codes), n_units)
    return ((codes[:, None] >> torch.arange(n_units)) & 1).to(dtype)


def log_sum_exp_over_states(log_weight, n_units, batch_size=2**16, dtype=torch.float64):
    r"""Exact :math:`\log \sum_{s \in \{0,1\}^n} e^{f(s)}` for a function ``log_weight`` = f.

    With ``log_weight = lambda s: -energy(s)`` this is the log partition function
    :math:`\log Z`; with ``-free_energy`` it is :math:`\log Z` of a latent-variable model.
    States are made and visited in batches of ``batch_size``, so memory stays small even for
    :data:`MAX_ENUMERATED_UNITS` units.
    """
    _check_n_units(n_units)
    codes = torch.arange(2**n_units)
    parts = [torch.logsumexp(log_weight(_states(batch, n_units, dtype)).reshape(-1), dim=0)
             for batch in codes.split(batch_size)]
    return torch.logsumexp(torch.stack(parts), dim=0)


def grid_log_normalizer(log_density, lim=4.0, n=400):
    r"""Log of the integral of :math:`e^{f(x)}` over the square :math:`[-lim, lim]^2`.

    A midpoint rule on an ``n``×``n`` grid: exact in the limit, and accurate for smooth
    densities whose mass lies inside the square. Returns ``(log_integral, grid, log_values)``
    where ``grid`` has shape ``(n*n, 2)`` and ``log_values = f(grid)``.
    """
    h = 2 * lim / n
    ticks = -lim + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)
    log_values = log_density(grid).double().reshape(-1)
    return torch.logsumexp(log_values, 0) + 2 * math.log(h), grid, log_values
