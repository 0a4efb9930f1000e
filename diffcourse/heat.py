r"""The heat (diffusion) equation :math:`\partial_t u = D \nabla^2 u`, its Gaussian kernel and two solvers.

Notebook 01 uses a general diffusion constant ``D``; from notebook 02 on the course sets
``D = 1/2`` so that the kernel is the density of :math:`\mathcal N(0, t I)`.

Grid conventions for the 1-D solvers: ``u0`` holds the values at ``n >= 3`` equally spaced
points :math:`x_0, \dots, x_{n-1}` (spacing ``dx``); the boundary is one of

* ``"dirichlet"``: the end values :math:`u_0, u_{n-1}` stay at their initial values
  (a rod whose ends are held at fixed temperatures);
* ``"neumann"``: zero flux :math:`\partial_x u = 0` at :math:`x_0` and :math:`x_{n-1}`
  (mirror ghost points, second order); the trapezoid mass :func:`mass` is conserved exactly;
* ``"periodic"``: :math:`x_n \equiv x_0` (a ring of ``n`` points).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _validate

BOUNDARIES = ("dirichlet", "neumann", "periodic")


# --------------------------------------------------------------------------- the kernel
def kernel(x, t, D):
    r"""Heat kernel (fundamental solution) :math:`u(x, t) = (4\pi D t)^{-n/2} e^{-|x|^2 / 4Dt}`.

    It solves :math:`\partial_t u = D \nabla^2 u` for ``t > 0`` with :math:`u \to \delta` as
    :math:`t \to 0`: the density of :math:`\mathcal N(0, 2 D t\, I_n)`.

    Shapes: ``x`` is one point: a scalar (1-D) or a vector of shape ``(n,)`` (n-D); ``t`` and
    ``D`` scalars; returns a scalar. Use ``jax.vmap`` for many points.
    Source: any PDE text, e.g. Evans, *Partial Differential Equations*, §2.3, eq. (7).
    """
    _validate.positive("t", t)
    _validate.positive("D", D)
    x = jnp.asarray(x)
    if x.ndim > 1:
        raise ValueError(
            f"x must be one point: a scalar or a vector of shape (n,); got shape {x.shape} "
            "(use jax.vmap for many points)"
        )
    n = 1 if x.ndim == 0 else x.shape[0]
    r2 = jnp.sum(x**2)
    return (4 * jnp.pi * D * t) ** (-n / 2) * jnp.exp(-r2 / (4 * D * t))


def kernel_flux(x, t, D):
    r"""Fick's first law for the kernel in 1-D: :math:`J = -D \partial_x u = \frac{x}{2t} u(x, t)`."""
    return x / (2 * t) * kernel(x, t, D)


def convolve(u0, x, t, D, x_eval=None):
    r"""Solution of the initial-value problem on the whole line by convolution with the kernel.

    .. math:: u(x, t) = \int G(x - x', t)\, u_0(x')\, dx'
              \approx \sum_j G(x - x_j, t)\, u_0(x_j)\, w_j

    with trapezoid weights :math:`w_j` on the grid ``x``. For a smooth ``u0`` that vanishes at
    the ends of the grid the quadrature is spectrally accurate.

    Shapes: ``u0`` and ``x`` of shape ``(m,)`` (``x`` equally spaced, increasing); ``x_eval``
    of shape ``(k,)`` (default ``x``); returns ``(k,)``.
    """
    _validate.positive("t", t)
    _validate.positive("D", D)
    _validate.monotone("x", x, increasing=True)
    _validate.shape("u0", u0, np.shape(x))
    x = jnp.asarray(x)
    x_eval = x if x_eval is None else jnp.asarray(x_eval)
    return _convolve(jnp.asarray(u0), x, t, D, x_eval)


@jax.jit
def _convolve(u0, x, t, D, x_eval):
    dx = x[1] - x[0]
    w = jnp.full(x.shape, dx).at[0].mul(0.5).at[-1].mul(0.5)
    G = jax.vmap(lambda xe: jax.vmap(lambda xj: kernel(xe - xj, t, D))(x))(x_eval)
    return G @ (u0 * w)


def flux(u, dx, D):
    r"""Fick's first law on a grid: :math:`J = -D\, \partial_x u` by central differences
    (one-sided at the ends). Shapes: ``u`` ``(n,)`` -> ``(n,)``."""
    _validate.positive("dx", dx)
    _validate.positive("D", D)
    return -D * jnp.gradient(jnp.asarray(u), dx)


def mass(u, dx, boundary="dirichlet"):
    r"""Total amount :math:`\int u\, dx` on the grid: trapezoid rule for ``"dirichlet"`` and
    ``"neumann"``, the plain sum :math:`\sum_i u_i\, dx` on the ring for ``"periodic"``."""
    _check_boundary(boundary)
    u = jnp.asarray(u)
    if boundary == "periodic":
        return dx * jnp.sum(u)
    return dx * (jnp.sum(u) - 0.5 * (u[0] + u[-1]))


# --------------------------------------------------------------------------- 1-D solvers
def laplacian_matrix(n, dx, boundary):
    r"""The ``(n, n)`` matrix :math:`A` of the second difference
    :math:`(u_{i-1} - 2u_i + u_{i+1}) / dx^2` with the boundary built in (zero rows at the ends
    for ``"dirichlet"``, mirror rows :math:`2(u_1 - u_0)/dx^2` for ``"neumann"``, wrap-around
    for ``"periodic"``)."""
    _check_boundary(boundary)
    A = np.diag(-2.0 * np.ones(n)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    if boundary == "dirichlet":
        A[0, :] = 0.0
        A[-1, :] = 0.0
    elif boundary == "neumann":
        A[0, 1] = 2.0
        A[-1, -2] = 2.0
    else:
        A[0, -1] = 1.0
        A[-1, 0] = 1.0
    return jnp.asarray(A / dx**2)


def _laplacian(u, dx, boundary):
    """Matrix-free second difference, same as :func:`laplacian_matrix` ``@ u``."""
    if boundary == "periodic":
        return (jnp.roll(u, 1) - 2 * u + jnp.roll(u, -1)) / dx**2
    inner = (u[:-2] - 2 * u[1:-1] + u[2:]) / dx**2
    if boundary == "dirichlet":
        ends = jnp.zeros(2, u.dtype)
    else:
        ends = 2 * jnp.stack([u[1] - u[0], u[-2] - u[-1]]) / dx**2
    return jnp.concatenate([ends[:1], inner, ends[1:]])


def solve_ftcs(u0, dx, dt, steps, D, boundary, check_stability=True):
    r"""Explicit forward-time centred-space scheme, ``steps`` steps of size ``dt``.

    .. math:: u_i^{k+1} = u_i^k + r\,(u_{i-1}^k - 2u_i^k + u_{i+1}^k), \qquad r = \frac{D\,dt}{dx^2}

    Stable (von Neumann) iff :math:`r \le 1/2`; first order in time, second in space.
    With ``check_stability`` a step above the limit raises ``ValueError``.
    Shapes: ``u0`` ``(n,)``, ``n >= 3`` -> ``u`` at time ``steps * dt``, ``(n,)``.
    """
    u0 = _check_grid(u0, dx, dt, steps, D, boundary)
    if check_stability:
        limit = dx**2 / (2 * D)
        if dt > limit:
            raise ValueError(
                f"dt must be at most dx^2/(2 D) = {limit:.6g} for FTCS stability "
                f"(D dt/dx^2 = {D * dt / dx**2:.6g} > 1/2); got {dt!r}"
            )
    return _ftcs(u0, dx, dt, steps, D, boundary)


@functools.partial(jax.jit, static_argnames=("boundary",))
def _ftcs(u0, dx, dt, steps, D, boundary):
    step = lambda k, u: u + D * dt * _laplacian(u, dx, boundary)
    return jax.lax.fori_loop(0, steps, step, u0)


def solve_crank_nicolson(u0, dx, dt, steps, D, boundary):
    r"""Crank–Nicolson scheme (trapezoid rule in time), unconditionally stable, second order
    in time and space:

    .. math:: \bigl(I - \tfrac{D\,dt}{2} A\bigr) u^{k+1} = \bigl(I + \tfrac{D\,dt}{2} A\bigr) u^k

    with :math:`A` = :func:`laplacian_matrix`. Crank & Nicolson (1947).
    Shapes: ``u0`` ``(n,)``, ``n >= 3`` -> ``u`` at time ``steps * dt``, ``(n,)``.
    """
    u0 = _check_grid(u0, dx, dt, steps, D, boundary)
    A = laplacian_matrix(u0.shape[0], dx, boundary).astype(u0.dtype)
    return _crank_nicolson(u0, A, dt, steps, D)


@jax.jit
def _crank_nicolson(u0, A, dt, steps, D):
    eye = jnp.eye(A.shape[0], dtype=A.dtype)
    lu = jax.scipy.linalg.lu_factor(eye - 0.5 * D * dt * A)
    rhs = eye + 0.5 * D * dt * A
    step = lambda k, u: jax.scipy.linalg.lu_solve(lu, rhs @ u)
    return jax.lax.fori_loop(0, steps, step, u0)


# --------------------------------------------------------------------------- 2-D plume
def solve_plume(c0, dx, dt, steps, D, wind=(0.0, 0.0), source=None, check_stability=True):
    r"""Explicit solver of the 2-D advection–diffusion equation (a pollutant plume)

    .. math:: \partial_t c = D\,\nabla^2 c - v \cdot \nabla c + s

    on a square grid of spacing ``dx``, centred differences for diffusion and first-order
    upwind differences for the wind ``v``; ``c = 0`` outside the grid (absorbing edges, keep
    the plume away from them). Upwind advection moves the centre of mass at exactly ``v`` and
    adds numerical diffusion :math:`\tfrac12 |v| dx (1 - |v| dt/dx)` per axis.
    Stability: :math:`dt \le 1 / (4D/dx^2 + (|v_x| + |v_y|)/dx)`.
    Shapes: ``c0`` ``(nx, ny)`` (axis 0 is x), ``wind`` ``(2,)``, ``source`` ``(nx, ny)``
    (emission rate per unit area) or None -> ``c`` at time ``steps * dt``, ``(nx, ny)``.
    """
    c0 = jnp.asarray(c0)
    if c0.ndim != 2 or min(c0.shape) < 3:
        raise ValueError(f"c0 must be a 2-D grid of at least 3 x 3 points; got shape {c0.shape}")
    _validate.positive("dx", dx)
    _validate.positive("dt", dt)
    _validate.positive("D", D)
    steps = _validate.positive_int("steps", steps)
    wind = jnp.asarray(_validate.shape("wind", wind, (2,)), c0.dtype)
    source = jnp.zeros_like(c0) if source is None else jnp.asarray(source, c0.dtype)
    _validate.shape("source", source, c0.shape)
    if check_stability:
        limit = 1.0 / (4 * D / dx**2 + float(np.sum(np.abs(np.asarray(wind)))) / dx)
        if dt > limit:
            raise ValueError(
                f"dt must be at most 1/(4D/dx^2 + (|v_x|+|v_y|)/dx) = {limit:.6g} "
                f"for stability; got {dt!r}"
            )
    return _plume(c0, dx, dt, steps, D, wind, source)


@jax.jit
def _plume(c0, dx, dt, steps, D, wind, source):
    def rhs(c):
        p = jnp.pad(c, 1)
        lap = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * c) / dx**2
        vx, vy = wind
        dcx = jnp.where(vx > 0, c - p[:-2, 1:-1], p[2:, 1:-1] - c) / dx
        dcy = jnp.where(vy > 0, c - p[1:-1, :-2], p[1:-1, 2:] - c) / dx
        return D * lap - vx * dcx - vy * dcy + source

    return jax.lax.fori_loop(0, steps, lambda k, c: c + dt * rhs(c), c0)


# --------------------------------------------------------------------------- checks
def _check_boundary(boundary):
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}; got {boundary!r}")


def _check_grid(u0, dx, dt, steps, D, boundary):
    u0 = jnp.asarray(u0)
    if u0.ndim != 1 or u0.shape[0] < 3:
        raise ValueError(f"u0 must be a 1-D grid of at least 3 points; got shape {u0.shape}")
    if not jnp.issubdtype(u0.dtype, jnp.floating):
        u0 = u0.astype(float)
    _validate.positive("dx", dx)
    _validate.positive("dt", dt)
    _validate.positive("D", D)
    _validate.positive_int("steps", steps)
    _check_boundary(boundary)
    return u0
