import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits

from dgm_course import data
from dgm_course.evaluation import grid_log_normalizer


# --- digits -------------------------------------------------------------------------------

@pytest.mark.parametrize("split, n", [("train", 1000), ("val", 350), ("test", 447), ("all", 1797)])
def test_split_sizes(split, n):
    x, y = data.load_digits(split, return_labels=True)
    assert x.shape == (n, 64) and x.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64


def test_splits_follow_scikit_learns_order_and_cover_everything():
    sk = sk_load_digits()
    parts = [data.load_digits(s).numpy() for s in ("train", "val", "test")]
    np.testing.assert_array_equal(np.concatenate(parts), sk.data.astype(np.float32))
    np.testing.assert_array_equal(data.load_digits("test", return_labels=True)[1].numpy(), sk.target[1350:])


def test_grey_levels_and_binarisation():
    grey = data.load_digits("train")
    binary = data.load_digits("train", binary=True)
    assert grey.min() == 0 and grey.max() == 16 and torch.equal(grey, grey.round())
    assert torch.equal(binary, (grey >= 8).float())


def test_loading_twice_gives_independent_tensors():
    a = data.load_digits("val")
    a[:] = -1
    assert data.load_digits("val").min() == 0


# --- MNIST from a local file ---------------------------------------------------------------

def _write_idx(path, array, type_code):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = __import__("gzip").open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_load_mnist_from_a_small_local_file(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    _write_idx(tmp_path / f"images.idx{suffix}", images, 0x08)
    _write_idx(tmp_path / f"labels.idx{suffix}", labels, 0x08)
    x, y = data.load_mnist(tmp_path / f"images.idx{suffix}", tmp_path / f"labels.idx{suffix}")
    assert x.shape == (5, 784) and x.dtype == torch.float32
    np.testing.assert_array_equal(x.numpy(), images.reshape(5, -1))
    assert y.tolist() == [3, 1, 4, 1, 5]
    xb = data.load_mnist(tmp_path / f"images.idx{suffix}", binary=True)
    assert torch.equal(xb, (x >= 128).float())


def test_load_mnist_rejects_missing_and_broken_files(tmp_path):
    with pytest.raises(ValueError, match="never downloaded"):
        data.load_mnist(tmp_path / "nope.idx")
    (tmp_path / "junk.idx").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="is not an IDX file"):
        data.load_mnist(tmp_path / "junk.idx")
    _write_idx(tmp_path / "flat.idx", np.zeros(10, dtype=np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"expected images of shape \(n, rows, cols\)"):
        data.load_mnist(tmp_path / "flat.idx")


# --- 2-D toys -----------------------------------------------------------------------------

TOY_LIMITS = {"ring": (3.0, 600), "grid": (4.0, 400), "moons": (3.5, 200), "spiral": (4.0, 200)}


@pytest.mark.parametrize("name", sorted(data.TOYS))
def test_toy_density_integrates_to_one(name):
    toy = data.toy_distribution(name)
    lim, n = TOY_LIMITS[name]
    log_z, _, _ = grid_log_normalizer(toy.log_prob, lim=lim, n=n)
    assert abs(float(log_z)) < 2e-3


@pytest.mark.parametrize("name", sorted(data.TOYS))
def test_toy_score_equals_autograd_of_log_prob(name):
    toy = data.toy_distribution(name)
    x = (toy.sample(64, generator=1).double() + 0.05 * torch.randn(64, 2, dtype=torch.float64)).requires_grad_()
    (grad,) = torch.autograd.grad(toy.log_prob(x).sum(), x)
    torch.testing.assert_close(toy.score(x.detach()), grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(data.TOYS))
def test_toy_sampling_is_seeded(name):
    toy = data.toy_distribution(name)
    assert torch.equal(toy.sample(100, generator=3), toy.sample(100, generator=3))
    assert not torch.equal(toy.sample(100, generator=3), toy.sample(100, generator=4))
    assert toy.sample(100, generator=0).dtype == torch.float32


def test_mixture_log_prob_matches_the_formula_and_samples_match_moments():
    mix = data.GaussianMixture2D([[0.0, 0.0], [3.0, 1.0]], [1.0, 0.5], weights=[0.3, 0.7])
    x = torch.tensor([[0.5, -0.2]], dtype=torch.float64)
    by_hand = math.log(0.3 * math.exp(-0.5 * 0.29) / (2 * math.pi)
                       + 0.7 * math.exp(-0.5 * (2.5**2 + 1.2**2) / 0.25) / (2 * math.pi * 0.25))
    assert float(mix.log_prob(x)) == pytest.approx(by_hand, rel=1e-10)
    s = mix.sample(200_000, generator=0).double()
    mean = 0.7 * torch.tensor([3.0, 1.0], dtype=torch.float64)
    assert torch.allclose(s.mean(0), mean, atol=0.02)


@pytest.mark.parametrize("name", sorted(data.TOYS))
def test_toy_log_prob_equals_torch_distributions(name):
    toy = data.toy_distribution(name)
    x = toy.sample(300, generator=2).double() * 1.3
    torch.testing.assert_close(toy.log_prob(x), toy.distribution.log_prob(x), rtol=1e-9, atol=1e-9)


def test_empty_samples_and_numpy_input():
    ring = data.toy_distribution("ring")
    assert ring.sample(0, generator=0).shape == (0, 2)
    assert data.BarsAndStripes(3).sample(0).shape == (0, 9)
    x = ring.sample(5, generator=0)
    torch.testing.assert_close(ring.log_prob(x.numpy()), ring.log_prob(x))
    assert ring.log_prob(x).dtype == torch.float64  # the mixture's dtype (float64 buffers)
    assert ring.log_prob(torch.zeros(0, 2)).shape == (0,)


def test_dequantize_stays_in_the_unit_interval_and_is_seeded():
    x = data.load_digits("val")[:20]
    y = data.dequantize(x, generator=0)
    assert y.dtype == torch.float64 and 0 < float(y.min()) and float(y.max()) < 1
    assert torch.equal(y, data.dequantize(x.numpy(), generator=0))
    assert torch.equal((y * 17).floor(), x.double())


def test_discrete_log_prob_matches_the_exact_cell_probability_of_a_factorised_density():
    # independent normals per pixel: the probability of a cell is a product of CDF differences
    from scipy.stats import norm
    x = data.load_digits("val")[:3, :4]  # (3, 4) levels 0-16
    loc, scale = np.array([0.1, 0.4, 0.5, 0.9]), np.array([0.05, 0.2, 0.3, 0.1])
    exact = np.log(norm.cdf((x.numpy() + 1) / 17, loc, scale)
                   - norm.cdf(x.numpy() / 17, loc, scale)).sum(1)
    def log_density(y):
        return norm.logpdf(y, loc, scale).sum(1)
    log_p, se = data.discrete_log_prob(log_density, x, n_samples=20_000, generator=0)
    assert log_p.shape == se.shape == (3,) and (se > 0).all()
    assert (np.abs(log_p - exact) < 5 * se).all()
    # K = 1 is the dequantization bound log p(y) - d log 17, the same uniform draw
    one, _ = data.discrete_log_prob(log_density, x, n_samples=1, generator=0)
    y = data.dequantize(x[:1], generator=0).numpy()  # first row draws the same u
    np.testing.assert_allclose(one[0], log_density(y)[0] - 4 * np.log(17))


def test_ring_geometry():
    ring = data.toy_distribution("ring")
    assert ring.means.shape == (8, 2)
    torch.testing.assert_close(ring.means.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))


def test_entropy_is_below_the_nll_of_a_wrong_model():
    ring = data.toy_distribution("ring", std=0.2)
    wide = data.toy_distribution("ring", std=0.4)
    x = ring.sample(20_000, generator=0)
    assert ring.entropy(generator=1) < float(-wide.log_prob(x).mean())


# --- bars and stripes ---------------------------------------------------------------------

@pytest.mark.parametrize("size, n_patterns", [(2, 6), (3, 14), (4, 30)])
def test_bars_and_stripes_patterns(size, n_patterns):
    bas = data.BarsAndStripes(size)
    assert bas.patterns.shape == (n_patterns, size * size)
    assert bas.entropy == pytest.approx(math.log(n_patterns))
    images = bas.patterns.reshape(-1, size, size)
    rows_constant = (images == images[:, :, :1]).all(-1).all(-1)
    cols_constant = (images == images[:, :1, :]).all(-1).all(-1)
    assert bool((rows_constant | cols_constant).all())


def test_bars_and_stripes_log_prob_sums_to_one_over_all_images():
    from dgm_course.evaluation import all_binary_states

    bas = data.BarsAndStripes(3)
    logp = bas.log_prob(all_binary_states(9))
    assert float(torch.logsumexp(logp, 0)) == pytest.approx(0.0, abs=1e-6)
    assert int(torch.isfinite(logp).sum()) == 14
    assert torch.isfinite(bas.log_prob(bas.sample(50, generator=0))).all()


# --- bad arguments ------------------------------------------------------------------------

RING = data.toy_distribution("ring")
NAN_POINTS = torch.tensor([[0.0, float("nan")]])

BAD = [
    (lambda: data.load_digits("validation"),
     "split must be one of 'train', 'val', 'test', 'all', got 'validation'"),
    (lambda: data.load_digits(3), "split must be one of"),
    (lambda: data.load_digits(binary="no"), "binary must be True or False, got 'no'"),
    (lambda: data.load_digits(return_labels=1), "return_labels must be True or False"),
    (lambda: data.dequantize(torch.full((2, 3), 17.0)), "x must hold integer levels 0..16"),
    (lambda: data.dequantize(torch.zeros(2, 3), levels=1), "levels must be an integer >= 2"),
    (lambda: data.discrete_log_prob(np.sum, torch.zeros(2, 3), n_samples=0),
     "n_samples must be a positive integer"),
    (lambda: data.discrete_log_prob(np.sum, torch.full((2, 3), 0.5)),
     "x must hold integer levels 0..16"),
    (lambda: data.toy_distribution("swissroll"), "name must be one of .*got 'swissroll'"),
    (lambda: RING.sample(-1), "n must be a non-negative integer, got -1"),
    (lambda: RING.sample(2.5), "n must be a non-negative integer"),
    (lambda: RING.log_prob(torch.zeros(5, 3)), r"x must have shape \(n, 2\), got \(5, 3\)"),
    (lambda: RING.log_prob(NAN_POINTS), "x must be finite, got 1 NaN"),
    (lambda: RING.log_prob(NAN_POINTS.numpy()), "x must be finite"),
    (lambda: RING.score(NAN_POINTS), "x must be finite"),
    (lambda: RING.score(torch.zeros(5)), r"x must have 2 dimension\(s\) \(n, D\), got shape \(5,\)"),
    (lambda: RING.log_prob(torch.zeros(2, 2), chunk_size=0), "chunk_size must be a positive integer"),
    (lambda: data.toy_distribution("ring", std=-1.0), "stds must be a positive number, got -1.0"),
    (lambda: data.GaussianMixture2D([[0.0, 0.0]], [1.0, 2.0]), "stds must be a positive number or 1"),
    (lambda: data.GaussianMixture2D([[0.0, 0.0, 0.0]], 1.0), r"means must have shape \(n, 2\)"),
    (lambda: data.GaussianMixture2D([[0.0, float("nan")]], 1.0), "means must be finite"),
    (lambda: data.GaussianMixture2D([[0.0, 0.0]], 1.0, weights=[-1.0]), "weights must be 1 non-negative"),
    (lambda: data.BarsAndStripes(7), "size must be an integer from 2 to 5, got 7"),
    (lambda: data.BarsAndStripes(3).sample(-2), "n must be a non-negative integer"),
    (lambda: data.BarsAndStripes(3).log_prob(torch.zeros(2, 16)), r"x must have shape \(n, 9\), got \(2, 16\)"),
    (lambda: data.BarsAndStripes(3).log_prob(torch.full((2, 9), 0.5)), "x must be binary"),
    (lambda: data.BarsAndStripes(3).log_prob(torch.full((2, 9), float("nan"))), "x must be finite"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
