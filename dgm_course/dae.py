r"""Chapter 8: denoising autoencoders as generative models.

A denoising autoencoder (DAE, Vincent et al. 2008) corrupts an example :math:`x` into
:math:`\tilde x \sim C(\tilde x \mid x)` and learns to undo it: it models
:math:`P_\theta(x \mid \tilde x)` and maximises :math:`\log P_\theta(x \mid \tilde x)`.
Two facts make it a generative model:

* **the score** (Vincent 2011; Alain and Bengio 2014): with Gaussian corruption of
  standard deviation :math:`\sigma` and a squared-error reconstruction :math:`r`, the
  optimal :math:`r(\tilde x) = E[x \mid \tilde x]`, and

  .. math::
      \frac{r(x) - x}{\sigma^2} = \nabla_x \log p_\sigma(x) \to \nabla_x \log p(x)
      \quad (\sigma \to 0),

  where :math:`p_\sigma` is the data density blurred by the corruption (Tweedie's formula);
* **the chain** (Bengio, Yao, Alain and Vincent 2013): alternately corrupting,
  :math:`\tilde x_t \sim C(\cdot \mid x_{t-1})`, and sampling
  :math:`x_t \sim P_\theta(\cdot \mid \tilde x_t)` is a Markov chain whose stationary
  distribution converges to the data distribution when :math:`P_\theta` is a consistent
  estimator of the true :math:`P(x \mid \tilde x)` and the chain is ergodic. **Walk-back**
  training also reconstructs :math:`x` from corruptions of the chain's own samples.

Inside, from the small parts to the whole:

* :func:`corrupt` — Gaussian noise (continuous data) and salt-and-pepper noise (binary
  data: each pixel, with probability ``noise``, replaced by a fair random bit);
* :class:`DenoisingAutoencoder` — an MLP for :math:`P_\theta(x \mid \tilde x)`: a Gaussian
  :math:`\mathcal N(r(\tilde x), s^2 I)` with a learned variance :math:`s^2` for Gaussian
  corruption, a Bernoulli for salt-and-pepper; ``reconstruct``, ``score``, ``loss``
  (walk-back included) and ``sample`` (the corrupt–sample chain);
* :class:`Recipe` and :func:`train` — through :func:`dgm_course.training.fit`.

GSNs (Bengio et al. 2014) add a latent state to the chain; they are discussed in the
chapter, not implemented here.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dgm_course import training
from dgm_course.utils import make_generator, seeded_init
from dgm_course.validation import (check_bool, check_choice, check_data, check_int,
                                   check_nonnegative, check_positive, check_probability,
                                   model_dtype)

CORRUPTIONS = ("gaussian", "salt_and_pepper")
"""Gaussian noise of standard deviation ``noise`` (continuous data), or salt-and-pepper
noise (binary data): each pixel, with probability ``noise``, set to a fair random bit."""


def corrupt(x, kind, noise, *, generator=None):
    r"""A corrupted copy :math:`\tilde x \sim C(\tilde x \mid x)` of ``x`` (shape ``(n, D)``).

    ``"gaussian"``: :math:`\tilde x = x + \sigma \epsilon`, :math:`\epsilon \sim
    \mathcal N(0, I)`, :math:`\sigma` = ``noise``. ``"salt_and_pepper"``: each entry, with
    probability ``noise``, is replaced by a bit drawn uniformly from {0, 1} (so it changes
    with probability ``noise / 2``); ``x`` must be binary. ``x`` is left unchanged; the
    random numbers come from ``generator`` (for salt-and-pepper, first the mask, then the
    bits).
    """
    kind = check_choice(kind, "kind", CORRUPTIONS)
    gen = make_generator(generator)
    if kind == "gaussian":
        sigma = check_positive(noise, "noise")
        x = check_data(x, "x")  # floating inputs keep their dtype
        return x + sigma * torch.randn(x.shape, generator=gen, dtype=x.dtype)
    p = check_probability(noise, "noise")
    x = check_data(x, "x", support="binary")
    mask = torch.rand(x.shape, generator=gen, dtype=x.dtype) < p  # (n, D): pixels to replace
    bits = (torch.rand(x.shape, generator=gen, dtype=x.dtype) < 0.5).to(x.dtype)
    return torch.where(mask, bits, x)


def _mlp(n_in, n_hidden, n_out, n_layers):
    layers, width = [], n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, n_hidden), nn.ReLU()]
        width = n_hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class DenoisingAutoencoder(nn.Module):
    r"""A denoising autoencoder: a corruption :math:`C(\tilde x \mid x)` and a learned
    :math:`P_\theta(x \mid \tilde x)`.

    * ``corruption="gaussian"`` (continuous data): :math:`\tilde x = x + \sigma\epsilon`
      and :math:`P_\theta(x \mid \tilde x) = \mathcal N(x;\, r(\tilde x),\, s^2 I)`, with
      :math:`r(\tilde x) = \tilde x + f_\theta(\tilde x)` (an MLP learns the correction) and
      one learned :math:`\log s`. Its mean :math:`r` minimises the squared error
      :math:`\lVert r(\tilde x) - x \rVert^2`, so :meth:`score` estimates
      :math:`\nabla \log p` (eq. ``dae-score`` of the chapter).
    * ``corruption="salt_and_pepper"`` (binary data): :math:`P_\theta(x \mid \tilde x) =
      \prod_d \mathrm{Bernoulli}(x_d;\, \sigma(\ell_d(\tilde x)))`, logits from an MLP.

    Parameters
    ----------
    n_features : int
        Dimension :math:`D` of the data (2 for the toys, 64 for the digits).
    corruption : {"gaussian", "salt_and_pepper"}
    noise : float
        The corruption's level: :math:`\sigma` (Gaussian) or the probability of replacing
        a pixel (salt-and-pepper).
    n_hidden, n_layers : int
        Width and number of hidden (ReLU) layers of the MLP.
    generator : int or torch.Generator, optional
        Seeds the initial weights.
    """

    def __init__(self, n_features, *, corruption="gaussian", noise=0.1, n_hidden=128,
                 n_layers=2, generator=None):
        super().__init__()
        self.n_features = check_int(n_features, "n_features", 1)
        self.corruption = check_choice(corruption, "corruption", CORRUPTIONS)
        if corruption == "gaussian":
            self.noise = check_positive(noise, "noise")
        else:
            self.noise = check_probability(noise, "noise")
        check_int(n_hidden, "n_hidden", 1)
        check_int(n_layers, "n_layers", 0)
        self.net = _mlp(self.n_features, n_hidden, self.n_features, n_layers)
        seeded_init(self.net, generator)
        if corruption == "gaussian":  # log s of P(x | x~) = N(r(x~), s^2 I), from s = noise
            self.log_s = nn.Parameter(torch.tensor(math.log(self.noise)))
        self.binary = corruption == "salt_and_pepper"

    @property
    def s(self):
        """The standard deviation :math:`s` of the Gaussian :math:`P_\\theta(x \\mid \\tilde x)`
        (a float; Gaussian corruption only)."""
        if self.binary:
            raise ValueError("s needs Gaussian corruption, got corruption='salt_and_pepper'")
        return float(self.log_s.detach().exp())

    def extra_repr(self):
        return f"corruption={self.corruption!r}, noise={self.noise:g}"

    def _check(self, x, name="x"):
        return check_data(x, name, n_features=self.n_features, dtype=model_dtype(self),
                          support="binary" if self.binary else "real")

    def corrupt(self, x, *, generator=None):
        r""":math:`\tilde x \sim C(\tilde x \mid x)`, shape ``(n, D)`` (see :func:`corrupt`)."""
        return corrupt(self._check(x), self.corruption, self.noise, generator=generator)

    def forward(self, x_tilde):
        """The parameters of :math:`P_\\theta(x \\mid \\tilde x)` for ``x_tilde`` (n, D), differentiable:
        the mean :math:`r(\\tilde x)` (Gaussian) or the logits (Bernoulli), shape (n, D)."""
        out = self.net(x_tilde)
        return x_tilde + out if not self.binary else out

    def reconstruct(self, x_tilde):
        r"""The mean of :math:`P_\theta(x \mid \tilde x)`: :math:`r(\tilde x)`, or the
        Bernoulli probabilities; shape ``(n, D)``, no gradient. Any real input is allowed
        (the chain and :meth:`score` evaluate it off the data)."""
        x_tilde = check_data(x_tilde, "x_tilde", n_features=self.n_features,
                             dtype=model_dtype(self))
        with torch.no_grad():
            out = self(x_tilde)
        return torch.sigmoid(out) if self.binary else out

    def score(self, x):
        r"""The DAE's estimate of the score, :math:`(r(x) - x) / \sigma^2`, shape ``(n, D)``
        (Gaussian corruption only; no gradient). It estimates :math:`\nabla \log p_\sigma`,
        the score of the data blurred by the corruption, and :math:`\nabla \log p` as
        :math:`\sigma \to 0` (Alain and Bengio 2014)."""
        if self.binary:
            raise ValueError("score needs Gaussian corruption, got corruption='salt_and_pepper'")
        x = self._check(x)
        return (self.reconstruct(x) - x) / self.noise**2

    def nll(self, x, x_tilde):
        r""":math:`-\log P_\theta(x \mid \tilde x)` per example, nats summed over the
        features, shape ``(n,)``, differentiable."""
        out = self(x_tilde)
        if self.binary:
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(1)
        s2 = torch.exp(2 * self.log_s)
        return (0.5 * ((x - out) ** 2).sum(1) / s2
                + self.n_features * (self.log_s + 0.5 * math.log(2 * math.pi)))

    def _sample_given(self, x_tilde, gen):
        """One draw from :math:`P_\\theta(x \\mid \\tilde x)` (no gradient)."""
        with torch.no_grad():
            out = self(x_tilde)
            if self.binary:
                return torch.bernoulli(torch.sigmoid(out), generator=gen)
            return out + torch.exp(self.log_s) * torch.randn(out.shape, generator=gen,
                                                            dtype=out.dtype)

    def loss(self, x, *, walkback=0, generator=None):
        r"""The DAE's training loss: the mean over the batch of
        :math:`-\log P_\theta(x \mid \tilde x)`, :math:`\tilde x \sim C(\cdot \mid x)`, in
        nats per example.

        With ``walkback = k > 0`` (Bengio et al. 2013), the chain is also walked ``k``
        steps from each :math:`x` — :math:`x^*_j \sim P_\theta(\cdot \mid \tilde x_j)`,
        :math:`\tilde x_{j+1} \sim C(\cdot \mid x^*_j)` — and :math:`x` is reconstructed
        from every :math:`\tilde x_j`; the loss is the mean over the :math:`k + 1`
        reconstructions. Differentiable (the walk itself is not: its samples are constants).
        """
        x = self._check(x)
        walkback = check_int(walkback, "walkback")
        gen = make_generator(generator)
        x_tilde = corrupt(x, self.corruption, self.noise, generator=gen)  # (n, D)
        losses = [self.nll(x, x_tilde).mean()]
        for _ in range(walkback):
            x_star = self._sample_given(x_tilde, gen)
            x_tilde = corrupt(x_star, self.corruption, self.noise, generator=gen)
            losses.append(self.nll(x, x_tilde).mean())
        return torch.stack(losses).mean()

    def sample(self, n, *, n_steps=100, generator=None, start=None, return_chain=False,
               return_mean=False):
        r"""``n`` samples from the corrupt–sample chain (Bengio et al. 2013), shape ``(n, D)``.

        Each step draws :math:`\tilde x_t \sim C(\cdot \mid x_{t-1})`, then
        :math:`x_t \sim P_\theta(\cdot \mid \tilde x_t)`. The chains start from ``start``
        (shape ``(n, D)``) or, by default, from noise: fair random bits (binary) or
        :math:`\mathcal N(0, I)`.

        Parameters
        ----------
        n : int
        n_steps : int
            Steps of the chain (0 returns the start).
        generator : int or torch.Generator, optional
        start : array of shape (n, D), optional
        return_chain : bool
            Return every state, shape ``(n_steps + 1, n, D)`` (index 0: the start).
        return_mean : bool
            Replace each :math:`x_t` returned (not the one the chain continues from) by the
            mean of :math:`P_\theta(\cdot \mid \tilde x_t)`: smoother pictures of digits.
        """
        n = check_int(n, "n")
        n_steps = check_int(n_steps, "n_steps")
        check_bool(return_chain, "return_chain")
        check_bool(return_mean, "return_mean")
        gen, dtype = make_generator(generator), model_dtype(self)
        if start is None:
            if self.binary:
                x = (torch.rand(n, self.n_features, generator=gen, dtype=dtype) < 0.5).to(dtype)
            else:
                x = torch.randn(n, self.n_features, generator=gen, dtype=dtype)
        else:
            x = self._check(start, "start")
            if x.shape[0] != n:
                raise ValueError(f"start must have n={n} rows, got {x.shape[0]}")
        chain = [x]
        for _ in range(n_steps):
            x_tilde = corrupt(x, self.corruption, self.noise, generator=gen)
            x = self._sample_given(x_tilde, gen)
            chain.append(self.reconstruct(x_tilde) if return_mean else x)
        return torch.stack(chain) if return_chain else chain[-1]


# ---------------------------------------------------------------------------------------
# Training


@dataclass
class Recipe:
    """How to train a DAE (the chapter's hyper-parameter cell in one object)."""

    n_steps: int = 2000  # gradient updates
    batch_size: int = 256  # examples per update
    lr: float = 2e-3  # Adam's learning rate, decayed linearly to final_lr * lr
    final_lr: float = 0.05
    walkback: int = 0  # extra reconstructions along the chain (0: the plain DAE)
    weight_decay: float = 0.0  # Adam's L2 penalty

    def __post_init__(self):
        check_int(self.n_steps, "n_steps", 1)
        check_int(self.batch_size, "batch_size", 1)
        check_positive(self.lr, "lr")
        check_positive(self.final_lr, "final_lr")
        check_int(self.walkback, "walkback")
        check_nonnegative(self.weight_decay, "weight_decay")


def train(dae, x, recipe=None, *, generator=None, progress=True):
    """Train ``dae`` on the rows of ``x`` (shape ``(n, D)``) by minimising
    :meth:`DenoisingAutoencoder.loss` with Adam through :func:`dgm_course.training.fit`:
    ``recipe.n_steps`` updates on shuffled minibatches (fresh corruption every time, drawn
    from the loop's generator). Returns the :class:`~dgm_course.training.History`
    (metric ``"loss"``, nats per example)."""
    if not isinstance(dae, DenoisingAutoencoder):
        raise ValueError(f"dae must be a DenoisingAutoencoder, got {type(dae).__name__}")
    recipe = Recipe() if recipe is None else recipe
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    x = dae._check(x)
    if x.shape[0] == 0:
        raise ValueError("x must hold at least 1 example(s), got 0")
    opt = torch.optim.Adam(dae.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    decay = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 1 - (1 - recipe.final_lr) * min(t / recipe.n_steps, 1.0))

    def loss_fn(model, batch, ctx):
        return model.loss(batch, walkback=recipe.walkback, generator=ctx.generator)

    steps_per_epoch = math.ceil(x.shape[0] / recipe.batch_size)
    desc = "DAE" + (f" (walk-back {recipe.walkback})" if recipe.walkback else "")
    return training.fit(dae, training.loss_step(dae, loss_fn, opt), x,
                        epochs=math.ceil(recipe.n_steps / steps_per_epoch),
                        batch_size=recipe.batch_size, max_steps=recipe.n_steps,
                        schedulers=[decay], generator=generator, progress=progress, desc=desc)


def blurred(mixture, sigma):
    r"""The mixture ``mixture`` (a :class:`~dgm_course.data.GaussianMixture2D`) convolved
    with :math:`\mathcal N(0, \sigma^2 I)`: the density :math:`p_\sigma` of
    :math:`x + \sigma\epsilon`, whose score the optimal DAE's :math:`(r(x) - x)/\sigma^2`
    equals exactly."""
    from dgm_course.data import GaussianMixture2D

    sigma = check_positive(sigma, "sigma")
    if not isinstance(mixture, GaussianMixture2D):
        raise ValueError(f"mixture must be a GaussianMixture2D, got {type(mixture).__name__}")
    return GaussianMixture2D(mixture.means, torch.sqrt(mixture.stds**2 + sigma**2),
                             mixture.weights, name=f"{mixture.name}, blurred by {sigma:g}")
