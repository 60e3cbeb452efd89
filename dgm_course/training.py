"""The course's one training loop: minibatch gradient descent with early stopping.

Every chapter that trains a ``torch.nn.Module`` by gradient descent calls :func:`fit`. It is
deliberately small: shuffled minibatches from tensors, Adam by default, a validation loss
after each epoch, early stopping that restores the best parameters, a ``tqdm.auto``
progress bar, and a :class:`History` of the losses for plotting. Models trained by other
means (EM in chapter 1, contrastive divergence in chapter 3) have their own ``fit``.
"""
import copy
import math
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from dgm_course.utils import check_int, make_generator


@dataclass
class History:
    """Per-epoch losses recorded by :func:`fit` (mean over the epoch's examples)."""

    train_loss: list = field(default_factory=list)  # one float per epoch
    val_loss: list = field(default_factory=list)  # one float per epoch, if validation data was given
    best_epoch: int = -1  # epoch whose parameters were kept (0-based); -1 if no validation data
    stopped_early: bool = False


def _as_tuple(data, name):
    tensors = data if isinstance(data, (tuple, list)) else (data,)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise ValueError(f"{name} must be a tensor or a tuple of tensors, got {type(data).__name__}")
    n = tensors[0].shape[0] if tensors[0].dim() > 0 else 0
    if n == 0 or any(t.shape[0] != n for t in tensors):
        raise ValueError(f"{name} must hold one or more examples, the same number in every tensor; "
                         f"got first dimensions {[tuple(t.shape)[:1] for t in tensors]}")
    return tuple(tensors)


def _unpack(batch):
    return batch[0] if len(batch) == 1 else batch


def evaluate(model, loss_fn, data, batch_size=512):
    """Mean of ``loss_fn`` over ``data`` in batches, weighted by batch size, without gradients."""
    data = _as_tuple(data, "data")
    n = data[0].shape[0]
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for idx in torch.arange(n).split(batch_size):
            total += float(loss_fn(model, _unpack(tuple(t[idx] for t in data)))) * len(idx)
    model.train(was_training)
    return total / n


def fit(model, loss_fn, train_data, *, val_data=None, epochs=20, batch_size=64, lr=1e-3,
        optimizer=None, patience=None, progress=True, generator=None):
    """Train ``model`` by minimising ``loss_fn(model, batch)`` with minibatch gradient descent.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place; with ``val_data``, it ends with the parameters of its best epoch.
    loss_fn : callable
        ``loss_fn(model, batch) -> scalar tensor``, the mean loss of a batch (e.g. the negative
        log-likelihood in nats per example). ``batch`` is a tensor, or a tuple when
        ``train_data`` is a tuple.
    train_data, val_data : tensor or tuple of tensors
        Examples along the first dimension.
    epochs : int
        Passes over ``train_data``.
    batch_size : int
    lr : float
        Learning rate of the default optimiser, ``torch.optim.Adam``.
    optimizer : torch.optim.Optimizer, optional
        Used instead of Adam when given.
    patience : int, optional
        Stop after this many epochs without a lower validation loss (needs ``val_data``).
    progress : bool
        Show a ``tqdm.auto`` progress bar over epochs.
    generator : int or torch.Generator, optional
        Seeds the shuffling of minibatches.

    Returns
    -------
    History
    """
    train_data = _as_tuple(train_data, "train_data")
    if val_data is not None:
        val_data = _as_tuple(val_data, "val_data")
    check_int(epochs, "epochs", 1)
    check_int(batch_size, "batch_size", 1)
    if patience is not None and val_data is None:
        raise ValueError("patience (early stopping) needs val_data, got val_data=None")
    if optimizer is None:
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = make_generator(generator)
    n = train_data[0].shape[0]
    history = History()
    best_loss, best_state, bad_epochs = math.inf, None, 0

    bar = tqdm(range(epochs), disable=not progress, desc="training")
    for epoch in bar:
        model.train()
        total = 0.0
        for idx in torch.randperm(n, generator=gen).split(batch_size):
            loss = loss_fn(model, _unpack(tuple(t[idx] for t in train_data)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        history.train_loss.append(total / n)
        postfix = {"train": f"{history.train_loss[-1]:.3f}"}

        if val_data is not None:
            val_loss = evaluate(model, loss_fn, val_data)
            history.val_loss.append(val_loss)
            postfix["val"] = f"{val_loss:.3f}"
            if val_loss < best_loss:
                best_loss, bad_epochs, history.best_epoch = val_loss, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
        bar.set_postfix(postfix)
        if patience is not None and bad_epochs >= patience:
            history.stopped_early = True
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history
