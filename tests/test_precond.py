"""One EDM preconditioning for every network (diffcourse.nets.precond), checked against closed forms."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse.nets import MLP, precond
from diffcourse.populations import GaussianMixture

KEY = jax.random.PRNGKey(0)


def _zero_last_layer(mlp):
    return eqx.tree_at(
        lambda m: (m.weights[-1], m.biases[-1]),
        mlp,
        (jnp.zeros_like(mlp.weights[-1]), jnp.zeros_like(mlp.biases[-1])),
    )


def test_edm_coefficients_are_the_gaussian_denoiser():
    r"""With F = 0 the preconditioned net IS E[y|z] of y ~ N(0, s2 I): c_skip z is the posterior
    mean, c_out^2 the posterior variance (EDM Table 1, sigma^2 = t), c_in z has unit second moment
    under p_t (Monte Carlo, 4 standard errors)."""
    s2, d = 1.7, 2
    gauss = GaussianMixture(jnp.ones(1), jnp.zeros((1, d)), jnp.full((1, d), s2))
    model = precond.Preconditioned(
        _zero_last_layer(MLP(KEY, d, width=16, depth=2)), shape=(d,), sigma_data=np.sqrt(s2)
    )
    for t in (0.01, 0.5, 3.0, 40.0):
        z = gauss.sample_pt(jax.random.PRNGKey(1), 4000, t)
        exact = jax.vmap(gauss.posterior_mean, (0, None))(z, t)
        np.testing.assert_allclose(jax.vmap(model, (0, None))(z, t), exact, rtol=1e-12, atol=1e-12)
        c_in, _, c_out = precond.coefficients("edm", t, np.sqrt(s2))
        np.testing.assert_allclose(c_out**2 * np.eye(d), gauss.posterior_cov(z[0], t), rtol=1e-12)
        v = np.asarray((c_in * z) ** 2).ravel()
        assert abs(v.mean() - 1) < 4 * v.std() / np.sqrt(v.size)


def test_target_has_unit_second_moment_only_with_the_rms():
    """The target (y - c_skip z)/c_out has second moment 1 at every t when sigma_d^2 = E y^2, for
    data with a mean (here mean -0.4, std 0.75: the digits' statistics); with sigma_d = std it does
    not (exact formula (1-c)^2 m2 + c^2 t over c_out^2, checked by Monte Carlo too)."""
    mean, std = -0.4, 0.75
    m2 = mean**2 + std**2
    y = mean + std * jax.random.normal(KEY, (200000,))
    eps = jax.random.normal(jax.random.PRNGKey(1), (200000,))
    for sd in (np.sqrt(m2), std):
        exacts = []
        for t in (0.01, 1.0, 100.0):
            _, c, c_out = precond.coefficients("edm", t, sd)
            exacts.append(float(((1 - c) ** 2 * m2 + c**2 * t) / c_out**2))
            mc = float(jnp.mean(((y - c * (y + np.sqrt(t) * eps)) / c_out) ** 2))
            assert mc == pytest.approx(exacts[-1], rel=0.02)
        if sd == std:  # the variance instead of the second moment: 1.18 at t = 1, 1.28 at t = 100
            assert max(abs(e - 1) for e in exacts) > 0.15, exacts
        else:
            np.testing.assert_allclose(exacts, 1.0, rtol=1e-12)


def test_eps_row_is_ddpm_and_skip_form_agrees():
    """kind="eps": D = z - sqrt(t) F(z / sqrt(1+t)), Ho et al.'s eps-network read through the bridge;
    every kind returns c_skip z + c_out F(c_in z)."""
    net = MLP(KEY, 2, width=16, depth=2)
    z, t = jnp.array([0.4, 1.1]), 0.3
    for kind in precond.KINDS:
        model = precond.Preconditioned(net, shape=(2,), kind=kind, sigma_data=0.8)
        c_in, c_skip, c_out = precond.coefficients(kind, t, 0.8)
        np.testing.assert_allclose(model(z, t), c_skip * z + c_out * net(c_in * z, t), rtol=1e-12)
    eps_model = precond.Preconditioned(net, shape=(2,), kind="eps")
    np.testing.assert_allclose(
        eps_model(z, t), z - np.sqrt(t) * net(z / np.sqrt(1 + t), t), rtol=1e-12
    )


def test_sigma_data_and_bad_input():
    y = np.array([[1.0, -1.0], [3.0, 0.0]])
    assert precond.sigma_data(y) == pytest.approx(np.sqrt(11 / 4))
    with pytest.raises(ValueError, match="non-empty finite"):
        precond.sigma_data(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="kind must be one of"):
        precond.Preconditioned(MLP(KEY, 2), shape=(2,), kind="v")
    with pytest.raises(ValueError, match="sigma_data must be positive"):
        precond.Preconditioned(MLP(KEY, 2), shape=(2,), sigma_data=0.0)
    with pytest.raises(ValueError, match="t_range must be"):
        precond.Preconditioned(MLP(KEY, 2), shape=(2,), t_range=(1.0, 0.5))
    with pytest.raises(ValueError, match="kind must be one of"):
        precond.coefficients("vp", 1.0)
