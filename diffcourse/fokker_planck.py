r"""The Fokker–Planck equation in 1-D, solved by finite volumes.

For the Itô SDE :math:`dx = f(x,t)\,dt + g(x,t)\,dW` the density of :math:`x(t)` solves
(Risken 1989, eq. 4.45; Song et al. 2021, eq. 47)

.. math:: \partial_t p = -\partial_x\big(f p\big) + \tfrac12\,\partial_x^2\big(g^2 p\big)
          = -\partial_x F,\qquad F = f p - \tfrac12\,\partial_x\big(g^2 p\big).

Brownian motion (f = 0, g = 1) gives the heat equation with D = 1/2.

**Scheme.** Cells of width :math:`h` with centres :math:`x_i` on [a, b]; :math:`p_i` is the density
at the centre. The flux through the face :math:`x_{i+1/2}` is central,

.. math:: F_{i+1/2} = f(x_{i+1/2})\,\frac{p_i + p_{i+1}}2 - \frac{a_{i+1}p_{i+1} - a_i p_i}{2h},
          \qquad a_i = g(x_i)^2,

(:math:`a = g^2` is *twice* the diffusion constant of the course, :math:`D = g^2/2`: Brownian
motion has :math:`a = 1`, :math:`D = 1/2`)

and zero through the two boundary faces, so :math:`\sum_i p_i h` is conserved exactly (the fluxes
telescope). Time stepping is explicit Euler, :math:`p^{n+1} = p^n - \tfrac{\Delta t}{h}(F_{i+1/2} - F_{i-1/2})`.
Error :math:`O(h^2 + \Delta t)`, and with :math:`\Delta t \propto h^2`: **second order in h**.

**Stability and positivity.** :math:`p^{n+1}` is a combination of :math:`p^n` with non-negative
coefficients, hence :math:`p \ge 0` and the scheme is stable in :math:`L^1`, when

1. the cell Péclet condition holds: :math:`|f(x_{i+1/2})|\,h \le \min(a_i, a_{i+1})` at every face;
2. the CFL condition holds: :math:`\Delta t\,\big(\frac{f_{i+1/2} - f_{i-1/2}}{2h} + \frac{a_i}{h^2}\big) \le 1`
   in every cell (for constant g roughly :math:`\Delta t \le h^2/g^2 = h^2/(2D)`, notebook 01's limit).

:func:`solve` checks both, picks :math:`\Delta t` from the second (or rejects one that breaks it), and
raises a ValueError that says how to fix the grid when the first fails.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _validate as v


def grid(a: float, b: float, n: int):
    """Centres of ``n`` equal cells on [a, b]: shape (n,), spacing h = (b - a)/n."""
    n = v.positive_int("n", n)
    if not b > a:
        raise ValueError(f"b must be larger than a; got a={a}, b={b}")
    h = (b - a) / n
    return jnp.asarray(a + h * (np.arange(n) + 0.5))


def _check_sde(sde):
    """An SDE object of :mod:`diffcourse.sde`: callable ``drift(x, t)`` and ``diffusion(x, t)``."""
    if not (callable(getattr(sde, "drift", None)) and callable(getattr(sde, "diffusion", None))):
        raise v.fail(
            "sde", "an SDE with drift(x, t) and diffusion(x, t) (diffcourse.sde)", repr(sde)
        )


def _check_grid(x):
    """Uniform, increasing cell centres (n,), n >= 2 (see :func:`grid`); returns a numpy array."""
    xs = v.array("x", x, ndim=1, min_size=2)
    v.monotone("x", xs, increasing=True)
    if not np.allclose(np.diff(xs), xs[1] - xs[0], rtol=1000 * np.finfo(xs.dtype).eps, atol=0):
        raise ValueError("x must be a uniform grid (use fokker_planck.grid)")
    return xs


def _spacing(x):
    return (x[-1] - x[0]) / (x.shape[0] - 1)


@eqx.filter_jit
def _coefficients(sde, x, t):
    """Drift at the interior faces (n-1,) and a = g^2 (= 2D) at the centres (n,)."""
    faces = 0.5 * (x[1:] + x[:-1])
    f = jax.vmap(lambda xi: jnp.reshape(sde.drift(xi[None], t), ())[()])(faces)
    g = jax.vmap(lambda xi: jnp.reshape(sde.diffusion(xi[None], t), -1)[0])(x)
    return f, g**2


def flux_divergence(sde, p, x, t):
    r"""The right-hand side :math:`-(F_{i+1/2} - F_{i-1/2})/h` of the scheme, zero boundary flux.
    ``p`` and ``x`` have shape (n,); returns (n,). Checked when called with concrete arrays (not
    inside :func:`solve`'s compiled loop)."""
    if v.is_concrete((p, x, t)):
        _check_sde(sde)
        x = jnp.asarray(_check_grid(x))
        p = jnp.asarray(v.array("p", p, shape=x.shape))
        v.real("t", t)
    h = _spacing(x)
    f, a = _coefficients(sde, x, t)
    F = f * 0.5 * (p[1:] + p[:-1]) - (a[1:] * p[1:] - a[:-1] * p[:-1]) / (2 * h)
    F = jnp.concatenate([jnp.zeros(1, F.dtype), F, jnp.zeros(1, F.dtype)])
    return -(F[1:] - F[:-1]) / h


def stable_dt(sde, x, t) -> float:
    r"""Largest :math:`\Delta t` of the CFL condition (2) at time ``t``; raises if the Péclet
    condition (1) fails."""
    _check_sde(sde)
    xs = _check_grid(x)
    t = v.real("t", t)
    h = (xs[-1] - xs[0]) / (xs.size - 1)
    f, a = (np.asarray(c) for c in _coefficients(sde, jnp.asarray(x), jnp.asarray(t, float)))
    if np.any(a < 0) or not np.all(np.isfinite(a)):
        raise ValueError("diffusion g(x, t)^2 must be non-negative and finite on the grid")
    # coefficient of p_{i+1} in dp_i/dt and of p_i in dp_{i+1}/dt must be >= 0
    bad = (f * h > a[1:] * (1 + 1e-12)) | (-f * h > a[:-1] * (1 + 1e-12))
    if np.any(bad):
        need = np.min(np.minimum(a[:-1], a[1:])[bad] / np.abs(f[bad]))
        raise ValueError(
            f"x: the cell Péclet condition |f| h <= g^2 fails at t={float(t):g} (h={h:.4g}); "
            f"use a grid spacing h <= {need:.4g} (more cells or a smaller domain)"
        )
    right = np.concatenate([f / 2 + a[:-1] / (2 * h), [0.0]])  # outflow through the right face
    left = np.concatenate([[0.0], -f / 2 + a[1:] / (2 * h)])  # outflow through the left face
    rate = (right + left) / h
    return float(1.0 / np.max(rate)) if np.max(rate) > 0 else math.inf


@eqx.filter_jit
def _advance(sde, p, x, t0, t1, n):
    dt = (t1 - t0) / n
    # the carry keeps p's dtype (a float32 p0 under x64 meets float64 coefficients)
    body = lambda i, p: (p + dt * flux_divergence(sde, p, x, t0 + i * dt)).astype(p.dtype)
    return jax.lax.fori_loop(0, n, body, p)


def solve(sde, p0, x, ts, *, dt=None, safety: float = 0.9):
    r"""Solve the Fokker–Planck equation of ``sde`` from the density ``p0`` at time ``ts[0]``.

    ``x``: uniform cell centres (n,) (see :func:`grid`); ``p0``: density at the centres (n,);
    ``ts``: strictly increasing output times. The step is ``safety`` times the CFL bound (checked
    at 9 times per output interval), ``0 < safety <= 1``, or ``dt > 0`` if given (rejected if it
    breaks the bound).
    Returns the densities at ``ts``, shape (len(ts), n)."""
    _check_sde(sde)
    _check_grid(x)
    v.shape("p0", p0, (np.shape(x)[0],))
    v.nonnegative("p0", p0)
    v.monotone("ts", ts, increasing=True)
    safety = v.real("safety", safety, low=0.0, high=1.0, low_open=True)
    if dt is not None:
        dt = v.real("dt", dt, low=0.0, low_open=True)
    ts = [float(t) for t in np.asarray(ts)]
    p = jnp.asarray(p0)
    if not jnp.issubdtype(p.dtype, jnp.floating):
        p = p.astype(float)
    x = jnp.asarray(x)
    out = [p]
    for t0, t1 in zip(ts[:-1], ts[1:], strict=True):
        bound = min(stable_dt(sde, x, t) for t in np.linspace(t0, t1, 9))
        if dt is not None and dt > bound:
            raise ValueError(f"dt must be <= {bound:.4g} (CFL condition) on this grid; got {dt}")
        step = dt if dt is not None else safety * bound
        n = max(1, math.ceil((t1 - t0) / step - 1e-9))
        p = _advance(sde, p, x, jnp.asarray(t0), jnp.asarray(t1), jnp.asarray(n))
        out.append(p)
    return jnp.stack(out)


@jax.jit
def mass(p, x):
    r"""Total mass :math:`\sum_i p_i h` (on the last axis)."""
    return jnp.sum(p, axis=-1) * _spacing(x)


@jax.jit
def cdf(p, x, z):
    r"""CDF of the piecewise-constant density ``p`` on the cells centred at ``x``, at points ``z``
    (linear between cell edges; normalised by the total mass). For KS tests against samples."""
    h = _spacing(x)
    edges = jnp.concatenate([x[:1] - h / 2, x + h / 2])
    c = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p) * h])
    return jnp.interp(z, edges, c / c[-1])


def stationary_density(sde, x):
    r"""The zero-flux (stationary) solution of the Fokker–Planck equation of a time-independent
    SDE, :math:`F = fp - \tfrac12\partial_x(g^2p) = 0`:

    .. math:: p_\infty(x) \propto \frac{1}{g(x)^2}\exp\Big(\int^x \frac{2f(s)}{g(s)^2}\,ds\Big)

    (Risken 1989, eq. 5.3; for constant g, :math:`p_\infty \propto e^{2\int f/g^2}`), the integral by
    the trapezoid rule on the cell centres ``x``, normalised to :math:`\sum_i p_i h = 1`. For OU it
    is :math:`\mathcal N(\mu, \sigma^2/2\theta)`; for the Langevin SDE
    :math:`f = \tfrac12\nabla\ln p`, :math:`g = 1` it is :math:`p`. Shape (n,)."""
    _check_sde(sde)
    return _stationary_density(sde, jnp.asarray(_check_grid(x)))


@eqx.filter_jit
def _stationary_density(sde, x):
    f = jax.vmap(lambda xi: jnp.reshape(sde.drift(xi[None], 0.0), ())[()])(x)
    g2 = jax.vmap(lambda xi: jnp.reshape(sde.diffusion(xi[None], 0.0), -1)[0])(x) ** 2
    q = 2 * f / g2
    phi = jnp.concatenate([jnp.zeros(1), jnp.cumsum(0.5 * (q[1:] + q[:-1]) * jnp.diff(x))])
    logp = phi - jnp.log(g2)
    p = jnp.exp(logp - jnp.max(logp))
    return p / (jnp.sum(p) * _spacing(x))
