"""The leaderboard of chapter 9 (``dgm_course.leaderboard``) and its mixture of Bernoullis
(``dgm_course.bernoulli_mixture``): the mixture's maths, the committed CSV's structure,
resuming, bad arguments, and one row re-derived from scratch."""
import itertools
import math

import numpy as np
import pytest
import torch

from dgm_course import leaderboard
from dgm_course.bernoulli_mixture import BernoulliMixture

KINDS = {"exact", "bound", "estimate", "AIS"}


def _random_mixture(n_features=3, n_components=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = BernoulliMixture(n_features, n_components)
    with torch.no_grad():
        model.logits.copy_(2 * torch.randn(n_components, n_features, generator=g,
                                           dtype=torch.float64))
        model.log_pi.copy_(torch.log_softmax(
            torch.randn(n_components, generator=g, dtype=torch.float64), 0))
    return model


# ------------------------------------------------------------------ mixture of Bernoullis
def test_log_prob_equals_brute_force_and_sums_to_one():
    model = _random_mixture()
    pi, mu = model.log_pi.exp(), torch.sigmoid(model.logits)
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)),
                          dtype=torch.float64)
    brute = torch.tensor([sum(float(pi[k]) * math.prod(
        float(mu[k, d]) if x[d] else 1 - float(mu[k, d]) for d in range(3))
        for k in range(2)) for x in states], dtype=torch.float64)
    assert torch.allclose(model.log_prob(states).exp(), brute, atol=1e-12)
    assert abs(float(brute.sum()) - 1) < 1e-12


def test_em_never_lowers_its_objective_and_fits_the_data():
    model = _random_mixture(8, 3, seed=1)
    x = model.sample(400, generator=2)
    fitted = BernoulliMixture(8, 3, alpha=0.5).fit(x, n_iter=40, generator=3)
    objective = np.array(fitted.objective_)
    assert len(objective) == 40 and (np.diff(objective) >= -1e-10).all()
    assert objective[-1] > objective[0] + 0.1  # it did climb
    # fitted on its data, better than independent pixels on the same data
    p = x.mean(0).clamp(1e-3, 1 - 1e-3)
    independent = torch.distributions.Bernoulli(probs=p).log_prob(x).sum(1).mean()
    assert float(fitted.log_prob(x).mean()) > float(independent) + 0.1


def test_mixture_samples_are_seeded_and_reproduce_the_pixel_means():
    model = _random_mixture(4, 2, seed=4)
    a, b = model.sample(20000, generator=5), model.sample(20000, generator=5)
    assert torch.equal(a, b) and model.sample(0).shape == (0, 4)
    mean = (model.log_pi.exp()[:, None] * torch.sigmoid(model.logits)).sum(0)
    # 20,000 Bernoulli draws: standard error below 0.0036; 5 SE
    assert torch.allclose(a.mean(0).double(), mean, atol=0.018)


@pytest.mark.parametrize("make, match", [
    (lambda: BernoulliMixture(0, 2), "n_features"),
    (lambda: BernoulliMixture(3, 0), "n_components"),
    (lambda: BernoulliMixture(3, 2, alpha=-1.0), "alpha"),
    (lambda: BernoulliMixture(3, 2).log_prob([[0.0, 0.5, 1.0]]), "binary"),
    (lambda: BernoulliMixture(3, 2).log_prob([[0.0, 1.0]]), "shape"),
    (lambda: BernoulliMixture(3, 2).fit([[0.0, 1.0, 1.0]], n_iter=0), "n_iter"),
    (lambda: BernoulliMixture(3, 2).fit(torch.zeros(0, 3)), "at least 1"),
    (lambda: BernoulliMixture(3, 2).sample(-1), "n"),
    (lambda: leaderboard.measure_row("no such row"), "name"),
    (lambda: leaderboard.run(["no such row"], progress=False), "rows"),
    (lambda: leaderboard.run(["Tomczak ARM"], threads=0, progress=False), "threads"),
])
def test_bad_arguments_raise_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ------------------------------------------------------------------ the committed CSV
@pytest.fixture(scope="module")
def committed():
    return {r["name"]: r for r in leaderboard.read_csv()}


def test_committed_csv_has_every_row_with_sound_values(committed):
    with leaderboard.DEFAULT_CSV.open() as f:
        assert f.readline().strip().split(",") == list(leaderboard.COLUMNS)
    assert list(committed) == list(leaderboard.ROWS)  # all rows, in the table's order
    for name, r in committed.items():
        row = leaderboard.ROWS[name]
        assert (r["data"], r["model"], r["kind"]) == (row.data, row.model, row.kind)
        assert r["kind"] in KINDS and math.isfinite(float(r["nll"]))
        if r["source"] == "quoted":
            assert row.quoted == (float(r["nll"]), float(r["seconds"]))
        else:
            assert r["source"] == "measured"
            assert 0 < float(r["nll_se"]) < 2 and float(r["mc_se"]) >= 0
            assert float(r["seconds"]) >= 0 and int(r["parameters"]) > 0
            low = 0 if r["data"] == "binarised" else 40
            assert low < float(r["nll"]) < 64 * math.log(2 if low == 0 else 17)


def test_committed_bounds_lie_above_their_estimates(committed):
    nll = {name: float(r["nll"]) for name, r in committed.items()}
    for model in ("Helmholtz machine", "VAE", "VAE, 17 levels"):
        assert nll[f"{model}, ELBO"] > nll[model]
    ais = committed["RBM, AIS"]
    assert abs(nll["RBM, AIS"] - nll["RBM"]) < 3 * float(ais["mc_se"]) + 0.01


# ------------------------------------------------------------------ resuming
def test_rows_in_the_csv_are_kept_unless_forced(tmp_path, committed):
    out = tmp_path / "board.csv"
    fake = dict(committed["independent Bernoulli"], nll="123.0")
    leaderboard.write_csv([fake], out)
    rows = leaderboard.run(["independent Bernoulli", "Tomczak ARM"], out=out,
                           progress=False)
    assert [r["name"] for r in rows] == ["independent Bernoulli", "Tomczak ARM"]
    assert rows[0]["nll"] == "123.0"  # kept, not measured again
    rows = leaderboard.run(["independent Bernoulli"], out=out, force=True,
                           progress=False)
    assert float(rows[0]["nll"]) == pytest.approx(float(committed[
        "independent Bernoulli"]["nll"]), abs=1e-3)  # measured again
    assert len(rows) == 2  # the other row is still there


# ------------------------------------------------------------------ one row from scratch
@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as python -m dgm_course.leaderboard runs
    yield
    torch.set_num_threads(threads)


def test_fvsbn_row_rederived_from_scratch_matches_the_csv(committed, one_thread):
    old = committed["FVSBN"]
    new = leaderboard.measure_row("FVSBN")
    assert new["parameters"] == int(old["parameters"])
    # within the stated spread: one standard error over the test images
    assert abs(new["nll"] - float(old["nll"])) < float(old["nll_se"])
    assert new["nll_se"] == pytest.approx(float(old["nll_se"]), rel=0.1)
