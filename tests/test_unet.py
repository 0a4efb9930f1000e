"""The U-Net: shapes at 8x8 and 28x28, time conditioning, and the fused GroupNorm+SiLU backward."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import perturb

from diffcourse.nets import unet

_randomise_output = perturb


@eqx.filter_jit
def _apply(net, x, t):
    return net(x, t)


@pytest.mark.parametrize(
    ("shape", "mults", "attention"),
    [((8, 8, 1), (1, 2), False), ((8, 8, 1), (1, 2), True), ((28, 28, 1), (1, 2, 2), False)],
)
def test_shapes_zero_init_and_time_conditioning(shape, mults, attention):
    net = unet.UNet(
        jax.random.key(0), channels=8, channel_mults=mults, groups=4, attention=attention
    )
    x = jax.random.normal(jax.random.key(1), shape, jnp.float32)
    out0 = _apply(net, x, jnp.asarray(0.5))
    assert out0.shape == shape and out0.dtype == jnp.float32
    np.testing.assert_array_equal(out0, 0.0)  # the last convolution starts at zero
    net = _randomise_output(net, jax.random.key(2))
    a, b = _apply(net, x, jnp.asarray(0.5)), _apply(net, x, jnp.asarray(2.0))
    assert a.shape == shape and bool(jnp.all(jnp.isfinite(a)))
    # the output depends on t: a relative change of order one between t = 0.5 and t = 2
    assert float(jnp.linalg.norm(a - b) / jnp.linalg.norm(a)) > 1e-2
    np.testing.assert_array_equal(_apply(net, x, jnp.asarray(0.5)), a)  # and on nothing else


def test_attention_changes_the_function():
    k = jax.random.key(0)
    x = jax.random.normal(jax.random.key(1), (8, 8, 1))
    plain = _randomise_output(unet.UNet(k, channels=8, groups=4), jax.random.key(2))
    attn = _randomise_output(unet.UNet(k, channels=8, groups=4, attention=True), jax.random.key(2))
    assert unet.n_params(attn) > unet.n_params(plain)
    assert not np.allclose(_apply(plain, x, 1.0), _apply(attn, x, 1.0))


def test_group_norm_is_the_textbook_formula():
    x = jax.random.normal(jax.random.key(0), (5, 3, 12)) * 3 + 1
    gamma, beta = jnp.linspace(0.5, 2, 12), jnp.linspace(-1, 1, 12)
    g = x.reshape(5, 3, 4, 3)  # 4 groups of 3 channels
    mu = g.mean(axis=(0, 1, 3), keepdims=True)
    var = g.var(axis=(0, 1, 3), keepdims=True)
    want = ((g - mu) / jnp.sqrt(var + 1e-5)).reshape(x.shape) * gamma + beta
    np.testing.assert_allclose(unet.group_norm(x, gamma, beta, 4), want, atol=1e-12)


def test_fused_group_norm_silu_backward_matches_autodiff():
    kx, kg, kb, ky = jax.random.split(jax.random.key(3), 4)
    x = 2 * jax.random.normal(kx, (4, 4, 16)) + 1
    gamma, beta = jax.random.normal(kg, (16,)), jax.random.normal(kb, (16,))
    dy = jax.random.normal(ky, (4, 4, 16))
    fused = lambda x, g, b: jnp.sum(dy * unet.group_norm_silu(x, g, b, 4))
    plain = lambda x, g, b: jnp.sum(dy * jax.nn.silu(unet.group_norm(x, g, b, 4)))
    # one compiled program per side (value and gradients), not one compile per operation
    fused_vg = jax.jit(jax.value_and_grad(fused, (0, 1, 2)))
    plain_vg = jax.jit(jax.value_and_grad(plain, (0, 1, 2)))
    (v_fused, g_fused), (v_plain, g_plain) = fused_vg(x, gamma, beta), plain_vg(x, gamma, beta)
    np.testing.assert_allclose(v_fused, v_plain, rtol=1e-12)
    for a, b in zip(g_fused, g_plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_bad_groups_rejected():
    with pytest.raises(ValueError, match="groups must divide the channel count"):
        unet.UNet(jax.random.key(0), channels=12, groups=8)
