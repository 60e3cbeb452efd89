"""Tests of dgm_course.masked_autoregressive: MADE's masks and the PixelCNN's masked
convolutions. Normalisation, the autoregressive property (by autograd), sampling and the
bad-argument table for these models are in test_autoregressive.py with the other models."""
import pytest
import torch

from dgm_course.masked_autoregressive import (MADE, MaskedConv2d, PixelCNN, causal_mask,
                                              made_degrees, made_masks)


def test_made_masks_follow_the_degrees():
    order = torch.tensor([2, 0, 1])
    degrees = made_degrees(order, [5, 4], generator=0)
    assert degrees[0].tolist() == [2, 3, 1]  # pixel 2 first, then 0, then 1
    masks = made_masks(degrees)
    assert [tuple(m.shape) for m in masks] == [(3, 5), (5, 4), (4, 3)]
    # the product of the masks says which input reaches which output: only earlier ones
    reach = (masks[0].float() @ masks[1].float() @ masks[2].float()) > 0  # (in, out)
    earlier = degrees[0][:, None] < degrees[0][None, :]
    assert not bool((reach & ~earlier).any())


def test_made_hidden_degrees_are_in_range():
    degrees = made_degrees(torch.arange(10), [50, 50], generator=1)
    for layer in degrees[1:]:
        assert int(layer.min()) >= 1 and int(layer.max()) <= 9


def test_made_categorical_masks_repeat_per_level():
    masks = made_masks(made_degrees(torch.arange(3), [4], generator=0), levels=5)
    assert masks[-1].shape == (4, 15)
    assert torch.equal(masks[-1][:, 0:5], masks[-1][:, :1].expand(-1, 5))


def test_made_select_mask_changes_the_order():
    model = MADE(6, [12], n_orders=3, natural_order=True, generator=0)
    assert model.order().tolist() == list(range(6))
    assert sorted(model.select_mask(2).order().tolist()) == list(range(6))
    assert model.select_mask(2).order().tolist() != list(range(6))


def test_made_parameter_count_excludes_dead_weights():
    model = MADE(4, [8], generator=0)
    full = sum(p.numel() for p in model.parameters())
    assert model.n_parameters < full


def test_causal_masks():
    assert causal_mask(3, "B").int().tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    assert int(causal_mask(15, "A").sum()) == 15 * 7 + 7


def test_masked_convolution_output_ignores_later_pixels():
    conv = MaskedConv2d(1, 2, 5, "A")
    x = torch.randn(1, 1, 6, 6, requires_grad=True)
    conv(x)[0, :, 3, 2].sum().backward()  # output at row 3, column 2
    grad = x.grad[0, 0]
    assert float(grad[3, 2:].abs().sum()) == 0 and float(grad[4:].abs().sum()) == 0
    assert float(grad[:3].abs().sum()) > 0


def test_pixelcnn_shapes_and_parameter_count():
    model = PixelCNN(17, channels=8, n_layers=2, generator=0)
    x = torch.randint(17, (3, 64)).float()
    assert model.logits(x).shape == (3, 64, 17)
    conv_a = 8 * (15 * 7 + 7) + 8  # masked 15 x 15 kernel, one input channel, plus biases
    assert model.n_parameters < sum(p.numel() for p in model.parameters())
    assert model.first.weight_mask.sum() + 8 == conv_a


def test_pixelcnn_is_seeded_by_its_generator():
    a, b = PixelCNN(2, channels=4, generator=3), PixelCNN(2, channels=4, generator=3)
    assert torch.equal(a.first.weight, b.first.weight)


BAD = [
    ("MADE hidden_sizes empty", lambda: MADE(4, []), "hidden_sizes"),
    ("MADE hidden_sizes an int", lambda: MADE(4, 8), "hidden_sizes"),
    ("MADE n_orders 0", lambda: MADE(4, [8], n_orders=0), "n_orders"),
    ("MADE levels 1", lambda: MADE(4, [8], levels=1), "levels"),
    ("MADE natural_order 'yes'", lambda: MADE(4, [8], natural_order="yes"), "natural_order"),
    ("MADE mask index out of range", lambda: MADE(4, [8], n_orders=2).select_mask(2), "k"),
    ("MADE ensemble 'yes'", lambda: MADE(4, [8]).log_prob([[0, 1, 0, 1]], ensemble="yes"),
     "ensemble"),
    ("PixelCNN levels 1", lambda: PixelCNN(1), "levels"),
    ("PixelCNN channels 0", lambda: PixelCNN(2, channels=0), "channels"),
    ("PixelCNN dropout 1.5", lambda: PixelCNN(2, dropout=1.5), "dropout"),
    ("PixelCNN image_shape (8,)", lambda: PixelCNN(2, image_shape=(8,)), "image_shape"),
    ("PixelCNN non-binary x", lambda: PixelCNN(2, channels=2).log_prob(torch.full((1, 64), 3.0)),
     "x"),
    ("PixelCNN 17 levels, x = 16.5", lambda: PixelCNN(17, channels=2).log_prob(
        torch.full((1, 64), 16.5)), "x"),
    ("kernel_size even", lambda: causal_mask(4, "A"), "kernel_size"),
    ("mask_type C", lambda: causal_mask(3, "C"), "mask_type"),
]


@pytest.mark.parametrize("what, call, name", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_a_value_error_naming_them(what, call, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()
