r"""Random walks and Brownian motion: the particles whose density solves the heat equation.

A walker that steps :math:`\pm dx` every :math:`dt` has, after :math:`k` steps, mean 0 and
variance :math:`k\,dx^2 = 2 D t` with :math:`t = k\,dt` and

.. math:: D = \frac{dx^2}{2\,dt},

so by the central limit theorem its position is :math:`\approx \mathcal N(0, 2Dt)`: the heat
kernel. From notebook 02 on the course uses :math:`D = 1/2`, where the limit is standard
Brownian motion :math:`W(t) \sim \mathcal N(0, t)`.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfc
from scipy import stats

from diffcourse import _validate


def diffusion_constant(dx, dt):
    r"""The diffusion constant of a lattice walk, :math:`D = dx^2 / (2\,dt)`."""
    _validate.positive("dx", dx)
    _validate.positive("dt", dt)
    return dx**2 / (2 * dt)


def lattice_walk(key, n_walkers, n_steps, dx, dt, *, dim=1):
    r"""Simple random walks on the lattice :math:`dx\,\mathbb Z^{dim}`, all started at 0.

    Each step (every ``dt``) moves every coordinate by :math:`\pm dx` with probability 1/2
    each, independently, so each coordinate is a 1-D walk with :math:`D = dx^2/(2\,dt)` and
    :math:`E|x(t)|^2 = 2\, dim\, D\, t`. (``dt`` only sets the clock: position ``k`` is the
    time ``k * dt``.)

    Shapes: returns ``(n_walkers, n_steps + 1)`` for ``dim=1`` and
    ``(n_walkers, n_steps + 1, dim)`` otherwise; entry ``[:, 0]`` is the start, 0.
    """
    if _validate.is_concrete(key):
        _validate.key("key", key)
    n_walkers = _validate.positive_int("n_walkers", n_walkers)
    n_steps = _validate.positive_int("n_steps", n_steps)
    dim = _validate.positive_int("dim", dim)
    _validate.positive("dx", dx)
    _validate.positive("dt", dt)
    keys = jax.random.split(key, n_walkers)
    paths = _walks(keys, n_steps, dim) * dx
    return paths[..., 0] if dim == 1 else paths


@functools.partial(jax.jit, static_argnames=("n_steps", "dim"))
def _walks(keys, n_steps, dim):
    def one(key):  # one walker, in units of dx
        steps = jax.random.rademacher(key, (n_steps, dim), dtype=jnp.result_type(float))
        return jnp.concatenate([jnp.zeros((1, dim), steps.dtype), jnp.cumsum(steps, axis=0)])

    return jax.vmap(one)(keys)


def brownian_paths(key, n_paths, ts, *, dim=1):
    r"""Standard Brownian motion :math:`W` (:math:`D = 1/2`, :math:`W(t) \sim \mathcal N(0, t)`)
    sampled at the times ``ts``, started from :math:`W(0) = 0`:

    .. math:: W(t_k) = W(t_{k-1}) + \sqrt{t_k - t_{k-1}}\;\varepsilon_k, \quad t_{-1} = 0.

    Exact at the grid points (no discretisation error). For another :math:`D` use
    :math:`\sqrt{2D}\,W`.
    Shapes: ``ts`` ``(m,)`` strictly increasing, ``ts[0] >= 0``; returns ``(n_paths, m)`` for
    ``dim=1`` and ``(n_paths, m, dim)`` otherwise.
    """
    if _validate.is_concrete(key):
        _validate.key("key", key)
    n_paths = _validate.positive_int("n_paths", n_paths)
    dim = _validate.positive_int("dim", dim)
    ts = jnp.asarray(ts, dtype=jnp.result_type(float))
    if ts.ndim != 1 or ts.shape[0] < 1:
        raise ValueError(f"ts must be a 1-D grid of times; got shape {ts.shape}")
    if ts.shape[0] > 1:
        _validate.monotone("ts", ts, increasing=True)
    _validate.nonnegative("ts", ts)
    keys = jax.random.split(key, n_paths)
    paths = jax.vmap(_brownian, (0, None, None))(keys, ts, dim)
    return paths[..., 0] if dim == 1 else paths


@functools.partial(jax.jit, static_argnames=("dim",))
def _brownian(key, ts, dim):
    dts = jnp.diff(ts, prepend=0.0)
    eps = jax.random.normal(key, (ts.shape[0], dim), ts.dtype)
    return jnp.cumsum(jnp.sqrt(dts)[:, None] * eps, axis=0)


def msd(paths):
    r"""Mean-square displacement :math:`\mathrm{MSD}(t_k) = \frac1N \sum_i |x_i(t_k) - x_i(t_0)|^2`.

    For a walk with diffusion constant :math:`D` in ``dim`` dimensions,
    :math:`E\,\mathrm{MSD}(t) = 2\, dim\, D\, t`: linear in :math:`t`.
    Shapes: ``paths`` ``(N, m)`` (1-D) or ``(N, m, dim)`` -> ``(m,)``.
    """
    paths = _validate.array("paths", paths)
    if paths.ndim not in (2, 3) or paths.shape[0] < 1 or paths.shape[1] < 1:
        raise ValueError(f"paths must have shape (N, m) or (N, m, dim); got shape {paths.shape}")
    paths = jnp.asarray(paths)
    disp = paths - paths[:, :1]
    sq = disp**2 if paths.ndim == 2 else jnp.sum(disp**2, axis=-1)
    return jnp.mean(sq, axis=0)


def fit_diffusion(ts, msd_values, dim=1):
    r"""Estimate :math:`D` from :math:`\mathrm{MSD}(t) \approx 2\, dim\, D\, t` by least squares
    through the origin: :math:`\hat D = \sum t\,\mathrm{MSD} / (2\, dim \sum t^2)`."""
    dim = _validate.positive_int("dim", dim)
    ts = (
        jnp.asarray(_validate.array("ts", ts, ndim=1, min_size=2))
        if _validate.is_concrete(ts)
        else ts
    )
    _validate.nonnegative("ts", ts)  # t = 0 adds nothing to the fit through the origin
    if _validate.is_concrete(ts) and not np.any(np.asarray(ts) > 0):
        raise _validate.fail(
            "ts", "non-negative times, at least one of them > 0", np.asarray(ts).tolist()
        )
    ts = jnp.asarray(ts)
    msd_values = jnp.asarray(msd_values)
    _validate.shape("msd_values", msd_values, ts.shape)
    return jnp.sum(ts * msd_values) / (2 * dim * jnp.sum(ts**2))


# --------------------------------------------------------------------------- first passage
def first_passage_times(paths, ts, a):
    r"""First time :math:`\tau = \min\{t_k : x(t_k) \ge a\}` each 1-D path reaches the level
    ``a > 0`` (an absorbing wall), ``inf`` where it never does on the grid.

    Monitoring only at the grid times misses crossings between them, so :math:`\tau` is biased
    late by :math:`O(\sqrt{dt})` (see :func:`first_passage_cdf`).
    Shapes: ``paths`` ``(N, m)``, ``ts`` ``(m,)`` -> ``(N,)``.
    """
    _validate.positive("a", a)
    paths = jnp.asarray(paths)
    ts = jnp.asarray(ts)
    if paths.ndim != 2:
        raise ValueError(f"paths must have shape (N, m); got shape {paths.shape}")
    _validate.shape("ts", ts, (paths.shape[1],))
    hit = paths >= a
    first = jnp.argmax(hit, axis=1)
    return jnp.where(jnp.any(hit, axis=1), ts[first], jnp.inf)


def first_passage_cdf(t, a, D=0.5):
    r"""Reflection principle: for Brownian motion with diffusion constant :math:`D` started at
    0 and a level :math:`a > 0`,

    .. math:: P(\tau_a \le t) = 2\,P(x(t) \ge a) = 2\Bigl(1 - \Phi\bigl(a/\sqrt{2Dt}\bigr)\Bigr)
              = \operatorname{erfc}\bigl(a / \sqrt{4 D t}\bigr).

    For a walk watched every ``dt`` (``D = 1/2``), replacing ``a`` by
    :math:`a + 0.5826\sqrt{dt}` corrects the late bias to first order (Broadie, Glasserman &
    Kou 1997). Source: Feller, vol. 1, ch. III; Karatzas & Shreve §2.6.
    """
    _validate.positive("a", a)
    _validate.positive("D", D)
    t = jnp.asarray(t)
    return jnp.where(t > 0, erfc(a / jnp.sqrt(4 * D * jnp.maximum(t, 1e-300))), 0.0)


def absorbed_density(x, t, a, D=0.5):
    r"""Density of the walkers that have not yet hit the absorbing wall at ``a > 0``, by the
    method of images: :math:`p(x, t) = G(x, t) - G(x - 2a, t)` for :math:`x < a`, 0 beyond;
    :math:`G` is the heat kernel :math:`\mathcal N(0, 2Dt)`. Its integral is
    :math:`1 - P(\tau_a \le t)`. Shapes: elementwise in ``x``."""
    _validate.positive("a", a)
    _validate.positive("t", t)
    _validate.positive("D", D)
    x = jnp.asarray(x)
    g = lambda y: jnp.exp(-(y**2) / (4 * D * t)) / jnp.sqrt(4 * np.pi * D * t)
    return jnp.where(x < a, g(x) - g(x - 2 * a), 0.0)


# --------------------------------------------------------------------------- exact lattice laws
def lattice_inside_probability(n_steps, c=2.0):
    r"""Exact probability that a simple walk of ``n_steps`` steps ends within ``c`` standard
    deviations of the start, :math:`P(|S_n| \le c\sqrt n)`, with :math:`S_n = 2B - n`,
    :math:`B \sim \mathrm{Binomial}(n, 1/2)`, sites exactly at :math:`\pm c\sqrt n` included.

    For ``n = 400``, ``c = 2`` it is 0.9598, not the normal 0.9545: the lattice puts mass
    :math:`P(S_n = \pm 40) = 0.0054` on each of the two boundary sites (a continuity correction of
    half a lattice cell on each side)."""
    n = _validate.positive_int("n_steps", n_steps)
    _validate.positive("c", c)
    B = np.arange(n + 1)
    inside = np.abs(2 * B - n) <= c * np.sqrt(n) * (1 + 1e-12)
    return float(stats.binom.pmf(B[inside], n, 0.5).sum())


def msd_slope_relative_se(ts, n_walkers):
    r"""Relative standard error of the least-squares slope of :math:`\mathrm{MSD}(t)` against
    :math:`t` for ``n_walkers`` independent Brownian walkers (1-D) observed at the times ``ts``.

    The slope is :math:`\hat b = \sum_k c_k\,\mathrm{MSD}(t_k)` with OLS weights
    :math:`c_k = (t_k - \bar t)/\sum_j (t_j - \bar t)^2`, and for one walker
    :math:`\mathrm{Cov}(x_s^2, x_t^2) = 2\,(2D\min(s,t))^2` (Isserlis), so
    :math:`\mathrm{Var}\,\hat b = \tfrac1N c^\top \Sigma c`. On a fine uniform grid starting at 0 it is
    about :math:`1.55/\sqrt N` relative, not the :math:`\sqrt{2/N}` of the MSD at one time: the
    curve's points are strongly correlated."""
    ts = np.asarray(ts, dtype=float)
    n = _validate.positive_int("n_walkers", n_walkers)
    c = (ts - ts.mean()) / np.sum((ts - ts.mean()) ** 2)
    cov = 2 * np.minimum.outer(ts, ts) ** 2  # in units where 2D = 1
    return float(np.sqrt(c @ cov @ c / n))  # the slope itself is 2D = 1 in these units


def first_passage_mean_truncated(T, a, D=0.5):
    r""":math:`E[\min(\tau_a, T)] = \int_0^T P(\tau_a > t)\,dt` from :func:`first_passage_cdf`
    (trapezoid rule on 20 001 points). The density of :math:`\tau_a` decays like :math:`t^{-3/2}`, so
    this grows like :math:`\sqrt T` without limit: the mean first-passage time is infinite,
    although :math:`\tau_a < \infty` with probability 1 (Feller, vol. 1, ch. III.7)."""
    _validate.positive("T", T)
    t = np.linspace(0.0, T, 20001)
    surv = 1.0 - np.asarray(first_passage_cdf(t, a, D))
    return float(np.trapezoid(surv, t))


def biased_walk(key, n_walkers, n_steps, dx, dt, p):
    r"""Walks that step :math:`+dx` with probability ``p`` and :math:`-dx` otherwise, every ``dt``,
    from 0. Drift :math:`v = (2p - 1)\,dx/dt` and diffusion constant
    :math:`D = 2p(1-p)\,dx^2/dt` (:math:`\mathrm{Var}` of one step :math:`4p(1-p)dx^2 = 2D\,dt`);
    ``p = 1/2`` is :func:`lattice_walk`. Shape ``(n_walkers, n_steps + 1)``."""
    if _validate.is_concrete(key):
        _validate.key("key", key)
    n_walkers = _validate.positive_int("n_walkers", n_walkers)
    n_steps = _validate.positive_int("n_steps", n_steps)
    _validate.positive("dx", dx)
    _validate.positive("dt", dt)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1]; got {p}")
    up = jax.random.bernoulli(key, p, (n_walkers, n_steps))
    steps = jnp.where(up, dx, -dx).astype(jnp.result_type(float))
    return jnp.concatenate([jnp.zeros((n_walkers, 1), steps.dtype), jnp.cumsum(steps, 1)], 1)


def covariance_matrix(paths, idx):
    r"""Sample covariance of the path values at the time indices ``idx`` (paths (N, m)):
    (len(idx), len(idx)); for Brownian motion it estimates :math:`\min(t_i, t_j)`."""
    paths = _validate.array("paths", paths, ndim=2)
    if paths.shape[0] < 2:
        raise _validate.fail("paths", "at least 2 paths (N, m)", f"shape {paths.shape}")
    idx = _validate.ints("idx", idx, minimum=0)
    if max(idx) >= paths.shape[1]:
        raise _validate.fail("idx", f"time indices below m = {paths.shape[1]}", repr(list(idx)))
    return np.cov(paths[:, list(idx)].T)
