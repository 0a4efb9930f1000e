"""The one sampler (diffcourse.samplers) with exact denoisers.

Part 1: a Gaussian pop in 64-D must come back with its mean and covariance.

The pop is N(m, C) with C = V diag(lam) V^T, lam from 0.05 to 1. Its ideal denoiser is linear,
E[y | z(t)] = m + C (C + tI)^{-1} (z - m) (checked against dc.populations.GaussianMixture). With
n = 4000 samples we whiten by the true moments and test, in float64:
  - mean: n |Lambda^{-1/2} V^T (mean - m)|^2 / d, a chi^2_d / d variable, < 1.6 (p < 0.001 when exact);
  - covariance: |W - I|_F / sqrt(d(d+1)/n) with W the whitened sample covariance; the denominator
    is its size for exact samples (direct draws give 0.98), so < 1.3 allows 30% for discretisation;
  - the largest error of a whitened variance, max |W_ii - 1|: direct draws 0.05; the bound per
    sampler is stated below (DDPM on 1000 steps 0.12, DDIM and the ODE 0.2).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import diffcourse as dc
from diffcourse import samplers
from diffcourse.populations import FinitePop, GaussianMixture, mcallester_g1, mixture_2d

D, N = 64, 4000


@pytest.fixture(scope="module")
def gauss():
    rng = np.random.default_rng(0)
    V, _ = np.linalg.qr(rng.standard_normal((D, D)))
    lam = np.geomspace(0.05, 1.0, D)
    m = 0.5 * np.sin(np.arange(D))
    Vj, lamj, mj = jnp.asarray(V), jnp.asarray(lam), jnp.asarray(m)

    def denoiser(z, t):  # E[y | z(t) = z] = m + V diag(lam / (lam + t)) V^T (z - m)
        return mj + Vj @ (lamj / (lamj + t) * (Vj.T @ (z - mj)))

    return V, lam, m, denoiser


def moments_error(x, V, lam, m):
    x = np.asarray(x)
    white_mean = np.sqrt(N) * (V.T @ (x.mean(0) - m)) / np.sqrt(lam)
    W = (V.T @ np.cov(x, rowvar=False) @ V) / np.sqrt(np.outer(lam, lam))
    return (
        float(np.sum(white_mean**2) / D),
        float(np.linalg.norm(W - np.eye(D)) / np.sqrt(D * (D + 1) / N)),
        float(np.abs(np.diag(W) - 1).max()),
    )


def test_denoiser_is_the_populations_posterior_mean(gauss):
    V, lam, m, denoiser = gauss
    C = (V * lam) @ V.T
    pop = dc.populations.GaussianMixture(jnp.ones(1), jnp.asarray(m)[None], jnp.asarray(C)[None])
    z = pop.sample_pt(jax.random.key(0), 3, 0.3)
    for t in (1e-3, 50.0):
        want = jax.vmap(pop.posterior_mean, in_axes=(0, None))(z, t)
        got = jax.vmap(denoiser, in_axes=(0, None))(z, t)
        np.testing.assert_allclose(got, want, atol=1e-9)


def _x_T():
    return jax.random.normal(jax.random.key(1), (N, D))


def _run_setting(denoiser, name, n_steps, schedule_T=1000):
    """Sample with a named setting of the table, the DDPM prior x_T ~ N(0, I) taken to z = x sqrt(1+t0)."""
    ab = dc.schedules.alphabars(dc.schedules.cosine_betas(schedule_T))
    setting = samplers.SETTINGS[name]
    ts, _ = samplers.settings_grid(name, n_steps, alphabars=ab)
    lam = 1.0 if setting.lam is None else setting.lam
    z_T = _x_T() * np.sqrt(1.0 + ts[0])
    return samplers.sample(jax.random.key(3), denoiser, z_T, ts, step=setting.step, lam=lam)


SAMPLERS = {  # name: (setting, steps, schedule length, bound on the largest whitened variance error)
    "ddpm_250": ("ddpm", 250, 250, 0.12),
    "ddim_100": ("ddim", 100, 1000, 0.2),
    "ddim_eta1_100": ("ddim-eta", 100, 1000, 0.2),
    "ode_heun_40": ("ode", 40, 1000, 0.2),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sampler_recovers_gaussian_pop(gauss, name):
    V, lam, m, denoiser = gauss
    setting, steps, T, var_tol = SAMPLERS[name]
    x = _run_setting(denoiser, setting, steps, T)
    mean_stat, cov_stat, var_err = moments_error(x, V, lam, m)
    print(
        f"{name}: mean chi2/d {mean_stat:.3f}, cov ratio {cov_stat:.3f}, max var err {var_err:.3f}"
    )
    assert x.shape == (N, D)
    assert mean_stat < 1.6
    assert cov_stat < 1.3
    assert var_err < var_tol


def test_direct_draws_pass_and_a_wrong_denoiser_fails(gauss):
    """The statistics have power: exact draws pass; the denoiser of a pop 25% too wide fails."""
    V, lam, m, denoiser = gauss
    direct = m + (np.random.default_rng(5).standard_normal((N, D)) * np.sqrt(lam)) @ V.T
    assert moments_error(direct, V, lam, m)[1] < 1.3
    Vj, wide = jnp.asarray(V), jnp.asarray(1.25 * lam)
    wrong = lambda z, t: m + Vj @ (wide / (wide + t) * (Vj.T @ (z - m)))
    assert moments_error(_run_setting(wrong, "ddim", 100), V, lam, m)[1] > 1.5


def test_lam_one_ddim_step_is_the_ddpm_posterior():
    """One lam = 1 DDIM step from t to s has mean yhat + (s/t)(z - yhat) and variance s(t-s)/t,
    i.e. q(x_s | x_t, x_0 = yhat) of Ho et al. eq. 6-7 taken to the VE scale (z = x/sqrt(alphabar))."""
    ab_t, ab_s = 0.3, 0.6
    t, s = (1 - ab_t) / ab_t, (1 - ab_s) / ab_s
    yhat, z, xi = jnp.full(3, 0.25), jnp.full(3, 2.0), jnp.array([0.3, -1.2, 0.7])
    got = samplers.ddim(lambda z, t: yhat, z, t, s, 1.0, xi)
    mean, var = dc.schedules.ddpm_posterior(yhat, z * np.sqrt(ab_t), ab_t, ab_s)
    np.testing.assert_allclose(got * np.sqrt(ab_s), mean + jnp.sqrt(var) * xi, atol=1e-12)


# ----------------------------------------------------------------------- the lam family


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


@pytest.mark.parametrize("make", [mcallester_g1, mixture_2d])
def test_every_lam_recovers_the_mixture(make):
    """Exact p_T samples (T = 40), 400 geometric Euler steps to t_min = 1e-3, lam in {0, .5, 1, 2},
    and Heun on 100 steps: KS p > 1e-3 per coordinate, mixture weights within 4 SE."""
    pop, n, t_min = make(), 4000, 1e-3
    z_T = pop.sample_pt(jax.random.PRNGKey(1), n, 40.0)
    ts = samplers.geometric_grid(40.0, t_min, 400)
    for lam in [0.0, 0.5, 1.0, 2.0]:
        z = samplers.sample(
            jax.random.PRNGKey(2), pop.posterior_mean, z_T, ts, step=samplers.euler, lam=lam
        )
        assert np.all(ks_pvalues(pop, z, t_min) > 1e-3), lam
        assert np.all(np.abs(weight_zscores(pop, z, t_min)) < 4), lam
    ts = samplers.geometric_grid(40.0, t_min, 100)
    z = samplers.sample(jax.random.PRNGKey(0), pop.posterior_mean, z_T, ts, step=samplers.heun)
    assert np.all(ks_pvalues(pop, z, t_min) > 1e-3)
    assert np.all(np.abs(weight_zscores(pop, z, t_min)) < 4)


def slide_euler(D, z, t, s, lam, xi):
    """McAllester's slides as printed: drift (1+lam)/2 instead of (1+lam^2)/2 (a plausible wrong step)."""
    h = t - s
    return z + (1 + lam) / 2 * (D(z, t) - z) / t * h + lam * jnp.sqrt(h) * xi


def test_goodness_of_fit_is_the_independent_scipy_version():
    """populations.goodness_of_fit (used by notebook 05) agrees with the scipy recomputation above."""
    pop = mixture_2d()
    z = pop.sample_pt(jax.random.PRNGKey(3), 500, 0.1)
    ps, zs = dc.populations.goodness_of_fit(pop, z, 0.1)
    np.testing.assert_allclose(ps, ks_pvalues(pop, z, 0.1), rtol=1e-6)
    np.testing.assert_allclose(zs, weight_zscores(pop, z, 0.1), rtol=1e-6)
    shifted = dc.populations.goodness_of_fit(pop, z + 0.3, 0.1)[0]
    assert shifted.min() < 1e-6 and shifted.max() < 0.01  # power: a shift of 0.3 is seen


def test_slide_form_is_detectably_wrong(monkeypatch):
    """Drift (1+lam)/2 with noise lam at lam = 0.5 misses pop: KS p < 1e-8 (the consistent drift
    passes above), run through the same sampler with the wrong step rule."""
    monkeypatch.setitem(samplers.STEPS, "slide", slide_euler)
    pop, t_min = mcallester_g1(), 1e-3
    z_T = pop.sample_pt(jax.random.PRNGKey(1), 4000, 40.0)
    ts = samplers.geometric_grid(40.0, t_min, 400)
    z = samplers.sample(
        jax.random.PRNGKey(2), pop.posterior_mean, z_T, ts, step=slide_euler, lam=0.5
    )
    assert ks_pvalues(pop, z, t_min)[0] < 1e-8


def test_ddim_is_exact_for_a_constant_denoiser_and_euler_is_not():
    """A one-point population y0 has D = y0 and the exact ODE path z(s) = y0 + sqrt(s/t)(z_t - y0):
    the DDIM step reproduces it to float precision at ANY number of steps; Euler in t does not
    (its error at 4 steps is measured, and falls like 1/n)."""
    y0 = jnp.array([0.7, -1.3])
    D = lambda z, t: y0
    z_T = jnp.array([[3.0, 2.0], [-5.0, 0.5]])
    errs = {}
    for n in [1, 4, 16, 64]:
        ts = samplers.geometric_grid(25.0, 1e-2, n)
        exact = y0 + np.sqrt(ts[:, None, None] / ts[0]) * (z_T - y0)
        path = samplers.sample(jax.random.key(0), D, z_T, ts, step=samplers.ddim, return_path=True)
        assert float(jnp.max(jnp.abs(path - exact))) < 1e-12, n
        end = samplers.sample(jax.random.key(0), D, z_T, ts, step=samplers.euler)
        errs[n] = float(jnp.max(jnp.abs(end - exact[-1])))
    assert errs[4] > 0.1, errs  # Euler in t, 4 steps of ratio 0.2: far from the exact path
    slope = -np.polyfit(np.log([16, 64]), np.log([errs[16], errs[64]]), 1)[0]
    assert 0.8 < slope < 1.2, (slope, errs)
    # ddim to s = 0 returns the denoiser itself
    ts0 = np.array([4.0, 1.0, 0.0])
    end = samplers.sample(jax.random.key(0), D, z_T, ts0, step=samplers.ddim, lam=0.7)
    np.testing.assert_allclose(end, jnp.broadcast_to(y0, z_T.shape), atol=1e-14)


def _mean_var(step, D, z, t, s, lam):
    """Mean and variance of one step: the steps are affine in the noise xi."""
    m = step(D, z, t, s, lam, jnp.zeros_like(z))
    return m, (step(D, z, t, s, lam, jnp.ones_like(z)) - m) ** 2


def test_ddim_eta_is_the_lam_euler_step_to_first_order():
    """DDIM-eta's one-step mean and variance equal the lam = eta Euler-Maruyama step's up to O(h^2):
    the difference, fitted on a log-log line over h, has slope 2 (measured 2.0), not 1."""
    pop = mcallester_g1()
    z, t = jnp.array([0.9]), 1.0
    hs = np.geomspace(1e-3, 1e-1, 6)
    for lam in [0.5, 1.0]:
        diffs = []
        for h in hs:
            a = _mean_var(samplers.ddim, pop.posterior_mean, z, t, t - h, lam)
            b = _mean_var(samplers.euler, pop.posterior_mean, z, t, t - h, lam)
            diffs.append(float(jnp.abs(a[0] - b[0])[0] + jnp.abs(a[1] - b[1])[0]))
        slope = np.polyfit(np.log(hs), np.log(diffs), 1)[0]
        assert abs(slope - 2.0) < 0.1, (lam, slope, diffs)
        # and the difference is not zero: they are different discretisations
        assert diffs[-1] > 1e-4


def _fitted_order(pop, z_T, target, T, t_min, steps, name):
    """The slope of log(max error) against log(steps) for one step rule on geometric grids."""
    errs = []
    for n in steps:
        ts = samplers.geometric_grid(T, t_min, int(n))
        z = samplers.sample(
            jax.random.key(0), pop.posterior_mean, z_T, ts, step=samplers.STEPS[name]
        )
        errs.append(float(jnp.max(jnp.abs(z - target))))
    return -np.polyfit(np.log(steps), np.log(errs), 1)[0], errs


def test_orders_on_the_gaussian_closed_form():
    """pop = N(.3, .5): the PF-ODE path is mu + (z_T - mu) sqrt((s2+t)/(s2+T)). Euler in t: order 1,
    DDIM: order 1 (Euler in sigma for the eps-form), Heun in sigma: order 2 (slopes fitted)."""
    mu, s2, T, t_min = 0.3, 0.5, 20.0, 1e-3
    pop = GaussianMixture(jnp.ones(1), jnp.full((1, 1), mu), jnp.full((1, 1), s2))
    z_T = jnp.linspace(-8.0, 8.0, 9)[:, None]
    exact = mu + (z_T - mu) * np.sqrt((s2 + t_min) / (s2 + T))
    for name in ["euler", "ddim", "heun"]:
        slope, errs = _fitted_order(pop, z_T, exact, T, t_min, [25, 50, 100], name)
        assert abs(slope - samplers.ORDER[name]) < 0.15, (name, slope, errs)


def test_heun_order_two_euler_order_one_on_g1():
    """G1 (a 3-component mixture): against a 4096-step Heun reference, Heun's error falls at
    order 2 and Euler's at order 1 (fitted slopes), on the same geometric grids."""
    pop = mcallester_g1()
    T, t_min = 20.0, 1e-2
    z_T = jnp.linspace(-9.0, 9.0, 13)[:, None]
    ref = samplers.sample(
        jax.random.key(0),
        pop.posterior_mean,
        z_T,
        samplers.geometric_grid(T, t_min, 4096),
        step=samplers.heun,
    )
    for name in ["euler", "heun"]:
        slope, errs = _fitted_order(pop, z_T, ref, T, t_min, [32, 64, 128], name)
        assert abs(slope - samplers.ORDER[name]) < 0.2, (name, slope, errs)


def test_ode_monotone_transport_and_invertible():
    """In 1-D the flow is monotone transport, so F_t(z(t)) = F_T(z(T)) along every path (G1); and
    ode_forward then the reverse Heun returns the start (2-D mixture) to 1e-4, a non-trivial map."""
    pop = mcallester_g1()
    T, t_min = 30.0, 1e-3
    z_T = jnp.linspace(-12.0, 12.0, 27)[:, None]
    ts = samplers.geometric_grid(T, t_min, 500)
    z = samplers.sample(jax.random.key(0), pop.posterior_mean, z_T, ts, step=samplers.heun)
    err = np.max(np.abs(marginal_cdf(pop, 0, t_min)(z[:, 0]) - marginal_cdf(pop, 0, T)(z_T[:, 0])))
    assert err < 1e-5, err
    pop = mixture_2d()
    z0 = pop.sample_pt(jax.random.PRNGKey(5), 200, 1e-2)
    ts = samplers.geometric_grid(20.0, 1e-2, 200)
    z_T = samplers.ode_forward(pop.posterior_mean, z0, ts[::-1])
    a = samplers.sample(jax.random.key(0), pop.posterior_mean, z_T, ts, step=samplers.heun)
    b = samplers.sample(jax.random.key(1), pop.posterior_mean, z_T, ts, step=samplers.heun)
    assert np.array_equal(a, b)
    assert float(jnp.max(jnp.abs(a - z0))) < 1e-4
    assert float(jnp.min(jnp.linalg.norm(z_T - z0, axis=1))) > 0.1


def test_memorisation_with_the_exact_empirical_denoiser():
    """FinitePop of 20 points, exact denoiser, lam in {0, 1}: >= 99% of samples end within
    4 sqrt(t_min) of a training point, each point hit with its weight (chi-square p > 1e-3);
    fresh draws from the mixture the points came from do not (< 5%)."""
    data_pop = mixture_2d()
    t_min, n = 1e-4, 2000
    pop = FinitePop(data_pop.sample(jax.random.PRNGKey(7), n)[:20])
    z_T = pop.sample_pt(jax.random.PRNGKey(8), n, 40.0)
    ts = samplers.geometric_grid(40.0, t_min, 400)

    def nearest(z):
        d2 = jnp.sum((z[:, None] - pop.points) ** 2, -1)
        return jnp.sqrt(d2.min(1)), jnp.argmin(d2, 1)

    for lam in [0.0, 1.0]:
        z = samplers.sample(
            jax.random.PRNGKey(9), pop.posterior_mean, z_T, ts, step=samplers.euler, lam=lam
        )
        dist, idx = nearest(z)
        assert float(jnp.mean(dist < 4 * np.sqrt(t_min))) >= 0.99, lam
        counts = np.bincount(np.asarray(idx), minlength=20)
        assert scipy.stats.chisquare(counts, n * np.asarray(pop.weights)).pvalue > 1e-3
    dist, _ = nearest(data_pop.sample(jax.random.PRNGKey(10), n))
    assert float(jnp.mean(dist < 4 * np.sqrt(t_min))) < 0.05


# ------------------------------------------------------------------ conditions, paths, grids


def test_per_sample_condition_under_vmap_equals_a_loop():
    """D(z, t, c) with c given per sample: the vmapped sampler equals a Python loop over samples,
    each run alone with its own key (the keys are split once, one per sample)."""
    means = jnp.array([[-2.0, 0.0], [2.0, 1.0], [0.0, -3.0]])
    D = lambda z, t, c: means[c] + 0.1 / (0.1 + t) * (z - means[c])  # N(mu_c, 0.1 I) denoiser
    z_T = jax.random.normal(jax.random.key(1), (5, 2)) * 3.0
    labels = jnp.array([0, 2, 1, 1, 0])
    ts = samplers.geometric_grid(9.0, 1e-3, 30)
    key = jax.random.key(4)
    batch = samplers.sample(key, D, z_T, ts, step=samplers.ddim, lam=1.0, c=labels)
    keys = jax.random.split(key, 5)
    for i in range(5):
        one = samplers._one(
            keys[i], D, z_T[i], jnp.asarray(ts), 1.0, samplers.ddim, labels[i], False
        )
        np.testing.assert_allclose(batch[i], one, atol=1e-12)
    # and the labels matter: each sample ends near its own component
    assert np.all(np.argmin(jnp.sum((batch[:, None] - means) ** 2, -1), axis=1) == labels)


def test_return_path_shapes_and_endpoints(gauss):
    *_, denoiser = gauss
    z_T = jax.random.normal(jax.random.key(2), (5, D))
    ts = samplers.ddpm_grid(dc.ddpm.schedule("cosine"), 10, t_max=100.0)
    path = samplers.sample(jax.random.key(0), denoiser, z_T, ts, return_path=True)
    assert path.shape == (11, 5, D)
    np.testing.assert_allclose(path[0], z_T)
    np.testing.assert_allclose(
        path[-1], samplers.sample(jax.random.key(0), denoiser, z_T, ts), atol=1e-12
    )


def test_grids():
    ab = dc.ddpm.schedule("cosine")
    t_all = (1 - ab) / ab
    ts = samplers.ddpm_grid(ab, 50)
    assert ts.shape == (51,) and ts[-1] == 0 and np.all(np.diff(ts) < 0)
    np.testing.assert_allclose(ts[[0, -2]], [t_all[-1], t_all[0]])
    np.testing.assert_allclose(samplers.ddpm_grid(ab, 1000)[:-1], t_all[::-1])
    clipped = samplers.ddpm_grid(ab, 20, t_max=150.0)
    assert clipped[0] <= 150.0 and clipped[0] == t_all[t_all <= 150.0].max()
    e = samplers.karras_grid(18)
    np.testing.assert_allclose(np.sqrt(e[[0, -2]]), [80.0, 0.002])
    g = samplers.geometric_grid(10.0, 1e-3, 8)
    assert g.shape == (9,) and np.allclose(g[1:] / g[:-1], 1e-4 ** (1 / 8), rtol=1e-12)
    kept, note = samplers.settings_grid("ode", 10, t_range=(1e-4, 100.0))
    np.testing.assert_allclose(kept[[0, -2]], [100.0, 1e-4])
    assert "training range" in note and kept.shape == (11,)
    inside, note = samplers.settings_grid("ode", 10, t_range=(1e-6, 1e4))
    assert note == "" and np.allclose(np.sqrt(inside[[0, -2]]), [80.0, 0.002])


def test_bad_input():
    den = lambda z, t: z
    z = jnp.zeros((2, 3))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="ts must be strictly decreasing"):
        samplers.sample(key, den, z, [1.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="ts must be positive"):
        samplers.sample(key, den, z, [1.0, 0.0, -1.0])
    with pytest.raises(ValueError, match="at least 2"):
        samplers.sample(key, den, z, [1.0])
    with pytest.raises(ValueError, match="lam must be non-negative"):
        samplers.sample(key, den, z, [1.0, 0.0], lam=-1.0)
    with pytest.raises(ValueError, match="lam must be non-negative"):
        samplers.sample(key, den, z, [1.0, 0.0], lam=float("nan"))
    with pytest.raises(ValueError, match="heun step is for the ODE"):
        samplers.sample(key, den, z, [1.0, 0.0], step=samplers.heun, lam=1.0)
    with pytest.raises(ValueError, match="z_T must be a batch"):
        samplers.sample(key, den, jnp.zeros(3), [1.0, 0.0])
    with pytest.raises(ValueError, match="floating-point"):
        samplers.sample(key, den, jnp.zeros((2, 3), int), [1.0, 0.0])
    with pytest.raises(ValueError, match="step must be one of"):
        samplers.sample(key, den, z, [1.0, 0.0], step=lambda *a: a[1])
    with pytest.raises(ValueError, match="denoiser is unconditional"):
        samplers.sample(key, den, z, [1.0, 0.0], c=jnp.zeros(2, int))
    with pytest.raises(ValueError, match="leading axis of length n=2"):
        samplers.sample(key, lambda z, t, c: z, z, [1.0, 0.0], c=jnp.zeros(3, int))
    with pytest.raises(ValueError, match="strictly increasing"):
        samplers.ode_forward(den, z, [2.0, 1.0])
    with pytest.raises(ValueError, match="training range"):
        samplers.settings_grid("ode", 10, t_range=(1e-4, 100.0), strict=True)
    with pytest.raises(ValueError, match="n_steps must be at most"):
        samplers.ddpm_grid(dc.ddpm.schedule("cosine"), 1001)
    with pytest.raises(ValueError, match="setting must be one of"):
        samplers.settings_grid("dpm++", 10)
