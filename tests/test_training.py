import pytest
import torch

from dgm_course.training import History, evaluate, fit


def _gaussian_nll(model, x):
    return -torch.distributions.Normal(model.mu, model.log_sigma.exp()).log_prob(x).sum(-1).mean()


class _Gaussian(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = torch.nn.Parameter(torch.zeros(2))
        self.log_sigma = torch.nn.Parameter(torch.zeros(2))


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(500, 2, generator=g) * torch.tensor([0.5, 2.0]) + torch.tensor([1.0, -1.0])


def test_fit_reaches_the_maximum_likelihood_estimate():
    x = _data()
    model = _Gaussian()
    history = fit(model, _gaussian_nll, x, epochs=150, batch_size=100, lr=0.05, progress=False, generator=0)
    assert isinstance(history, History) and len(history.train_loss) == 150
    torch.testing.assert_close(model.mu.detach(), x.mean(0), atol=0.02, rtol=0)
    torch.testing.assert_close(model.log_sigma.exp().detach(), x.std(0, correction=0), atol=0.02, rtol=0)
    assert history.train_loss[-1] < history.train_loss[0]


def test_fit_is_seeded():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = _Gaussian()
        fit(model, _gaussian_nll, _data(), epochs=3, batch_size=32, progress=False, generator=1)
        runs.append(model.mu.detach().clone())
    assert torch.equal(*runs)


def test_early_stopping_restores_the_best_epoch():
    model = _Gaussian()
    # a learning rate far too large makes the validation loss bounce; the best epoch is kept
    history = fit(model, _gaussian_nll, _data(0), val_data=_data(1), epochs=30, lr=3.0, patience=3,
                  progress=False, generator=0)
    assert history.stopped_early or len(history.val_loss) == 30
    assert evaluate(model, _gaussian_nll, _data(1)) == pytest.approx(min(history.val_loss), rel=1e-6)


def test_tuple_data_is_passed_as_a_tuple():
    seen = []

    def loss_fn(model, batch):
        seen.append(type(batch))
        x, y = batch
        return ((model.mu.sum() * x[:, 0] - y) ** 2).mean()

    fit(_Gaussian(), loss_fn, (torch.randn(10, 2), torch.randn(10)), epochs=1, progress=False)
    assert seen and all(t is tuple for t in seen)


BAD = [
    (dict(train_data=[1, 2, 3]), "train_data must be a tensor or a tuple of tensors"),
    (dict(train_data=(torch.zeros(3, 2), torch.zeros(4))), "the same number in every tensor"),
    (dict(epochs=0), "epochs must be a positive integer, got 0"),
    (dict(batch_size=2.5), "batch_size must be a positive integer"),
    (dict(patience=2), "patience .* needs val_data"),
    (dict(lr=-1.0), "lr must be positive"),
]


@pytest.mark.parametrize("kwargs, message", BAD)
def test_bad_arguments(kwargs, message):
    kwargs = {"train_data": torch.zeros(4, 2), **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(_Gaussian(), _gaussian_nll, kwargs.pop("train_data"), progress=False, **kwargs)
