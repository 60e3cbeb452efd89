r"""MADE and PixelCNN: autoregressive networks made by masking weights (chapter 4).

Both models compute all :math:`D` conditionals :math:`p(x_i \mid x_{<i})` of the chain rule in
one pass of an ordinary network whose weights are multiplied by fixed 0/1 masks, so that
output :math:`i` never sees input :math:`i` or any input after it. They are
:class:`~dgm_course.autoregressive.AutoregressiveModel`\ s: exact ``log_prob``, sequential
``sample`` with completion, training by :func:`dgm_course.autoregressive.train`.

* :class:`MADE` — the masked autoencoder for distribution estimation (Germain et al. 2015):
  an MLP with masks built from unit *degrees* (:func:`made_degrees`, :func:`made_masks`),
  order and connectivity resampling, and an ensemble over orders at test time.
* :class:`PixelCNN` — a PixelCNN (van den Oord et al. 2016) for the 8×8 digits: masked
  convolutions, type **A** in the first layer (the kernel's centre and everything after it
  are zeroed) and type **B** after it (the centre is kept, since a feature at pixel
  :math:`i` already depends only on the pixels before it). Our images are small, so the
  first kernel spans the whole image (15×15 on 8×8: every earlier pixel in view at once, no
  "blind spot"); later layers are 3×3 type-B residual blocks, and a learned bias per pixel
  position and output level tells the border (almost always blank) from the centre.
  Bernoulli outputs for the binarised digits, 17-way categorical ones for the 17-level digits.
* :data:`RECIPES` and :func:`benchmark` — the chapter's training recipes and its side-by-side
  table; ``python -m dgm_course.masked_autoregressive`` (or ``python -m
  dgm_course.autoregressive``) trains every model and prints the table.
"""
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import data
from dgm_course.autoregressive import FVSBN, NADE, AutoregressiveModel, train
from dgm_course.utils import make_generator
from dgm_course.validation import check_bool, check_choice, check_int, check_number


# ---------------------------------------------------------------------------------------
# MADE: an MLP with masks


class MaskedLinear(nn.Module):
    r"""A linear layer :math:`y = x (W \odot M_k) + b` with one of several fixed masks.

    ``weight`` has shape (n_in, n_out) (the course's orientation); ``masks`` (n_masks, n_in,
    n_out) holds 0/1 masks, and ``weight_mask`` is their union (the weights some mask uses).
    """

    def __init__(self, n_in, n_out, masks, *, generator=None):
        super().__init__()
        bound = 1 / math.sqrt(n_in)
        gen = make_generator(generator)
        self.weight = nn.Parameter((torch.rand(n_in, n_out, generator=gen) * 2 - 1) * bound)
        self.bias = nn.Parameter((torch.rand(n_out, generator=gen) * 2 - 1) * bound)
        self.register_buffer("masks", masks.float())  # (n_masks, n_in, n_out)

    @property
    def weight_mask(self):
        return self.masks.amax(0)

    def forward(self, x, mask_index=0):
        return x @ (self.weight * self.masks[mask_index]) + self.bias


def made_degrees(order, hidden_sizes, generator=None):
    r"""Degrees of MADE's units (Germain et al. 2015) for one order of the inputs.

    Input :math:`k` has degree :math:`m^0(k)` = its position (1 to D) in ``order``; a hidden
    unit of layer :math:`l` gets a degree drawn uniformly from
    :math:`\{\min m^{l-1}, \dots, D - 1\}`, its *connectivity*.

    Returns
    -------
    list of LongTensor: the input degrees (D,), then one (H_l,) per hidden layer.
    """
    gen = make_generator(generator)
    d = len(order)
    degrees = [torch.empty(d, dtype=torch.long)]
    degrees[0][order] = torch.arange(1, d + 1)
    for size in hidden_sizes:
        low = int(degrees[-1].min())
        high = max(low, d - 1)
        degrees.append(torch.randint(low, high + 1, (size,), generator=gen))
    return degrees


def made_masks(degrees, levels=2):
    r"""MADE's masks from the unit degrees :func:`made_degrees` returns.

    .. math::
        M^{l}_{k' k} = [\, m^{l}(k) \ge m^{l-1}(k') \,], \qquad
        M^{\text{out}}_{k' i} = [\, m^0(i) > m^{L}(k') \,],

    so output :math:`i` can only be reached from inputs that come strictly before :math:`i`.
    Masks have the shape of the weights they multiply, (n_in, n_out); with ``levels`` > 2
    each output pixel has ``levels`` units (pixel-major: unit ``i * levels + k``).
    """
    masks = [(m_out[None, :] >= m_in[:, None]) for m_in, m_out in zip(degrees[:-1], degrees[1:])]
    out = degrees[0][None, :] > degrees[-1][:, None]  # (H_L, D)
    if levels > 2:
        out = out.repeat_interleave(levels, dim=1)
    return masks + [out]


class MADE(AutoregressiveModel):
    r"""Masked autoencoder for distribution estimation (Germain et al. 2015).

    An MLP from the image to the logits of all :math:`D` conditionals, whose weights are
    multiplied by binary masks (:func:`made_masks`) so that output :math:`i` depends only on
    the inputs before :math:`i` in the chosen order:

    .. math::
        h^{l} = \mathrm{relu}\big(h^{l-1} (W^{l} \odot M^{l}) + c^{l}\big), \qquad
        a = h^{L} (V \odot M^{\text{out}}) + b .

    With ``n_orders`` > 1, the model holds that many mask sets, each with its own random order
    and connectivity; training draws one per update (order-agnostic training), and
    ``log_prob(x, ensemble=True)`` averages the probabilities of all of them,
    :math:`\log \frac1K \sum_k p_k(x)`, which is still an exact, normalised likelihood.

    Parameters
    ----------
    d : int
        Number of pixels :math:`D`.
    hidden_sizes : sequence of int
        Width of each hidden layer.
    n_orders : int
        Number of mask sets (orders and connectivities). The first uses the natural order
        when ``natural_order`` is true.
    levels : int
        2 for binary pixels and Bernoulli conditionals; :math:`K` > 2 for categorical ones on
        integer levels ``0 .. K - 1`` (the network then sees :math:`x / (K - 1)`).
    natural_order : bool
        Whether mask set 0 orders the pixels 0, 1, ..., D - 1 (raster order for images).
    generator : int or torch.Generator, optional
        Seeds the orders, the connectivities and the initial weights.
    """

    def __init__(self, d, hidden_sizes, *, n_orders=1, levels=2, natural_order=True,
                 generator=None):
        super().__init__()
        self.n_features = d = check_int(d, "d", minimum=1)
        self.levels = check_int(levels, "levels", minimum=2)
        if isinstance(hidden_sizes, int) or not hidden_sizes:
            raise ValueError(f"hidden_sizes must be a non-empty sequence of positive integers, "
                             f"got {hidden_sizes!r}")
        self.hidden_sizes = [check_int(s, "hidden_sizes", minimum=1) for s in hidden_sizes]
        self.n_orders = check_int(n_orders, "n_orders", minimum=1)
        natural_order = check_bool(natural_order, "natural_order")
        gen = make_generator(generator)
        orders, per_layer = [], [[] for _ in range(len(hidden_sizes) + 1)]
        for k in range(self.n_orders):
            order = torch.arange(d) if (k == 0 and natural_order) else torch.randperm(d, generator=gen)
            orders.append(order)
            for layer, mask in enumerate(made_masks(made_degrees(order, self.hidden_sizes, gen),
                                                    self.levels)):
                per_layer[layer].append(mask)
        self.register_buffer("orders", torch.stack(orders))  # (n_orders, D)
        sizes = [d, *self.hidden_sizes, d * (1 if self.levels == 2 else self.levels)]
        self.layers = nn.ModuleList(
            MaskedLinear(n_in, n_out, torch.stack(masks), generator=gen)
            for n_in, n_out, masks in zip(sizes[:-1], sizes[1:], per_layer))
        self.mask_index = 0

    def extra_repr(self):
        return (f"d={self.n_features}, hidden_sizes={self.hidden_sizes}, "
                f"n_orders={self.n_orders}, levels={self.levels}")

    def select_mask(self, k):
        """Use mask set ``k`` (its order and connectivity) for :meth:`log_prob` and
        :meth:`sample`; returns the model."""
        self.mask_index = check_int(k, "k", minimum=0, maximum=self.n_orders - 1)
        return self

    def order(self):
        return self.orders[self.mask_index].cpu()

    def logits(self, x, mask_index=None):
        """Logits of all conditionals under mask set ``mask_index`` (default: the selected
        one): (n, D) for binary pixels, (n, D, K) for K levels."""
        k = self.mask_index if mask_index is None else mask_index
        h = x if self.levels == 2 else x / (self.levels - 1)
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h, k))
        out = self.layers[-1](h, k)
        return out if self.levels == 2 else out.reshape(x.shape[0], self.n_features, self.levels)

    def _log_prob_for(self, x, k):
        logits = self.logits(x, k)
        if self.levels == 2:
            return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        log_p = torch.log_softmax(logits, -1)
        return log_p.gather(-1, x.long().unsqueeze(-1)).squeeze(-1).sum(1)

    def log_prob(self, x, *, ensemble=False):
        r"""Exact log-probability in nats per image: (n,), differentiable.

        With ``ensemble=False``, under the selected mask set; with ``ensemble=True``, of the
        uniform mixture of all ``n_orders`` mask sets, :math:`\log \frac1K \sum_k p_k(x)`.
        """
        x = self.check_input(x)
        if not check_bool(ensemble, "ensemble"):
            return self._log_prob_for(x, self.mask_index)
        per_order = torch.stack([self._log_prob_for(x, k) for k in range(self.n_orders)])
        return torch.logsumexp(per_order, 0) - math.log(self.n_orders)

    def _log_prob_checked(self, x):
        return self._log_prob_for(x, self.mask_index)

    def training_loss(self, x, generator=None):
        """Mean NLL under a mask set drawn at random from ``generator`` (when ``n_orders`` > 1)."""
        k = 0
        if self.n_orders > 1:
            k = int(torch.randint(self.n_orders, (1,), generator=generator))
        return -self._log_prob_for(x, k).mean()


# ---------------------------------------------------------------------------------------
# PixelCNN: masked convolutions


def causal_mask(kernel_size, mask_type):
    r"""The 0/1 mask of a raster-order masked convolution kernel: (k, k).

    Rows above the centre are kept; on the centre row, columns left of the centre (type
    ``"A"``) or up to and including it (type ``"B"``); nothing below.

    Examples
    --------
    >>> causal_mask(3, "A").int().tolist()
    [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    """
    k = check_int(kernel_size, "kernel_size", minimum=1)
    check_choice(mask_type, "mask_type", ("A", "B"))
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {k}")
    mask = torch.zeros(k, k)
    mask[: k // 2] = 1
    mask[k // 2, : k // 2 + (mask_type == "B")] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    r"""A 'same' 2-D convolution whose kernel is multiplied by :func:`causal_mask`.

    ``weight_mask`` (out, in, k, k) is the mask broadcast over the channels (a single-channel
    image needs no masks between colour channels).
    """

    def __init__(self, in_channels, out_channels, kernel_size, mask_type):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        mask = causal_mask(kernel_size, mask_type)
        self.register_buffer("weight_mask", mask.expand_as(self.weight).clone())

    def forward(self, x):
        return F.conv2d(x, self.weight * self.weight_mask, self.bias, padding=self.padding)


class PixelCNN(AutoregressiveModel):
    r"""A PixelCNN for small single-channel images, flattened row by row to (n, H·W).

    .. math::
        p(x) = \prod_{i=1}^{HW} p(x_i \mid x_{<i}), \qquad
        \text{logits}(x) = f_{1\times1} \circ \big[\mathrm{relu} \circ
        \mathrm{conv}^{B}_{3\times3} + \mathrm{id}\big]^{L} \circ
        \mathrm{conv}^{A}_{(2H-1)\times(2W-1)}(x) + \beta,

    where :math:`\beta` is a learned bias per pixel position and level.

    Parameters
    ----------
    levels : int
        2: binary pixels, Bernoulli conditionals; :math:`K` > 2: integer levels ``0 .. K-1``
        and categorical conditionals (the network sees :math:`x / (K - 1)`).
    channels : int
        Feature maps per layer.
    n_layers : int
        Residual 3×3 type-B blocks after the first layer.
    image_shape : tuple of int
        (H, W); the first kernel is :math:`(2\max(H, W) - 1)` wide.
    dropout : float
        Dropout probability on the features in training (0 disables it).
    generator : int or torch.Generator, optional
        Seeds the initial weights.
    """

    def __init__(self, levels=2, *, channels=64, n_layers=4, image_shape=(8, 8), dropout=0.0,
                 generator=None):
        super().__init__()
        self.levels = check_int(levels, "levels", minimum=2)
        self.channels = check_int(channels, "channels", minimum=1)
        self.n_layers = check_int(n_layers, "n_layers", minimum=0)
        self.dropout = check_number(dropout, "dropout", minimum=0, maximum=1, strict=False)
        if len(image_shape) != 2:
            raise ValueError(f"image_shape must be (H, W), got {image_shape!r}")
        self.image_shape = tuple(check_int(s, "image_shape", minimum=1) for s in image_shape)
        height, width = self.image_shape
        self.n_features = height * width
        out = 1 if self.levels == 2 else self.levels
        gen = make_generator(generator)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
            self.first = MaskedConv2d(1, channels, 2 * max(height, width) - 1, "A")
            self.blocks = nn.ModuleList(MaskedConv2d(channels, channels, 3, "B")
                                        for _ in range(self.n_layers))
            self.hidden = MaskedConv2d(channels, channels, 1, "B")
            self.output = MaskedConv2d(channels, out, 1, "B")
        self.position_bias = nn.Parameter(torch.zeros(out, height, width))  # (K, H, W)

    def extra_repr(self):
        return (f"levels={self.levels}, image_shape={self.image_shape}, "
                f"n_parameters={self.n_parameters}")

    def logits(self, x):
        """Logits of all conditionals: (n, H·W) for binary pixels, (n, H·W, K) for K levels."""
        n = x.shape[0]
        image = x.reshape(n, 1, *self.image_shape)
        if self.levels > 2:
            image = image / (self.levels - 1)
        h = self.first(image)
        for block in self.blocks:
            h = h + block(F.dropout(torch.relu(h), self.dropout, self.training))
        h = self.hidden(F.dropout(torch.relu(h), self.dropout, self.training))
        out = self.output(torch.relu(h)) + self.position_bias  # (n, K, H, W)
        if self.levels == 2:
            return out.reshape(n, self.n_features)
        return out.reshape(n, self.levels, self.n_features).transpose(1, 2)


# ---------------------------------------------------------------------------------------
# The chapter's recipes and its side-by-side table


@dataclass
class Recipe:
    """How chapter 4 trains one model on the digits (the split of :func:`data.load_digits`)."""

    make: Callable  # () -> a fresh, seeded model
    levels: int  # 2: the binarised digits; 17: the 17 grey levels
    epochs: int  # passes over the 1,000 training digits
    batch_size: int  # digits per update
    lr: float  # Adam's learning rate, decayed to 0 along a cosine
    weight_decay: float = 0.0  # Adam's L2 penalty

    def fit(self, x_train, x_val, *, generator=0, progress=False):
        """A model trained by :func:`~dgm_course.autoregressive.train` (keeping its best
        epoch on ``x_val``), its history, and the training time in seconds (wall clock)."""
        model = self.make()
        start = time.perf_counter()
        history = train(model, x_train, x_val=x_val, epochs=self.epochs,
                        batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                        generator=generator, progress=progress)
        return model, history, time.perf_counter() - start


RECIPES = {
    "FVSBN": Recipe(lambda: FVSBN(64), 2, epochs=50, batch_size=100, lr=3e-2),
    "NADE": Recipe(lambda: NADE(64, 50, generator=0), 2, epochs=50, batch_size=50, lr=1e-2),
    "MADE": Recipe(lambda: MADE(64, [200], generator=0), 2, epochs=50, batch_size=50, lr=1e-2,
                   weight_decay=1e-4),
    "PixelCNN": Recipe(lambda: PixelCNN(2, channels=32, n_layers=2, dropout=0.2, generator=0),
                       2, epochs=30, batch_size=50, lr=3e-3),
    "PixelCNN, 17 levels": Recipe(
        lambda: PixelCNN(17, channels=64, n_layers=4, dropout=0.3, generator=0), 17,
        epochs=40, batch_size=50, lr=3e-3),
}
"""The chapter's models and training settings, by name (see :func:`benchmark`)."""


def benchmark(names=None, *, threads=1, progress=False):
    """Train the models of :data:`RECIPES` and measure them on the test digits.

    Returns a list of dicts, one per model: ``model``, ``data`` ("binarised" or "17 levels"),
    ``parameters``, ``seconds`` (training, wall clock), ``cpu_seconds`` (training, CPU time
    of this process: less sensitive to other load on a shared machine) and ``test_nll``
    (exact, nats per test image).
    """
    names = list(RECIPES) if names is None else list(names)
    for name in names:
        check_choice(name, "names", tuple(RECIPES))
    torch.set_num_threads(check_int(threads, "threads", minimum=1))
    rows = []
    for name in names:
        recipe = RECIPES[name]
        binary = recipe.levels == 2
        split = {s: data.load_digits(s, binary=binary) for s in ("train", "val", "test")}
        cpu = time.process_time()
        model, _, seconds = recipe.fit(split["train"], split["val"], progress=progress)
        cpu = time.process_time() - cpu
        with torch.no_grad():
            nll = float(-model.log_prob(split["test"]).mean())
        rows.append({"model": name, "data": "binarised" if binary else "17 levels",
                     "parameters": model.n_parameters, "seconds": seconds,
                     "cpu_seconds": cpu, "test_nll": nll})
    return rows


def format_table(rows):
    """The rows of :func:`benchmark` as a plain-text table."""
    lines = [f"{'model':<22}{'data':<11}{'parameters':>11}{'train s':>9}{'CPU s':>8}"
             f"{'test NLL (nats/image)':>23}"]
    for r in rows:
        lines.append(f"{r['model']:<22}{r['data']:<11}{r['parameters']:>11,}{r['seconds']:>9.1f}"
                     f"{r['cpu_seconds']:>8.1f}{r['test_nll']:>23.2f}")
    return "\n".join(lines)


def main(argv=None):
    """``python -m dgm_course.masked_autoregressive [--threads N] [NAME ...]``: the table."""
    import argparse

    parser = argparse.ArgumentParser(description="Chapter 4's side-by-side table.")
    parser.add_argument("names", nargs="*", help=f"models among {list(RECIPES)}")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(format_table(benchmark(args.names or None, threads=args.threads)))


if __name__ == "__main__":
    main()
