r"""A small MLP denoiser for low-dimensional data (notebook 07).

The network takes one noisy sample :math:`z` of shape ``(dim,)`` and its variance-exploding time
:math:`t > 0` (:math:`z(t) = y + \sqrt t\,\epsilon`) and returns a vector of shape ``(dim,)``.

With ``precondition=True`` (the default) the output is a prediction of McAllester's denoiser
:math:`E[y\mid z(t)=z]`, built with the preconditioning of Karras et al. 2022 (EDM, Table 1 and
§5, with :math:`\sigma^2 = t` and :math:`\sigma_{\rm data}^2 = s^2`, the data variance per
coordinate):

.. math::
    \hat y(z, t) = c_{\rm skip}(t)\,z + c_{\rm out}(t)\,F\big(c_{\rm in}(t)\,z,\ e(t)\big),\qquad
    c_{\rm in} = \frac{1}{\sqrt{s^2+t}},\quad c_{\rm skip} = \frac{s^2}{s^2+t},\quad
    c_{\rm out} = \sqrt{\frac{s^2 t}{s^2+t}},

where :math:`F` is the MLP and :math:`e(t)` = :func:`diffcourse.nets.time_embedding` of
:math:`\ln t`. Why these factors: :math:`z` has variance :math:`s^2+t`, so :math:`c_{\rm in}z` has
unit variance at every noise level (McAllester's slides feed :math:`z/\sqrt{1+t}` to the net for
unit-scale data, the same idea); :math:`c_{\rm skip}z` is the best *linear* denoiser of data with
mean 0 and variance :math:`s^2` (the Gaussian posterior mean), and :math:`c_{\rm out}^2` is its
error, so :math:`F` only has to learn a unit-scale correction. The skip form assumes centred
data (mean 0), as the toys of :mod:`diffcourse.data.toys` are.

With ``precondition=False`` the output is :math:`F(c_{\rm in}z, e(t))` itself, a raw output that
the loss may read as a denoiser, an :math:`\epsilon` or a score (``target`` in
:mod:`diffcourse.losses`).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from diffcourse import _validate
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
    r"""MLP :math:`(z, t) \mapsto` an estimate of :math:`E[y\mid z(t)=z]`, for one sample.

    ``key``: PRNG key for the initial weights; ``dim``: data dimension; ``width``, ``depth``:
    hidden width and number of hidden layers; ``t_dim``: size of the time embedding (even);
    ``s2``: data variance per coordinate (the :math:`\sigma_{\rm data}^2` of EDM);
    ``precondition``: use the EDM skip parameterisation (see the module docstring).
    Call as ``model(z, t)`` with ``z`` of shape ``(dim,)`` and scalar ``t > 0``; returns ``(dim,)``.
    """

    weights: list
    biases: list
    dim: int = eqx.field(static=True)
    t_dim: int = eqx.field(static=True)
    s2: float = eqx.field(static=True)
    precondition: bool = eqx.field(static=True)

    def __init__(
        self,
        key,
        dim: int,
        width: int = 128,
        depth: int = 3,
        t_dim: int = 32,
        s2: float = 1.0,
        precondition: bool = True,
    ):
        dim = _validate.positive_int("dim", dim)
        width = _validate.positive_int("width", width)
        depth = _validate.positive_int("depth", depth)
        t_dim = _validate.positive_int("t_dim", t_dim)
        if t_dim % 2:
            raise ValueError(f"t_dim must be even; got {t_dim}")
        _validate.positive("s2", s2)
        sizes = (dim + t_dim,) + (width,) * depth + (dim,)
        self.weights, self.biases = _he_init(key, sizes, jnp.result_type(float))
        self.dim, self.t_dim, self.s2 = dim, t_dim, float(s2)
        self.precondition = bool(precondition)

    def coefficients(self, t):
        r""":math:`(c_{\rm in}, c_{\rm skip}, c_{\rm out})` at time ``t`` (EDM Table 1, :math:`\sigma^2=t`)."""
        s2 = self.s2
        return 1 / jnp.sqrt(s2 + t), s2 / (s2 + t), jnp.sqrt(s2 * t / (s2 + t))

    def __call__(self, z, t):
        c_in, c_skip, c_out = self.coefficients(t)
        h = jnp.concatenate([c_in * z, time_embedding(t, self.t_dim).astype(z.dtype)])
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = jax.nn.silu(w @ h + b)
        f = self.weights[-1] @ h + self.biases[-1]
        if not self.precondition:
            return f
        return c_skip * z + c_out * f
