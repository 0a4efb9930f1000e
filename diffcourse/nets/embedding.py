"""Sinusoidal embedding of the noise level, shared by every network of the course."""

import jax.numpy as jnp

from diffcourse import _boundary, _validate


def time_embedding(t, dim: int, max_period: float = 1.0e4):
    r"""Sinusoidal features of :math:`\ln t` (Vaswani et al. 2017 §3.5; Ho et al. 2020 App. B).

    .. math:: e(t) = [\cos(\omega_k u), \sin(\omega_k u)]_{k<dim/2},\quad
              u = \ln t,\quad \omega_k = \text{max\_period}^{-k/(dim/2)}

    Using :math:`\ln t` (rather than the step index) makes the embedding smooth over the many
    decades of noise level a diffusion model sees (EDM uses :math:`\tfrac14\ln\sigma`, the same idea).
    ``t``: a scalar VE time > 0. Returns shape ``(dim,)``; ``dim`` must be even.
    """
    dim = _validate.positive_int("dim", dim)
    if dim % 2:
        raise ValueError(f"dim must be even; got {dim}")
    _boundary.positive("t", t)
    _boundary.positive("max_period", max_period)
    half = dim // 2
    omega = max_period ** (-jnp.arange(half) / half)
    u = jnp.log(jnp.asarray(t)) * omega
    return jnp.concatenate([jnp.cos(u), jnp.sin(u)])
