r"""dgm_course: the library behind *Deep Generative Models — an executable course*.

One module per model family, named after its chapter (``linear_factor``,
``sigmoid_belief_net``, ``ebm``, ``rbm``, ``dbn``, ...), and a few shared modules: ``data``
(digits, 2-D toys, bars and stripes), ``validation`` (the one input checker), ``training``
(the one training loop), ``evaluation`` (exact enumeration, integration, importance sampling,
AIS), ``mcmc`` (samplers), ``plotting`` (figures and graphical-model diagrams), ``demos``
(ipywidgets for lectures), ``grading`` (in-kernel feedback for exercises), ``regrade`` and
``sandbox`` (the isolated grade of record) and ``utils`` (seeding). Chapter 2's ``ebm``
gathers the fully connected Boltzmann machine (``boltzmann``) and the 2-D neural energy
(``energy_mlp``), each in its own file. Chapter 9's ``leaderboard`` trains every likelihood
model by its chapter's recipe and writes ``leaderboard.csv`` beside it; its baseline, the
mixture of Bernoullis, is ``bernoulli_mixture``. Import the module you need:
``from dgm_course import data``.

The model protocol
------------------
Every model of the course follows these rules; ``tests/test_protocol.py`` checks them for
every model, and a new model joins that test with one line.

**A model** is a ``torch.nn.Module`` (PPCA and factor analysis are scikit-learn-style
estimators that follow the rules below as well as ``fit`` / ``score_samples`` / ``score``).

**Inputs and dtypes.** Data may be a tensor, a NumPy array or a nested list; rows are
examples, ``(n, D)``. Every public method passes its inputs through
:func:`dgm_course.validation.check_data`, which converts them to the model's dtype (the
dtype of its parameters, :func:`~dgm_course.validation.model_dtype`) and raises a
``ValueError`` naming the argument, the expectation and the value given for NaN or infinite
entries, a wrong number of dimensions or features, and values outside the support (non-binary
input to a Bernoulli model). Numbers go through ``check_int`` / ``check_positive`` / ...;
NumPy scalars and 0-d tensors count as numbers, ``bool`` and strings do not.

**log_prob(x)** returns one value per example, shape ``(n,)``, in nats per example summed
over pixels/dimensions. Its docstring says whether it is differentiable; it is either fully
differentiable or computed without gradients, never a detached log Z inside a differentiable
result. Bounds have their own names: ``elbo(x)``, ``iwae_bound(x, k)``.

**Unnormalised models** expose ``energy(...)`` and/or ``free_energy(v)`` (the same input
checks as ``log_prob``) and ``log_partition()``, which returns a 0-d tensor: exact
enumeration (:mod:`dgm_course.evaluation`, one limit ``MAX_ENUMERATED_UNITS`` and one
message) or a documented estimate. Their ``log_prob`` goes through ``log_partition``.

**sample(n, \*, generator=None, ...)**: every argument after ``n`` is keyword-only;
``generator`` is a seed or a ``torch.Generator`` and the same seed gives the same samples;
``n = 0`` returns an empty batch of shape ``(0, D)``; a Markov chain's length is always
``n_steps``; latent variables come back with ``return_latent=True`` as ``(x, latent)``,
``latent`` being a list, bottom-up, for a model with several hidden layers.

**Weights and layers.** The energy of visible ``v`` and hidden ``h`` is
:math:`E(v, h) = -b^\top v - c^\top h - v^\top W h` with ``W`` of shape
``(n_visible, n_hidden)``, ``b`` of shape ``(n_visible,)``, ``c`` of shape ``(n_hidden,)``
in every module, chapter and exercise. Layers are numbered from the data upward (``h¹`` is
next to ``v``), and directed layers follow the same orientation: the weight between a lower
layer of ``n_below`` units and the layer above it has shape ``(n_below, n_above)``, so
``p(below = 1 | above) = sigmoid(above @ W.T + b_below)`` and
``p(above = 1 | below) = sigmoid(below @ W + c_above)``.

**Training** goes through :func:`dgm_course.training.fit`, the one loop: it owns batching,
seeding (shuffling and, through ``ctx.generator``, the randomness inside a step), the
progress bar, early stopping on a validation metric, a ``FloatingPointError`` on a
non-finite metric, and a :class:`~dgm_course.training.History` of named metrics per update
(``history.steps``) and per epoch (``history.epochs``). A model module supplies a step
function ``step(batch, ctx) -> dict of metrics`` (or ``training.loss_step`` for a plain
loss), or a ``fit``/``make_step`` wrapper that builds one and calls ``training.fit``; it
never has a loop of its own.

**Privacy.** No module imports a ``_``-prefixed name from another module.
"""
__version__ = "0.1.0"
