"""Tests for diffcourse.reverse: the lam family recovers pop, the ODE is exact and invertible (M10, M12)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from diffcourse import reverse
from diffcourse.populations import FinitePop, GaussianMixture

LAMS = [0.0, 0.5, 1.0, 2.0]


def g1_mixture():
    """MCALLESTER's G1: 1-D mixture, pi = (.3, .5, .2), mu = (-2, .5, 3), v = (.05, .3, .1)."""
    return GaussianMixture(
        jnp.array([0.3, 0.5, 0.2]),
        jnp.array([[-2.0], [0.5], [3.0]]),
        jnp.array([[0.05], [0.3], [0.1]]),
    )


def g2_mixture():
    """A 2-D mixture with full covariances."""
    covs = jnp.array(
        [[[0.2, 0.1], [0.1, 0.3]], [[0.1, 0.0], [0.0, 0.4]], [[0.3, -0.15], [-0.15, 0.2]]]
    )
    means = jnp.array([[-2.0, 0.0], [1.0, 1.5], [1.5, -1.5]])
    return GaussianMixture(jnp.array([0.25, 0.45, 0.3]), means, covs)


def marginal_cdf(pop, a, t):
    """Coordinate a of p_t, recomputed with scipy: sum_k pi_k Phi((x - mu_ka)/sqrt(C_kaa + t))."""
    w, mu, var = (np.asarray(x) for x in (pop.weights, pop.means[:, a], pop.covs[:, a, a] + t))
    return lambda x: np.sum(
        w * scipy.stats.norm.cdf((np.asarray(x)[:, None] - mu) / np.sqrt(var)), 1
    )


def ks_pvalues(pop, z, t):
    """KS p-value of each coordinate of z against the exact marginal CDF of p_t."""
    return np.array(
        [
            scipy.stats.kstest(np.asarray(z[:, a]), marginal_cdf(pop, a, t)).pvalue
            for a in range(pop.dim)
        ]
    )


def weight_zscores(pop, z, t):
    """(mean of r_k(z) - pi_k) / SE: E[r_k(z)] = pi_k exactly when z ~ p_t (r_k by scipy)."""
    logits = np.stack(
        [
            np.log(w)
            + scipy.stats.multivariate_normal(m, c + t * np.eye(pop.dim)).logpdf(np.asarray(z))
            for w, m, c in zip(
                *(np.asarray(x) for x in (pop.weights, pop.means, pop.covs)), strict=True
            )
        ],
        axis=1,
    )
    r = scipy.special.softmax(logits, axis=1)
    return (r.mean(0) - np.asarray(pop.weights)) / (r.std(0) / np.sqrt(z.shape[0]))


@pytest.mark.parametrize("make", [g1_mixture, g2_mixture])
def test_every_lam_recovers_the_mixture(make):
    """Exact p_T samples (T = 40), 400 geometric steps to t_min = 1e-3: KS p > 1e-3 per coordinate,
    mixture weights within 4 SE, for lam in {0, .5, 1, 2} (measured: min p 0.13, max |z| 2.1)."""
    pop, n, t_min = make(), 4000, 1e-3
    z_T = pop.sample_pt(jax.random.PRNGKey(1), n, 40.0)
    ts = reverse.time_grid(40.0, t_min, 400)
    for lam in LAMS:
        z = reverse.sample(jax.random.PRNGKey(2), pop.score, z_T, ts, lam)
        assert np.all(ks_pvalues(pop, z, t_min) > 1e-3), lam
        assert np.all(np.abs(weight_zscores(pop, z, t_min)) < 4), lam
    z = reverse.sample(
        None, pop.score, z_T, reverse.time_grid(40.0, t_min, 100), 0.0, method="heun"
    )
    assert np.all(ks_pvalues(pop, z, t_min) > 1e-3)
    assert np.all(np.abs(weight_zscores(pop, z, t_min)) < 4)


def test_slide_form_is_detectably_wrong():
    """Drift (1+lam)/2 with noise lam (the slides as printed) at lam = 0.5 misses pop: KS p < 1e-8,
    while the consistent drift (1+lam^2)/2 passes (test above). Emulated by scaling the score."""
    pop, lam, t_min = g1_mixture(), 0.5, 1e-3
    z_T = pop.sample_pt(jax.random.PRNGKey(1), 4000, 40.0)
    factor = ((1 + lam) / 2) / reverse.drift_coefficient(lam)
    slide_score = lambda z, t: factor * pop.score(z, t)
    z = reverse.sample(
        jax.random.PRNGKey(2), slide_score, z_T, reverse.time_grid(40.0, t_min, 400), lam
    )
    assert ks_pvalues(pop, z, t_min)[0] < 1e-8


def test_variance_recursion_c6a():
    """Gaussian s2 = .5, T = 50 -> 1e-4, 2000 steps: V/s2 - 1 is O(dt) small for the consistent
    family and about -0.45 for the slide form at lam = .5; the sampler follows the recursion."""
    s2, ts = 0.5, np.geomspace(50.0, 1e-4, 2001)
    for lam in LAMS:
        v = reverse.gaussian_variance(float(reverse.drift_coefficient(lam)), lam, s2, ts)
        assert abs(v / s2 - 1) < 0.01, (lam, v / s2 - 1)
    slide = reverse.gaussian_variance((1 + 0.5) / 2, 0.5, s2, ts)
    assert slide / s2 - 1 < -0.3, slide / s2 - 1
    # the sampler realises exactly this recursion on a Gaussian: sample variance within 4 SE
    pop = GaussianMixture(jnp.ones(1), jnp.zeros((1, 1)), jnp.full((1, 1), s2))
    ts = reverse.time_grid(50.0, 1e-4, 60)
    z = reverse.sample(
        jax.random.PRNGKey(3), pop.score, pop.sample_pt(jax.random.PRNGKey(4), 20000, 50.0), ts, 0.5
    )
    v = reverse.gaussian_variance(float(reverse.drift_coefficient(0.5)), 0.5, s2, np.asarray(ts))
    assert abs(float(z.var()) - v) < 4 * v * np.sqrt(2 / 20000)


def test_fokker_planck_residual_c4b():
    """The reverse FP equation holds with c = (1+lam^2)/2 and fails with (1+lam)/2 at lam = .5:
    d_tau p = -div(c grad(ln p) p) + (lam^2/2) Lap p must equal -d_t p = -(1/2) Lap p (autodiff)."""
    pop = g1_mixture()
    z = jnp.linspace(-4.0, 5.0, 201)

    def parts(z):
        p = lambda z, t: jnp.exp(pop.log_density(jnp.atleast_1d(z), t))
        return jax.grad(p, 1)(z, 0.7), jax.grad(jax.grad(p))(z, 0.7)

    dt_p, lap_p = jax.jit(jax.vmap(parts))(z)
    scale = float(jnp.max(jnp.abs(dt_p)))
    for lam in LAMS:
        residual = -dt_p - (-reverse.drift_coefficient(lam) * lap_p + lam**2 / 2 * lap_p)
        assert float(jnp.max(jnp.abs(residual))) < 1e-10 * scale
    wrong = -dt_p - (-(1 + 0.5) / 2 * lap_p + 0.5**2 / 2 * lap_p)
    assert float(jnp.max(jnp.abs(wrong))) > 0.1 * scale


def test_ode_matches_gaussian_closed_form_with_orders():
    """C7: pop = N(.3, .5): the PF-ODE path is mu + (z_T - mu) sqrt((s2+t)/(s2+T)). Euler's error
    falls like n^-1 and Heun's like n^-2 (slopes fitted on a log-log line)."""
    mu, s2, T, t_min = 0.3, 0.5, 20.0, 1e-3
    pop = GaussianMixture(jnp.ones(1), jnp.full((1, 1), mu), jnp.full((1, 1), s2))
    z_T = jnp.linspace(-8.0, 8.0, 9)[:, None]
    exact = mu + (z_T - mu) * np.sqrt((s2 + t_min) / (s2 + T))
    steps = np.array([25, 50, 100])
    for method, order in [("euler", 1.0), ("heun", 2.0)]:
        errs = []
        for n in steps:
            z = reverse.sample(
                None, pop.score, z_T, reverse.time_grid(T, t_min, int(n)), 0.0, method=method
            )
            errs.append(float(jnp.max(jnp.abs(z - exact))))
        slope = -np.polyfit(np.log(steps), np.log(errs), 1)[0]
        assert abs(slope - order) < 0.15, (method, slope)
    assert errs[-1] < 3e-3  # Heun, 100 steps: measured 1.9e-3 (4.6e-4 at 200)


def test_ode_monotone_transport_c7():
    """C7 (G1): the 1-D flow is monotone transport, so F_t(z(t)) = F_T(z(T)) along every path."""
    pop = g1_mixture()
    T, t_min = 30.0, 1e-3
    z_T = jnp.linspace(-12.0, 12.0, 27)[:, None]
    ts = reverse.time_grid(T, t_min, 500)
    z = reverse.sample(None, pop.score, z_T, ts, 0.0, method="heun")
    err = np.max(np.abs(marginal_cdf(pop, 0, t_min)(z[:, 0]) - marginal_cdf(pop, 0, T)(z_T[:, 0])))
    assert err < 1e-5, err


def test_ode_deterministic_and_invertible():
    """lam = 0 ignores the key; ode_forward then sample(lam=0) returns the start to 1e-4."""
    pop = g2_mixture()
    z0 = pop.sample_pt(jax.random.PRNGKey(5), 200, 1e-2)
    ts = reverse.time_grid(20.0, 1e-2, 200)
    z_T = reverse.ode_forward(pop.score, z0, ts[::-1])
    a = reverse.sample(jax.random.PRNGKey(0), pop.score, z_T, ts, 0.0, method="heun")
    b = reverse.sample(jax.random.PRNGKey(1), pop.score, z_T, ts, 0.0, method="heun")
    assert np.array_equal(a, b)
    assert float(jnp.max(jnp.abs(a - z0))) < 1e-4
    # and the forward map really moves the points: a round trip is not trivial
    assert float(jnp.min(jnp.linalg.norm(z_T - z0, axis=1))) > 0.1


def test_memorisation():
    """FinitePop of 20 points, exact score, lam in {0, 1}: >= 99% of samples end within
    4 sqrt(t_min) of a training point, and each point is hit with its weight (chi-square p > 1e-3).
    Fresh draws from the mixture the points came from (a model that generalises) do not (< 5%)."""
    data_pop = g2_mixture()
    t_min, n = 1e-4, 2000
    pop = FinitePop(data_pop.sample(jax.random.PRNGKey(7), n)[:20])
    z_T = pop.sample_pt(jax.random.PRNGKey(8), n, 40.0)
    ts = reverse.time_grid(40.0, t_min, 400)

    def nearest(z):
        d2 = jnp.sum((z[:, None] - pop.points) ** 2, -1)
        return jnp.sqrt(d2.min(1)), jnp.argmin(d2, 1)

    for lam in [0.0, 1.0]:
        z = reverse.sample(jax.random.PRNGKey(9), pop.score, z_T, ts, lam)
        dist, idx = nearest(z)
        assert float(jnp.mean(dist < 4 * np.sqrt(t_min))) >= 0.99, lam
        counts = np.bincount(np.asarray(idx), minlength=20)
        assert scipy.stats.chisquare(counts, n * np.asarray(pop.weights)).pvalue > 1e-3
    dist, _ = nearest(data_pop.sample(jax.random.PRNGKey(10), n))
    assert float(jnp.mean(dist < 4 * np.sqrt(t_min))) < 0.05


def logpdf_1d(pop, x, t):
    """ln N(x; mu_k, v_k + t) per component of a 1-D mixture, shape (K, len(x)), by scipy."""
    mu, var = np.asarray(pop.means[:, 0]), np.asarray(pop.covs[:, 0, 0]) + t
    return scipy.stats.norm.logpdf(x[None], mu[:, None], np.sqrt(var)[:, None])


def test_denoiser_step_is_the_lam1_step_and_exact_mean():
    """denoiser_step = z + (E[y|z]-z) dt/t + sqrt(dt) eps; its mean z + (E[y|z]-z) dt/t equals the
    mean of the true reverse kernel p_{t-dt}(z') N(z; z', dt)/p_t(z) (M3, quadrature, 1e-10)."""
    pop = g1_mixture()
    t, dt = 1.0, 0.3
    z = jnp.array([[-2.5], [0.1], [1.7], [3.4]])
    step = reverse.denoiser_step(jax.random.PRNGKey(0), pop.posterior_mean, z, t, dt)
    eps = jax.random.normal(jax.random.PRNGKey(0), z.shape)
    score, yhat = jax.jit(jax.vmap(lambda z: (pop.score(z, t), pop.posterior_mean(z, t))))(z)
    assert np.allclose(step, z + score * dt + np.sqrt(dt) * eps, rtol=1e-14)
    mean_step = np.asarray(z + (yhat - z) * dt / t)[:, 0]
    grid = np.linspace(-15.0, 15.0, 200001)
    p = np.exp(np.log(np.asarray(pop.weights))[:, None] + logpdf_1d(pop, grid, t - dt)).sum(0)
    for zi, mi in zip(np.asarray(z[:, 0]), mean_step, strict=True):
        w = p * scipy.stats.norm.pdf(zi, grid, np.sqrt(dt))
        assert abs(mi - np.sum(w * grid) / np.sum(w)) < 1e-10
    single = reverse.denoiser_step(jax.random.PRNGKey(1), pop.posterior_mean, z[0], t, dt)
    assert single.shape == (1,)


def test_time_grid_and_path():
    ts = reverse.time_grid(10.0, 1e-3, 8)
    assert ts.shape == (9,) and float(ts[0]) == 10.0 and abs(float(ts[-1]) - 1e-3) < 1e-15
    assert np.allclose(ts[1:] / ts[:-1], (1e-4) ** (1 / 8), rtol=1e-12)
    pop = g1_mixture()
    z_T = jnp.ones((3, 1))
    path = reverse.sample(jax.random.PRNGKey(0), pop.score, z_T, ts, 1.0, return_path=True)
    end = reverse.sample(jax.random.PRNGKey(0), pop.score, z_T, ts, 1.0)
    assert path.shape == (9, 3, 1)
    assert np.array_equal(path[0], z_T) and np.array_equal(path[-1], end)


def test_bad_input():
    pop, z = g1_mixture(), jnp.zeros((4, 1))
    ts = reverse.time_grid(1.0, 0.1, 4)
    with pytest.raises(ValueError, match="lam must be non-negative"):
        reverse.sample(None, pop.score, z, ts, -0.5)
    with pytest.raises(ValueError, match="ts must be strictly decreasing"):
        reverse.sample(None, pop.score, z, ts[::-1], 1.0)
    with pytest.raises(ValueError, match="ts must be non-negative"):
        reverse.sample(None, pop.score, z, jnp.array([1.0, 0.5, -0.1]), 1.0)
    with pytest.raises(ValueError, match="ts must be strictly increasing"):
        reverse.ode_forward(pop.score, z, ts)
    with pytest.raises(ValueError, match="z must have shape"):
        reverse.sample(None, pop.score, jnp.zeros(4), ts, 1.0)
    with pytest.raises(ValueError, match="heun"):
        reverse.sample(None, pop.score, z, ts, 1.0, method="heun")
    with pytest.raises(ValueError, match="method must be"):
        reverse.sample(None, pop.score, z, ts, 0.0, method="rk4")
    with pytest.raises(ValueError, match="t_min must be positive"):
        reverse.time_grid(1.0, 0.0, 10)
    with pytest.raises(ValueError, match="t_max must be larger"):
        reverse.time_grid(0.1, 1.0, 10)
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        reverse.time_grid(1.0, 0.1, 0)
    with pytest.raises(ValueError, match="t must be positive"):
        reverse.denoiser_step(jax.random.PRNGKey(0), pop.posterior_mean, z, 0.0, 0.1)
    with pytest.raises(ValueError, match="dt must be at most t"):
        reverse.denoiser_step(jax.random.PRNGKey(0), pop.posterior_mean, z, 0.1, 0.2)


def test_notebook_05_exercise_checks():
    """The nb05 checks accept the worked answers and reject typical mistakes with ExerciseError."""
    from diffcourse.exercises import ExerciseError, nb05

    nb05.check_drift_coefficient(lambda lam: (1 + lam**2) / 2)
    nb05.check_euler_step(2.0 + 0.625 * (-1.0) * 0.1 - 0.5 * np.sqrt(0.1))
    nb05.check_slide_lams([1.0, 0.0])
    nb05.check_memorisation_fraction(0.995)
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_drift_coefficient(lambda lam: (1 + lam) / 2)  # the slide form
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_euler_step(2.0 - 0.625 * (-1.0) * 0.1 - 0.5 * np.sqrt(0.1))  # wrong sign
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_slide_lams([0.0])
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_memorisation_fraction(0.3)
