"""Tests of dgm_course.training: the one loop (seeding, early stopping, non-finite losses,
full batch, max_steps, schedulers, several optimisers, the history)."""
import math

import pytest
import torch
from torch import nn

from dgm_course.training import History, StepContext, evaluate, fit, gradient_step, loss_step


class Gaussian(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(2))
        self.log_sigma = nn.Parameter(torch.zeros(2))

    def nll(self, x):
        return -torch.distributions.Normal(self.mu, self.log_sigma.exp()).log_prob(x).sum(-1).mean()


def gaussian_loss(model, x, ctx):
    return model.nll(x)


def data(seed=0, n=500):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g) * torch.tensor([0.5, 2.0]) + torch.tensor([1.0, -1.0])


def params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_fit_reaches_the_maximum_likelihood_estimate():
    x = data()
    model = Gaussian()
    step = loss_step(model, gaussian_loss, torch.optim.Adam(model.parameters(), lr=0.05))
    history = fit(model, step, x, epochs=150, batch_size=100, progress=False, generator=0)
    assert isinstance(history, History)
    torch.testing.assert_close(model.mu.detach(), x.mean(0), atol=0.02, rtol=0)
    torch.testing.assert_close(model.log_sigma.exp().detach(), x.std(0, correction=0), atol=0.02, rtol=0)
    assert history["loss"][-1] < history["loss"][0] and history.seconds > 0


def test_history_shapes_and_per_epoch_means():
    model = Gaussian()
    step = loss_step(model, lambda m, x, ctx: {"loss": m.nll(x), "batch": x.shape[0]},
                     torch.optim.SGD(model.parameters(), lr=0.01))
    history = fit(model, step, data(n=100), epochs=3, batch_size=32, progress=False, generator=0,
                  validate=lambda m: {"val": m.nll(data(1, 50))})
    assert len(history.steps["loss"]) == 12 and len(history.epochs["loss"]) == 3  # 4 updates per epoch
    assert history.steps["batch"][:4] == [32, 32, 32, 4]
    assert history["batch"][0] == pytest.approx(25.0)  # per-epoch mean of the updates
    assert history["loss"][1] == pytest.approx(sum(history.steps["loss"][4:8]) / 4)
    assert len(history["val"]) == 3 and "val" in history and "val" not in history.steps
    assert history.best_epoch == -1 and not history.stopped_early
    assert all(isinstance(v, float) for v in history.steps["loss"])


def randomised_step(model, optimizer):
    """A step whose update uses noise drawn from ctx.generator (like a VAE or an EBM)."""
    def step(x, ctx):
        noise = torch.randn(x.shape, generator=ctx.generator)
        loss = model.nll(x + 0.1 * noise)
        return {"loss": gradient_step(optimizer, loss)}
    return step


def train_randomised(generator):
    torch.manual_seed(123)  # same initial model; only `generator` may change the run
    model = Gaussian()
    fit(model, randomised_step(model, torch.optim.Adam(model.parameters(), lr=0.05)), data(),
        epochs=2, batch_size=50, progress=False, generator=generator)
    return params(model)


def test_same_generator_gives_identical_parameters():
    a, b = train_randomised(7), train_randomised(torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    torch.manual_seed(999)  # the global generator plays no part
    assert torch.equal(train_randomised(7), a)
    assert not torch.equal(train_randomised(8), a)


def test_the_step_sees_the_run_generator_and_its_position():
    seen = []
    gen = torch.Generator().manual_seed(0)

    def step(x, ctx):
        seen.append((ctx.generator, ctx.step, ctx.epoch, ctx.total_steps, ctx.progress))
        return {}

    fit(nn.Linear(1, 1), step, torch.zeros(10, 1), epochs=2, batch_size=5, generator=gen, progress=False)
    assert all(g is gen for g, *_ in seen)
    assert [s[1:] for s in seen] == [(0, 0, 4, 0.0), (1, 0, 4, 0.25), (2, 1, 4, 0.5), (3, 1, 4, 0.75)]


def test_early_stopping_restores_the_best_epoch():
    # the validation loss falls, then rises: it measures the distance of mu from 0.3 while mu
    # moves steadily from 0 to 1, so the best epoch is the one closest to 0.3
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)

    def step(x, ctx):
        with torch.no_grad():
            model.weight += 0.1
        return {}

    history = fit(model, step, torch.zeros(4, 1), epochs=10, batch_size=None, patience=2, progress=False,
                  validate=lambda m: {"distance": (m.weight - 0.3).abs().sum()}, monitor="distance")
    assert history.stopped_early and len(history["distance"]) == 5  # epochs 0..4; best is epoch 2
    assert history.best_epoch == 2
    assert float(model.weight.detach()) == pytest.approx(0.3)
    assert min(history["distance"]) == pytest.approx(history["distance"][history.best_epoch])


def test_mode_max_keeps_the_largest():
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    scores = iter([1.0, 3.0, 2.0, 0.0])

    def step(x, ctx):
        with torch.no_grad():
            model.weight += 1
        return {}

    history = fit(model, step, torch.zeros(2, 1), epochs=4, batch_size=None, progress=False, mode="max",
                  validate=lambda m: {"score": next(scores)}, monitor="score")
    assert history.best_epoch == 1 and float(model.weight.detach()) == 2.0 and not history.stopped_early


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_loss_stops_training(bad):
    calls = []

    def step(x, ctx):
        calls.append(ctx.step)
        return {"loss": torch.tensor(bad if ctx.step == 3 else 1.0)}

    with pytest.raises(FloatingPointError, match=r"loss became (nan|inf) at epoch 1, update 3"):
        fit(nn.Linear(1, 1), step, torch.zeros(4, 1), epochs=5, batch_size=2, progress=False)
    assert calls == [0, 1, 2, 3]  # stopped at once


def test_an_overflow_in_a_real_model_is_caught():
    model = Gaussian()
    with torch.no_grad():
        model.log_sigma.fill_(-1000.0)  # sigma underflows to 0: the loss is infinite

    def loss(m, x, ctx):
        return (((x - m.mu) / m.log_sigma.exp()) ** 2).mean()

    step = loss_step(model, loss, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(FloatingPointError, match="loss became inf at epoch 0, update 0"):
        fit(model, step, data(), epochs=1, progress=False)


def test_a_non_finite_validation_metric_stops_training():
    with pytest.raises(FloatingPointError, match="nll became nan at the validation after epoch 0"):
        fit(nn.Linear(1, 1), lambda x, ctx: {}, torch.zeros(2, 1), epochs=3, progress=False,
            validate=lambda m: {"nll": float("nan")})


def test_full_batch_mode():
    sizes = []

    def step(x, ctx):
        sizes.append(tuple(x.shape))
        return {}

    x = torch.arange(7.0)[:, None]
    history = fit(nn.Linear(1, 1), step, x, epochs=3, batch_size=None, progress=False)
    assert sizes == [(7, 1)] * 3 and history.epochs == {}
    order = []
    fit(nn.Linear(1, 1), lambda b, ctx: order.append(b[:, 0].tolist()) or {}, x, epochs=1,
        batch_size=None, progress=False)
    assert order == [list(range(7))]  # full batch: no shuffling, no randomness used


def test_minibatches_cover_the_data_once_per_epoch():
    seen = []
    x = torch.arange(10.0)[:, None]
    fit(nn.Linear(1, 1), lambda b, ctx: seen.append(b[:, 0]) or {}, x, epochs=2, batch_size=3,
        progress=False, generator=0)
    first, second = torch.cat(seen[:4]), torch.cat(seen[4:])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(10))
    assert not torch.equal(first, second)  # reshuffled each epoch


def test_max_steps_stops_within_an_epoch():
    steps = []
    history = fit(nn.Linear(1, 1), lambda x, ctx: steps.append((ctx.step, ctx.total_steps)) or {"m": 1.0},
                  torch.zeros(10, 1), epochs=5, batch_size=2, max_steps=7, progress=False,
                  validate=lambda m: {"v": 0.0})
    assert [s for s, _ in steps] == list(range(7)) and {t for _, t in steps} == {7}
    assert len(history.steps["m"]) == 7 and len(history["m"]) == 2 and len(history["v"]) == 2


def test_schedulers_are_stepped_after_every_update():
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 / (1 + t))
    rates = []

    def step(x, ctx):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradients: changes nothing
        return {}

    fit(model, step, torch.zeros(6, 1), epochs=2, batch_size=2, schedulers=[scheduler], progress=False)
    assert rates == pytest.approx([1 / (1 + t) for t in range(6)])


def test_several_optimisers_in_one_step():
    """A tiny GAN-like alternating step: 2 critic updates per generator update, by ctx.step."""
    torch.manual_seed(0)
    generator_net, critic = nn.Linear(1, 1), nn.Linear(1, 1)
    model = nn.ModuleDict({"generator": generator_net, "critic": critic})
    opt_g = torch.optim.SGD(generator_net.parameters(), lr=0.05)
    opt_c = torch.optim.SGD(critic.parameters(), lr=0.05)
    updates = {"critic": 0, "generator": 0}

    def step(x, ctx):
        z = torch.randn(x.shape[0], 1, generator=ctx.generator)
        if ctx.step % 3 < 2:
            fake = generator_net(z).detach()
            loss = critic(fake).mean() - critic(x).mean() + (critic.weight**2).sum()
            updates["critic"] += 1
            return {"critic_loss": gradient_step(opt_c, loss)}
        updates["generator"] += 1
        return {"generator_loss": gradient_step(opt_g, -critic(generator_net(z)).mean())}

    before = {k: params(m) for k, m in model.items()}
    history = fit(model, step, torch.randn(60, 1) + 2.0, epochs=3, batch_size=10, progress=False, generator=0)
    assert updates == {"critic": 12, "generator": 6}
    assert len(history.steps["critic_loss"]) == 12 and len(history.steps["generator_loss"]) == 6
    assert len(history["critic_loss"]) == len(history["generator_loss"]) == 3
    assert all(not torch.equal(before[k], params(m)) for k, m in model.items())


def test_tuple_data_is_passed_as_a_tuple():
    seen = []

    def step(batch, ctx):
        seen.append(type(batch))
        x, y = batch
        assert x.shape[0] == y.shape[0]
        return {}

    fit(Gaussian(), step, (torch.randn(10, 2), torch.randn(10)), epochs=1, batch_size=4, progress=False)
    assert seen == [tuple] * 3


def test_evaluate_weights_batches_by_size():
    x = torch.arange(10.0)[:, None]
    assert evaluate(lambda b: b.mean(), x, batch_size=3) == pytest.approx(4.5)
    assert evaluate(lambda b: b[0].sum() - b[1].sum(), (x, x), batch_size=4) == 0.0


def test_the_model_ends_in_evaluation_mode():
    model = nn.Sequential(nn.Dropout(0.5))
    modes = []
    fit(model, lambda x, ctx: modes.append(model.training) or {}, torch.zeros(2, 1), epochs=1,
        progress=False, validate=lambda m: modes.append(m.training) or {})
    assert modes == [True, False] and not model.training


def test_step_context_progress():
    ctx = StepContext(torch.Generator(), step=5, epoch=0, total_steps=10)
    assert ctx.progress == 0.5 and StepContext(torch.Generator(), 0, 0, 0).progress == 0.0


def test_loss_step_needs_a_loss_entry():
    model = Gaussian()
    step = loss_step(model, lambda m, x, ctx: {"nll": m.nll(x)}, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="loss_fn must return a tensor or a dict with a 'loss' entry"):
        fit(model, step, data(), progress=False)


def test_gradient_step_clips():
    model = nn.Linear(3, 1, bias=False)
    nn.init.zeros_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    gradient_step(optimizer, 100 * model(torch.ones(1, 3)).sum(), max_norm=1.0)
    assert float(model.weight.detach().norm()) == pytest.approx(1.0)


BAD = [
    (dict(data=[1, 2, 3]), "data must be a tensor or a tuple of tensors"),
    (dict(data=(torch.zeros(3, 2), torch.zeros(4))), "the same number in every tensor"),
    (dict(data=torch.zeros(0, 2)), "one or more examples"),
    (dict(epochs=0), "epochs must be a positive integer, got 0"),
    (dict(epochs=2.0), "epochs must be a positive integer, got 2.0"),
    (dict(batch_size=2.5), "batch_size must be a positive integer"),
    (dict(batch_size=True), "batch_size must be a positive integer"),
    (dict(max_steps=0), "max_steps must be a positive integer"),
    (dict(patience=2), "patience .* needs monitor"),
    (dict(monitor="nll"), "monitor='nll' needs a validate function"),
    (dict(monitor="nll", validate=lambda m: {"loss": 1.0}), "monitor='nll' is not among the validate metrics"),
    (dict(patience=0, monitor="nll", validate=lambda m: {"nll": 1.0}), "patience must be a positive integer"),
    (dict(mode="minimum"), "mode must be one of 'min', 'max'"),
    (dict(progress="no"), "progress must be True or False"),
    (dict(step=None), "step must be a function"),
    (dict(step=lambda x, ctx: 1.0), "the step function must return a dict"),
    (dict(step=lambda x, ctx: {"loss": torch.ones(2)}), "metric 'loss' must be a number"),
    (dict(validate=3), "validate must be a function"),
    (dict(validate=lambda m: 1.0), "validate must return a dict"),
    (dict(schedulers=[1]), "schedulers must hold learning-rate schedulers"),
    (dict(generator="abc"), "seed must be a non-negative integer, a torch.Generator or None"),
]


@pytest.mark.parametrize("kwargs, message", BAD)
def test_bad_arguments(kwargs, message):
    kwargs = {"data": torch.zeros(4, 2), "step": lambda x, ctx: {}, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(Gaussian(), kwargs.pop("step"), kwargs.pop("data"), **kwargs)


def test_progress_bar_does_not_change_the_result():
    a, b = Gaussian(), Gaussian()
    for model, progress in ((a, False), (b, True)):
        step = loss_step(model, gaussian_loss, torch.optim.SGD(model.parameters(), lr=0.1))
        fit(model, step, data(), epochs=2, batch_size=100, generator=0, progress=progress)
    assert torch.equal(params(a), params(b)) and math.isfinite(float(params(a).sum()))
