r"""A mixture of Bernoullis, fitted by EM: the simplest latent-variable model of binary
images with an exact likelihood, and the leaderboard's baseline above independent pixels
(chapter 9).

.. math::
    P(x) = \sum_{k=1}^K \pi_k \prod_{d=1}^D \mu_{kd}^{x_d} (1 - \mu_{kd})^{1 - x_d}
    \qquad \text{(eq. eval-bernoulli-mixture)}

The sum over the K components is done exactly (a log-sum-exp), so ``log_prob`` is exact.
EM (Dempster, Laird & Rubin 1977; Bishop 2006, section 9.3.3) alternates the
responsibilities :math:`r_{nk} = P(k \mid x_n)` with the weighted averages
:math:`\pi_k = \frac1N \sum_n r_{nk}` and :math:`\mu_{kd} = (\sum_n r_{nk} x_{nd} + \alpha)
/ (\sum_n r_{nk} + 2\alpha)`: the MAP estimate under a Beta(α + 1, α + 1) prior on each
:math:`\mu_{kd}`, which keeps every probability away from 0 and 1. Each EM step never
lowers the penalised log-likelihood (the log-likelihood plus the log prior), recorded in
``objective_``.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from .utils import make_generator
from .validation import check_data, check_int, check_nonnegative, model_dtype


class BernoulliMixture(nn.Module):
    r"""A mixture of ``n_components`` products of Bernoullis over ``n_features`` pixels
    (eq. eval-bernoulli-mixture), fitted by :meth:`fit` (EM).

    ``log_prob`` is exact and runs without gradients (the parameters are fitted by EM, not
    by gradient descent). Parameters: ``log_pi`` (K,) the log mixing weights and ``logits``
    (K, D) the log-odds :math:`\log \mu_{kd} - \log(1 - \mu_{kd})`, in float64.

    >>> model = BernoulliMixture(2, 3)  # 2 pixels, 3 components
    >>> model.log_prob(torch.tensor([[0.0, 1.0]])).exp()  # uniform before fitting
    tensor([0.2500], dtype=torch.float64)
    """

    def __init__(self, n_features, n_components, *, alpha=1.0):
        super().__init__()
        self.n_features = check_int(n_features, "n_features", 1)
        self.n_components = check_int(n_components, "n_components", 1)
        self.alpha = check_nonnegative(alpha, "alpha")  # pseudo-counts of the Beta prior
        K, D = self.n_components, self.n_features
        self.log_pi = nn.Parameter(torch.full((K,), -math.log(K), dtype=torch.float64),
                                   requires_grad=False)
        self.logits = nn.Parameter(torch.zeros(K, D, dtype=torch.float64), requires_grad=False)
        self.objective_ = []  # penalised log-likelihood per example, after each EM step

    def extra_repr(self):
        return f"n_features={self.n_features}, n_components={self.n_components}"

    @property
    def n_parameters(self):
        """Free parameters: K - 1 weights and K·D pixel probabilities."""
        return self.n_components - 1 + self.n_components * self.n_features

    def _x(self, x, name="x", min_rows=0):
        return check_data(x, name, n_features=self.n_features, support="binary",
                          dtype=model_dtype(self), min_rows=min_rows)

    def _log_joint(self, x):  # (n, K): log pi_k + log P(x | k)
        log_mu, log_1m_mu = F.logsigmoid(self.logits), F.logsigmoid(-self.logits)
        return self.log_pi + x @ log_mu.T + (1 - x) @ log_1m_mu.T

    @torch.no_grad()
    def log_prob(self, x):
        """Exact log P(x) (eq. eval-bernoulli-mixture), nats per example summed over
        pixels, shape (n,); float64, no gradients."""
        return torch.logsumexp(self._log_joint(self._x(x)), dim=1)

    @torch.no_grad()
    def responsibilities(self, x):
        """P(k | x) for every example and component, shape (n, K)."""
        return torch.softmax(self._log_joint(self._x(x)), dim=1)

    def _log_prior(self):  # sum over k, d of log Beta(mu | alpha + 1, alpha + 1), unnormalised
        return self.alpha * (F.logsigmoid(self.logits) + F.logsigmoid(-self.logits)).sum()

    @torch.no_grad()
    def fit(self, x, *, n_iter=50, generator=None):
        """Fit by ``n_iter`` EM steps from responsibilities drawn at random (seeded by
        ``generator``); returns ``self``. ``objective_`` holds the penalised log-likelihood
        per example (nats) after each step; it never decreases."""
        x = self._x(x, min_rows=1)
        n_iter = check_int(n_iter, "n_iter", 1)
        gen = make_generator(generator)
        r = torch.rand(len(x), self.n_components, generator=gen, dtype=x.dtype)  # (n, K)
        r = r / r.sum(1, keepdim=True)
        self.objective_ = []
        for _ in range(n_iter):
            # M step: weighted averages, with alpha pseudo-counts for each of 0 and 1
            n_k = r.sum(0)  # (K,)
            mu = (r.T @ x + self.alpha) / (n_k[:, None] + 2 * self.alpha)  # (K, D)
            mu = mu.clamp(1e-12, 1 - 1e-12)
            self.log_pi.copy_(torch.log(n_k / len(x)).clamp(min=-1e4))
            self.logits.copy_(torch.log(mu) - torch.log1p(-mu))
            # E step: the responsibilities, and the objective they give
            log_joint = self._log_joint(x)
            r = torch.softmax(log_joint, dim=1)
            log_lik = torch.logsumexp(log_joint, dim=1).sum()
            self.objective_.append(float((log_lik + self._log_prior()) / len(x)))
        return self

    @torch.no_grad()
    def sample(self, n, *, generator=None, return_latent=False):
        """``n`` binary images (n, D): a component k ~ π, then each pixel ~ Bernoulli(μ_k).
        With ``return_latent``, also the components (n,)."""
        n = check_int(n, "n")
        gen = make_generator(generator)
        k = torch.multinomial(self.log_pi.exp(), n, replacement=True, generator=gen) \
            if n else torch.zeros(0, dtype=torch.long)
        x = torch.bernoulli(torch.sigmoid(self.logits[k]), generator=gen)
        return (x, k) if return_latent else x
