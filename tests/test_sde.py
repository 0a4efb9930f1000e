"""Tests for diffcourse.sde: Euler–Maruyama orders, closed-form marginals, Black–Scholes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from diffcourse import schedules
from diffcourse import sde as S

# ----------------------------------------------------------------------------- measured orders


def test_euler_maruyama_strong_order_one_half():
    """E|x_EM(T) - x(T)| against exact GBM driven by the same Brownian path.
    Measured slope 0.49 (key 0, 2000 paths, dt = 2^-7..2^-3); accepted interval [0.4, 0.6]."""
    gbm = S.GeometricBrownian(mu=1.0, sigma=1.0)
    dts, errs = S.strong_errors(jax.random.key(0), gbm, 1.0, 1.0, 256, (2, 4, 8, 16, 32), 2000)
    order = S.fit_order(dts, errs)
    assert 0.4 <= order <= 0.6, (order, errs)
    assert np.all(np.diff(errs) > 0)


def test_euler_maruyama_strong_order_one_for_additive_noise():
    """OU (additive noise: EM = Milstein): E|x_EM(T) - x(T)| against the exact solution driven by
    the same fine path. Measured slope 1.05 (key 1, 2000 paths); accepted [0.9, 1.2], which
    rejects the general-case 1/2 that GBM shows."""
    ou = S.OrnsteinUhlenbeck(theta=2.0, mu=1.0, sigma=1.0)
    dts, errs = S.strong_errors(jax.random.key(1), ou, 1.0, 1.0, 256, (2, 4, 8, 16, 32), 2000)
    order = S.fit_order(dts, errs)
    assert 0.9 <= order <= 1.2, (order, errs)
    assert not 0.4 <= order <= 0.6


def test_ou_exact_from_path_has_the_ou_law():
    """exact_from_path on fine Brownian paths is N(mean, var) of the closed form (4 SE)."""
    ou = S.OrnsteinUhlenbeck(theta=2.0, mu=1.0, sigma=0.7)
    ts = jnp.linspace(0.0, 1.0, 257)
    dW = jnp.sqrt(ts[1]) * jax.random.normal(jax.random.key(5), (20000, 256, 1))
    W = jnp.concatenate([jnp.zeros((20000, 1, 1)), jnp.cumsum(dW, axis=1)], axis=1)
    x = np.asarray(ou.exact_from_path(0.3, ts, W))[:, 0]
    m, v = ou.gaussian_marginal(0.3, 0.0, 1.0)
    assert abs(x.mean() - m) < 4 * np.sqrt(v / 20000)
    assert abs(x.var() / v - 1) < 4 * np.sqrt(2 / 20000)


def test_weak_order_on_the_second_moment_from_zero():
    """|E[x_EM^2] - E[x^2]| from x0 = 0, where the variance (all from the noise) is part of the
    moment, so the noise part of the scheme is tested, not just deterministic Euler on the mean.
    Measured slope 1.06 (key 2, 50000 paths); accepted [0.85, 1.25], which rejects 1/2 and 2."""
    ou = S.OrnsteinUhlenbeck(theta=2.0, mu=1.0, sigma=1.0)
    dts, errs, ses = S.weak_errors(jax.random.key(2), ou, 0.0, 1.0, (4, 8, 16, 32), 50_000, 2)
    assert np.all(errs > 5 * ses), (errs, ses)
    order = S.fit_order(dts, errs)
    assert 0.85 <= order <= 1.25, (order, errs)


def test_em_stationary_variance_bias():
    """The EM chain's stationary variance sigma^2/(2 theta - theta^2 dt): the variance recursion
    reaches it exactly, and a long simulation agrees (4 SE) while rejecting sigma^2/(2 theta)."""
    ou = S.OrnsteinUhlenbeck(theta=1.0, mu=0.0, sigma=1.0)
    dt = 0.2
    v = 0.0
    for _ in range(400):
        v = (1 - dt) ** 2 * v + dt
    assert v == pytest.approx(float(ou.em_stationary_variance(dt)), rel=1e-12)  # 0.5556
    x = S.euler_maruyama_many(jax.random.key(6), ou, jnp.zeros((40000, 1)), dt * jnp.arange(61.0))
    var, se = float(np.var(np.asarray(x))), float(ou.em_stationary_variance(dt)) * np.sqrt(2 / 4e4)
    assert abs(var - float(ou.em_stationary_variance(dt))) < 4 * se
    assert abs(var - 0.5) > 4 * se  # the exact sigma^2/(2 theta) is rejected


def test_ito_and_midpoint_sums():
    """Left sums of int W dW go to (W^2 - T)/2, midpoint sums to W^2/2; they differ by T/2."""
    left, mid, W = S.ito_and_midpoint_sums(jax.random.key(7), 4000, 1000, T=2.0)
    assert float(jnp.mean(jnp.abs(left - (W**2 - 2.0) / 2))) < 0.05  # ~ sqrt(T dt / 2) = 0.045
    assert float(jnp.mean(jnp.abs(mid - W**2 / 2))) < 0.05
    assert float(jnp.mean(mid - left)) == pytest.approx(1.0, abs=4 * 0.045 / np.sqrt(4000) * 2)
    assert abs(float(jnp.mean(left))) < 4 * np.sqrt(2.0) / np.sqrt(2 * 4000) * 2  # E = 0


def test_langevin_samples_its_target_from_either_mode():
    """dx = score/2 dt + dW for the mixture 0.3 N(-1, 0.2) + 0.7 N(1, 0.2), 3000 chains started
    at each mode, x0 = -1 and x0 = +1 (not on the barrier at 0, where half the work is done for
    free). A chain must cross the barrier to reach the weights 0.3/0.7: the imbalance decays
    like e^{-0.2 t} (the slowest Fokker-Planck mode; measured from the fraction right of 0 at
    t = 10: 0.605 from -1, 0.746 from +1). At t = 25 what is left, 0.7 e^{-5} = 0.005, and EM's
    bias at dt = 0.02 (1.3 % in a mode's sd, < 0.004 in the CDF) are far below KS's resolution
    at n = 3000 (about 0.03): KS against the target passes from both modes (measured p = 0.23
    and 0.30; 0.03 to 0.90 over keys 0-5) and against equal weights fails (the test has power).
    The same sampler run to t = 3 has not crossed: its chains keep their start's mode (0.31 and
    0.86 right of 0) and the same criterion rejects it from both modes (as it rejects t = 10
    from -1, p = 7e-24: the run length of this test's earlier version, started at 0)."""
    from diffcourse.populations import GaussianMixture

    pop = GaussianMixture(
        jnp.array([0.3, 0.7]), jnp.array([[-1.0], [1.0]]), jnp.array([[0.2], [0.2]])
    )
    even = GaussianMixture(jnp.array([0.5, 0.5]), pop.means, jnp.array([[0.2], [0.2]]))
    lang = S.langevin(lambda x: pop.score(x, 0.0))
    n = 3000
    x0s = jnp.concatenate([jnp.full((n, 1), -1.0), jnp.full((n, 1), 1.0)])
    cdf = lambda p: lambda q: np.asarray(jax.vmap(lambda a: p.marginal_cdf(a, 0.0))(jnp.asarray(q)))

    def run(T):  # dt = 0.02; the chains from -1, then the chains from +1
        ts = jnp.linspace(0.0, T, int(round(T / 0.02)) + 1)
        z = np.asarray(S.euler_maruyama_many(jax.random.key(4), lang, x0s, ts))[:, 0]
        return z[:n], z[n:]

    ks = lambda chains, target: [stats.kstest(z, cdf(target)).pvalue for z in chains]
    long = run(25.0)
    print(f"KS p from -1 and +1 at t = 25: {ks(long, pop)}")
    assert min(ks(long, pop)) > 0.01
    assert max(ks(long, even)) < 1e-6
    # a run too short to cross the barrier fails the same criterion from both modes
    short = run(3.0)
    print(f"KS p from -1 and +1 at t = 3: {ks(short, pop)}")
    assert max(ks(short, pop)) < 1e-6


@pytest.mark.parametrize("power", [1, 2])
def test_euler_maruyama_weak_order_one(power):
    """|E[x_EM(T)^p] - E[x(T)^p]| for OU against the exact moments, p = 1, 2.
    Measured slopes 0.98 (p = 1) and 0.91 (p = 2); accepted interval [0.8, 1.2]. Every error is
    more than 5 Monte Carlo standard errors, so the fit measures the bias, not the noise."""
    ou = S.OrnsteinUhlenbeck(theta=2.0, mu=1.0, sigma=1.0)
    dts, errs, ses = S.weak_errors(jax.random.key(1), ou, 3.0, 1.0, (4, 8, 16, 32), 100_000, power)
    assert np.all(errs > 5 * ses), (errs, ses)
    order = S.fit_order(dts, errs)
    assert 0.8 <= order <= 1.2, (order, errs)


def test_euler_maruyama_is_exact_for_drift_free_constant_noise():
    """For dx = g dW with diagonal g, EM is exact: x(T) = x0 + g * sum(dW), bit for bit."""
    sde = S.SDE(lambda x, t: jnp.zeros_like(x), lambda x, t: jnp.array([1.0, 2.0]))
    ts = jnp.linspace(0.0, 1.0, 11) ** 2  # non-uniform grid
    dW = S.brownian_increments(jax.random.key(2), ts, 2)
    path = S.euler_maruyama_increments(sde, jnp.array([0.5, -1.0]), ts, dW)
    assert path.shape == (11, 2)
    np.testing.assert_allclose(path[-1], jnp.array([0.5, -1.0]) + jnp.array([1.0, 2.0]) * dW.sum(0))
    # one path with a key, and many paths: diagonal variance g^2 T per coordinate
    x = S.euler_maruyama_many(jax.random.key(3), sde, jnp.zeros((20000, 2)), ts)
    np.testing.assert_allclose(np.var(np.asarray(x), axis=0), [1.0, 4.0], rtol=4 * np.sqrt(2 / 2e4))
    one = S.euler_maruyama(jax.random.key(4), sde, jnp.zeros(2), ts, return_path=False)
    assert one.shape == (2,)


# ----------------------------------------------------------------------------- processes


@pytest.mark.parametrize("t", [0.1, 0.5, 2.0])
def test_ou_sampled_moments_match_closed_form(t):
    """EM with 500 steps (dt <= 4e-3, relative bias <= theta dt / 2 = 2e-3) and 20000 paths;
    tolerance: 4 standard errors for the mean, 4 sqrt(2/n) = 0.04 relative for the variance."""
    ou = S.OrnsteinUhlenbeck(theta=1.0, mu=-0.5, sigma=0.8)
    n = 20000
    ts = jnp.linspace(0.0, t, 501)
    x = np.asarray(S.euler_maruyama_many(jax.random.key(5), ou, jnp.full((n, 1), 2.0), ts))[:, 0]
    mean, var = ou.gaussian_marginal(2.0, 0.0, t)
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(x.var() / var - 1) < 4 * np.sqrt(2 / n)
    # the closed form itself: mu + (x0 - mu) e^{-theta t}, sigma^2 (1 - e^{-2 theta t}) / (2 theta)
    np.testing.assert_allclose(mean, -0.5 + 2.5 * np.exp(-t), rtol=1e-14)
    np.testing.assert_allclose(var, 0.64 * (1 - np.exp(-2 * t)) / 2, rtol=1e-14)


def test_ou_stationary_law():
    """Started far away, OU forgets x0: at t = 8/theta the law is N(mu, sigma^2/(2 theta)) (KS,
    p > 0.01; the EM bias of the sd, 0.4 %, moves the CDF by < 0.002, a fifth of KS's resolution)."""
    ou = S.OrnsteinUhlenbeck(theta=1.5, mu=1.0, sigma=0.6)
    mu, var = ou.stationary()
    np.testing.assert_allclose([mu, var], [1.0, 0.36 / 3.0], rtol=1e-14)
    ts = jnp.linspace(0.0, 8 / 1.5, 501)  # EM bias in the sd: theta dt / 4 = 0.4 %
    x = np.asarray(S.euler_maruyama_many(jax.random.key(6), ou, jnp.full((20000, 1), -4.0), ts))
    assert stats.kstest(x[:, 0], stats.norm(mu, np.sqrt(var)).cdf).pvalue > 0.01
    # the stationary density solves the stationary Fokker-Planck equation: zero flux
    # F = f p - (1/2) (sigma^2 p)' = 0 with p = N(mu, var)
    z = jnp.linspace(-1.0, 3.0, 9)
    p = lambda z: jax.scipy.stats.norm.pdf(z, mu, jnp.sqrt(var))
    flux = ou.drift(z, 0.0) * p(z) - 0.5 * 0.36 * jax.vmap(jax.grad(p))(z)
    np.testing.assert_allclose(flux, 0.0, atol=1e-14)


def test_brownian_motion_is_the_ve_process():
    """z(t) = y + sqrt(t) eps: EM of dz = dW from y has law N(y, t)."""
    bm = S.BrownianMotion()
    ts = jnp.linspace(0.0, 0.7, 8)
    z = np.asarray(S.euler_maruyama_many(jax.random.key(7), bm, jnp.full((5000, 1), 0.3), ts))
    assert stats.kstest(z[:, 0], stats.norm(0.3, np.sqrt(0.7)).cdf).pvalue > 0.01
    assert bm.gaussian_marginal(0.3, 0.0, 0.7) == (0.3, 0.7)


def test_vp_process_marginal_and_alphabar():
    vp = S.VPProcess(0.1, 20.0)
    for t in (0.1, 0.5, 1.0):
        integral, _ = integrate.quad(lambda s: float(vp.beta(s)), 0.0, t)
        np.testing.assert_allclose(vp.alphabar(t), np.exp(-integral), rtol=1e-12)
    ts = jnp.linspace(0.0, 0.3, 601)
    x = np.asarray(S.euler_maruyama_many(jax.random.key(8), vp, jnp.full((20000, 1), 2.0), ts))
    mean, var = vp.gaussian_marginal(2.0, 0.0, 0.3)
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / 20000)
    assert abs(x.var() / var - 1) < 4 * np.sqrt(2 / 20000) + 0.01  # + EM bias, beta dt / 2 < 0.01
    # the VE bridge: x(t)/sqrt(alphabar) is Brownian motion at time (1 - alphabar)/alphabar
    t_ve = schedules.ve_time(vp.alphabar(0.3))
    np.testing.assert_allclose(var / vp.alphabar(0.3), t_ve, rtol=1e-12)


@pytest.mark.parametrize("beta", [0.5, 0.02, 1e-4])
def test_ddpm_step_is_an_exact_ou_transition(beta):
    """DDPM's kernel N(sqrt(1-beta) x, beta) is the OU transition over time 1 with
    sigma^2 = 2 theta (stationary N(0, 1)) and e^{-2 theta} = 1 - beta; EM of the VP SDE with
    dt = 1 agrees to first order in beta."""
    theta = -0.5 * np.log1p(-beta)
    ou = S.OrnsteinUhlenbeck(theta=theta, mu=0.0, sigma=np.sqrt(2 * theta))
    x = 1.3
    m_ou, v_ou = ou.gaussian_marginal(x, 0.0, 1.0)
    m_q, v_q = schedules.q_step_mean_var(x, beta)
    np.testing.assert_allclose([m_ou, v_ou], [m_q, v_q], rtol=1e-12)
    assert ou.stationary() == (0.0, pytest.approx(1.0, rel=1e-14))
    m_em = x - 0.5 * beta * x  # EM step of dx = -beta x / 2 dt + sqrt(beta) dW, dt = 1
    assert abs(m_em - m_q) <= 0.2 * beta**2 * abs(x) + 1e-15


def test_gbm_exact_solution_moments():
    gbm = S.GeometricBrownian(mu=0.3, sigma=0.4)
    w = np.sqrt(2.0) * np.asarray(jax.random.normal(jax.random.key(9), (200000,)))
    s = np.asarray(gbm.exact(1.5, 2.0, w))
    mean, var = gbm.moments(1.5, 2.0)
    np.testing.assert_allclose(mean, 1.5 * np.exp(0.6), rtol=1e-14)
    assert abs(s.mean() - mean) < 4 * s.std() / np.sqrt(s.size)
    assert (
        abs(s.var() / var - 1) < 0.05
    )  # heavy tail: loose, but 10 x smaller than a wrong sigma^2 t
    assert (
        stats.kstest(np.log(s / 1.5), stats.norm((0.3 - 0.08) * 2.0, 0.4 * np.sqrt(2.0)).cdf).pvalue
        > 0.01
    )


# ----------------------------------------------------------------------------- Black–Scholes


@pytest.mark.parametrize(
    "S0, K, r, sigma, T", [(100, 100, 0.05, 0.2, 1.0), (80, 100, 0.01, 0.5, 0.5)]
)
def test_black_scholes_formula_is_discounted_expected_payoff(S0, K, r, sigma, T):
    """Closed form against quadrature of e^{-rT} E[(S_T - K)^+] over the lognormal law (1e-8)."""
    m = np.log(S0) + (r - 0.5 * sigma**2) * T
    s = sigma * np.sqrt(T)
    payoff = lambda u: np.exp(-r * T) * max(np.exp(u) - K, 0.0) * stats.norm.pdf(u, m, s)
    ref, _ = integrate.quad(payoff, np.log(K), m + 12 * s, epsabs=1e-12, epsrel=1e-12)
    np.testing.assert_allclose(S.black_scholes_call(S0, K, r, sigma, T), ref, rtol=1e-8)


def test_monte_carlo_price_matches_black_scholes():
    exact = float(S.black_scholes_call(100.0, 105.0, 0.05, 0.2, 1.0))
    price, se = S.mc_call_price(jax.random.key(10), 100.0, 105.0, 0.05, 0.2, 1.0, 100_000)
    assert abs(price - exact) < 4 * se and se < 0.05
    price_em, se_em = S.mc_call_price(jax.random.key(11), 100.0, 105.0, 0.05, 0.2, 1.0, 50_000, 50)
    # the EM weak bias O(dt) (50 steps) is far below 4 standard errors: no slack needed
    assert abs(price_em - exact) < 4 * se_em


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: S.OrnsteinUhlenbeck(theta=-1.0), "theta must be positive"),
        (lambda: S.OrnsteinUhlenbeck(sigma=-0.1), "sigma must be non-negative"),
        (lambda: S.GeometricBrownian(sigma=-0.2), "sigma must be non-negative"),
        (lambda: S.VPProcess(beta_min=0.0), "beta_min must be positive"),
        (
            lambda: S.euler_maruyama(
                jax.random.key(0), S.BrownianMotion(), jnp.zeros(1), jnp.array([0.0, 0.5, 0.5])
            ),
            "ts must be strictly increasing",
        ),
        (
            lambda: S.euler_maruyama(
                jax.random.key(0), S.BrownianMotion(), jnp.zeros((2, 1)), jnp.linspace(0, 1, 3)
            ),
            "x0 must have shape",
        ),
        (
            lambda: S.euler_maruyama_increments(
                S.BrownianMotion(), jnp.zeros(2), jnp.linspace(0, 1, 5), jnp.zeros((4, 3))
            ),
            "dW must have shape",
        ),
        (
            lambda: S.euler_maruyama(
                jax.random.key(0),
                S.SDE(lambda x, t: x, lambda x, t: -1.0 + 0 * x),
                jnp.zeros(1),
                jnp.linspace(0, 1, 3),
            ),
            "diffusion g",
        ),
        (lambda: S.black_scholes_call(100.0, 100.0, 0.05, -0.2, 1.0), "sigma must be positive"),
        (
            lambda: S.mc_call_price(jax.random.key(0), 100.0, 100.0, 0.05, 0.2, 0.0, 10),
            "T must be positive",
        ),
        (
            lambda: S.strong_errors(
                jax.random.key(0), S.GeometricBrownian(), 1.0, 1.0, 10, (3,), 5
            ),
            "factors must divide",
        ),
    ],
)
def test_bad_input_is_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_em_call_bias_closed_form_without_noise_and_first_weak_order():
    """With sigma = 0 the EM path is S0 (1 + r dt)^n, the exact one S0 e^{rT}: the bias is that
    difference of discounted payoffs exactly, with no spread. With noise the bias is first order
    in dt: halving the step halves it (common random numbers make the ratio sharp)."""
    S0, K, r, T, n = 100.0, 95.0, 0.08, 1.0, 10
    bias, se = S.em_call_bias(jax.random.key(0), S0, K, r, 0.0, T, n_paths=8, n_steps=n)
    exact = np.exp(-r * T) * (S0 * (1 + r * T / n) ** n - S0 * np.exp(r * T))
    assert abs(bias - exact) < 1e-9 * S0 and se < 1e-12
    b5, s5 = S.em_call_bias(jax.random.key(1), 100.0, 105.0, 0.05, 0.2, 1.0, 200_000, 5)
    b10, s10 = S.em_call_bias(jax.random.key(1), 100.0, 105.0, 0.05, 0.2, 1.0, 200_000, 10)
    assert abs(b5) > 10 * s5 and abs(b10) > 10 * s10  # resolved, not noise
    assert 1.6 < b5 / b10 < 2.5  # first weak order: the bias halves with the step
