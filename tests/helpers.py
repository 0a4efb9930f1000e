"""Small helpers shared by several test files (tests/ is on sys.path under pytest)."""

import equinox as eqx
import jax


def perturb(model, key, scale: float = 0.1):
    """Add N(0, scale^2) noise to every float array of ``model``.

    A fresh U-Net outputs exactly 0 (its last convolutions start at zero); perturbing every weight
    gives a generic network whose output depends on all of its inputs.
    """
    params, static = eqx.partition(model, eqx.is_inexact_array)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    leaves = [
        p + scale * jax.random.normal(k, p.shape, p.dtype)
        for p, k in zip(leaves, keys, strict=True)
    ]
    return eqx.combine(jax.tree.unflatten(tree, leaves), static)
