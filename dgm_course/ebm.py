r"""Chapter 2, energy-based models: the chapter's models and how they are trained.

An energy-based model gives probability :math:`P(x) = e^{-E(x)}/Z`. The chapter has two:

* the fully connected **Boltzmann machine** over binary units, small enough to enumerate
  (:class:`BoltzmannMachine` and its exact and Monte Carlo gradients, defined in
  :mod:`dgm_course.boltzmann`), trained here by :func:`fit_boltzmann` with the exact
  gradient, persistent Gibbs chains or pseudo-likelihood;
* a **neural energy on the plane**, :class:`EnergyMLP`, trained by :func:`fit_ebm` with
  short-run Langevin negatives (defined in :mod:`dgm_course.energy_mlp`);
* a **ring-shaped energy with a closed-form** :math:`\log Z`, :class:`RingEnergy`, on which
  :func:`fit_energy` compares maximum likelihood with score matching
  (:func:`score_matching_loss`) and noise-contrastive estimation (:func:`nce_loss`),
  defined in :mod:`dgm_course.nce_score_matching`.

Both train through the course's one loop, :func:`dgm_course.training.fit`, with the step
functions :func:`boltzmann_step` and :func:`energy_mlp_step`. The samplers (Langevin, MALA)
are in :mod:`dgm_course.mcmc`; the measures of a sample in :mod:`dgm_course.evaluation`.
"""
import torch

from dgm_course.boltzmann import (PARAMETER_NAMES, BoltzmannMachine, exact_gradient,
                                  gradient_distance, mcmc_gradient, negative_phase,
                                  positive_phase, pseudo_log_likelihood, sufficient_statistics)
from dgm_course.energy_mlp import EnergyMLP, energy_mlp_step, fit_ebm
from dgm_course.nce_score_matching import (RingEnergy, fit_energy, nce_loss,
                                           score_matching_loss)
from dgm_course.training import fit
from dgm_course.utils import make_generator
from dgm_course.validation import (check_choice, check_data, check_int, check_nonnegative,
                                   check_positive, model_dtype)

__all__ = ["PARAMETER_NAMES", "BoltzmannMachine", "sufficient_statistics", "positive_phase",
           "negative_phase", "exact_gradient", "gradient_distance", "mcmc_gradient",
           "pseudo_log_likelihood", "boltzmann_step", "fit_boltzmann", "EnergyMLP",
           "energy_mlp_step", "fit_ebm", "RingEnergy", "fit_energy", "nce_loss",
           "score_matching_loss"]

METHODS = ("exact", "mcmc", "pseudo_likelihood")


# ---------------------------------------------------------------------------------------
# Training: a step function for dgm_course.training.fit


def boltzmann_step(model, optimizer, *, method="exact", chains=None, n_gibbs_steps=1):
    r"""The step function of :func:`dgm_course.training.fit` for a Boltzmann machine.

    ``method="exact"`` and ``"mcmc"`` set each parameter's gradient to minus the
    log-likelihood gradient (the exact one, or the one whose negative phase averages over
    the persistent ``chains``, shape (n_chains, n_units), advanced ``n_gibbs_steps`` sweeps
    per update with ``ctx.generator``), and take an optimiser step; they record the norm of
    that gradient as ``"gradient_norm"``. ``"pseudo_likelihood"`` minimises the mean negative
    pseudo-log-likelihood by autograd and records it as ``"neg_pseudo_log_likelihood"``.
    The chains in use are ``step.chains``.
    """
    method = check_choice(method, "method", METHODS)
    n_gibbs_steps = check_int(n_gibbs_steps, "n_gibbs_steps")
    if method == "pseudo_likelihood" and model.n_hidden:
        raise ValueError(f"pseudo_likelihood training needs a fully visible machine "
                         f"(n_hidden=0), got n_hidden={model.n_hidden}")
    if method == "mcmc":
        if chains is None:
            raise ValueError("method='mcmc' needs chains, joint states of shape (n_chains, "
                             f"{model.n_units}); got None")
        chains = check_data(chains, "chains", n_features=model.n_units, support="binary",
                            dtype=model_dtype(model), min_rows=1)

    def step(v, ctx):
        optimizer.zero_grad()
        if method == "pseudo_likelihood":
            loss = -pseudo_log_likelihood(model, v).mean()
            loss.backward()
            optimizer.step()
            return {"neg_pseudo_log_likelihood": loss.detach()}
        if method == "exact":
            grad = exact_gradient(model, v)
        else:
            grad, step.chains = mcmc_gradient(model, v, step.chains, n_steps=n_gibbs_steps,
                                              generator=ctx.generator)
        for name in PARAMETER_NAMES:
            getattr(model, name).grad = -grad[name]  # ascend the log-likelihood
        optimizer.step()
        return {"gradient_norm": torch.cat([g.flatten() for g in grad.values()]).norm()}

    step.chains = chains
    return step


def fit_boltzmann(model, data, *, method="exact", n_updates=500, lr=0.05, n_chains=100,
                  n_gibbs_steps=1, lr_decay=0.02, record_every=10, generator=None,
                  progress=True):
    r"""Train ``model`` on the rows of ``data`` by full-batch Adam steps on the mean
    log-likelihood, through :func:`dgm_course.training.fit` with :func:`boltzmann_step`.

    Parameters
    ----------
    model : BoltzmannMachine, trained in place
    data : tensor or array of shape (N, n_visible), binary
    method : {"exact", "mcmc", "pseudo_likelihood"}
        ``"exact"``: the two-phase gradient with the exact negative phase; ``"mcmc"``: its
        negative phase from ``n_chains`` persistent Gibbs chains advanced ``n_gibbs_steps``
        sweeps per update; ``"pseudo_likelihood"``: autograd of the mean pseudo-log-likelihood
        (fully visible machines only).
    n_updates : int
        Parameter updates (each on the whole of ``data``).
    lr, lr_decay : float
        Adam's learning rate at update t is ``lr / (1 + lr_decay * t)`` (a decay that tames
        the noise of the MCMC gradient).
    record_every : int
        Updates between two evaluations of the exact negative log-likelihood.
    generator : int or torch.Generator, optional
        Seeds the chains' starting states and their sweeps.
    progress : bool, show a ``tqdm.auto`` progress bar

    Returns
    -------
    History
        ``history["nll"]``: the exact negative log-likelihood of ``data`` (nats per example)
        after updates record_every, 2 record_every, ..., n_updates; ``history.steps`` holds the
        step function's metrics.
    """
    data = check_data(data, "data", n_features=model.n_visible, support="binary",
                      dtype=model_dtype(model), min_rows=1)
    method = check_choice(method, "method", METHODS)
    n_updates = check_int(n_updates, "n_updates", 1)
    record_every = check_int(record_every, "record_every", 1)
    n_chains = check_int(n_chains, "n_chains", 1)
    lr, lr_decay = check_positive(lr, "lr"), check_nonnegative(lr_decay, "lr_decay")
    gen = make_generator(generator)
    chains = None
    if method == "mcmc":
        chains = torch.randint(0, 2, (n_chains, model.n_units), generator=gen)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 / (1 + lr_decay * t))
    step = boltzmann_step(model, optimizer, method=method, chains=chains,
                          n_gibbs_steps=n_gibbs_steps)
    updates = 0

    def validate(model):
        nonlocal updates
        updates += 1  # full batch: one update per epoch
        if updates % record_every:
            return {}
        return {"nll": -model.log_prob(data).mean()}

    return fit(model, step, data, epochs=n_updates, batch_size=None, schedulers=[schedule],
               validate=validate, generator=gen, progress=progress, desc=f"{method} gradient")
