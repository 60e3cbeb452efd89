r"""The course's one training loop.

Every model of the course trains through :func:`fit`. The loop owns what every model needs
and nobody should write twice: minibatches, seeding, a ``tqdm.auto`` progress bar, a history
of named metrics, early stopping on a validation metric, and a clear error when a loss stops
being finite. What is particular to a model is a small **step function**,

.. code-block:: python

    def step(batch, ctx):          # one update on one minibatch
        loss = -model.log_prob(batch).mean()
        gradient_step(optimizer, loss)   # zero_grad, backward, step
        return {"nll": loss}             # metrics to record (numbers or 0-d tensors)

which may hold several optimisers (a GAN's critic and generator, wake-sleep's two phases),
draw its randomness from ``ctx.generator`` (the one generator that also shuffles the data,
so a seed fixes everything), and anneal with ``ctx.progress`` (0 at the first update, 1 at
the last) or ``ctx.step``. Models trained by the plain minimisation of a loss use
:func:`loss_step` and write no step function at all.

Examples
--------
Fit the mean of a Gaussian by maximum likelihood:

>>> import torch
>>> from torch import nn
>>> model = nn.Linear(1, 1, bias=False)  # its weight is the mean
>>> data = torch.randn(500, 1, generator=torch.Generator().manual_seed(0)) + 3.0
>>> loss = lambda model, x, ctx: ((x - model.weight) ** 2).mean()
>>> step = loss_step(model, loss, torch.optim.Adam(model.parameters(), lr=0.1))
>>> history = fit(model, step, data, epochs=30, batch_size=100, progress=False, generator=0)
>>> mean = float(model.weight.detach())  # close to the sample mean
>>> abs(mean - float(data.mean())) < 0.1, len(history.epochs["loss"])
(True, 30)
"""
import copy
import math
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from dgm_course.utils import make_generator
from dgm_course.validation import check_bool, check_choice, check_int


@dataclass
class StepContext:
    """What the loop tells a step function about where training is."""

    generator: torch.Generator  # the run's one source of randomness (it also shuffles the data)
    step: int  # index of this update, from 0
    epoch: int  # index of this epoch, from 0
    total_steps: int  # updates planned in all

    @property
    def progress(self):
        """Fraction of training done before this update: 0 at the first, → 1 at the last."""
        return self.step / max(self.total_steps, 1)


@dataclass
class History:
    """What :func:`fit` records.

    ``steps[name]`` holds a metric's value at every update; ``epochs[name]`` its mean over
    each epoch's updates, and, for the metrics returned by ``validate``, their value after
    each epoch. ``history["name"]`` is ``history.epochs["name"]``.
    """

    steps: dict = field(default_factory=dict)  # name -> list of floats, one per update
    epochs: dict = field(default_factory=dict)  # name -> list of floats, one per epoch
    best_epoch: int = -1  # epoch whose parameters were kept (0-based); -1 without monitoring
    stopped_early: bool = False
    seconds: float = 0.0  # wall-clock time in step functions (validation excluded)

    def __getitem__(self, name):
        return self.epochs[name]

    def __contains__(self, name):
        return name in self.epochs

    def _record(self, table, metrics):
        for name, value in metrics.items():
            table.setdefault(name, []).append(value)


def _as_tensors(data):
    """``data`` as a tuple of tensors sharing their first dimension (or an empty tuple)."""
    if data is None:
        return ()
    tensors = tuple(data) if isinstance(data, (tuple, list)) else (data,)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        kinds = [type(t).__name__ for t in tensors] if isinstance(data, (tuple, list)) else type(data).__name__
        raise ValueError(f"data must be a tensor or a tuple of tensors, got {kinds}")
    n = tensors[0].shape[0] if tensors[0].dim() else 0
    if n == 0 or any(t.dim() == 0 or t.shape[0] != n for t in tensors):
        raise ValueError("data must hold one or more examples, the same number in every tensor; "
                         f"got shapes {[tuple(t.shape) for t in tensors]}")
    return tensors


def _unpack(batch):
    return batch[0] if len(batch) == 1 else batch


def _as_float(name, value):
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"the step function's metric {name!r} must be a number, got a tensor "
                             f"of shape {tuple(value.shape)}")
        return float(value.detach())
    return float(value)


def _check_finite(metrics, where):
    for name, value in metrics.items():
        if not math.isfinite(value):
            raise FloatingPointError(
                f"training stopped: {name} became {value} at {where}. Lower the learning rate, "
                "check the data for extreme values, or clamp the model's log-probabilities.")


def gradient_step(optimizer, loss, *, max_norm=None, parameters=None):
    """One gradient-descent update: ``zero_grad``, ``loss.backward()``, optional clipping of
    the gradient norm to ``max_norm`` (over ``parameters``, default the optimiser's), ``step``.
    Returns ``loss`` detached, for the history."""
    optimizer.zero_grad()
    loss.backward()
    if max_norm is not None:
        if parameters is None:
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()
    return loss.detach()


def loss_step(model, loss_fn, optimizer, *, max_norm=None):
    """The step function of a model trained by minimising ``loss_fn(model, batch, ctx)``.

    ``loss_fn`` returns the mean loss of the batch as a 0-d tensor, or a dict of metrics whose
    ``"loss"`` entry is minimised and whose other entries are only recorded (e.g. a VAE's
    reconstruction and KL terms).
    """
    def step(batch, ctx):
        out = loss_fn(model, batch, ctx)
        metrics = dict(out) if isinstance(out, dict) else {"loss": out}
        if "loss" not in metrics:
            raise ValueError(f"loss_fn must return a tensor or a dict with a 'loss' entry, got keys "
                             f"{sorted(metrics)}")
        metrics["loss"] = gradient_step(optimizer, metrics["loss"], max_norm=max_norm)
        return metrics

    return step


def evaluate(metric_fn, data, *, batch_size=512):
    """Mean of ``metric_fn(batch)`` over ``data`` in batches, weighted by batch size, under
    ``torch.no_grad``: for validation metrics such as a mean negative log-likelihood."""
    tensors = _as_tensors(data)
    check_int(batch_size, "batch_size", 1)
    n = tensors[0].shape[0]
    total = 0.0
    with torch.no_grad():
        for idx in torch.arange(n).split(batch_size):
            total += float(metric_fn(_unpack(tuple(t[idx] for t in tensors)))) * len(idx)
    return total / n


def fit(model, step, data, *, epochs=1, batch_size=64, max_steps=None, schedulers=(),
        validate=None, monitor=None, mode="min", patience=None, generator=None, progress=True,
        desc="training"):
    r"""Train ``model`` by calling ``step(batch, ctx)`` on shuffled minibatches of ``data``.

    Parameters
    ----------
    model : torch.nn.Module
        Put in training mode for the steps and in evaluation mode for ``validate`` and at the
        end. With ``monitor``, it ends with the parameters of its best epoch.
    step : callable
        ``step(batch, ctx) -> dict`` of metrics (numbers or 0-d tensors); it updates the model
        itself (see :func:`gradient_step`, :func:`loss_step`). ``batch`` is a tensor, or a
        tuple when ``data`` is a tuple; ``ctx`` is a :class:`StepContext`.
    data : tensor or tuple of tensors
        Examples along the first dimension.
    epochs : int
        Passes over ``data``.
    batch_size : int or None
        Examples per update; None uses all of ``data`` in every update (full-batch training).
    max_steps : int, optional
        Stop after this many updates, even within an epoch.
    schedulers : sequence of learning-rate schedulers
        Each is stepped after every update (so its horizon is in updates).
    validate : callable, optional
        ``validate(model) -> dict`` of metrics, called after each epoch with gradients off;
        recorded in ``history.epochs``.
    monitor : str, optional
        The ``validate`` metric for early stopping and for keeping the best parameters.
    mode : {"min", "max"}
        Whether a smaller or a larger ``monitor`` value is better.
    patience : int, optional
        Stop after this many epochs without an improvement of ``monitor``.
    generator : int or torch.Generator, optional
        Seeds the shuffling and, through ``ctx.generator``, the randomness of every step.
    progress : bool
        Show a ``tqdm.auto`` progress bar.

    Returns
    -------
    History

    Raises
    ------
    FloatingPointError
        When a metric returned by ``step`` is NaN or infinite: training stops at once.
    """
    if not callable(step):
        raise ValueError(f"step must be a function step(batch, ctx) -> dict of metrics, got "
                         f"{type(step).__name__}")
    if validate is not None and not callable(validate):
        raise ValueError(f"validate must be a function validate(model) -> dict of metrics, got "
                         f"{type(validate).__name__}")
    schedulers = list(schedulers)
    for scheduler in schedulers:
        if not hasattr(scheduler, "step"):
            raise ValueError(f"schedulers must hold learning-rate schedulers, got "
                             f"{type(scheduler).__name__}")
    tensors = _as_tensors(data)
    epochs = check_int(epochs, "epochs", 1)
    n = tensors[0].shape[0]
    batch_size = n if batch_size is None else check_int(batch_size, "batch_size", 1)
    if max_steps is not None:
        max_steps = check_int(max_steps, "max_steps", 1)
    check_choice(mode, "mode", ("min", "max"))
    check_bool(progress, "progress")
    if monitor is not None and validate is None:
        raise ValueError(f"monitor={monitor!r} needs a validate function, got validate=None")
    if patience is not None:
        patience = check_int(patience, "patience", 1)
        if monitor is None:
            raise ValueError("patience (early stopping) needs monitor, the name of a validate metric")
    gen = make_generator(generator)
    steps_per_epoch = math.ceil(n / batch_size)
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)

    history = History()
    best, best_state, bad_epochs, step_index = math.inf, None, 0, 0
    sign = 1.0 if mode == "min" else -1.0
    bar = tqdm(total=total, disable=not progress, desc=desc, leave=False)
    for epoch in range(epochs):
        model.train()
        sums, count = {}, 0
        order = torch.randperm(n, generator=gen) if batch_size < n else torch.arange(n)
        for idx in order.split(batch_size):
            ctx = StepContext(gen, step_index, epoch, total)
            start = time.perf_counter()
            out = step(_unpack(tuple(t[idx] for t in tensors)), ctx)
            for scheduler in schedulers:
                scheduler.step()
            history.seconds += time.perf_counter() - start
            if not isinstance(out, dict):
                raise ValueError("the step function must return a dict of metrics, got "
                                 f"{type(out).__name__}")
            metrics = {name: _as_float(name, value) for name, value in out.items()}
            _check_finite(metrics, f"epoch {epoch}, update {step_index}")
            history._record(history.steps, metrics)
            for name, value in metrics.items():
                sums[name] = sums.get(name, 0.0) + value
            step_index, count = step_index + 1, count + 1
            bar.update(1)
            if step_index >= total:
                break
        history._record(history.epochs, {name: s / count for name, s in sums.items()})

        if validate is not None:
            model.eval()
            with torch.no_grad():
                checks = validate(model)
            if not isinstance(checks, dict):
                raise ValueError("validate must return a dict of metrics, got "
                                 f"{type(checks).__name__}")
            checks = {name: _as_float(name, value) for name, value in checks.items()}
            _check_finite(checks, f"the validation after epoch {epoch}")
            history._record(history.epochs, checks)
            if monitor is not None:
                if monitor not in checks:
                    raise ValueError(f"monitor={monitor!r} is not among the validate metrics "
                                     f"{sorted(checks)}")
                if sign * checks[monitor] < best:
                    best, bad_epochs, history.best_epoch = sign * checks[monitor], 0, epoch
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    bad_epochs += 1
        bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.epochs.items()}, refresh=False)
        if patience is not None and bad_epochs >= patience:
            history.stopped_early = True
            break
        if step_index >= total:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history
