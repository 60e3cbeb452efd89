r"""Autoregressive models: the chain rule, FVSBN and NADE, and their training (chapter 4).

Every model here factorises the joint distribution by the chain rule of probability, with no
conditional independence assumed,

.. math::
    p(x) = \prod_{i=1}^{D} p(x_i \mid x_{<i}),

and parameterises each conditional so that the *whole* vector of conditionals is computed in
one pass from the image. The log-likelihood is therefore exact and cheap; sampling is
sequential: pixel :math:`i` needs the pixels before it, so drawing an image takes :math:`D`
passes.

Inside:

* :class:`AutoregressiveModel` — what every model shares: exact :meth:`~AutoregressiveModel.
  log_prob` (nats per image, summed over pixels, differentiable), sequential
  :meth:`~AutoregressiveModel.sample` with optional completion of a partially observed image,
  :meth:`~AutoregressiveModel.conditionals`, :attr:`~AutoregressiveModel.n_parameters`, and
  input validation (binary pixels for Bernoulli conditionals, integer levels
  ``0 .. levels - 1`` for categorical ones).
* :class:`FVSBN` — the fully visible sigmoid belief network (Neal 1992; Frey 1998): logistic
  conditionals, a strictly lower-triangular weight matrix, :math:`D(D+1)/2` parameters.
* :class:`NADE` — the neural autoregressive distribution estimator (Larochelle & Murray 2011):
  one hidden layer whose weights ``A`` and bias ``c`` are shared by all conditionals, computed by
  running sums in :math:`O(DH)`.
* :func:`train` — exact maximum-likelihood training through :func:`dgm_course.training.fit`.

MADE and the PixelCNN, whose networks are made autoregressive by masks, are in
:mod:`dgm_course.masked_autoregressive`.

``python -m dgm_course.autoregressive`` trains every model of the chapter on the digits and
prints the chapter's side-by-side table (:func:`dgm_course.masked_autoregressive.benchmark`).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import training
from dgm_course.utils import make_generator
from dgm_course.validation import (check_bool, check_data, check_int, check_number,
                                   model_dtype)

# ---------------------------------------------------------------------------------------
# What every autoregressive model shares


class AutoregressiveModel(nn.Module):
    r"""Base class: a model of :math:`D` discrete pixels through the chain rule.

    A subclass sets ``n_features`` (:math:`D`) and ``levels`` (2: Bernoulli conditionals on
    binary pixels; :math:`K > 2`: categorical conditionals on the integers ``0 .. K - 1``)
    and implements :meth:`logits`, which returns the parameters of *all* :math:`D`
    conditionals in one pass: shape ``(n, D)`` (log-odds of :math:`x_i = 1`) for
    ``levels == 2``, ``(n, D, K)`` (unnormalised log-probabilities) otherwise. Output
    :math:`i` may depend only on the pixels before :math:`i` in :meth:`order`.
    """

    n_features: int
    levels: int

    # --- inputs -------------------------------------------------------------------------
    def check_input(self, x, name="x"):
        """``x`` as a tensor of the model's dtype and device, shape (n, D), on the model's
        support; a ``ValueError`` naming ``name`` otherwise."""
        if self.levels == 2:
            return check_data(x, name, n_features=self.n_features, support="binary",
                              dtype=model_dtype(self), device=self._device())
        return check_data(x, name, n_features=self.n_features, support="levels",
                          levels=self.levels, dtype=model_dtype(self), device=self._device())

    def _device(self):
        for tensor in list(self.parameters()) + list(self.buffers()):
            return tensor.device
        return torch.device("cpu")

    # --- the model ----------------------------------------------------------------------
    def logits(self, x):
        """Parameters of all conditionals :math:`p(x_i \\mid x_{<i})`, from checked ``x``."""
        raise NotImplementedError

    def order(self):
        """The pixel indices in the order of the chain rule (a ``LongTensor`` of length D)."""
        return torch.arange(self.n_features)

    def conditionals(self, x):
        r"""The conditional distributions of every pixel given the pixels before it in ``x``.

        Parameters
        ----------
        x : tensor or array of shape (n, D)

        Returns
        -------
        tensor of shape (n, D) with :math:`P(x_i = 1 \mid x_{<i})` for ``levels == 2``, or of
        shape (n, D, K) with :math:`P(x_i = k \mid x_{<i})` otherwise. Not differentiable.
        """
        x = self.check_input(x)
        with torch.no_grad():
            logits = self.logits(x)
        return torch.sigmoid(logits) if self.levels == 2 else torch.softmax(logits, -1)

    def _log_prob_checked(self, x):
        logits = self.logits(x)
        if self.levels == 2:  # log sigma(a) for x = 1, log sigma(-a) for x = 0
            return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        log_p = torch.log_softmax(logits, -1)  # (n, D, K)
        return log_p.gather(-1, x.long().unsqueeze(-1)).squeeze(-1).sum(1)

    def log_prob(self, x):
        r"""Exact log-probability of each image, in nats per image summed over the pixels.

        .. math::
            \log p(x) = \sum_{i=1}^{D} \log p(x_i \mid x_{<i}).

        Parameters
        ----------
        x : tensor or array of shape (n, D)
            Binary pixels (``levels == 2``) or integer levels ``0 .. levels - 1``.

        Returns
        -------
        tensor of shape (n,), differentiable with respect to the parameters (this is the
        training objective).
        """
        return self._log_prob_checked(self.check_input(x))

    def training_loss(self, x, generator=None):
        """Mean negative log-likelihood of the checked batch ``x`` (nats per image): what
        :func:`train` minimises. Models that resample something per update (MADE's orders)
        override it and draw from ``generator``."""
        return -self._log_prob_checked(x).mean()

    @property
    def n_parameters(self):
        """The number of free parameters: weights that a mask holds at zero are not counted."""
        total = 0
        for module in self.modules():
            mask = getattr(module, "weight_mask", None)  # union of the masks of "weight"/"W"
            for name, p in module.named_parameters(recurse=False):
                masked = mask is not None and name in ("weight", "W")
                total += int(mask.count_nonzero()) if masked else p.numel()
        return total

    # --- sampling -----------------------------------------------------------------------
    def _draw(self, logits, gen):
        if self.levels == 2:
            return torch.bernoulli(torch.sigmoid(logits), generator=gen)
        return torch.multinomial(torch.softmax(logits, -1), 1, generator=gen).squeeze(-1).to(logits.dtype)

    def _sampler(self, x):
        """A function ``i -> logits of p(x_i | x_<i)`` for sampling in :meth:`order`, called
        once per pixel after the pixels before it are final in ``x`` (which it may read).
        By default one full pass of :meth:`logits` per pixel; NADE keeps running sums."""
        return lambda i: self.logits(x)[:, i]

    def sample(self, n, *, generator=None, x_observed=None, mask=None):
        r"""Draw ``n`` images pixel by pixel, :math:`x_i \sim p(x_i \mid x_{<i})` in :meth:`order`.

        Parameters
        ----------
        n : int
            Number of images (0 gives an empty batch of shape ``(0, D)``).
        generator : int or torch.Generator, optional
            A seed or a generator; the same seed gives the same images.
        x_observed : tensor or array of shape (n, D), optional
            A partially observed image to complete: pixels where ``mask`` is true are kept,
            the others are drawn. The completion is the exact conditional
            :math:`p(x_{\text{missing}} \mid x_{\text{observed}})` when every observed pixel
            comes before every missing one in :meth:`order` (e.g. the top half of a digit in
            raster order); otherwise later observed pixels are kept but not conditioned on.
        mask : tensor or array of shape (n, D) or (D,), optional
            1/True where ``x_observed`` is observed; required with ``x_observed``.

        Returns
        -------
        tensor of shape (n, D) in the model's dtype: binary pixels or integer levels.
        """
        n = check_int(n, "n")
        gen = make_generator(generator)
        dtype, device = model_dtype(self), self._device()
        x = torch.zeros(n, self.n_features, dtype=dtype, device=device)
        observed = torch.zeros(n, self.n_features, dtype=torch.bool, device=device)
        if (x_observed is None) != (mask is None):
            raise ValueError("x_observed and mask must be given together, got "
                             f"x_observed={'None' if x_observed is None else 'an array'} and "
                             f"mask={'None' if mask is None else 'an array'}")
        if x_observed is not None:
            observed = self._check_mask(mask, n)
            x = self.check_input(x_observed, "x_observed")
            if x.shape[0] != n:
                raise ValueError(f"x_observed must have n = {n} rows, got {x.shape[0]}")
            x = torch.where(observed, x, torch.zeros_like(x))
        was_training = self.training
        self.eval()
        with torch.no_grad():
            next_logits = self._sampler(x)
            for i in self.order().tolist():
                if n == 0:
                    break
                draw = self._draw(next_logits(i), gen)
                x[:, i] = torch.where(observed[:, i], x[:, i], draw)
        self.train(was_training)
        return x

    def _check_mask(self, mask, n):
        m = check_data(mask, "mask", ndim=None, support="binary", device=self._device())
        if m.dim() == 1:
            if m.shape[0] != self.n_features:
                raise ValueError(f"mask must have shape ({self.n_features},) or (n, "
                                 f"{self.n_features}), got {tuple(m.shape)}")
            m = m.expand(n, -1)
        elif tuple(m.shape) != (n, self.n_features):
            raise ValueError(f"mask must have shape ({self.n_features},) or ({n}, "
                             f"{self.n_features}), got {tuple(m.shape)}")
        return m.bool()


# ---------------------------------------------------------------------------------------
# FVSBN: one logistic regression per pixel


class FVSBN(AutoregressiveModel):
    r"""Fully visible sigmoid belief network: logistic conditionals on all earlier pixels.

    .. math::
        p(x_i = 1 \mid x_{<i}) = \sigma\Big(b_i + \sum_{j<i} W_{ij} x_j\Big),
        \qquad a = b + W x,

    with ``W`` of shape (D, D) strictly lower triangular (row :math:`i` is
    :math:`w^{(i)}`, the weights of conditional :math:`i`), so all :math:`D` conditionals come
    from one matrix product. Free parameters: :math:`D(D-1)/2` weights and :math:`D` biases,
    :math:`1 + 2 + \dots + D = D(D+1)/2` in all (Neal 1992; Frey 1998).

    Parameters
    ----------
    d : int
        Number of binary pixels :math:`D`.

    Examples
    --------
    >>> FVSBN(3).n_parameters  # 1 + 2 + 3
    6
    """

    def __init__(self, d):
        super().__init__()
        self.n_features, self.levels = check_int(d, "d", minimum=1), 2
        self.W = nn.Parameter(torch.zeros(d, d))  # (D, D), only the strict lower part is used
        self.b = nn.Parameter(torch.zeros(d))  # (D,)
        self.register_buffer("weight_mask", torch.ones(d, d).tril(-1))

    def extra_repr(self):
        return f"d={self.n_features}"

    def logits(self, x):
        """Log-odds :math:`b + W x` of all conditionals: (n, D)."""
        return self.b + x @ (self.W * self.weight_mask).T


# ---------------------------------------------------------------------------------------
# NADE: shared hidden weights, running sums


class NADE(AutoregressiveModel):
    r"""Neural autoregressive distribution estimator (Larochelle & Murray 2011).

    Conditional :math:`i` is a one-hidden-layer network of the earlier pixels whose input
    weights ``A`` and hidden bias ``c`` are *shared* by every conditional:

    .. math::
        h_i = \sigma\Big(c + \sum_{k<i} x_k A_k\Big), \qquad
        p(x_i = 1 \mid x_{<i}) = \sigma(b_i + V_i \cdot h_i),

    with ``A`` and ``V`` of shape (D, H) (row :math:`k` of ``A``: what pixel :math:`k` adds
    to the hidden pre-activation; row :math:`i` of ``V``: the output weights of conditional
    :math:`i`), ``c`` (H,), ``b`` (D,). Because of the sharing, the pre-activations obey
    :math:`a_1 = c`, :math:`a_{i+1} = a_i + x_i A_i`: all :math:`D` hidden layers cost
    :math:`O(DH)` instead of :math:`O(D^2 H)` for :math:`D` separate networks, and the model
    has :math:`2DH + D + H` parameters.

    Parameters
    ----------
    d : int
        Number of binary pixels :math:`D`.
    h : int
        Number of hidden units :math:`H`.
    generator : int or torch.Generator, optional
        Seeds the initial weights (uniform in :math:`\pm 1/\sqrt{D}` and :math:`\pm 1/\sqrt{H}`).

    Examples
    --------
    >>> NADE(64, 50).n_parameters  # 2 * 64 * 50 + 64 + 50
    6514
    """

    def __init__(self, d, h, *, generator=None):
        super().__init__()
        self.n_features, self.levels = check_int(d, "d", minimum=1), 2
        self.n_hidden = h = check_int(h, "h", minimum=1)
        gen = make_generator(generator)
        self.A = nn.Parameter((torch.rand(d, h, generator=gen) * 2 - 1) / math.sqrt(d))  # (D, H)
        self.c = nn.Parameter(torch.zeros(h))  # (H,)
        self.V = nn.Parameter((torch.rand(d, h, generator=gen) * 2 - 1) / math.sqrt(h))  # (D, H)
        self.b = nn.Parameter(torch.zeros(d))  # (D,)

    def extra_repr(self):
        return f"d={self.n_features}, h={self.n_hidden}"

    def hidden(self, x):
        r"""The hidden layers :math:`h_i` of all conditionals, by running sums: (n, D, H).

        :math:`a_i = c + \sum_{k<i} x_k A_k` is an exclusive cumulative sum over :math:`k`.
        """
        contributions = x.unsqueeze(-1) * self.A  # (n, D, H): x_k A_k
        running = torch.cumsum(contributions, dim=1)[:, :-1]  # (n, D - 1, H): sum_{k <= i}
        a = torch.cat([torch.zeros_like(contributions[:, :1]), running], dim=1) + self.c
        return torch.sigmoid(a)  # (n, D, H)

    def logits(self, x):
        """Log-odds :math:`b_i + V_i \\cdot h_i` of all conditionals: (n, D)."""
        return self.b + (self.hidden(x) * self.V).sum(-1)

    def _sampler(self, x):
        # the running pre-activation a_i, updated with the pixel drawn last: O(H) per pixel
        state = {"a": self.c.expand(x.shape[0], -1).clone(), "next": 0}

        def next_logits(i):
            for k in range(state["next"], i):
                state["a"] += x[:, k:k + 1] * self.A[k]
            state["next"] = i
            return self.b[i] + torch.sigmoid(state["a"]) @ self.V[i]

        return next_logits


# ---------------------------------------------------------------------------------------
# Training by exact maximum likelihood


def train(model, x, *, x_val=None, epochs=20, batch_size=64, lr=1e-3, weight_decay=0.0,
          max_norm=None, cosine=True, generator=None, progress=True, desc="training"):
    r"""Fit an autoregressive model by exact maximum likelihood with Adam.

    Minimises the mean negative log-likelihood :math:`-\frac1n \sum \log p(x)` through the
    course's one loop (:func:`dgm_course.training.fit`); the learning rate follows a cosine
    decay to 0 over the updates when ``cosine``. With ``x_val``, the validation NLL is
    recorded after every epoch as ``"val_nll"`` and the model keeps the parameters of its
    best epoch (early stopping's model selection).

    Parameters
    ----------
    model : AutoregressiveModel
    x, x_val : tensor or array of shape (n, D)
        Training and validation images on the model's support.
    epochs, batch_size : int
    lr : float
        Adam's initial learning rate (> 0).
    weight_decay : float
        Adam's L2 penalty (>= 0).
    max_norm : float, optional
        Clip the gradient norm to this value.
    generator : int or torch.Generator, optional
        Seeds the minibatches and everything random in the updates.

    Returns
    -------
    dgm_course.training.History
        ``history["loss"]``: training NLL per epoch (nats per image); ``history["val_nll"]``.
    """
    if not isinstance(model, AutoregressiveModel):
        raise ValueError(f"model must be an AutoregressiveModel, got {type(model).__name__}")
    x = model.check_input(x, "x")
    x_val = None if x_val is None else model.check_input(x_val, "x_val")
    lr = check_number(lr, "lr", minimum=0, strict=True, expected="a positive number")
    weight_decay = check_number(weight_decay, "weight_decay", minimum=0,
                                expected="a non-negative number")
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_bool(cosine, "cosine")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    total = epochs * math.ceil(x.shape[0] / batch_size)
    schedulers = ()
    if cosine:
        schedulers = (torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))),)
    step = training.loss_step(
        model, lambda m, batch, ctx: m.training_loss(batch, ctx.generator), optimizer,
        max_norm=max_norm)
    validate = monitor = None
    if x_val is not None:
        def validate(m):
            return {"val_nll": training.evaluate(lambda b: -m.log_prob(b).mean(), x_val)}
        monitor = "val_nll"
    return training.fit(model, step, x, epochs=epochs, batch_size=batch_size,
                        schedulers=schedulers, validate=validate, monitor=monitor,
                        generator=generator, progress=progress, desc=desc)


if __name__ == "__main__":  # python -m dgm_course.autoregressive: the chapter's table
    from dgm_course.masked_autoregressive import main

    main()
