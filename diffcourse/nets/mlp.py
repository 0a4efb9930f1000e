r"""A small MLP for low-dimensional data (notebook 07): the raw network :math:`F(x, t)`.

The network takes one input :math:`x` of shape ``(dim,)`` and a variance-exploding time
:math:`t > 0` (:math:`z(t) = y + \sqrt t\,\epsilon`), enters :math:`t` through
:func:`diffcourse.nets.time_embedding` of :math:`\ln t`, and returns a vector of shape ``(dim,)``.
It is read as a denoiser by :class:`diffcourse.nets.Preconditioned` (EDM's
:math:`D = c_{\rm skip} z + c_{\rm out} F(c_{\rm in} z, t)`, the same wrapper as the U-Net's), or
its raw output is read as a denoiser, an :math:`\epsilon` or a score by the loss (``target`` in
:mod:`diffcourse.losses`).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from diffcourse import _boundary, _validate
from diffcourse.nets.embedding import time_embedding


@functools.partial(jax.jit, static_argnums=(1, 2))
def _he_init(key, sizes, dtype):
    r"""Weights :math:`W_l\sim\mathcal N(0, 2/n_{\rm in})` (He et al. 2015) and zero biases.

    He's scale keeps the SiLU pre-activations of order one, so the untrained net is clearly
    nonlinear in :math:`z`; with the smaller default scale of ``eqx.nn.Linear`` the training of
    a ring mixture sits on a plateau for hundreds of steps. One compiled call (fast start-up)."""
    keys = jax.random.split(key, len(sizes) - 1)
    weights = [
        jax.random.normal(k, (n_out, n_in), dtype) * jnp.sqrt(2.0 / n_in).astype(dtype)
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]
    return weights, [jnp.zeros((n_out,), dtype) for n_out in sizes[1:]]


class MLP(eqx.Module):
    r"""MLP :math:`(x, t) \mapsto F(x, t)`, for one sample.

    ``key``: PRNG key for the initial weights; ``dim``: data dimension; ``width``, ``depth``:
    hidden width and number of hidden layers; ``t_dim``: size of the time embedding (even).
    Call as ``net(x, t)`` with ``x`` of shape ``(dim,)`` and scalar ``t > 0``; returns ``(dim,)``.
    """

    weights: list
    biases: list
    dim: int = eqx.field(static=True)
    t_dim: int = eqx.field(static=True)

    def __init__(
        self,
        key,
        dim: int,
        width: int = 128,
        depth: int = 3,
        t_dim: int = 32,
    ):
        _boundary.key("key", key)
        dim = _validate.positive_int("dim", dim)
        width = _validate.positive_int("width", width)
        depth = _validate.positive_int("depth", depth)
        t_dim = _validate.positive_int("t_dim", t_dim)
        if t_dim % 2:
            raise ValueError(f"t_dim must be even; got {t_dim}")
        sizes = (dim + t_dim,) + (width,) * depth + (dim,)
        self.weights, self.biases = _he_init(key, sizes, jnp.result_type(float))
        self.dim, self.t_dim = dim, t_dim

    def __call__(self, x, t):
        x = _boundary.data("x", x, shape=(self.dim,))
        _boundary.positive("t", t)
        x = jnp.asarray(x)
        h = jnp.concatenate([x, time_embedding(t, self.t_dim).astype(x.dtype)])
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = jax.nn.silu(w @ h + b)
        return self.weights[-1] @ h + self.biases[-1]
