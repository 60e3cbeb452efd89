r"""Every likelihood model of the course on one table (chapter 9): the test NLL of the
digits (nats per image, summed over pixels) on the one split of :func:`data.load_digits`,
each model trained by its chapter's recipe, with its training time and parameter count.

``python -m dgm_course.leaderboard`` trains the rows and writes :data:`DEFAULT_CSV`
(``dgm_course/leaderboard.csv``, committed; chapter 9 reads it). Rows already in the CSV
are kept, not retrained, unless ``--force``; ``--rows`` chooses rows by name. Each row
says what kind of number it is (Theis, van den Oord & Bethge 2016):

* ``exact`` — the model's exact test NLL;
* ``bound`` — an upper bound on the NLL (a negative ELBO): too high by the gap;
* ``estimate`` — importance sampling (IWAE, k proposals): too high in expectation for
  finite k, by less than the bound, and consistent as k grows; for PPCA/FA, k uniform
  points per cell of the 17-level grid (:func:`data.discrete_log_prob`), likewise;
* ``AIS`` — the exact free energy with an AIS estimate of log Z: AIS estimates Z without
  bias, so log Z is too low in expectation and the NLL optimistic; ``mc_se`` is the
  standard error of that log Z, shared by every test image, on top of ``nll_se``.

The whole table took 96 s from a fresh clone on two CPU cores shared with a test run. The
script runs PyTorch on one thread by default (``--threads``): the models are small, and on
two shared cores a second thread made NADE and the PixelCNNs several times slower, not
faster.

``nll_se`` is the standard error of the mean over the 447 test images. Rows with source
``quoted`` are figures from Tomczak's book code (2022) on the same digits and split, not
measured here.
"""
import argparse
import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from . import data
from .bernoulli_mixture import BernoulliMixture
from .validation import check_choice, check_int

DEFAULT_CSV = Path(__file__).with_name("leaderboard.csv")
"""Where ``python -m dgm_course.leaderboard`` writes its table (committed)."""

COLUMNS = ("name", "data", "model", "kind", "nll", "nll_se", "mc_se", "seconds",
           "parameters", "chapter", "source", "note")
"""The CSV's columns. ``nll``, ``nll_se``, ``mc_se``: nats per test image; ``seconds``:
training, wall clock; ``source``: ``measured`` or ``quoted``."""

TOMCZAK_ARM = 86.49  # Tomczak's ARM, 17-level test NLL (nats per image), as in chapter 4
TOMCZAK_ARM_SECONDS = 537  # its training time on the course's machine (chapter 4)
TOMCZAK_VAE = 96.65  # Tomczak's VAE, 17-level test -ELBO (nats per image), as in chapter 6
TOMCZAK_VAE_SECONDS = 78

MIXTURE_COMPONENTS = 20  # K of the mixture of Bernoullis
IWAE_K = 1000  # importance samples per test image for the latent-variable models
AIS_TEMPERATURES, AIS_RUNS = 1000, 100  # chapter 3's default AIS setting
CELL_SAMPLES = 500  # uniform points per cell for PPCA/FA on 17 levels (chapter 1)


def _split(binary):
    return {s: data.load_digits(s, binary=binary) for s in ("train", "val", "test")}


def _n_parameters(model):
    return int(getattr(model, "n_parameters", None)
               or sum(p.numel() for p in model.parameters()))


class _Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


# ---------------------------------------------------------------------------------------
# The chapters' recipes, each giving per-test-image NLLs (nats)


def independent_bernoulli():
    """Chapter 3's baseline: each pixel Bernoulli with its training frequency, clamped to
    [0.001, 0.999]."""
    d = _split(True)
    with _Timer() as t:
        p = d["train"].mean(0).clamp(1e-3, 1 - 1e-3)
    nll = -torch.distributions.Bernoulli(probs=p).log_prob(d["test"]).sum(1)
    return dict(nll=nll, seconds=t.seconds, parameters=64, model=p)


def bernoulli_mixture(n_components=MIXTURE_COMPONENTS, *, n_iter=100, seed=0):
    """A :class:`~dgm_course.bernoulli_mixture.BernoulliMixture` fitted by EM."""
    d = _split(True)
    with _Timer() as t:
        model = BernoulliMixture(64, n_components).fit(d["train"], n_iter=n_iter,
                                                       generator=seed)
    return dict(nll=-model.log_prob(d["test"]), seconds=t.seconds,
                parameters=model.n_parameters, model=model)


def rbm_pcd(n_hidden=16, *, epochs=30, seed=0):
    """Chapter 3's recipe: PCD, 30 epochs, batches of 20, lr 0.2 decayed linearly to 0,
    weight decay 1e-4, visible biases started at the data's log-odds."""
    from .rbm import RBM

    d = _split(True)
    with _Timer() as t:
        rbm = RBM(64, n_hidden, generator=seed)
        rbm.fit(d["train"], method="pcd", epochs=epochs, batch_size=20, lr=0.2,
                weight_decay=1e-4, generator=seed, progress=False)
    return dict(seconds=t.seconds, parameters=_n_parameters(rbm), model=rbm)


def rbm_exact(trained):
    rbm = trained["model"]
    return dict(trained, nll=-rbm.log_prob(_split(True)["test"]).double())


def rbm_ais(trained, *, seed=0):
    """The RBM's NLL with log Z by AIS (chapter 3's setting) instead of enumeration."""
    from .rbm import ais_log_partition

    d = _split(True)
    rbm = trained["model"]
    log_z, se = ais_log_partition(rbm, n_temperatures=AIS_TEMPERATURES, n_runs=AIS_RUNS,
                                  data=d["train"], generator=seed)
    nll = -rbm.log_prob(d["test"], log_z=log_z).double()
    return dict(trained, nll=nll, mc_se=float(se),
                note=f"log Z by AIS ({AIS_TEMPERATURES} temperatures, {AIS_RUNS} runs) "
                     f"{float(log_z):.2f} ± {float(se):.2f}")


def dbn_two_layer(rbm_trained, *, seed=1):
    """Chapter 3's two-layer DBN: the PCD RBM at the bottom, a top RBM started as its
    transpose and trained by CD-1 on 5 samples of h per training digit (20 epochs, lr
    0.05). Returns the exact log P(v) and the greedy bound."""
    from .dbn import DBN

    d = _split(True)
    pcd = rbm_trained["model"]
    with _Timer() as t:
        dbn = DBN([64, pcd.n_hidden, 64], generator=seed)
        dbn.rbms[0].load_state_dict(pcd.state_dict())
        top = dbn.rbms[1]
        with torch.no_grad():
            top.W.copy_(pcd.W.T), top.b.copy_(pcd.c), top.c.copy_(pcd.b)
        h1 = pcd.sample_h(d["train"].repeat(5, 1), generator=seed)
        top.fit(h1, method="cd", epochs=20, batch_size=20, lr=0.05,
                init_visible_bias=False, generator=seed, progress=False)
    log_p, bound = dbn.log_prob_and_bound(d["test"])
    return dict(seconds=rbm_trained["seconds"] + t.seconds, parameters=_n_parameters(dbn),
                model=dbn, exact=-log_p, bound=-bound)


def autoregressive(name, *, seed=0):
    """Chapter 4's recipe :data:`masked_autoregressive.RECIPES` [name]."""
    from .masked_autoregressive import RECIPES

    recipe = RECIPES[name]
    d = _split(recipe.levels == 2)
    model, _, seconds = recipe.fit(d["train"], d["val"], generator=seed)
    with torch.no_grad():
        nll = -model.log_prob(d["test"]).double()
    return dict(nll=nll, seconds=seconds, parameters=model.n_parameters, model=model)


HELMHOLTZ_SIZES = [64, 24]  # pixels, hidden units
HELMHOLTZ_EPOCHS = 20


def helmholtz_machine(*, seed=0):
    """A Helmholtz machine (64-24) trained by wake-sleep, chapter 5's rule. Chapter 5
    trains on the bars (20 epochs, batches of 10, Adam with lr 0.1); on the digits this
    chapter uses 24 hidden units, 20 epochs, batches of 20 and lr 0.01."""
    from .helmholtz import HelmholtzMachine, fit

    d = _split(True)
    with _Timer() as t:
        model = HelmholtzMachine(HELMHOLTZ_SIZES, generator=seed)
        fit(model, d["train"], rule="wake-sleep", epochs=HELMHOLTZ_EPOCHS, batch_size=20,
            lr=0.01, generator=seed, progress=False)
    with torch.no_grad():
        bound = -model.elbo(d["test"], n_samples=10, generator=seed).double()
        est = model.log_likelihood_estimate(d["test"], k=IWAE_K, generator=seed)
    return dict(seconds=t.seconds, parameters=_n_parameters(model), model=model,
                bound=bound, estimate=est)


def vae_chapter6(levels, *, seed=0):
    """Chapter 6's recipes: 16 latents, MLP decoder; binarised: 30 epochs, batches of 50,
    lr 2e-3, KL warm-up over 20 %; 17 levels: 40 epochs, batches of 32, lr 1e-3, warm-up
    20 %; the epoch with the best validation ELBO is kept."""
    from . import vae

    if levels == 2:
        options = dict(likelihood="bernoulli", n_latent=16)
        recipe = vae.Recipe(epochs=30, batch_size=50, lr=2e-3, warmup=0.2)
    else:
        options = dict(likelihood="categorical", n_latent=16)
        recipe = vae.Recipe(epochs=40, batch_size=32, warmup=0.2)
    d = _split(levels == 2)
    model = vae.VAE(64, generator=seed, **options)
    with _Timer() as t:
        vae.train(model, d["train"], recipe, x_val=d["val"], generator=seed, progress=False)
    with torch.no_grad():
        bound = -model.elbo(d["test"], n_samples=10, generator=seed).total.double()
    est = model.log_likelihood_estimate(d["test"], k=IWAE_K, generator=seed)
    return dict(seconds=t.seconds, parameters=_n_parameters(model), model=model,
                bound=bound, estimate=est)


def independent_levels():
    """Each of the 64 pixels an independent categorical over the 17 levels, its training
    frequencies with one pseudo-count per level."""
    d = _split(False)
    with _Timer() as t:
        x = d["train"].long()
        counts = torch.stack([torch.bincount(x[:, j], minlength=17) for j in range(64)])
        log_p = torch.log((counts + 1.0) / (len(x) + 17.0))  # (64, 17)
    nll = -log_p.gather(1, d["test"].long().T).T.sum(1).double()
    return dict(nll=nll, seconds=t.seconds, parameters=64 * 16, model=log_p)


def linear_factor(kind, *, n_components=10, seed=0):
    """Chapter 1's PPCA or factor analysis (q = 10) on the dequantised 17-level digits;
    the discrete NLL by :func:`data.discrete_log_prob` with 500 points per cell."""
    from .linear_factor import PPCA, FactorAnalysis

    x_train = data.dequantize(data.load_digits("train"), generator=0).numpy()
    x_test = data.load_digits("test")
    with _Timer() as t:
        model = (PPCA if kind == "PPCA" else FactorAnalysis)(n_components).fit(x_train)
    log_p, se = data.discrete_log_prob(model.score_samples, x_test, n_samples=CELL_SAMPLES,
                                       generator=3)
    q, D = n_components, 64
    params = D + D * q + (1 if kind == "PPCA" else D) - q * (q - 1) // 2
    return dict(nll=-torch.as_tensor(log_p).double(), seconds=t.seconds, parameters=params,
                mc_se=float(math.sqrt((torch.as_tensor(se) ** 2).sum()) / len(se)),
                model=model)


# ---------------------------------------------------------------------------------------
# The rows


@dataclass
class Row:
    """One line of the table: how to get it, and what it is."""

    data: str  # "binarised" or "17 levels"
    model: str  # as printed
    kind: str  # "exact", "bound", "estimate", "AIS" or "quoted"
    chapter: int
    measure: Callable = None  # (cache) -> dict(nll (n,) tensor, seconds, parameters, ...)
    quoted: tuple = None  # (nll, seconds) for a figure from the literature
    note: str = ""


def _cached(cache, key, make):
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _bound(result):
    """A row of the negative ELBO of a model trained once for two rows."""
    return dict(result, nll=result["bound"], note="-ELBO, 10 samples of q per image")


def _importance(result):
    """A row of the importance-sampled NLL, with the Monte Carlo error of its mean."""
    est = result["estimate"]
    mc = float(torch.sqrt((est.stderr.double() ** 2).sum()) / len(est.stderr))
    return dict(result, nll=-est.log_likelihood.double(), mc_se=mc,
                note=f"k = {IWAE_K} proposals from q")


def _rbm(cache):
    return _cached(cache, "rbm", rbm_pcd)


def _dbn_bound(cache):
    result = _cached(cache, "dbn", lambda: dbn_two_layer(_rbm(cache)))
    return dict(result, nll=result["bound"],
                note=f"the greedy bound; exact NLL {float(result['exact'].mean()):.3f}")


def _hm(cache):
    return _cached(cache, "hm", helmholtz_machine)


def _vae(cache, levels):
    return _cached(cache, f"vae{levels}", lambda: vae_chapter6(levels))


ROWS = {
    "independent Bernoulli": Row("binarised", "independent pixels", "exact", 3,
                                 lambda c: independent_bernoulli()),
    "mixture of Bernoullis": Row("binarised", f"mixture of {MIXTURE_COMPONENTS} Bernoullis",
                                 "exact", 9, lambda c: bernoulli_mixture(),
                                 note="EM, 100 steps"),
    "RBM": Row("binarised", "RBM (16 hidden, PCD)", "exact", 3, lambda c: rbm_exact(_rbm(c)),
               note="log Z by enumerating 2^16 hidden states"),
    "RBM, AIS": Row("binarised", "RBM (16 hidden, PCD)", "AIS", 3, lambda c: rbm_ais(_rbm(c))),
    "DBN": Row("binarised", "DBN (64-16-64)", "bound", 3, _dbn_bound),
    "FVSBN": Row("binarised", "FVSBN", "exact", 4, lambda c: autoregressive("FVSBN")),
    "NADE": Row("binarised", "NADE", "exact", 4, lambda c: autoregressive("NADE")),
    "MADE": Row("binarised", "MADE", "exact", 4, lambda c: autoregressive("MADE")),
    "PixelCNN": Row("binarised", "PixelCNN", "exact", 4, lambda c: autoregressive("PixelCNN")),
    "Helmholtz machine, ELBO": Row("binarised", "Helmholtz machine (wake-sleep)", "bound", 5,
                                   lambda c: _bound(_hm(c))),
    "Helmholtz machine": Row("binarised", "Helmholtz machine (wake-sleep)", "estimate", 5,
                             lambda c: _importance(_hm(c))),
    "VAE, ELBO": Row("binarised", "VAE (16 latents)", "bound", 6, lambda c: _bound(_vae(c, 2))),
    "VAE": Row("binarised", "VAE (16 latents)", "estimate", 6, lambda c: _importance(_vae(c, 2))),
    "independent levels": Row("17 levels", "independent pixels", "exact", 9,
                              lambda c: independent_levels(),
                              note="one pseudo-count per level"),
    "PPCA": Row("17 levels", "PPCA (q = 10), dequantised", "estimate", 1,
                lambda c: linear_factor("PPCA"),
                note=f"{CELL_SAMPLES} uniform points per cell"),
    "FA": Row("17 levels", "FA (q = 10), dequantised", "estimate", 1,
              lambda c: linear_factor("FA"), note=f"{CELL_SAMPLES} uniform points per cell"),
    "PixelCNN, 17 levels": Row("17 levels", "PixelCNN", "exact", 4,
                               lambda c: autoregressive("PixelCNN, 17 levels")),
    "VAE, 17 levels, ELBO": Row("17 levels", "VAE (16 latents)", "bound", 6,
                                lambda c: _bound(_vae(c, 17))),
    "VAE, 17 levels": Row("17 levels", "VAE (16 latents)", "estimate", 6,
                          lambda c: _importance(_vae(c, 17))),
    "Tomczak ARM": Row("17 levels", "ARM (Tomczak 2022)", "exact", 4,
                       quoted=(TOMCZAK_ARM, TOMCZAK_ARM_SECONDS),
                       note="quoted from Tomczak's code, not measured here"),
    "Tomczak VAE": Row("17 levels", "VAE (Tomczak 2022)", "bound", 6,
                       quoted=(TOMCZAK_VAE, TOMCZAK_VAE_SECONDS),
                       note="-ELBO, quoted from Tomczak's code, not measured here"),
}
"""The table's rows, by name (the names ``--rows`` takes), in the table's order."""


def measure_row(name, cache=None, *, seed=0):
    """Measure the row ``name`` of :data:`ROWS` (training its model by its chapter's
    recipe, or reusing one in ``cache``): a dict with the keys of :data:`COLUMNS`."""
    name = check_choice(name, "name", tuple(ROWS))
    row = ROWS[name]
    out = dict(name=name, data=row.data, model=row.model, kind=row.kind,
               chapter=row.chapter, note=row.note)
    if row.quoted is not None:
        nll, seconds = row.quoted
        return dict(out, nll=nll, nll_se="", mc_se="", seconds=seconds, parameters="",
                    source="quoted")
    torch.manual_seed(seed)
    result = row.measure({} if cache is None else cache)
    nll = result["nll"].double()
    return dict(out, nll=round(float(nll.mean()), 3),
                nll_se=round(float(nll.std() / math.sqrt(len(nll))), 3),
                mc_se=round(float(result.get("mc_se", 0.0)), 3),
                seconds=round(float(result["seconds"]), 1),
                parameters=int(result["parameters"]), source="measured",
                note=result.get("note", row.note) or row.note)


def read_csv(path=DEFAULT_CSV):
    """The rows of a leaderboard CSV as a list of dicts (strings), [] if it is missing."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_csv(rows, path=DEFAULT_CSV):
    """Write ``rows`` (dicts with the keys of :data:`COLUMNS`) in the order of
    :data:`ROWS`."""
    order = {name: i for i, name in enumerate(ROWS)}
    rows = sorted(rows, key=lambda r: order.get(r["name"], len(order)))
    with Path(path).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in COLUMNS} for r in rows)


def run(names=None, *, out=DEFAULT_CSV, force=False, threads=1, progress=True):
    """Measure the rows ``names`` (default: all) missing from ``out`` (all of them with
    ``force``), writing the CSV after each row, so an interrupted run resumes where it
    stopped. Returns the CSV's rows."""
    from tqdm.auto import tqdm

    names = list(ROWS) if names is None else list(names)
    for name in names:
        check_choice(name, "rows", tuple(ROWS))
    threads = check_int(threads, "threads", minimum=1)
    rows = {r["name"]: r for r in read_csv(out)}
    todo = [n for n in names if force or n not in rows]
    cache = {}
    bar = tqdm(todo, desc="leaderboard", disable=not progress)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for name in bar:
            bar.set_postfix_str(name)
            rows[name] = measure_row(name, cache)
            write_csv(rows.values(), out)
    finally:
        torch.set_num_threads(previous)  # a caller's setting is left as it was
    if not todo:
        write_csv(rows.values(), out)
    return read_csv(out)


def format_table(rows):
    """The CSV's rows as a plain-text table of at most 80 characters a line, one block per
    data set."""
    header = (f"{'model':<32}{'kind':<9}{'NLL':>7}{'± SE':>6}{'MC SE':>6}{'train s':>8}"
              f"{'params':>10}")
    lines = []
    for which in dict.fromkeys(r["data"] for r in rows):
        lines += [f"{which} digits: test NLL in nats per image", header]
        for r in (r for r in rows if r["data"] == which):
            se = f"{float(r['nll_se']):.2f}" if r["nll_se"] != "" else ""
            mc = f"{float(r['mc_se']):.2f}" if r["mc_se"] != "" else ""
            params = f"{int(r['parameters']):,}" if r["parameters"] != "" else ""
            lines.append(f"{r['model'][:31]:<32}{r['kind']:<9}{float(r['nll']):>7.2f}{se:>6}"
                         f"{mc:>6}{float(r['seconds']):>8.1f}{params:>10}")
    return "\n".join(lines)


def main(argv=None):
    """``python -m dgm_course.leaderboard [--rows NAME ...] [--out CSV] [--force]``."""
    parser = argparse.ArgumentParser(description="Chapter 9's leaderboard: the test NLL of "
                                     "every likelihood model of the course on the digits.")
    parser.add_argument("--rows", nargs="+", metavar="NAME",
                        help=f"rows to measure (default: all): {list(ROWS)}")
    parser.add_argument("--out", default=str(DEFAULT_CSV), help="the CSV to write or resume")
    parser.add_argument("--force", action="store_true",
                        help="measure the chosen rows again even if the CSV has them")
    parser.add_argument("--threads", type=int, default=1,
                        help="PyTorch threads (default 1: the models are small)")
    args = parser.parse_args(argv)
    rows = run(args.rows, out=args.out, force=args.force, threads=args.threads)
    print(format_table(rows))


if __name__ == "__main__":
    main()
