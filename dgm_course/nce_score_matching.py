r"""Chapter 2: fitting an energy-based model without its partition function.

Maximum likelihood needs :math:`\log Z_\theta` or, for its gradient, samples of the model.
Two estimators need neither:

* **score matching** (Hyvärinen 2005) fits the model's score :math:`\nabla_x \log p_\theta`,
  in which :math:`Z_\theta` does not appear, to the data's; after an integration by parts
  the data's unknown score drops out too (:func:`score_matching_loss`);
* **noise-contrastive estimation** (Gutmann and Hyvärinen 2010) trains the model, with
  :math:`\log Z` as one more free parameter, to tell the data from samples of a known noise
  distribution by logistic regression (:func:`nce_loss`); it estimates :math:`\log Z` on the
  way.

:class:`RingEnergy` is a family of energies with a known answer on which to compare them
with maximum likelihood: its :math:`\log Z` is a closed form and it can be sampled exactly.
:func:`fit_energy` fits a model by any of the three through :func:`dgm_course.training.fit`.
Score matching is also the bridge to chapter 8: a denoising autoencoder does score matching
(Vincent 2011).
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from dgm_course.training import fit
from dgm_course.utils import make_generator
from dgm_course.validation import (check_choice, check_data, check_int, check_number,
                                   check_positive, model_dtype)

__all__ = ["score_matching_loss", "nce_loss", "RingEnergy", "fit_energy"]

METHODS = ("ml", "score_matching", "nce")


def score_matching_loss(log_density, x):
    r"""Hyvärinen's score-matching objective of an unnormalised log-density at the rows of
    ``x`` (shape (n, D)): a differentiable 0-d tensor.

    .. math:: J(\theta) = \frac1n \sum_{t=1}^n \sum_{i=1}^D \Big[
              \partial_i^2 \log \tilde p_\theta(x_t)
              + \tfrac12 \big(\partial_i \log \tilde p_\theta(x_t)\big)^2 \Big],

    where :math:`\partial_i = \partial / \partial x_i`. In expectation over the data it equals
    :math:`\tfrac12 \mathbb E \|\nabla_x \log p_\theta(x) - \nabla_x \log p_{\text{data}}(x)\|^2`
    up to a constant that does not depend on :math:`\theta` (integrate the cross term by
    parts), and :math:`Z_\theta` drops out of both because
    :math:`\nabla_x \log Z_\theta = 0` (chapter 2, eq. ``ebm-score-matching``).

    Parameters
    ----------
    log_density : callable
        Maps (n, D) to (n,): :math:`\log \tilde p_\theta` up to a constant, for example
        ``lambda x: -model.energy(x)``; twice differentiable in ``x``.
    x : tensor or array of shape (n, D)
        Data (converted to a floating tensor, its dtype kept).

    The Laplacian is computed exactly, one autograd pass per dimension, which suits the
    low-dimensional problems of the chapter.
    """
    if not callable(log_density):
        raise ValueError(f"log_density must be a function of x (n, D) -> (n,), got "
                         f"{type(log_density).__name__}")
    x = check_data(x, "x", min_rows=1).detach().requires_grad_(True)
    with torch.enable_grad():
        score = torch.autograd.grad(log_density(x).sum(), x, create_graph=True)[0]  # (n, D)
        laplacian = sum(torch.autograd.grad(score[:, i].sum(), x, create_graph=True)[0][:, i]
                        for i in range(x.shape[1]))  # (n,)
        return (laplacian + 0.5 * (score ** 2).sum(1)).mean()


def nce_loss(log_model, data, noise, log_noise):
    r"""The noise-contrastive estimation loss: a differentiable 0-d tensor.

    With :math:`T` data points :math:`x_t`, :math:`\nu T` noise points :math:`y_s` drawn from
    a density :math:`p_n`, and the log-ratio

    .. math:: G(u) = \log p_m(u) - \log p_n(u) - \log \nu,
              \qquad \log p_m(u) = -E_\theta(u) - c,

    (:math:`c` a free parameter that estimates :math:`\log Z_\theta`), the loss is the
    logistic-regression loss of telling data (label 1) from noise (label 0) with
    :math:`\sigma(G)` as the probability of "data", per data point:

    .. math:: \mathcal L(\theta, c) = -\frac1T \Big[\sum_t \log \sigma(G(x_t))
              + \sum_s \log\big(1 - \sigma(G(y_s))\big)\Big]

    (Gutmann and Hyvärinen 2010; chapter 2, eq. ``ebm-nce``). The best classifier has
    :math:`G = \log p_{\text{data}} - \log \nu p_n`, so if the model family contains the data
    distribution its minimiser has :math:`p_m = p_{\text{data}}`, normalised:
    :math:`c \to \log Z_\theta`.

    Parameters
    ----------
    log_model : callable
        Maps (n, D) to (n,): :math:`\log p_m`, the model's log-density *including* the
        estimate of :math:`-\log Z`.
    data : tensor or array of shape (T, D)
    noise : tensor or array of shape (ν T, D)
        Samples of the noise distribution; :math:`\nu` is ``len(noise) / len(data)``.
    log_noise : callable
        Maps (n, D) to (n,): the exact, normalised :math:`\log p_n`.
    """
    for name, f in (("log_model", log_model), ("log_noise", log_noise)):
        if not callable(f):
            raise ValueError(f"{name} must be a function of x (n, D) -> (n,), got "
                             f"{type(f).__name__}")
    data = check_data(data, "data", min_rows=1)
    noise = check_data(noise, "noise", n_features=data.shape[1], min_rows=1)
    log_nu = math.log(noise.shape[0] / data.shape[0])
    g_data = log_model(data) - log_noise(data) - log_nu  # (T,)
    g_noise = log_model(noise) - log_noise(noise) - log_nu  # (nu T,)
    return -(F.logsigmoid(g_data).sum() + F.logsigmoid(-g_noise).sum()) / data.shape[0]


class RingEnergy(nn.Module):
    r"""A ring-shaped energy on the plane with a closed-form partition function:

    .. math:: E_\theta(x) = \frac a4 \|x\|^4 - \frac b2 \|x\|^2, \qquad a > 0,

    a "Mexican hat" whose density peaks on the circle :math:`\|x\| = \sqrt{b / a}` (for
    :math:`b > 0`). It is an exponential family in :math:`\theta = (a, b)`. With
    :math:`u = \|x\|^2`, :math:`Z_\theta = \pi \int_0^\infty e^{-a u^2/4 + b u/2} du`, a
    Gaussian integral over a half-line:

    .. math:: \log Z_\theta = \log \pi + \frac{b^2}{4a} + \frac12 \log \frac{4\pi}{a}
              + \log \Phi\Big(\frac{b}{\sqrt{2a}}\Big),

    with :math:`\Phi` the standard normal distribution function; and :math:`u` is a normal
    variable of mean :math:`b/a` and variance :math:`2/a` truncated to :math:`u \ge 0`, with
    a uniform angle, which :meth:`sample` draws exactly. The parameters are ``log_a`` and
    ``b``, 0-d float64 tensors.

    Examples
    --------
    >>> ring = RingEnergy(a=1.0, b=4.0)  # radius sqrt(b / a) = 2
    >>> round(float(ring.log_partition().detach()), 4)
    6.4079
    >>> x = ring.sample(100_000, generator=0)
    >>> round(float((x ** 2).sum(1).mean()), 1)  # E|x|^2, near b / a
    4.0
    """

    def __init__(self, a=1.0, b=0.0):
        super().__init__()
        a = check_positive(a, "a")
        self.log_a = nn.Parameter(torch.tensor(math.log(a), dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(check_number(b, "b"), dtype=torch.float64))

    @property
    def a(self):
        r""":math:`a = e^{\log a}`, a 0-d tensor: stored as its logarithm, so that every
        value of the parameters is a density."""
        return self.log_a.exp()

    def extra_repr(self):
        return f"a={float(self.a):.4g}, b={float(self.b):.4g}"

    def energy(self, x):
        """:math:`E_\\theta(x)` of each row of ``x`` (shape (n, 2), converted to float64):
        shape (n,), differentiable in ``x`` and in the parameters."""
        u = (check_data(x, "x", n_features=2, dtype=model_dtype(self)) ** 2).sum(1)
        return self.a * u ** 2 / 4 - self.b * u / 2

    def log_partition(self):
        r""":math:`\log Z_\theta` in closed form (the class docstring): a differentiable
        0-d float64 tensor."""
        a, b = self.a, self.b
        return (math.log(math.pi) + b ** 2 / (4 * a) + 0.5 * torch.log(4 * math.pi / a)
                + torch.special.log_ndtr(b / torch.sqrt(2 * a)))

    def log_prob(self, x):
        """Exact log-density of each row of ``x`` (shape (n, 2)), in nats per example: shape
        (n,), float64, differentiable in ``x`` and in the parameters."""
        return -self.energy(x) - self.log_partition()

    def sample(self, n, *, generator=None):
        """``n`` exact samples, shape (n, 2), float64: :math:`u = \\|x\\|^2` from its
        truncated normal by the inverse distribution function, the angle uniform."""
        n = check_int(n, "n")
        gen = make_generator(generator)
        with torch.no_grad():
            a, b = self.a, self.b
            mean, std = b / a, torch.sqrt(2 / a)
            low = torch.special.ndtr(-mean / std)  # P(u < 0) before truncation
            p = low + (1 - low) * torch.rand(n, generator=gen, dtype=torch.float64)
            u = (mean + std * torch.special.ndtri(p)).clamp(min=0)
            angle = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
            return torch.sqrt(u)[:, None] * torch.stack([angle.cos(), angle.sin()], 1)


def fit_energy(model, data, *, method="ml", nu=10, n_rounds=10, max_iter=20,
               generator=None, progress=False):
    r"""Fit ``model`` to the rows of ``data`` by maximum likelihood, score matching or
    noise-contrastive estimation, with full-batch L-BFGS through
    :func:`dgm_course.training.fit` (each of the ``n_rounds`` updates runs up to
    ``max_iter`` L-BFGS iterations with a strong-Wolfe line search).

    Parameters
    ----------
    model : torch.nn.Module
        Has ``energy(x)`` (differentiable in ``x`` twice, for score matching) and, for
        ``"ml"``, a differentiable ``log_prob(x)`` (e.g. :class:`RingEnergy`).
    data : tensor or array of shape (n, D)
    method : {"ml", "score_matching", "nce"}
        ``"ml"`` minimises :math:`-\frac1n \sum_t \log p_\theta(x_t)`;
        ``"score_matching"`` minimises :func:`score_matching_loss` of :math:`-E_\theta`;
        ``"nce"`` minimises :func:`nce_loss` over :math:`\theta` and :math:`c`, with
        ``nu * n`` noise points drawn once from the Gaussian with the data's mean and
        covariance (a noise close to the data, as Gutmann and Hyvärinen advise).
    nu : int
        Noise points per data point (NCE only).
    generator : int or torch.Generator, optional
        Seeds the noise sample (NCE; the other two methods are deterministic).

    Returns
    -------
    History
        ``history.steps["loss"]``: the objective after each round. For NCE,
        ``history.steps["log_z"]`` holds :math:`c` and ``model.nce_log_partition_`` its
        final value, the estimate of :math:`\log Z_\theta` (a 0-d tensor).
    """
    method = check_choice(method, "method", METHODS)
    dtype = model_dtype(model)
    data = check_data(data, "data", dtype=dtype, min_rows=2)
    nu = check_int(nu, "nu", 1)
    n_rounds = check_int(n_rounds, "n_rounds", 1)
    max_iter = check_int(max_iter, "max_iter", 1)
    gen = make_generator(generator)
    params = [p for p in model.parameters() if p.requires_grad]
    extra = {}
    if method == "ml":
        def objective():
            return -model.log_prob(data).mean()
    elif method == "score_matching":
        def objective():
            return score_matching_loss(lambda x: -model.energy(x), data)
    else:
        mean, cov = data.mean(0), torch.cov(data.T).reshape(data.shape[1], -1)
        noise_dist = torch.distributions.MultivariateNormal(mean, cov)
        eps = torch.randn(nu * data.shape[0], data.shape[1], generator=gen, dtype=dtype)
        noise = mean + eps @ noise_dist.scale_tril.T  # (nu n, D)
        log_z = nn.Parameter(torch.zeros((), dtype=dtype))
        params.append(log_z)
        extra["log_z"] = log_z

        def objective():
            return nce_loss(lambda x: -model.energy(x) - log_z, data, noise,
                            noise_dist.log_prob)
    optimizer = torch.optim.LBFGS(params, lr=1, max_iter=max_iter, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    def step(batch, ctx):
        optimizer.step(closure)
        with torch.enable_grad():
            metrics = {"loss": objective().detach()}
        metrics.update({k: v.detach() for k, v in extra.items()})
        return metrics

    history = fit(model, step, data, epochs=n_rounds, batch_size=None, generator=gen,
                  progress=progress, desc=method)
    if "log_z" in extra:
        model.nce_log_partition_ = extra["log_z"].detach().clone()
    return history
