"""Tests of dgm_course.autoregressive (the shared base, FVSBN, NADE, train), against
enumeration, autograd and the chain rule written out by hand; MADE and the PixelCNN share the
base's checks here and have their own in test_masked_autoregressive.py."""
import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from dgm_course.autoregressive import FVSBN, NADE, AutoregressiveModel, train
from dgm_course.evaluation import all_binary_states
from dgm_course.masked_autoregressive import MADE, PixelCNN


def _jitter(model, scale=0.7, seed=0):
    """Random parameters, so that no conditional is trivially uniform."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)
    return model.double()


def _all_states(model):
    """Every image a tiny model can produce: (levels ** D, D) float64."""
    if model.levels == 2:
        return all_binary_states(model.n_features, dtype=torch.float64)
    grid = itertools.product(range(model.levels), repeat=model.n_features)
    return torch.tensor(list(grid), dtype=torch.float64)


TINY = {  # models over 4 pixels (a 2 x 2 image for the PixelCNN)
    "FVSBN": lambda: FVSBN(4),
    "NADE": lambda: NADE(4, 3, generator=0),
    "MADE": lambda: MADE(4, [8, 8], generator=0),
    "MADE, random order": lambda: MADE(4, [6], natural_order=False, generator=1),
    "MADE, 3 levels": lambda: MADE(4, [8], levels=3, generator=0),
    "PixelCNN": lambda: PixelCNN(2, channels=4, n_layers=1, image_shape=(2, 2), generator=0),
    "PixelCNN, 3 levels": lambda: PixelCNN(3, channels=4, n_layers=2, image_shape=(2, 2),
                                           generator=0),
}


@pytest.mark.parametrize("name", TINY)
def test_log_prob_sums_to_one_over_every_image(name):
    model = _jitter(TINY[name]())
    total = model.log_prob(_all_states(model)).detach().exp().sum()
    assert abs(float(total) - 1) < 1e-10


def test_made_ensemble_is_normalised():
    model = _jitter(MADE(4, [6], n_orders=3, natural_order=False, generator=2))
    states = _all_states(model)
    assert abs(float(model.log_prob(states, ensemble=True).detach().exp().sum()) - 1) < 1e-10
    per_order = [model.select_mask(k).log_prob(states) for k in range(3)]
    assert not torch.allclose(per_order[0], per_order[1])  # the orders are different models


def test_fvsbn_d3_has_1_2_3_parameters_and_logistic_conditionals():
    model = _jitter(FVSBN(3))
    assert model.n_parameters == 6
    W, b = (model.W * model.weight_mask).detach(), model.b.detach()
    x = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    by_hand = sum(math.log(torch.sigmoid((2 * x[0, i] - 1) * (b[i] + W[i, :i] @ x[0, :i])))
                  for i in range(3))
    assert abs(float(model.log_prob(x).detach()) - by_hand) < 1e-12


def test_nade_running_sums_equal_a_separate_pass_per_conditional():
    model = _jitter(NADE(7, 5, generator=3))
    x = torch.bernoulli(torch.full((6, 7), 0.5, dtype=torch.float64),
                        generator=torch.Generator().manual_seed(0))
    naive = torch.stack([model.b[i] + torch.sigmoid(model.c + x[:, :i] @ model.A[:i]) @ model.V[i]
                         for i in range(7)], dim=1)
    assert torch.allclose(model.logits(x), naive, atol=1e-12)


def test_nade_parameter_count():
    assert NADE(64, 50).n_parameters == 2 * 64 * 50 + 64 + 50


def _position(model):
    """rank[i] = the position of pixel i in the model's order."""
    order = model.order()
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    return rank


@pytest.mark.parametrize("name", TINY)
def test_each_conditional_ignores_its_own_and_later_pixels(name):
    model = _jitter(TINY[name]())
    x = torch.rand(1, model.n_features, dtype=torch.float64) * (model.levels - 1)
    jac = torch.autograd.functional.jacobian(lambda v: model.logits(v)[0], x)[..., 0, :]
    influence = jac.abs().sum(1) if jac.dim() == 3 else jac.abs()  # (D outputs, D inputs)
    rank = _position(model)
    later = rank[None, :] >= rank[:, None]  # input j at or after output i
    assert float(influence[later].abs().max()) == 0.0
    assert float(influence[~later].sum()) > 0  # and earlier pixels do count


@pytest.mark.parametrize("name", TINY)
def test_sample_is_reproducible_with_a_seed(name):
    model = _jitter(TINY[name]())
    a, b = model.sample(20, generator=5), model.sample(20, generator=5)
    assert torch.equal(a, b) and a.shape == (20, 4)
    assert not torch.equal(a, model.sample(20, generator=6))


@pytest.mark.parametrize("name", ["FVSBN", "NADE", "MADE, random order", "PixelCNN, 3 levels"])
def test_samples_follow_the_model(name):
    # Chi-square test of 20,000 samples against the exact probabilities of all images. With a
    # threshold of p = 1e-4 a correct sampler fails one seed in 10,000; the seed is fixed.
    model = _jitter(TINY[name](), scale=0.5)
    states = _all_states(model)
    probs = model.log_prob(states).exp().detach().numpy()
    samples = model.sample(20_000, generator=0)
    base = model.levels ** torch.arange(model.n_features, dtype=torch.float64)
    codes = (samples @ base).long().numpy()
    state_codes = (states @ base).long().numpy()
    counts = np.bincount(codes, minlength=model.levels ** model.n_features)[state_codes]
    keep = probs * len(samples) >= 5  # the usual validity condition of the test
    observed, expected = counts[keep], probs[keep] * len(samples)
    if not keep.all():  # pool the rare images into one cell
        observed = np.append(observed, counts[~keep].sum())
        expected = np.append(expected, probs[~keep].sum() * len(samples))
    assert chisquare(observed, expected).pvalue > 1e-4


@pytest.mark.parametrize("name", TINY)
def test_completion_keeps_the_observed_pixels(name):
    model = _jitter(TINY[name]())
    x = model.sample(50, generator=1)
    mask = torch.tensor([1, 1, 0, 0])
    completed = model.sample(50, generator=2, x_observed=x, mask=mask)
    assert torch.equal(completed[:, :2], x[:, :2])
    assert not torch.equal(completed[:, 2:], x[:, 2:])  # the rest is drawn anew


def test_completion_with_a_mask_per_row():
    model = _jitter(NADE(4, 3, generator=0))
    x = torch.ones(2, 4, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1], [0, 0, 0, 0]])
    completed = model.sample(2, generator=0, x_observed=x, mask=mask)
    assert torch.equal(completed[0], x[0])


def test_top_half_completion_is_the_exact_conditional():
    # with the first two of four pixels observed, completions follow p(x3, x4 | x1, x2)
    model = _jitter(FVSBN(4), scale=0.5)
    observed = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64).expand(20_000, -1)
    completed = model.sample(20_000, generator=3, x_observed=observed, mask=[1, 1, 0, 0])
    states = _all_states(model)
    match = (states[:, :2] == observed[0, :2]).all(1)
    probs = model.log_prob(states[match]).exp().detach()
    probs = (probs / probs.sum()).numpy()
    codes = (completed[:, 2] + 2 * completed[:, 3]).long().numpy()
    state_codes = (states[match][:, 2] + 2 * states[match][:, 3]).long().numpy()
    counts = np.bincount(codes, minlength=4)[state_codes]
    assert chisquare(counts, probs * len(completed)).pvalue > 1e-4


def test_log_prob_is_differentiable_and_train_lowers_the_nll():
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(200, 6, generator=gen) < torch.linspace(0.1, 0.9, 6)).float()
    x[:, 5] = x[:, 0]  # a dependency that only a model with x_<i can learn
    model = NADE(6, 4, generator=0)
    assert model.log_prob(x).requires_grad
    before = float(-model.log_prob(x).detach().mean())
    history = train(model, x, x_val=x[:50], epochs=30, batch_size=50, lr=0.05, progress=False,
                    generator=0)
    after = float(-model.log_prob(x).detach().mean())
    assert after < before - 0.5 and len(history["val_nll"]) == 30


def test_train_is_reproducible():
    x = torch.bernoulli(torch.full((64, 5), 0.3), generator=torch.Generator().manual_seed(1))
    models = [NADE(5, 3, generator=0), NADE(5, 3, generator=0)]
    for m in models:
        train(m, x, epochs=2, batch_size=16, progress=False, generator=4)
    assert torch.equal(models[0].A, models[1].A)


def test_conditionals_are_probabilities():
    model = _jitter(PixelCNN(3, channels=4, n_layers=1, image_shape=(2, 2), generator=0))
    p = model.conditionals(_all_states(model))
    assert p.shape == (81, 4, 3) and torch.allclose(p.sum(-1), torch.ones(81, 4, dtype=p.dtype))


BAD = [  # (what, call, the argument the message must name)
    ("d = 0", lambda: FVSBN(0), "d"),
    ("h = 0", lambda: NADE(4, 0), "h"),
    ("h = 2.5", lambda: NADE(4, 2.5), "h"),
    ("non-binary x", lambda: FVSBN(4).log_prob([[0, 1, 2, 0]]), "x"),
    ("NaN in x", lambda: NADE(4, 2).log_prob([[0, 1, float("nan"), 0]]), "x"),
    ("wrong width", lambda: NADE(4, 2).log_prob(torch.zeros(3, 5)), "x"),
    ("one dimension", lambda: FVSBN(4).log_prob(torch.zeros(4)), "x"),
    ("level 17 of 17", lambda: MADE(4, [4], levels=17).log_prob([[0, 1, 17, 0]]), "x"),
    ("level 2.5", lambda: MADE(4, [4], levels=17).log_prob([[0, 1, 2.5, 0]]), "x"),
    ("negative n", lambda: FVSBN(4).sample(-1), "n"),
    ("float n", lambda: FVSBN(4).sample(2.0), "n"),
    ("x_observed without mask", lambda: FVSBN(4).sample(2, x_observed=torch.zeros(2, 4)), "mask"),
    ("mask without x_observed", lambda: FVSBN(4).sample(2, mask=[1, 0, 0, 0]), "x_observed"),
    ("mask of the wrong width", lambda: FVSBN(4).sample(2, x_observed=torch.zeros(2, 4),
                                                        mask=[1, 0]), "mask"),
    ("non-binary mask", lambda: FVSBN(4).sample(2, x_observed=torch.zeros(2, 4),
                                                mask=[2, 0, 0, 0]), "mask"),
    ("x_observed of another n", lambda: FVSBN(4).sample(3, x_observed=torch.zeros(2, 4),
                                                        mask=[1, 0, 0, 0]), "x_observed"),
    ("non-binary x_observed", lambda: FVSBN(4).sample(1, x_observed=[[3, 0, 0, 0]],
                                                      mask=[1, 0, 0, 0]), "x_observed"),
    ("lr <= 0", lambda: train(FVSBN(2), torch.zeros(4, 2), lr=0), "lr"),
    ("epochs = 0", lambda: train(FVSBN(2), torch.zeros(4, 2), epochs=0), "epochs"),
    ("negative weight decay", lambda: train(FVSBN(2), torch.zeros(4, 2), weight_decay=-1),
     "weight_decay"),
    ("non-binary training data", lambda: train(FVSBN(2), torch.full((4, 2), 0.5)), "x"),
    ("validation data of another width", lambda: train(FVSBN(2), torch.zeros(4, 2),
                                                       x_val=torch.zeros(4, 3)), "x_val"),
    ("not a model", lambda: train(torch.nn.Linear(2, 2), torch.zeros(4, 2)), "model"),
]


@pytest.mark.parametrize("what, call, name", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_a_value_error_naming_them(what, call, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()


def test_the_base_class_is_abstract():
    class Nothing(AutoregressiveModel):
        n_features, levels = 2, 2

    with pytest.raises(NotImplementedError):
        Nothing().log_prob([[0, 1]])
