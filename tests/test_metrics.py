"""Metrics: the Fréchet distance's closed form and its order on corrupted digits; the other scores."""

import jax
import numpy as np
import pytest

import diffcourse as dc
from diffcourse import metrics


@pytest.fixture(scope="module")
def digits():
    train, _ = dc.data.images.load_digits("train")
    held, yheld = dc.data.images.load_digits("heldout")
    return train, held, yheld


def test_frechet_distance_closed_form_for_gaussians():
    """For N(mu_a, diag s_a^2) and N(mu_b, diag s_b^2): |mu_a - mu_b|^2 + sum (s_a - s_b)^2."""
    rng = np.random.default_rng(0)
    mu_a, mu_b = np.zeros(4), np.array([1.0, 0.0, -0.5, 0.2])
    s_a, s_b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([1.0, 1.0, 1.0, 0.3])
    a = mu_a + s_a * rng.standard_normal((200_000, 4))
    b = mu_b + s_b * rng.standard_normal((200_000, 4))
    exact = np.sum((mu_a - mu_b) ** 2) + np.sum((s_a - s_b) ** 2)
    assert metrics.frechet_distance(a, b) == pytest.approx(exact, rel=0.02)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_fd_scale_and_order_on_a_ladder(digits):
    train, held, _ = digits
    f_train = metrics.features(train)
    fd = lambda x: metrics.frechet_distance(metrics.features(x), f_train)
    self_fd, held_fd = fd(train), fd(held)
    rng = np.random.default_rng(1)
    noise_fd = fd(rng.standard_normal(held.shape))
    ladder = [fd(held + s * rng.standard_normal(held.shape)) for s in (0.2, 0.4, 0.8, 1.6)]
    print(
        f"FD: train to itself {self_fd:.2e}, held-out {held_fd:.2f}, noise {noise_fd:.1f}, ladder {np.round(ladder, 1)}"
    )
    assert abs(self_fd) < 1e-4  # 0 up to float64 cancellation in the trace terms
    assert 0 < held_fd < 15  # measured 6.75: the finite-sample floor of 297 real images
    assert noise_fd > 50 * held_fd
    assert held_fd < ladder[0] and np.all(np.diff(ladder) > 0)


def test_classifier_confidence_entropy_memorisation(digits):
    train, held, yheld = digits
    probs = metrics.probabilities(held)
    assert probs.shape == (297, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert np.mean(probs.argmax(1) == yheld) > 0.95  # held-out accuracy (measured 0.983)
    ref = metrics.heldout_reference()
    assert ref["confidence"] > 0.95 and ref["class_entropy"] > 2.25
    # entropy of the class histogram: ln 10 for balanced classes, 0 for one class
    assert metrics.class_entropy(np.eye(10)[np.arange(100) % 10]) == pytest.approx(np.log(10))
    assert metrics.class_entropy(np.eye(10)[np.zeros(50, int)]) == 0.0
    assert metrics.confidence(np.full((3, 10), 0.1)) == pytest.approx(0.1)
    # memorisation scale: a training image is at distance 0 from the training set, held-out ones are not
    assert metrics.nearest_neighbour_distance(train[:20], train).max() < 1e-6
    assert np.median(metrics.nearest_neighbour_distance(held, train)) > 1.0


def test_nearest_neighbour_of_points_and_images_against_brute_force(digits):
    """Points (n, d) and images (n, H, W) alike, against a brute-force loop; the index picks the
    nearest item (a training image's own index), and items of another size are refused."""
    train, held, _ = digits
    rng = np.random.default_rng(2)
    x, pts = rng.standard_normal((30, 3)), rng.standard_normal((50, 3))
    brute = np.array([np.linalg.norm(pts - p, axis=1) for p in x])
    dist, k = metrics.nearest_neighbour_distance(x, pts, index=True)
    np.testing.assert_array_equal(k, brute.argmin(1))
    np.testing.assert_allclose(dist, brute.min(1), rtol=1e-10)
    np.testing.assert_allclose(metrics.nearest_neighbour_distance(x, pts), dist, rtol=0)
    dist, k = metrics.nearest_neighbour_distance(train[[5, 700, 1499]], train, index=True)
    np.testing.assert_array_equal(k, [5, 700, 1499])
    brute = np.linalg.norm(held[:4, None] - train[None], axis=(2, 3))
    dist, k = metrics.nearest_neighbour_distance(held[:4], train, index=True)
    np.testing.assert_array_equal(k, brute.argmin(1))
    np.testing.assert_allclose(dist, brute.min(1), rtol=1e-5)
    with pytest.raises(ValueError, match="same size"):
        metrics.nearest_neighbour_distance(x, train)


def test_score_over_seeds_and_format_table(digits):
    """Mean and SD (ddof 0) over seeds of evaluate's scores, and the printed table."""
    train, held, _ = digits
    make = lambda s: held[s * 100 : s * 100 + 97]
    row = metrics.score_over_seeds(make, seeds=(0, 1))
    by_seed = metrics.scores_by_seed(make, seeds=(1, 0))
    each = [metrics.evaluate(make(s)) for s in (0, 1)]
    for k in ("fd", "confidence", "class_entropy"):
        values = [e[k] for e in each]
        assert row[k] == pytest.approx((np.mean(values), np.std(values)), rel=1e-12)
        assert by_seed[k] == pytest.approx(values[::-1], rel=1e-12)  # in the order of seeds
    assert by_seed["fd"][0] != by_seed["fd"][1]  # two different sets, not one score repeated
    text = metrics.format_table({"held-out": row, "again": row})
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0].split() == ["FD", "confidence", "class", "entropy"]
    m, s = row["fd"]
    assert f"{m:6.2f} ± {s:4.2f}" in lines[1] and lines[1].startswith("held-out")
    with pytest.raises(ValueError, match="rows"):
        metrics.format_table({"a": {"fd": (1.0, 0.0)}, "b": {"confidence": (1.0, 0.0)}})


def test_bad_input():
    with pytest.raises(ValueError, match="same k"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.features(np.full((2, 8, 8), np.nan))


def test_the_shipped_classifier_is_the_one_fit_classifier_gives(digits):
    """The stored weights are fit_classifier's on the training split: refit and compare. On the
    CPU that wrote them the weights agree exactly; another CPU's rounding may move them slightly,
    so the check is on the weights to 1e-3 and on the held-out predictions."""
    train, held, yheld = digits
    refit = metrics.fit_classifier(train, dc.data.images.load_digits("train")[1])
    shipped = metrics.digits_classifier()
    for a, b in zip(jax.tree.leaves(refit), jax.tree.leaves(shipped), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-3)
    p_refit, p_shipped = metrics.probabilities(held, refit), metrics.probabilities(held)
    assert np.mean(p_refit.argmax(1) == p_shipped.argmax(1)) > 0.99
    # the comparison can fail: weights moved by 1e-2 (less than another seed's fit moves them)
    moved = jax.tree.map(lambda a: a + 1e-2, shipped)
    with pytest.raises(AssertionError):
        for a, b in zip(jax.tree.leaves(refit), jax.tree.leaves(moved), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-3)


def test_reference_samples_are_the_floor_the_heldout_and_the_pixel_gaussian():
    """metrics.reference_samples: seed s draws n distinct training images (np.random.default_rng(s)),
    the held-out row is the held-out images whatever the seed, the Gaussian row is gaussian_baseline;
    and the floor is below held-out is below the Gaussian in FD (notebook 08's scale)."""
    train = dc.data.images.load_digits("train")[0]
    held = dc.data.images.load_digits("heldout")[0]
    makers = dc.metrics.reference_samples(train, held, 297)
    assert tuple(makers) == dc.metrics.REFERENCE_ROWS
    sub = makers["training subset (floor)"](3)
    flat = train.reshape(len(train), -1)
    rows = [int(np.flatnonzero((flat == x.ravel()).all(1))[0]) for x in sub]
    assert len(set(rows)) == 297 and not np.array_equal(sub, makers["training subset (floor)"](4))
    assert np.array_equal(makers["held-out real digits"](5), held[:297])
    assert np.array_equal(
        makers["pixel Gaussian (no net)"](2), dc.metrics.gaussian_baseline(train, 297, 2)
    )
    fd = [dc.metrics.evaluate(makers[name](0))["fd"] for name in dc.metrics.REFERENCE_ROWS]
    assert fd[0] < fd[1] < fd[2], fd


def test_benchmark_result_reads_what_the_benchmark_wrote(monkeypatch, tmp_path):
    """benchmark_result parses benchmarks/results/NAME.json (the file itself, not a copy); an
    unknown name lists the stored ones; without the folder (an installed wheel) it says why."""
    import json

    stored = metrics.benchmark_result("sampler_curve")
    assert stored == json.loads((metrics.RESULTS / "sampler_curve.json").read_text())
    assert "DDIM (lam = 0)" in stored["curve"]
    with pytest.raises(
        ValueError, match=r"no stored benchmark result 'sampler_curv'.*sampler_curve"
    ):
        metrics.benchmark_result("sampler_curv")
    monkeypatch.setattr(metrics, "RESULTS", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="clone of the repository"):
        metrics.benchmark_result("sampler_curve")
