"""Tests for diffcourse.reverse: the mathematics of the lam family (M12), run through the one sampler."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from diffcourse import reverse, samplers
from diffcourse.populations import GaussianMixture
from diffcourse.populations import mcallester_g1 as g1_mixture

LAMS = [0.0, 0.5, 1.0, 2.0]


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
    ts = samplers.geometric_grid(50.0, 1e-4, 60)
    z_T = pop.sample_pt(jax.random.PRNGKey(4), 20000, 50.0)
    z = samplers.sample(
        jax.random.key(3), pop.posterior_mean, z_T, ts, step=samplers.euler, lam=0.5
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


def logpdf_1d(pop, x, t):
    """ln N(x; mu_k, v_k + t) per component of a 1-D mixture, shape (K, len(x)), by scipy."""
    mu, var = np.asarray(pop.means[:, 0]), np.asarray(pop.covs[:, 0, 0]) + t
    return scipy.stats.norm.logpdf(x[None], mu[:, None], np.sqrt(var)[:, None])


def test_denoiser_step_is_the_lam1_step_and_exact_mean():
    """McAllester's denoiser step z + (E[y|z]-z) dt/t + sqrt(dt) eps is the lam = 1 Euler step, and
    its mean z + (E[y|z]-z) dt/t equals the mean of the true reverse kernel
    p_{t-dt}(z') N(z; z', dt)/p_t(z) (quadrature, 1e-10)."""
    pop = g1_mixture()
    t, dt = 1.0, 0.3
    z = jnp.array([[-2.5], [0.1], [1.7], [3.4]])
    eps = jax.random.normal(jax.random.PRNGKey(0), z.shape)
    step = jax.vmap(lambda z, e: samplers.euler(pop.posterior_mean, z, t, t - dt, 1.0, e))(z, eps)
    score, yhat = jax.jit(jax.vmap(lambda z: (pop.score(z, t), pop.posterior_mean(z, t))))(z)
    assert np.allclose(step, z + score * dt + np.sqrt(dt) * eps, rtol=1e-12)
    mean_step = np.asarray(z + (yhat - z) * dt / t)[:, 0]
    grid = np.linspace(-15.0, 15.0, 200001)
    p = np.exp(np.log(np.asarray(pop.weights))[:, None] + logpdf_1d(pop, grid, t - dt)).sum(0)
    for zi, mi in zip(np.asarray(z[:, 0]), mean_step, strict=True):
        w = p * scipy.stats.norm.pdf(zi, grid, np.sqrt(dt))
        assert abs(mi - np.sum(w * grid) / np.sum(w)) < 1e-10


def test_bad_input():
    with pytest.raises(ValueError, match="lam must be non-negative"):
        reverse.drift_coefficient(-0.5)
    with pytest.raises(ValueError, match="ts must be strictly decreasing"):
        reverse.gaussian_variance(1.0, 1.0, 0.5, [1.0, 2.0])
    with pytest.raises(ValueError, match="s2 must be positive"):
        reverse.gaussian_variance(1.0, 1.0, 0.0, [2.0, 1.0])
