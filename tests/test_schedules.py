"""Tests for diffcourse.schedules: schedules, the DDPM forward kernel, and the VP/VE bridge."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from diffcourse import schedules as S

ALPHABARS = (0.3, 0.9, 0.01)  # McAllester 2023 check C11


# ----------------------------------------------------------------------------- schedules


def test_linear_betas_are_ho_et_al():
    b = np.asarray(S.linear_betas())
    assert b.shape == (1000,)
    np.testing.assert_allclose(b, np.linspace(1e-4, 0.02, 1000), rtol=0, atol=1e-15)


def test_cosine_betas_match_nichol_dhariwal_eq17():
    T, s = 1000, 0.008
    steps = np.arange(T + 1)
    f = np.cos((steps / T + s) / (1 + s) * np.pi / 2) ** 2
    ab_ref = f / f[0]
    b_ref = np.minimum(1 - ab_ref[1:] / ab_ref[:-1], 0.999)
    b = np.asarray(S.cosine_betas(T, s))
    np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-15)
    # Before the clip at the final step, alphabar is exactly f(t)/f(0).
    ab = np.asarray(S.alphabars(b))
    clipped = b_ref >= 0.999
    assert clipped.sum() == 1 and clipped[-1]
    np.testing.assert_allclose(ab[:-1], ab_ref[1:-1], rtol=1e-10)
    # eq. 17's design goal: alphabar near 1/2 in the middle, linear-ish decay (not 0 too early).
    assert 0.45 < ab[T // 2] < 0.55


@pytest.mark.parametrize(
    "betas", [S.linear_betas(), S.cosine_betas(), S.linear_betas(10, 0.1, 0.5)]
)
def test_alphabar_strictly_decreasing_in_unit_interval(betas):
    ab = np.asarray(S.alphabars(betas))
    assert np.all(ab > 0) and np.all(ab < 1)
    assert np.all(np.diff(ab) < 0)
    np.testing.assert_allclose(ab, np.cumprod(1 - np.asarray(betas)), rtol=1e-12)
    snr = np.asarray(S.snr(ab))
    assert np.all(np.diff(snr) < 0)
    np.testing.assert_allclose(snr, ab / (1 - ab), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(S.ve_time(ab)), 1 / snr, rtol=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: S.alphas(jnp.array([0.1, -0.1])), "betas must lie in"),
        (lambda: S.alphabars(jnp.array([0.1, 1.0])), "betas must lie in"),
        (lambda: S.alphabars(jnp.array([0.0, 0.2])), "betas must lie in"),
        (lambda: S.linear_betas(0), "T must be a positive integer"),
        (lambda: S.linear_betas(10, 1e-4, 1.5), "beta_end must lie in"),
        (lambda: S.cosine_betas(10, max_beta=1.0), "max_beta must lie in"),
        (lambda: S.q_step_mean_var(jnp.ones(3), 1.2), "betas must lie in"),
        (lambda: S.snr(1.0), "alphabar must lie in"),
        (lambda: S.ve_time(0.0), "alphabar must lie in"),
        (lambda: S.denoiser_to_score(jnp.ones(2), jnp.ones(2), 0.0), "t must be positive"),
        (lambda: S.alphabar_from_ve_time(-1.0), "t must be non-negative"),
        (lambda: S.ddpm_posterior(0.0, 0.0, 0.5, 0.4), "alphabar_t must be smaller"),
        (
            lambda: S.q_step_push(jnp.zeros(2), 0.1, jnp.array([0.0, 1.0, 0.5]), jnp.ones(3)),
            "x_prev must be strictly increasing",
        ),
        (
            lambda: S.q_step_push(jnp.zeros(2), 0.1, jnp.linspace(0, 1, 3), jnp.ones(4)),
            "p_prev must have shape",
        ),
    ],
)
def test_bad_input_is_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- forward kernel


@pytest.mark.parametrize("beta", [0.5, 0.1, 0.02, 1e-3])
def test_standard_normal_is_stationary_for_the_forward_kernel(beta):
    """integral q(x|x') N(x'; 0, 1) dx' = N(x; 0, 1) by quadrature, to 1e-8."""
    xp = jnp.linspace(-12.0, 12.0, 8001)
    x = jnp.linspace(-5.0, 5.0, 41)
    pushed = S.q_step_push(x, beta, xp, stats.norm.pdf(np.asarray(xp)))
    np.testing.assert_allclose(np.asarray(pushed), stats.norm.pdf(np.asarray(x)), rtol=0, atol=1e-8)
    # and a non-stationary density is moved (the check has power): N(0, 4) is not kept
    wide = S.q_step_push(x, beta, xp, stats.norm.pdf(np.asarray(xp), scale=2.0))
    assert np.max(np.abs(np.asarray(wide) - stats.norm.pdf(np.asarray(x), scale=2.0))) > 1e-5


def test_composing_steps_gives_q_xt_given_x0():
    betas = S.linear_betas(200, 1e-3, 0.05)
    ab = S.alphabars(betas)
    x0 = 1.7
    # exact moments of the composition
    mean, var = x0, 0.0
    for b in np.asarray(betas):
        mean, step_var = S.q_step_mean_var(mean, b)
        var = (1 - b) * var + step_var
    np.testing.assert_allclose(mean, np.sqrt(ab[-1]) * x0, rtol=1e-12)
    np.testing.assert_allclose(var, 1 - ab[-1], rtol=1e-12)

    # and sampled: T forward steps from x0, against N(sqrt(ab_T) x0, 1 - ab_T)
    def run(key):
        keys = jax.random.split(key, betas.shape[0])
        step = lambda x, kb: (S.q_step(kb[0], x, kb[1]), None)
        return jax.lax.scan(step, jnp.asarray(x0), (keys, betas))[0]

    xT = np.asarray(jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(0), 4000)))
    ks = stats.kstest(xT, stats.norm(np.sqrt(ab[-1]) * x0, np.sqrt(1 - ab[-1])).cdf)
    assert ks.pvalue > 0.01, ks
    # q_sample draws from the same law
    xs = np.asarray(S.q_sample(jax.random.key(1), jnp.full(4000, x0), ab[-1]))
    assert stats.ks_2samp(xT, xs).pvalue > 0.01


def test_q_step_density_is_the_gaussian_kernel():
    x, xp, b = 0.3, -1.1, 0.2
    ref = stats.norm.pdf(x, np.sqrt(1 - b) * xp, np.sqrt(b))
    np.testing.assert_allclose(float(S.q_step_density(x, xp, b)), ref, rtol=1e-13)


@pytest.mark.parametrize("ab_t, ab_prev", [(0.3, 0.35), (0.01, 0.02), (0.9, 1.0)])
def test_ddpm_posterior_is_bayes_rule(ab_t, ab_prev):
    """Posterior of x_{t-1} given x_t, x0 from the Gaussian product rule, and McAllester 2023 §2's
    VE form: sqrt(ab_prev) times the Brownian bridge y + (s/t)(z - y), var ab_prev s (t - s)/t."""
    x0, xt = 0.7, -0.4
    b = 1 - ab_t / ab_prev
    # prior x_{t-1} ~ N(sqrt(ab_prev) x0, 1 - ab_prev); likelihood x_t ~ N(sqrt(1-b) x_{t-1}, b)
    if ab_prev == 1.0:  # t = 1: x_{t-1} = x0 exactly
        ref_mean, ref_var = x0, 0.0
    else:
        ref_var = 1 / (1 / (1 - ab_prev) + (1 - b) / b)
        ref_mean = ref_var * (np.sqrt(ab_prev) * x0 / (1 - ab_prev) + np.sqrt(1 - b) * xt / b)
    mean, var = S.ddpm_posterior(x0, xt, ab_t, ab_prev)
    np.testing.assert_allclose([mean, var], [ref_mean, ref_var], rtol=1e-12, atol=1e-15)
    t, s = S.ve_time(ab_t), S.ve_time(ab_prev)
    z = S.x_to_z(xt, ab_t)
    np.testing.assert_allclose(mean, np.sqrt(ab_prev) * (x0 + s / t * (z - x0)), rtol=1e-12)
    np.testing.assert_allclose(var, ab_prev * s * (t - s) / t, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- the bridge


@pytest.mark.parametrize("ab", ALPHABARS)
def test_bridge_maps_ddpm_marginal_to_ve_marginal(ab):
    """x_t ~ q(x_t | x0 = y) mapped by z = x_t / sqrt(ab) is exactly N(y, t I), t = (1-ab)/ab."""
    y, n = -0.8, 20000
    x = S.q_sample(jax.random.key(3), jnp.full(n, y), ab)
    z = np.asarray(S.x_to_z(x, ab))
    t = float(S.ve_time(ab))
    # moments: 5 standard errors
    assert abs(z.mean() - y) < 5 * np.sqrt(t / n)
    assert abs(z.var() / t - 1) < 5 * np.sqrt(2 / n)
    assert stats.kstest(z, stats.norm(y, np.sqrt(t)).cdf).pvalue > 0.01
    # the map is exact sample by sample: z = y + sqrt(t) eps with the same eps
    eps = jax.random.normal(jax.random.key(3), (n,))
    np.testing.assert_allclose(z, y + np.sqrt(t) * np.asarray(eps), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(S.z_to_x(z, ab)), np.asarray(x), atol=1e-13)
    np.testing.assert_allclose(float(S.alphabar_from_ve_time(t)), ab, rtol=1e-14)


@pytest.mark.parametrize("ab", ALPHABARS)
def test_conversions_are_inverse_to_each_other(ab):
    k1, k2, k3 = jax.random.split(jax.random.key(7), 3)
    d = 5
    y, eps = jax.random.normal(k1, (d,)), jax.random.normal(k2, (d,))
    x = S.z_to_x(y, ab) + jnp.sqrt(1 - ab) * eps  # = sqrt(ab) y + sqrt(1-ab) eps
    z, t = S.x_to_z(x, ab), S.ve_time(ab)
    e = jax.random.normal(k3, (d,))  # an arbitrary eps-prediction
    close = lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-10)
    # round trips
    close(S.denoiser_to_eps(S.eps_to_denoiser(e, z, t), z, t), e)
    close(S.score_to_denoiser(S.denoiser_to_score(y, z, t), z, t), y)
    # the triangle eps -> denoiser -> score equals -eps / sqrt(t)
    close(S.denoiser_to_score(S.eps_to_denoiser(e, z, t), z, t), -e / jnp.sqrt(t))
    # DDPM x0-prediction (Ho et al. eq. 15) is the VE denoiser; the true eps gives back y exactly
    close((x - jnp.sqrt(1 - ab) * e) / jnp.sqrt(ab), S.eps_to_denoiser(e, z, t))
    close(S.eps_to_denoiser(eps, z, t), y)
    close(S.denoiser_to_eps(y, z, t), eps)


def test_scores_agree_with_autodiff_of_the_gaussian_marginal():
    """For pop = N(m, 1): p_t = N(m, 1 + t), q_t = N(sqrt(ab) m, 1) -- score and eps by grad."""
    m, ab = 0.6, 0.3
    t = S.ve_time(ab)
    z = 1.3
    logp = lambda z: stats_logpdf(z, m, 1 + t)
    score = jax.grad(logp)(z)
    yhat = (z + t * m) / (1 + t)  # E[y | z] for a Gaussian prior N(m, 1)
    np.testing.assert_allclose(S.denoiser_to_score(yhat, z, t), score, rtol=1e-12)
    x = S.z_to_x(z, ab)
    score_x = jax.grad(lambda x: stats_logpdf(x, jnp.sqrt(ab) * m, 1.0))(x)
    eps = S.denoiser_to_eps(yhat, z, t)
    # nabla_x ln q_t = -eps / sqrt(1 - ab) = nabla_z ln p_t / sqrt(ab)
    np.testing.assert_allclose(-eps / jnp.sqrt(1 - ab), score_x, rtol=1e-12)
    np.testing.assert_allclose(S.denoiser_to_score(yhat, z, t) / jnp.sqrt(ab), score_x, rtol=1e-12)


def stats_logpdf(x, mean, var):
    return -0.5 * (x - mean) ** 2 / var - 0.5 * jnp.log(2 * jnp.pi * var)


@pytest.mark.parametrize("ab", ALPHABARS)
def test_eps_model_from_denoiser_is_the_gaussian_eps_posterior_mean(ab):
    """For pop = N(m, s2 I): x_t = sqrt(ab) y + sqrt(1-ab) eps is jointly Gaussian with eps, so
    E[eps | x_t] = sqrt(1-ab) (x_t - sqrt(ab) m) / (ab s2 + 1 - ab), written here in DDPM terms
    without the bridge; eps_model_from_denoiser of the VE denoiser E[y | z] must equal it."""
    m, s2 = jnp.array([0.4, -1.0, 2.0]), 0.7
    denoiser = lambda z, t: m + s2 / (s2 + t) * (z - m)  # E[y | z(t) = z], t the VE time
    eps_model = S.eps_model_from_denoiser(denoiser)
    x = jax.random.normal(jax.random.key(5), (3,)) * 2.0
    want = np.sqrt(1 - ab) * (np.asarray(x) - np.sqrt(ab) * np.asarray(m)) / (ab * s2 + 1 - ab)
    np.testing.assert_allclose(np.asarray(eps_model(x, ab)), want, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(jax.jit(eps_model)(x, ab)), want, rtol=1e-12)
    # a plausible wrong bridge (z = x_t, no 1/sqrt(ab)) is far from it: the test has power
    t = float(S.ve_time(ab))
    wrong = (np.asarray(x) - np.asarray(denoiser(x, t))) / np.sqrt(t)
    assert np.abs(wrong - want).max() > 1e-2


def test_eps_model_from_denoiser_rejects_bad_input():
    with pytest.raises(ValueError, match="denoiser"):
        S.eps_model_from_denoiser(3.0)
    eps_model = S.eps_model_from_denoiser(lambda z, t: 0.0 * z)
    for bad in (1.0, 0.0, 1.5, np.array([0.5, 1.0])):  # at alphabar = 1 the VE time is 0
        with pytest.raises(ValueError, match="alphabar"):
            eps_model(np.zeros(2), bad)


def test_clock_grids_are_the_discrete_schedules_in_continuous_time():
    """The cosine clock is cosine_alphabar at u = k/T (to rounding); the continuous linear
    schedule is the limit of linear_betas(1000) (beta_k = beta(k/T)/T: within 2% (measured 1.1%) of the discrete
    VE times from k = 10 on); the grids hit their end points; betas_from_ve_times inverts alphabars."""
    T = 1000
    ab = np.asarray(S.cosine_alphabar(jnp.arange(1, T), T), np.float64)  # k = 1 .. T-1
    want = {"cosine": (1 - ab) / ab}
    want["linear"] = np.asarray(S.ve_time(S.alphabars(S.linear_betas(T))))[9:]  # k = 10 .. T
    for name, rtol in [("cosine", 1e-9), ("linear", 2e-2)]:
        w = want[name]
        got = S.clock_grid(name, len(w), w[0], w[-1])
        np.testing.assert_allclose(got[[0, -1]], w[[0, -1]], rtol=1e-12)
        np.testing.assert_allclose(got, w, rtol=rtol)
    assert (
        np.abs(
            S.clock_grid("linear", 100, 1e-3, 1e3) / S.clock_grid("cosine", 100, 1e-3, 1e3) - 1
        ).max()
        > 0.5
    )
    for name in ("linear", "cosine"):
        ts = S.clock_grid(name, 50, 1e-3, 1e3)
        np.testing.assert_allclose(
            S.ve_time(S.alphabars(S.betas_from_ve_times(ts))), ts, rtol=1e-10
        )
    with pytest.raises(ValueError, match="schedule"):
        S.clock_grid("sigmoid", 10, 1e-3, 1.0)
    with pytest.raises(ValueError, match="t_max"):
        S.clock_grid("linear", 10, 1.0, 0.5)
    with pytest.raises(ValueError, match="ts"):
        S.betas_from_ve_times(np.array([1.0, 0.5]))
