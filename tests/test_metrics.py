"""Metrics: the Fréchet distance's closed form and its order on corrupted digits; the other scores."""

import jax
import numpy as np
import pytest
from scipy import stats

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


# --------------------------------------------------------------------------------------------
# compare: the difference of two scores over seeds, its SE and a verdict at 2 SE


def _verdict_rates(rng, n, k, trials=2000):
    """The fraction of ``trials`` paired data sets (n seeds, a shared seed effect of SD 3, N(0, 1)
    noise on each side, a true difference of k SE = k sqrt(2/n)) given each verdict."""
    verdicts = []
    for _ in range(trials):
        seed_effect = 3.0 * rng.standard_normal(n)
        a = seed_effect + rng.standard_normal(n) + k * np.sqrt(2 / n)
        b = seed_effect + rng.standard_normal(n)
        verdicts.append(metrics.compare(a, b).verdict)
    return {v: verdicts.count(v) / trials for v in set(verdicts)}


def test_compare_calls_a_5_se_difference_and_not_a_zero_one():
    """Paired seeds: D/SE is Student's t with n - 1 degrees of freedom, noncentral with
    noncentrality k when the true difference is k SE. So the verdict 'a higher' comes at the rate
    P(t'_{n-1}(k) > 2), 0.996 at k = 5 (n = 8): the winner is found, with the right sign; and
    'no difference measured' at the rate P(|t_{n-1}| <= 2) = 0.914 at k = 0 (scipy's closed
    forms). Each rate is measured on 2000 data sets, within 4 binomial SE."""
    n = 8
    rng = np.random.default_rng(0)
    cases = (
        (5.0, "a higher", stats.nct.sf(2.0, n - 1, 5.0)),
        (0.0, "no difference measured", 1 - 2 * stats.t.sf(2.0, n - 1)),
    )
    for k, verdict, expected in cases:
        rate = _verdict_rates(rng, n, k).get(verdict, 0.0)
        print(f"true difference {k} SE: {verdict!r} in {rate:.3f}, closed form {expected:.3f}")
        assert abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / 2000)
    seed_effect = 3.0 * rng.standard_normal(n)
    a = seed_effect + rng.standard_normal(n)
    b = seed_effect + rng.standard_normal(n) + 5 * np.sqrt(2 / n)  # b higher by 5 SE
    assert metrics.compare(a, b, names=("ddim", "euler")).verdict == "ddim lower"
    assert metrics.compare(b, a, names=("euler", "ddim")).verdict == "euler higher"
    assert metrics.compare(a, a).verdict == "no difference measured"  # D = 0 = SE
    # Welch, independent sides of 10 and 12 seeds, a lower by 5 true SE
    se = np.sqrt(1 / 10 + 1 / 12)
    c = metrics.compare(rng.standard_normal(10) - 5 * se, rng.standard_normal(12))
    assert not c.paired and c.verdict == "a lower" and c.upper < 0


def test_compare_verdict_at_exactly_two_se_and_two_wrong_verdicts():
    """Paired differences D + (-1, -1, 1, 1): s_d = 2/sqrt(3), SE = 1/sqrt(3). A difference of
    2 SE (1 - 1e-9) is 'no difference measured', of 2 SE (1 + 1e-9) is 'a higher'; the same at
    the Welch boundary (a = D + (-1, 1), b = (-1, 1): SE = sqrt(2)). A verdict at 2 SD (the
    SD instead of the SE) or at 1 SE calls these data wrongly, so the test tells them apart."""
    spread = np.array([-1.0, -1.0, 1.0, 1.0])
    two_se = 2 / np.sqrt(3)
    b = np.array([0.3, -0.2, 1.1, 0.5])
    under = metrics.compare(b + two_se * (1 - 1e-9) + spread, b)
    over = metrics.compare(b + two_se * (1 + 1e-9) + spread, b)
    assert under.se == pytest.approx(1 / np.sqrt(3), rel=1e-12)
    assert under.verdict == "no difference measured" and over.verdict == "a higher"
    assert over.lower > 0 > under.lower and over.upper == pytest.approx(2 * two_se, rel=1e-8)
    two_se_welch = 2 * np.sqrt(2)
    welch = [
        metrics.compare(np.array([-1.0, 1.0]) + D, [-1.0, 1.0], paired=False)
        for D in (two_se_welch * (1 - 1e-9), two_se_welch * (1 + 1e-9))
    ]
    assert welch[0].se == pytest.approx(np.sqrt(2), rel=1e-12)
    assert [w.verdict for w in welch] == ["no difference measured", "a higher"]

    def verdict_at_2_sd(a, b):  # wrong: the seeds' SD where the SE of the mean belongs
        d = np.asarray(a) - np.asarray(b)
        return "no difference measured" if abs(d.mean()) <= 2 * d.std(ddof=1) else "a higher"

    def verdict_at_1_se(a, b):  # wrong: a 1-SE bar
        d = np.asarray(a) - np.asarray(b)
        se = d.std(ddof=1) / np.sqrt(len(d))
        return "no difference measured" if abs(d.mean()) <= se else "a higher"

    assert verdict_at_2_sd(b + two_se * (1 + 1e-9) + spread, b) != over.verdict
    assert verdict_at_1_se(b + two_se * (1 - 1e-9) + spread, b) != under.verdict


def test_compare_se_against_scipys_t_tests():
    """Paired SE = s_d/sqrt(n) and Welch's sqrt(s_a^2/n_a + s_b^2/n_b), computed here by hand and
    by scipy (the SE is D over the t statistic of ttest_rel and of ttest_ind(equal_var=False))."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(6.0, 0.5, 5), rng.normal(6.3, 0.5, 5)
    paired = metrics.compare(a, b)
    d = a - b
    by_hand = np.sqrt(np.sum((d - d.mean()) ** 2) / (len(d) - 1) / len(d))
    assert paired.paired and paired.se == pytest.approx(by_hand, rel=1e-12)
    assert paired.se == pytest.approx(d.mean() / stats.ttest_rel(a, b).statistic, rel=1e-10)
    b7 = rng.normal(6.3, 0.9, 7)
    welch = metrics.compare(a, b7)
    va = np.sum((a - a.mean()) ** 2) / 4
    vb = np.sum((b7 - b7.mean()) ** 2) / 6
    assert not welch.paired and welch.se == pytest.approx(np.sqrt(va / 5 + vb / 7), rel=1e-12)
    t_welch = stats.ttest_ind(a, b7, equal_var=False).statistic
    assert welch.se == pytest.approx((a.mean() - b7.mean()) / t_welch, rel=1e-10)
    # same shapes, paired=False: Welch; the two SEs differ (the shared seed effect cancels in d)
    unpaired = metrics.compare(a, b, paired=False)
    assert unpaired.se == pytest.approx(np.sqrt(a.var(ddof=1) / 5 + b.var(ddof=1) / 5), rel=1e-12)
    assert unpaired.difference == paired.difference and unpaired.se != paired.se
    assert (welch.n_a, welch.n_b, welch.lower) == (5, 7, welch.difference - 2 * welch.se)


def test_compare_averages_sampling_seeds_and_says_when_it_falls_back():
    """(training seeds, sampling seeds): the replicate is the training seed (the mean over the
    sampling axis); with one training seed the sampling seeds are the replicates, and the result
    says so. Pooling all m k values as replicates (a plausible wrong version) would shrink the
    SE by about sqrt(5) here (measured 2.5): the 5 sampling seeds of a training seed are not
    independent replicates."""
    rng = np.random.default_rng(4)
    train_effect = rng.standard_normal((4, 1))
    a = 6.0 + train_effect + 0.2 * rng.standard_normal((4, 5))
    b = 6.5 + train_effect + rng.standard_normal((4, 1)) + 0.2 * rng.standard_normal((4, 5))
    c = metrics.compare(a, b, names=("ddim", "heun"))
    ref = metrics.compare(a.mean(1), b.mean(1), names=("ddim", "heun"))
    assert (c.difference, c.se, c.n_a, c.paired) == (ref.difference, ref.se, 4, True)
    assert c.units == ("training seeds", "training seeds")
    assert str(c).startswith("ddim - heun = ") and "(SE, 4 paired training seeds)" in str(c)
    pooled = (a - b).ravel()
    assert c.se > 2 * pooled.std(ddof=1) / np.sqrt(pooled.size)  # measured 2.5 times
    one = metrics.compare(a[:1], b[:1])
    assert one.se == metrics.compare(a[0], b[0]).se and one.n_a == 5
    assert one.units[0] == "sampling seeds (one training seed)"
    assert "5 paired sampling seeds (one training seed)" in str(one)
    mixed = metrics.compare(a, b[:1])
    assert not mixed.paired and (mixed.n_a, mixed.n_b) == (4, 5)
    assert "Welch, 4 training seeds and 5 sampling seeds (one training seed)" in str(mixed)


def test_compare_refuses_too_few_non_finite_and_unpaired_shapes():
    with pytest.raises(ValueError, match="a_scores must be at least 2 seeds"):
        metrics.compare([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="b_scores must be at least 2 sampling seeds"):
        metrics.compare([1.0, 2.0], [[1.0]])
    with pytest.raises(ValueError, match="a_scores must be finite"):
        metrics.compare([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"b_scores must be of a_scores' shape \(3,\)"):
        metrics.compare([1.0, 2.0, 3.0], [1.0, 2.0], paired=True)
    with pytest.raises(ValueError, match="paired must be True or False"):
        metrics.compare([1.0, 2.0], [1.0, 2.0], paired="yes")


def test_compare_summaries_is_welch_from_stored_means_and_sds():
    """From (mean, ddof-0 SD) over n seeds, the same difference and Welch SE as compare() on the
    seeds themselves; the verdict flips at 2 SE."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(6.0, 1.0, 3), rng.normal(7.0, 2.0, 3)
    full = metrics.compare(a, b, paired=False)
    summary = metrics.compare_summaries((a.mean(), a.std()), (b.mean(), b.std()), 3)
    assert np.isclose(summary.difference, full.difference, rtol=1e-12)
    assert np.isclose(summary.se, full.se, rtol=1e-12)
    se = np.sqrt(a.var(ddof=1) / 3 + b.var(ddof=1) / 3)  # independently
    assert np.isclose(summary.se, se, rtol=1e-12)
    assert metrics.compare_summaries((0.0, 1.0), (3.0, 1.0), 3).verdict == "a lower"  # 2.6 SE
    assert metrics.compare_summaries((0.0, 1.0), (1.8, 1.0), 3).verdict == "no difference measured"
    wrong_se = np.sqrt((1.0 + 1.0) / 3)  # the ddof-0 SDs used as sample SDs: too small an SE
    assert abs(0.0 - 1.8) > 2 * wrong_se  # that mistake would call a winner here
    with pytest.raises(ValueError, match="mean, sd"):
        metrics.compare_summaries((1.0, -1.0), (1.0, 1.0), 3)
