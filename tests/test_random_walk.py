"""Random walks: D = dx^2 / (2 dt), the heat kernel as the law of the walkers, first passage.

Statistical tests use fixed keys; each tolerance is stated as a number of standard errors
(or a KS p-value) so a wrong D, a wrong variance or a wrong law fails.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from diffcourse import random_walk as rw


def test_diffusion_constant():
    assert rw.diffusion_constant(0.1, 0.005) == pytest.approx(1.0)


def test_lattice_walk_shapes_and_steps():
    p = rw.lattice_walk(jax.random.key(0), 7, 5, 0.3, 0.1)
    assert p.shape == (7, 6)
    assert np.all(p[:, 0] == 0)
    np.testing.assert_allclose(np.abs(np.diff(p, axis=1)), 0.3)
    p2 = rw.lattice_walk(jax.random.key(0), 7, 5, 0.3, 0.1, dim=2)
    assert p2.shape == (7, 6, 2)
    np.testing.assert_allclose(np.abs(np.diff(p2, axis=1)), 0.3)


# one simulation per dimension, shared by the tests below: D = dx^2 / (2 dt) = 1
N, n, dx, dt = 10_000, 100, 0.1, 0.005


@pytest.fixture(scope="module")
def walks():
    k1, k2 = jax.random.split(jax.random.key(1))
    return {1: rw.lattice_walk(k1, N, n, dx, dt), 2: rw.lattice_walk(k2, N, n, dx, dt, dim=2)}


@pytest.mark.parametrize("dim", [1, 2])
def test_msd_slope_is_2_dim_D(walks, dim):
    # E MSD(t) = 2 dim D t; the relative standard error of the fitted slope is about
    # sqrt(2 / (N dim)) (Var S_n^2 = 2 n^2 - 2n per coordinate): allow 4 of them.
    ts = dt * np.arange(n + 1)
    msd = rw.msd(walks[dim])
    slope, intercept = np.polyfit(ts, np.asarray(msd), 1)
    D = rw.diffusion_constant(dx, dt)
    tol = 4 * np.sqrt(2 / (N * dim))
    assert slope == pytest.approx(2 * dim * D, rel=tol)
    assert float(rw.fit_diffusion(ts, msd, dim=dim)) == pytest.approx(D, rel=tol)
    assert abs(intercept) < tol * 2 * dim * D * ts[-1]


def jittered(key, positions):
    """Spread each lattice position uniformly over its cell (-dx, dx) so that a continuous
    law can be compared by KS; this adds dx^2/3 to the variance (1/(3 n) of it, negligible)."""
    return positions + jax.random.uniform(key, positions.shape, minval=-dx, maxval=dx)


def test_walkers_follow_heat_kernel_ks(walks):
    x = np.asarray(jittered(jax.random.key(2), walks[1][:, -1]))
    t, D = n * dt, rw.diffusion_constant(dx, dt)
    assert stats.kstest(x, stats.norm(scale=np.sqrt(2 * D * t)).cdf).pvalue > 0.01
    # the test has power: a kernel with D 20% too large is rejected
    assert stats.kstest(x, stats.norm(scale=np.sqrt(2.4 * D * t)).cdf).pvalue < 1e-3


def test_2d_walkers_radius_follows_kernel_ks(walks):
    # under the 2-D kernel N(0, 2 D t I), |x|^2 / (2 D t) is chi-squared with 2 degrees
    x = np.asarray(jittered(jax.random.key(3), walks[2][:, -1]))
    r2 = np.sum(x**2, axis=1) / (2 * rw.diffusion_constant(dx, dt) * n * dt)
    assert stats.kstest(r2, stats.chi2(2).cdf).pvalue > 0.01
    assert stats.kstest(r2, stats.chi2(2, scale=1.2).cdf).pvalue < 1e-3


def test_brownian_paths_law_and_covariance():
    N = 20_000
    ts = jnp.linspace(0.0, 2.0, 41)
    W = np.asarray(rw.brownian_paths(jax.random.key(4), N, ts))
    assert W.shape == (N, 41) and np.all(W[:, 0] == 0)
    assert stats.kstest(W[:, -1] / np.sqrt(2.0), "norm").pvalue > 0.01
    idx = [5, 20, 40]
    s = np.asarray(ts)[idx]
    cov = np.cov(W[:, idx].T)
    expected = np.minimum.outer(s, s)  # Cov(W_s, W_t) = min(s, t)
    se = np.sqrt((np.outer(s, s) + expected**2) / N)  # standard error of a sample covariance
    assert np.all(np.abs(cov - expected) < 4 * se)


def test_brownian_scaling():
    # c^(-1/2) W(c t) is again a Brownian motion: same law at t = 1 for c = 9
    k1, k2 = jax.random.split(jax.random.key(5))
    W1 = np.asarray(rw.brownian_paths(k1, 5000, jnp.linspace(0.1, 1.0, 10)))[:, -1]
    W9 = np.asarray(rw.brownian_paths(k2, 5000, jnp.linspace(0.9, 9.0, 10)))[:, -1] / 3
    assert stats.ks_2samp(W1, W9).pvalue > 0.01


def test_brownian_2d_coordinates_independent():
    W = np.asarray(rw.brownian_paths(jax.random.key(6), 20_000, jnp.array([1.0]), dim=2))[:, 0]
    c = np.corrcoef(W.T)[0, 1]
    assert abs(c) < 4 / np.sqrt(20_000)


def test_first_passage_matches_reflection_principle():
    N, m, a = 5_000, 400, 1.0
    ts = jnp.linspace(0.0, 1.0, m + 1)
    dt = float(ts[1])
    tau = np.asarray(rw.first_passage_times(rw.brownian_paths(jax.random.key(7), N, ts), ts, a))
    grid = np.asarray(ts[1:])
    ecdf = np.mean(tau[None, :] <= grid[:, None], axis=1)
    # discrete monitoring misses crossings: shift the level by 0.5826 sqrt(dt) (BGK 1997)
    cdf = np.asarray(rw.first_passage_cdf(grid, a + 0.5826 * np.sqrt(dt)))
    assert np.max(np.abs(ecdf - cdf)) < 1.63 / np.sqrt(N)  # KS 1% critical value
    # the unshifted formula is the continuous-time answer and is close to it
    assert float(rw.first_passage_cdf(1.0, a)) == pytest.approx(2 * stats.norm.sf(1.0), rel=1e-12)


def test_absorbed_density_integrates_to_survival():
    a, t = 1.0, 0.8
    x = np.linspace(-30.0, a, 200_001)
    p = np.asarray(rw.absorbed_density(x, t, a))
    survival = np.trapezoid(p, x)
    assert survival == pytest.approx(
        1.0 - float(rw.first_passage_cdf(t, a)), abs=1e-8
    )  # trapezoid error
    assert p[-1] == pytest.approx(0.0, abs=1e-12)  # zero at the absorbing wall


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: rw.lattice_walk(jax.random.key(0), 0, 5, 0.1, 0.1), "n_walkers must be"),
        (lambda: rw.lattice_walk(jax.random.key(0), 5, 2.5, 0.1, 0.1), "n_steps must be"),
        (lambda: rw.lattice_walk(jax.random.key(0), 5, 5, -0.1, 0.1), "dx must be positive"),
        (lambda: rw.lattice_walk(jax.random.key(0), 5, 5, 0.1, 0.0), "dt must be positive"),
        (lambda: rw.lattice_walk(jax.random.key(0), 5, 5, 0.1, 0.1, dim=0), "dim must be"),
        (lambda: rw.brownian_paths(jax.random.key(0), 5, jnp.array([0.0, 0.5, 0.4])), "ts must"),
        (lambda: rw.brownian_paths(jax.random.key(0), 5, jnp.array([-1.0, 0.5])), "ts must"),
        (lambda: rw.msd(jnp.ones(5)), "paths must have shape"),
        (lambda: rw.fit_diffusion(jnp.ones(5), jnp.ones(4)), "msd_values must have shape"),
        (lambda: rw.first_passage_times(jnp.ones((3, 5)), jnp.ones(4), 1.0), "ts must have shape"),
        (lambda: rw.first_passage_times(jnp.ones((3, 5)), jnp.ones(5), 0.0), "a must be"),
        (lambda: rw.first_passage_cdf(1.0, 1.0, D=0.0), "D must be"),
        (lambda: rw.absorbed_density(0.0, -1.0, 1.0), "t must be"),
    ],
)
def test_bad_input_is_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_lattice_inside_probability_is_binomial_not_normal():
    p = rw.lattice_inside_probability(400, 2.0)
    assert p == pytest.approx(0.959769, abs=1e-6)
    assert abs(p - 0.9545) > 5e-3  # the normal value is a different number
    assert rw.lattice_inside_probability(10**4, 2.0) == pytest.approx(0.9545, abs=2e-3)


def test_msd_slope_standard_error_is_1_55_over_sqrt_n():
    ts = 0.01 * np.arange(401)
    assert rw.msd_slope_relative_se(ts, 1) == pytest.approx(1.547, abs=2e-3)
    # and it is what a simulation shows: the slope's scatter over 200 repetitions of 200 walkers
    ts_c = 0.05 * np.arange(21)
    W = np.asarray(rw.brownian_paths(jax.random.key(3), 400 * 200, ts_c)).reshape(400, 200, 21)
    slopes = np.polyfit(ts_c, np.mean(W**2, axis=1).T, 1)[0]  # 400 repetitions of 200 walkers
    se = rw.msd_slope_relative_se(ts_c, 200)
    assert np.std(slopes) == pytest.approx(se, rel=0.12)  # sd of an sd from 400 draws: 3.5%
    # sqrt(2/N) is 10 % smaller: told apart exactly by the formula, not by this simulation
    assert se * np.sqrt(200) == pytest.approx(1.515, abs=0.005)  # 21 points: 1.515


def test_brownian_scaling_as_a_process():
    """W(9t)/3 has Cov = min(s, t) at three times; sqrt(t) Z (same marginals) does not."""
    s = np.array([0.25, 0.5, 1.0])
    W9 = rw.brownian_paths(jax.random.key(8), 4000, 9.0 * s) / 3
    se = np.sqrt((np.outer(s, s) + np.minimum.outer(s, s) ** 2) / 4000)
    assert np.all(np.abs(rw.covariance_matrix(W9, [0, 1, 2]) - np.minimum.outer(s, s)) < 4 * se)
    fake = np.sqrt(s) * np.asarray(jax.random.normal(jax.random.key(9), (4000, 1)))
    assert np.max(np.abs(rw.covariance_matrix(fake, [0, 1, 2]) - np.minimum.outer(s, s)) / se) > 4


def test_biased_walk_drift_and_D():
    paths = np.asarray(rw.biased_walk(jax.random.key(4), 20000, 100, 0.1, 0.01, 0.7))
    T, v, D_ = 1.0, 0.4 * 0.1 / 0.01, 2 * 0.7 * 0.3 * 0.01 / 0.01
    assert paths[:, -1].mean() / T == pytest.approx(v, abs=4 * np.sqrt(2 * D_ * T / 20000) / T)
    assert paths[:, -1].var() / (2 * T) == pytest.approx(D_, rel=4 * np.sqrt(2 / 20000))
    with pytest.raises(ValueError, match="p must be a probability"):
        rw.biased_walk(jax.random.key(0), 2, 2, 0.1, 0.01, 1.5)


def test_first_passage_mean_is_infinite():
    m = [rw.first_passage_mean_truncated(T, 1.0) for T in (100.0, 1000.0)]
    assert m[1] / m[0] == pytest.approx(np.sqrt(10), rel=0.06)  # grows like sqrt(T)
