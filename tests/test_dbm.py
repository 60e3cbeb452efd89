"""Tests of dgm_course.dbm: exact sums against brute force, mean-field, ELBO, Gibbs, training."""
import itertools

import pytest
import torch

from dgm_course.data import BarsAndStripes
from dgm_course.dbm import DBM, DBMStep
from dgm_course.evaluation import all_binary_states


@pytest.fixture(scope="module")
def dbm():
    model = DBM(4, 3, 2, init_std=1.0, generator=0).double()
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for bias in (model.b, model.c1, model.c2):
            bias.normal_(generator=g)
    return model


def _joint_table(dbm):
    """-E for every (v, h1, h2): shape (16, 8, 4), by brute force."""
    v, h1, h2 = (all_binary_states(n, dtype=torch.float64) for n in (4, 3, 2))
    rows = list(itertools.product(range(16), range(8), range(4)))
    idx = torch.tensor(rows)
    neg = -dbm.energy(v[idx[:, 0]], h1[idx[:, 1]], h2[idx[:, 2]]).detach()
    return neg.reshape(16, 8, 4), v, h1, h2


def test_energy_matches_the_formula(dbm):
    v, h1, h2 = (torch.tensor(x, dtype=torch.float64)
                 for x in ([[1.0, 0, 1, 1]], [[0.0, 1, 1]], [[1.0, 0]]))
    W1, W2 = dbm.W1.detach(), dbm.W2.detach()
    expected = -(v @ dbm.b + h1 @ dbm.c1 + h2 @ dbm.c2 + v @ W1 @ h1.T + h1 @ W2 @ h2.T)
    torch.testing.assert_close(dbm.energy(v, h1, h2).detach(), expected.detach().reshape(1))


def test_log_partition_and_free_energy_match_brute_force(dbm):
    neg, v, _, _ = _joint_table(dbm)
    torch.testing.assert_close(dbm.log_partition(), torch.logsumexp(neg.reshape(-1), 0))
    free = -torch.logsumexp(neg.reshape(16, -1), 1)
    torch.testing.assert_close(dbm.free_energy(v).detach(), free)
    # enumerating h1 instead of h2 (a model whose second hidden layer is the larger)
    wide = DBM(3, 2, 4, init_std=1.0, generator=2).double()
    vs = all_binary_states(3, dtype=torch.float64)
    h1s, h2s = all_binary_states(2, dtype=torch.float64), all_binary_states(4, dtype=torch.float64)
    idx = torch.tensor(list(itertools.product(range(8), range(4), range(16))))
    table = -wide.energy(vs[idx[:, 0]], h1s[idx[:, 1]], h2s[idx[:, 2]]).detach().reshape(8, -1)
    torch.testing.assert_close(wide.free_energy(vs).detach(), -torch.logsumexp(table, 1))
    assert abs(float(wide.log_prob(vs).exp().sum()) - 1) < 1e-12


def test_log_prob_sums_to_one(dbm):
    v = all_binary_states(4, dtype=torch.float64)
    assert abs(float(torch.logsumexp(dbm.log_prob(v), 0))) < 1e-12


def test_gibbs_conditionals_match_enumeration(dbm):
    neg, v, h1, h2 = _joint_table(dbm)
    joint = torch.softmax(neg.reshape(-1), 0).reshape(16, 8, 4)
    # P(h1_j = 1 | v, h2) for every (v, h2)
    p_h1 = torch.einsum("ahb,hj->abj", joint, h1) / joint.sum(1)[..., None]  # (16, 4, 3)
    ours = dbm.p_h1(v.repeat_interleave(4, 0), h2.repeat(16, 1)).reshape(16, 4, 3)
    torch.testing.assert_close(ours, p_h1)
    # P(v | h1) and P(h2 | h1): v and h2 independent given h1
    p_v_h1 = joint.sum(2)  # (16, 8)
    p_v = torch.einsum("ah,ai->hi", p_v_h1, v) / p_v_h1.sum(0)[:, None]
    torch.testing.assert_close(dbm.p_v(h1), p_v)
    p_h2_h1 = joint.sum(0)  # (8, 4)
    p_h2 = (p_h2_h1 @ h2) / p_h2_h1.sum(1)[:, None]
    torch.testing.assert_close(dbm.p_h2(h1), p_h2)
    independent = joint.sum(0, keepdim=True).sum(2, keepdim=True)  # P(h1)
    product = joint.sum(2, keepdim=True) * joint.sum(0, keepdim=True) / independent
    torch.testing.assert_close(joint, product)


def test_the_posterior_is_not_factorial(dbm):
    neg, _, _, _ = _joint_table(dbm)
    post = torch.softmax(neg[5].reshape(-1), 0).reshape(8, 4)  # P(h1, h2 | v = state 5)
    p_h1 = post.sum(1)  # (8,) over the h1 states
    h1 = all_binary_states(3, dtype=torch.float64)
    marg = p_h1 @ h1  # P(h1_j = 1 | v)
    product = torch.prod(torch.where(h1 == 1, marg, 1 - marg), 1)
    assert float((product - p_h1).abs().max()) > 1e-3


def test_mean_field_is_a_fixed_point_and_the_elbo_is_below_log_p(dbm):
    v = all_binary_states(4, dtype=torch.float64)
    mu1, mu2 = dbm.mean_field(v, n_iter=500, tol=1e-12)
    torch.testing.assert_close(mu1, dbm.p_h1(v, mu2), atol=1e-10, rtol=0)
    torch.testing.assert_close(mu2, dbm.p_h2(mu1), atol=1e-10, rtol=0)
    elbo, log_p = dbm.elbo(v, n_iter=500), dbm.log_prob(v)
    assert bool((elbo <= log_p + 1e-10).all())
    assert float((log_p - elbo).max()) > 1e-4  # a real gap: q is factorial, the posterior not


def test_sample_is_reproducible_and_returns_the_latents(dbm):
    v, (h1, h2) = dbm.sample(7, n_steps=3, generator=0, return_latent=True)
    assert v.shape == (7, 4) and h1.shape == (7, 3) and h2.shape == (7, 2)
    assert torch.equal(v, dbm.sample(7, n_steps=3, generator=0))
    assert dbm.sample(0, n_steps=2, generator=0).shape == (0, 4)


def test_gibbs_samples_follow_the_exact_marginal():
    model = DBM(3, 2, 2, init_std=1.0, generator=3)
    v = model.sample(4000, n_steps=30, generator=0)
    codes = (v @ torch.tensor([1.0, 2.0, 4.0])).long()  # all_binary_states order
    freq = torch.bincount(codes, minlength=8).double() / len(v)
    exact = model.log_prob(all_binary_states(3)).exp()
    se = (exact * (1 - exact) / len(v)).sqrt()
    assert bool(((freq - exact).abs() < 5 * se + 1e-3).all())


@pytest.mark.slow
def test_training_approaches_the_entropy_of_bars_and_stripes():
    bas = BarsAndStripes(3)
    x = bas.sample(500, generator=0)
    model = DBM(9, 12, 6, init_std=0.1, generator=0)
    before = float(-model.log_prob(bas.patterns).mean())
    history = model.fit(x, epochs=40, batch_size=20, lr=0.3, generator=0)
    after = float(-model.log_prob(bas.patterns).mean())
    assert len(history["lr"]) == 40
    assert after < before - 2.0 and after < bas.entropy + 1.0


@pytest.mark.parametrize("make, match", [
    (lambda: DBM(0, 2, 2), "n_visible"),
    (lambda: DBM(2, 0, 2), "n_hidden1"),
    (lambda: DBM(2, 2, 1.5), "n_hidden2"),
    (lambda: DBM(2, 2, 2, init_std=-1.0), "init_std"),
    (lambda: DBM(2, 2, 2).log_prob([[0.0, 0.5]]), "v"),
    (lambda: DBM(2, 2, 2).log_prob([[0.0, 1.0, 1.0]]), "shape"),
    (lambda: DBM(2, 2, 2).energy([[0.0, 1.0]], [[1.0, 0.0]], [[1.0]]), "h2"),
    (lambda: DBM(2, 2, 2).energy([[0.0, 1.0]], [[1.0, 0.0]] * 2, [[1.0, 0.0]]), "h1"),
    (lambda: DBM(2, 2, 2).p_h1([[0.0, 1.0]], [[float("nan"), 0.0]]), "h2"),
    (lambda: DBM(2, 2, 2).mean_field([[0.0, 1.0]], n_iter=0), "n_iter"),
    (lambda: DBM(2, 2, 2).sample(-1), "n"),
    (lambda: DBM(2, 2, 2).sample(2, n_steps=-1), "n_steps"),
    (lambda: DBM(2, 30, 2).log_partition(), "enumerat|units"),
    (lambda: DBMStep(DBM(2, 2, 2), lr=0.0), "lr"),
    (lambda: DBMStep(DBM(2, 2, 2), n_chains=0), "n_chains"),
    (lambda: DBMStep(DBM(2, 2, 2), lr_schedule="cosine"), "lr_schedule"),
    (lambda: DBMStep("not a dbm"), "dbm"),
    (lambda: DBM(2, 2, 2).fit([[0.0, 1.0]], batch_size=5), "batch_size"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
