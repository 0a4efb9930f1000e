"""Samplers with an exact denoiser: a Gaussian pop in 64-D must come back with its mean and covariance.

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

import diffcourse as dc

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


SAMPLERS = {
    "ddpm_250": (lambda d, ab: dc.samplers.ddpm(jax.random.key(3), d, _x_T(), ab), 0.12),
    "ddim_eta0_100": (lambda d, ab: dc.samplers.ddim(jax.random.key(3), d, _x_T(), ab, 100), 0.2),
    "ddim_eta1_100": (
        lambda d, ab: dc.samplers.ddim(jax.random.key(3), d, _x_T(), ab, 100, eta=1.0),
        0.2,
    ),
    "ode_heun_40": (lambda d, ab: dc.samplers.ode(d, _x_T(), dc.samplers.edm_grid(40)), 0.2),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sampler_recovers_gaussian_pop(gauss, name):
    V, lam, m, denoiser = gauss
    run, var_tol = SAMPLERS[name]
    # DDPM ancestral runs every step of its schedule: a 250-step cosine schedule keeps it quick
    ab = dc.schedules.alphabars(dc.schedules.cosine_betas(250 if name == "ddpm_250" else 1000))
    x = run(denoiser, ab)
    mean_stat, cov_stat, var_err = moments_error(x, V, lam, m)
    print(
        f"{name}: mean chi2/d {mean_stat:.3f}, cov |W-I| ratio {cov_stat:.3f}, max var err {var_err:.3f}"
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
    bad = dc.samplers.ddim(jax.random.key(3), wrong, _x_T(), dc.ddpm.schedule("cosine"), 100)
    assert moments_error(bad, V, lam, m)[1] > 1.5


def test_eta_one_step_is_the_ddpm_posterior(gauss):
    """One eta = 1 step from t to s has mean yhat + (s/t)(z - yhat) and variance s(t-s)/t (M2),
    i.e. q(x_{s} | x_t, x_0 = yhat) of Ho et al. eq. 6-7 on the DDPM scale."""
    ab_t, ab_s = 0.3, 0.6
    t, s = (1 - ab_t) / ab_t, (1 - ab_s) / ab_s
    yhat = jnp.full((1, 3), 0.25)
    denoiser = lambda z, t: yhat[0]
    z = jnp.full((1, 3), 2.0)
    x_t = z * np.sqrt(ab_t)
    xs = dc.samplers.generalised(
        jax.random.key(0), denoiser, x_t / 1.0, np.array([t, s, 0.0]), eta=1.0, return_path=True
    )
    xi = jax.random.normal(jax.random.key(0), (2, 1, 3))[0]
    mean, var = dc.schedules.ddpm_posterior(yhat, x_t, ab_t, ab_s)
    np.testing.assert_allclose(xs[1], mean + jnp.sqrt(var) * xi, atol=1e-12)


def test_return_path_shapes_and_endpoints(gauss):
    *_, denoiser = gauss
    ab = dc.ddpm.schedule("cosine")
    x_T = jax.random.normal(jax.random.key(2), (5, D))
    path = dc.samplers.ddim(jax.random.key(0), denoiser, x_T, ab, 10, return_path=True)
    assert path.shape == (11, 5, D)
    np.testing.assert_allclose(path[0], x_T)
    np.testing.assert_allclose(
        path[-1], dc.samplers.ddim(jax.random.key(0), denoiser, x_T, ab, 10), atol=1e-12
    )
    assert dc.samplers.ode(denoiser, x_T, dc.samplers.edm_grid(6), return_path=True).shape == (
        7,
        5,
        D,
    )


def test_grids_and_bad_input():
    ab = dc.ddpm.schedule("cosine")
    ts = dc.samplers.ve_grid(ab, 50)
    assert ts.shape == (51,) and ts[-1] == 0 and np.all(np.diff(ts) < 0)
    np.testing.assert_allclose(ts[0], (1 - ab[-1]) / ab[-1])
    np.testing.assert_allclose(ts[-2], (1 - ab[0]) / ab[0])
    np.testing.assert_allclose(dc.samplers.ve_grid(ab, 1000)[:-1], ((1 - ab) / ab)[::-1])
    e = dc.samplers.edm_grid(18)
    np.testing.assert_allclose(np.sqrt(e[[0, -2]]), [80.0, 0.002])
    den = lambda z, t: z
    with pytest.raises(ValueError, match="n_steps must be at most"):
        dc.samplers.ve_grid(ab, 1001)
    with pytest.raises(ValueError, match="ts must be strictly decreasing"):
        dc.samplers.generalised(jax.random.key(0), den, jnp.zeros((2, 3)), [1.0, 2.0, 0.0], eta=0.0)
    with pytest.raises(ValueError, match="final 0"):
        dc.samplers.ode(den, jnp.zeros((2, 3)), [2.0, 1.0])
    with pytest.raises(ValueError, match="eta must be non-negative"):
        dc.samplers.generalised(jax.random.key(0), den, jnp.zeros((2, 3)), [1.0, 0.0], eta=-1.0)
