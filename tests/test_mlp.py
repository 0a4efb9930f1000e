"""The MLP denoiser (diffcourse.nets.mlp): shapes, EDM preconditioning, bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse.nets import MLP
from diffcourse.populations import GaussianMixture

KEY = jax.random.PRNGKey(0)


def _zero_last_layer(model):
    return eqx.tree_at(
        lambda m: (m.weights[-1], m.biases[-1]),
        model,
        (jnp.zeros_like(model.weights[-1]), jnp.zeros_like(model.biases[-1])),
    )


def test_shapes_and_batching():
    model = MLP(KEY, 3, width=16, depth=2, t_dim=8)
    z = jax.random.normal(KEY, (5, 3))
    t = jnp.geomspace(0.01, 10.0, 5)
    out = jax.vmap(model)(z, t)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out[2], model(z[2], t[2]), rtol=1e-12)
    assert [w.shape for w in model.weights] == [(16, 3 + 8), (16, 16), (3, 16)]
    # He initialisation: weight variance 2 / fan_in (4 SE)
    w = np.asarray(MLP(KEY, 2, width=256, depth=2).weights[1]).ravel()
    assert abs(w.var() * 256 / 2 - 1) < 4 * np.sqrt(2 / w.size)


def test_float32(float32):
    model = MLP(KEY, 2, width=16, depth=2)
    out = model(jnp.ones(2, jnp.float32), jnp.float32(0.5))
    assert out.dtype == jnp.float32 and out.shape == (2,)


def test_time_enters_the_output():
    model = MLP(KEY, 2, width=16, depth=2, precondition=False)
    z = jnp.array([0.3, -0.7])
    assert np.abs(model(z, 0.1) - model(z, 2.0)).max() > 1e-3


def test_preconditioning_coefficients_are_the_gaussian_denoiser():
    r"""c_skip z is E[y|z] of y ~ N(0, s2 I) and c_out^2 its error Var(y|z) (EDM Table 1, sigma^2 = t).

    With the last layer set to zero the preconditioned net IS the Gaussian's exact denoiser;
    c_in z has unit variance under p_t (checked by Monte Carlo, 4 standard errors)."""
    s2, d = 1.7, 2
    gauss = GaussianMixture(jnp.ones(1), jnp.zeros((1, d)), jnp.full((1, d), s2))
    model = _zero_last_layer(MLP(KEY, d, width=16, depth=2, s2=s2))
    for t in (0.01, 0.5, 3.0, 40.0):
        z = gauss.sample_pt(jax.random.PRNGKey(1), 4000, t)
        tt = jnp.full((z.shape[0],), t)
        exact = jax.vmap(gauss.posterior_mean, (0, None))(z, t)
        np.testing.assert_allclose(jax.vmap(model)(z, tt), exact, rtol=1e-12, atol=1e-12)
        c_in, c_skip, c_out = model.coefficients(t)
        np.testing.assert_allclose(c_out**2 * np.eye(d), gauss.posterior_cov(z[0], t), rtol=1e-12)
        v = np.asarray((c_in * z) ** 2).ravel()
        assert abs(v.mean() - 1) < 4 * v.std() / np.sqrt(v.size)


def test_raw_output_and_skip_form_agree():
    """precondition=True returns c_skip z + c_out F with F the precondition=False output."""
    raw = MLP(KEY, 2, width=16, depth=2, s2=0.8, precondition=False)
    pre = MLP(KEY, 2, width=16, depth=2, s2=0.8, precondition=True)
    z, t = jnp.array([0.4, 1.1]), 0.3
    _, c_skip, c_out = pre.coefficients(t)
    np.testing.assert_allclose(pre(z, t), c_skip * z + c_out * raw(z, t), rtol=1e-12)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        MLP(KEY, 0)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        MLP(KEY, 2, width=2.5)
    with pytest.raises(ValueError, match="t_dim must be even"):
        MLP(KEY, 2, t_dim=7)
    with pytest.raises(ValueError, match="s2 must be positive"):
        MLP(KEY, 2, s2=0.0)
