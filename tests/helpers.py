"""Small helpers shared by several test files (tests/ is on sys.path under pytest)."""

import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def perturb(model, key, scale: float = 0.1):
    """Add N(0, scale^2) noise to every float array of ``model``.

    A fresh U-Net outputs exactly 0 (its last convolutions start at zero); perturbing every weight
    gives a generic network whose output depends on all of its inputs. The noise is drawn with
    numpy (seeded by ``key``): no JAX op per parameter shape, so nothing is compiled.
    """
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    params, static = eqx.partition(model, eqx.is_inexact_array)
    leaves, tree = jax.tree.flatten(params)
    leaves = [
        jnp.asarray(np.asarray(p) + scale * rng.standard_normal(p.shape), p.dtype) for p in leaves
    ]
    return eqx.combine(jax.tree.unflatten(tree, leaves), static)


def user_environment(**extra) -> dict:
    """``os.environ`` with the user's own XLA_FLAGS back (without the suite's compile-speed flag,
    see conftest.py), plus ``extra``: for the tests that run the course as a user does."""
    env = dict(os.environ, **extra)
    flags = env.pop("DIFFCOURSE_USER_XLA_FLAGS", "")
    if flags:
        env["XLA_FLAGS"] = flags
    else:
        env.pop("XLA_FLAGS", None)
    return env
