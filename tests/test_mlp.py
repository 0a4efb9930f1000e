"""The MLP (diffcourse.nets.mlp): shapes, He initialisation, time conditioning, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse.nets import MLP

KEY = jax.random.PRNGKey(0)


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
    model = MLP(KEY, 2, width=16, depth=2)
    z = jnp.array([0.3, -0.7])
    assert np.abs(model(z, 0.1) - model(z, 2.0)).max() > 1e-3


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        MLP(KEY, 0)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        MLP(KEY, 2, width=2.5)
    with pytest.raises(ValueError, match="t_dim must be even"):
        MLP(KEY, 2, t_dim=7)
