"""The model protocol (``dgm_course.__init__``), checked for every model of the library.

Each model is one :class:`Case` in :data:`CASES`: a name, a factory that builds a small
instance (untrained, or fitted on a little data), and a valid input of a few rows. Every
check below runs on every case:

* ``log_prob`` (for a VAE, which has bounds only, ``elbo(x).total``) has shape ``(n,)``
  for a tensor and for the same input as a NumPy array;
* it is normalised where that can be checked: a binary model with at most
  ``MAX_STATES_UNITS`` visible units sums to one over every state, a model of a few integer
  levels over every image, and a 2-D model integrates to one on a grid; where ``log_prob``
  is differentiable, the gradient of that total with respect to the parameters is zero (a
  detached log Z would make it non-zero);
* ``sample(n, generator=seed)`` is reproducible and ``sample(0)`` has shape ``(0, D)``;
* every parameter of ``sample`` after ``n`` is keyword-only;
* NaN input and input of the wrong width raise ``ValueError`` from ``log_prob`` / ``elbo`` and from
  ``energy`` / ``free_energy`` where they exist;
* ``log_partition()``, where it exists, returns a 0-d tensor;
* a model of integer levels (``levels``) rejects a value off its support and samples on it.

**Adding a model** (chapters 4-8): append one line to :data:`CASES`, e.g.::

    Case("NADE", lambda: _import("autoregressive").NADE(4, 3, generator=0), BINARY_4,
         levels=2),

with ``sample_kwargs`` for options the sampler needs to be quick (``{"n_steps": 5}`` for an
MCMC sampler), ``energy_args`` for the extra arguments of ``energy(x, ...)`` (e.g. an RBM's
hidden states) and ``grid_lim`` for the half-width of the square a 2-D density is integrated
over. Factories import lazily, so a model that fails to import fails its own cases only.
"""
import importlib
import inspect
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
import pytest
import torch

from dgm_course.evaluation import all_binary_states, grid_log_normalizer

MAX_STATES_UNITS = 12
"""Binary models with at most this many visible units are checked to sum to one."""


def _import(module):
    return importlib.import_module(f"dgm_course.{module}")


@dataclass(frozen=True)
class Case:
    name: str  # the test id
    factory: Callable  # () -> a small model
    valid: torch.Tensor  # a valid input of shape (n, D)
    sample_kwargs: dict = field(default_factory=dict)  # extra keyword arguments of sample
    energy_args: tuple = ()  # extra positional arguments of energy(x, ...)
    grid_lim: float = 4.0  # half-width of the square a 2-D density is integrated over
    levels: int = 0  # for a discrete model of integer levels 0..levels-1: how many

    def __repr__(self):
        return self.name


def _data_2d(n=200, seed=0):
    """Correlated 2-D Gaussian data for fitting PPCA and factor analysis."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ np.array([[1.0, 0.6], [0.0, 0.5]])


BINARY_4 = torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
BARS_2 = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
REAL_2 = torch.tensor([[0.5, -0.3], [1.5, 0.2], [-1.0, -1.0]])
LEVELS_4 = torch.tensor([[0.0, 16.0, 3.0, 8.0], [1.0, 1.0, 0.0, 15.0], [2.0, 0.0, 9.0, 4.0]])
MCMC = {"n_steps": 5}

CASES = [
    Case("GaussianMixture2D", lambda: _import("data").toy_distribution("ring", std=0.3), REAL_2),
    Case("BarsAndStripes", lambda: _import("data").BarsAndStripes(2), BARS_2),
    Case("PPCA", lambda: _import("linear_factor").PPCA(1).fit(_data_2d()), REAL_2, grid_lim=6.0),
    Case("FactorAnalysis", lambda: _import("linear_factor").FactorAnalysis(1).fit(_data_2d()),
         REAL_2, grid_lim=6.0),
    Case("SigmoidBeliefNet",
         lambda: _import("sigmoid_belief_net").SigmoidBeliefNet([4, 3, 2], init_std=1.0,
                                                                 generator=0), BINARY_4),
    Case("BoltzmannMachine",
         lambda: _import("ebm").BoltzmannMachine(4, 2, init_std=0.5, generator=0), BINARY_4,
         sample_kwargs=MCMC),
    Case("EnergyMLP", lambda: _import("ebm").EnergyMLP(16, generator=0), REAL_2,
         sample_kwargs=MCMC),
    Case("RBM-binary", lambda: _import("rbm").RBM(4, 3, init_std=0.5, generator=0), BINARY_4,
         sample_kwargs=MCMC, energy_args=(torch.tensor([[0.0, 1.0, 1.0]] * 3),)),
    Case("RBM-gaussian",
         lambda: _import("rbm").RBM(2, 3, visible="gaussian", init_std=0.5, generator=0),
         REAL_2, sample_kwargs=MCMC, energy_args=(torch.tensor([[0.0, 1.0, 1.0]] * 3),),
         grid_lim=8.0),
    Case("DBN", lambda: _import("dbn").DBN([4, 3, 2], generator=0), BINARY_4,
         sample_kwargs=MCMC),
    Case("DBM", lambda: _import("dbm").DBM(4, 3, 2, init_std=0.5, generator=0), BINARY_4,
         sample_kwargs=MCMC, energy_args=(torch.ones(3, 3), torch.ones(3, 2))),
    Case("HelmholtzMachine",
         lambda: _import("helmholtz").HelmholtzMachine([4, 3, 2], init_std=1.0, generator=0),
         BINARY_4),
    Case("BarsProblem", lambda: _import("data").BarsProblem(2), BARS_2),
    Case("BernoulliMixture",
         lambda: _import("bernoulli_mixture").BernoulliMixture(4, 2).fit(BINARY_4, generator=0),
         BINARY_4),
    Case("RingEnergy", lambda: _import("nce_score_matching").RingEnergy(1.0, 4.0), REAL_2,
         grid_lim=6.0),
    Case("FVSBN", lambda: _import("autoregressive").FVSBN(4), BINARY_4, levels=2),
    Case("NADE", lambda: _import("autoregressive").NADE(4, 3, generator=0), BINARY_4,
         levels=2),
    Case("MADE", lambda: _import("masked_autoregressive").MADE(4, [8], generator=0),
         BINARY_4, levels=2),
    Case("MADE-3-orders",
         lambda: _import("masked_autoregressive").MADE(4, [8], n_orders=3, generator=0),
         BINARY_4, levels=2),
    Case("MADE-17-levels",
         lambda: _import("masked_autoregressive").MADE(4, [8], levels=17, generator=0),
         LEVELS_4, levels=17),
    Case("PixelCNN",
         lambda: _import("masked_autoregressive").PixelCNN(
             2, channels=4, n_layers=1, image_shape=(2, 2), generator=0),
         BINARY_4, levels=2),
    Case("PixelCNN-17-levels",
         lambda: _import("masked_autoregressive").PixelCNN(
             17, channels=4, n_layers=1, image_shape=(2, 2), generator=0),
         LEVELS_4, levels=17),
    # latent-variable models with bounds only (elbo, iwae_bound): no log_prob to normalise
    Case("VAE-bernoulli", lambda: _import("vae").VAE(4, 2, n_hidden=8, generator=0), BINARY_4,
         levels=2),
    Case("VAE-17-levels-MADE",
         lambda: _import("vae").VAE(4, 2, likelihood="categorical", decoder="made",
                                    n_hidden=8, generator=0), LEVELS_4, levels=17),
    Case("VAE-gaussian",
         lambda: _import("vae").VAE(2, 2, likelihood="gaussian", n_hidden=8, generator=0),
         REAL_2),
]


@lru_cache(maxsize=None)
def _model(name):
    case = next(case for case in CASES if case.name == name)
    return case.factory()


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request):
    return request.param


@pytest.fixture
def model(case):
    return _model(case.name)


def _values(t):
    return t.detach().double() if isinstance(t, torch.Tensor) else torch.as_tensor(t).double()


def _is_binary(x):
    return bool(((x == 0) | (x == 1)).all())


def _parameters(model):
    return [p for p in getattr(model, "parameters", lambda: [])() if p.requires_grad]


# ------------------------------------------------------------------------------ log_prob


def _bound_or_log_prob(model):
    """``log_prob``, or for a model with bounds only its ``elbo`` (seeded, total)."""
    if hasattr(model, "log_prob"):
        return model.log_prob
    return lambda x: model.elbo(x, generator=0).total


def test_log_prob_has_one_value_per_example_for_tensors_and_arrays(case, model):
    n = len(case.valid)
    log_prob = _bound_or_log_prob(model)
    from_tensor = log_prob(case.valid)
    from_array = log_prob(case.valid.numpy())
    assert isinstance(from_tensor, torch.Tensor) and from_tensor.shape == (n,)
    assert isinstance(from_array, torch.Tensor) and from_array.shape == (n,)
    torch.testing.assert_close(_values(from_array), _values(from_tensor), rtol=1e-5, atol=1e-6)


def test_log_prob_is_normalised(case, model):
    if not hasattr(model, "log_prob"):
        pytest.skip(f"{case.name} has bounds (elbo, iwae_bound), not log_prob")
    d = case.valid.shape[1]
    if _is_binary(case.valid) and d <= MAX_STATES_UNITS:
        dtype = case.valid.dtype
        log_p = model.log_prob(all_binary_states(d, dtype=dtype))
        total = torch.logsumexp(log_p.double().reshape(-1), 0)  # log of the sum over states
        tolerance = 1e-5
    elif case.levels > 2 and case.levels**d <= 100_000:
        grids = torch.meshgrid(*[torch.arange(float(case.levels))] * d, indexing="ij")
        states = torch.stack([g.reshape(-1) for g in grids], dim=1)  # every image
        total = torch.logsumexp(model.log_prob(states).double(), 0)
        tolerance = 1e-5
    elif d == 2 and not _is_binary(case.valid):
        def log_density(grid):
            return model.log_prob(grid).double()

        total = grid_log_normalizer(log_density, lim=case.grid_lim, n=500)[0]
        tolerance = 2e-3
    else:
        pytest.skip(f"{case.name}: neither enumerable nor a 2-D density")
    total_value = float(total.detach())
    assert abs(total_value) < tolerance, f"log of the total probability is {total_value:.2e}"
    params = _parameters(model)
    if total.requires_grad and params:
        grads = torch.autograd.grad(total, params, allow_unused=True)
        largest = max(float(g.abs().max()) for g in grads if g is not None)
        assert largest < 1e-3, ("the total probability depends on the parameters: log_prob is "
                                f"only partly differentiable (gradient {largest:.2e})")


# ------------------------------------------------------------------------------ sample


def test_sample_is_reproducible(case, model):
    kwargs = case.sample_kwargs
    a = _values(model.sample(6, generator=0, **kwargs))
    b = _values(model.sample(6, generator=0, **kwargs))
    c = _values(model.sample(6, generator=torch.Generator().manual_seed(0), **kwargs))
    assert a.shape == (6, case.valid.shape[1])
    assert torch.equal(a, b) and torch.equal(a, c)


def test_sample_zero_gives_an_empty_batch(case, model):
    assert tuple(model.sample(0, generator=0, **case.sample_kwargs).shape) == \
        (0, case.valid.shape[1])


def test_sample_options_are_keyword_only(case, model):
    params = list(inspect.signature(model.sample).parameters.values())
    assert params and params[0].name == "n", f"sample's first parameter is {params[0].name}"
    positional = [p.name for p in params[1:]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    assert not positional, f"sample's {positional} must be keyword-only"
    assert "generator" in [p.name for p in params]


# ------------------------------------------------------------------------------ bad input


def _checked_methods(model):
    return [name for name in ("log_prob", "elbo", "energy", "free_energy")
            if hasattr(model, name)]


def test_nan_input_raises_value_error(case, model):
    x = case.valid.clone()
    x[0, -1] = float("nan")
    for name in _checked_methods(model):
        args = case.energy_args if name == "energy" else ()
        with pytest.raises(ValueError, match="finite|NaN"):
            getattr(model, name)(x, *args)


def test_wrong_width_raises_value_error(case, model):
    x = torch.cat([case.valid, case.valid[:, :1]], dim=1)  # one column too many
    for name in _checked_methods(model):
        args = case.energy_args if name == "energy" else ()
        with pytest.raises(ValueError, match="shape"):
            getattr(model, name)(x, *args)


def test_log_partition_is_a_tensor(case, model):
    if not hasattr(model, "log_partition"):
        pytest.skip(f"{case.name} is normalised")
    log_z = model.log_partition()
    assert isinstance(log_z, torch.Tensor) and log_z.dim() == 0
    assert bool(torch.isfinite(log_z))


def test_values_off_the_support_raise_value_error(case, model):
    if not case.levels:
        pytest.skip(f"{case.name} is not a model of integer levels")
    x = case.valid.clone()
    x[0, 0] = case.levels  # one level too many (2 for a Bernoulli model)
    with pytest.raises(ValueError, match="x must"):
        _bound_or_log_prob(model)(x)
    samples = model.sample(5, generator=0, **case.sample_kwargs)
    assert set(samples.unique().tolist()) <= set(range(case.levels))
