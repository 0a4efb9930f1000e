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

from diffcourse import _boundary, _validate

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
    _validate.positive("t", t)
    _validate.positive("D", D)
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
    _validate.positive("dx", dx)
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
    n = _validate.integer("n", n, minimum=3)
    _validate.positive("dx", dx)
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


def solve_crank_nicolson(u0, dx, dt, steps, D, boundary, *, startup=0):
    r"""Crank–Nicolson scheme (trapezoid rule in time), unconditionally stable, second order
    in time and space:

    .. math:: \bigl(I - \tfrac{D\,dt}{2} A\bigr) u^{k+1} = \bigl(I + \tfrac{D\,dt}{2} A\bigr) u^k

    with :math:`A` = :func:`laplacian_matrix` (Crank & Nicolson 1947). One linear solve per step:
    the matrix is tridiagonal for Dirichlet/Neumann ends (cyclic for periodic); here it is a dense
    LU, factorised once, which is plenty for a few hundred points.

    A mode with :math:`s = \sin(\kappa\,dx/2)` is multiplied by
    :math:`g_{CN} = (1 - 2rs^2)/(1 + 2rs^2) \to -1` as :math:`r s^2 \to \infty`: A-stable but not
    L-stable, so at a large :math:`r = D\,dt/dx^2` the short modes of a rough start flip sign
    every step and barely decay. ``startup`` replaces each of the first ``startup`` steps by two
    backward-Euler half steps, which damp those modes (Rannacher 1984, *Numer. Math.* 43, 309):
    second order is kept and the oscillation is gone.
    Shapes: ``u0`` ``(n,)``, ``n >= 3`` -> ``u`` at time ``steps * dt``, ``(n,)``.
    """
    u0 = _check_grid(u0, dx, dt, steps, D, boundary, solve=True)
    startup = _validate.nonnegative_int("startup", startup)
    if not 0 <= startup <= steps:
        raise ValueError(f"startup must be between 0 and steps = {steps}; got {startup}")
    A = laplacian_matrix(u0.shape[0], dx, boundary).astype(u0.dtype)
    if startup:
        u0 = _backward_euler(u0, A, dt / 2, 2 * startup, D)
    if steps == startup:
        return u0
    return _crank_nicolson(u0, A, dt, steps - startup, D)


@jax.jit
def _crank_nicolson(u0, A, dt, steps, D):
    eye = jnp.eye(A.shape[0], dtype=A.dtype)
    lu = jax.scipy.linalg.lu_factor(eye - 0.5 * D * dt * A)
    rhs = eye + 0.5 * D * dt * A
    step = lambda k, u: jax.scipy.linalg.lu_solve(lu, rhs @ u)
    return jax.lax.fori_loop(0, steps, step, u0)


def solve_backward_euler(u0, dx, dt, steps, D, boundary):
    r"""Backward (implicit) Euler: :math:`(I - D\,dt\,A)\,u^{k+1} = u^k`. First order in time,
    second in space; a mode is multiplied by :math:`g_{BE} = 1/(1 + 4rs^2) \to 0` as
    :math:`r s^2 \to \infty`: L-stable, so rough modes are damped at any step.
    Shapes: ``u0`` ``(n,)``, ``n >= 3`` -> ``u`` at time ``steps * dt``, ``(n,)``.
    """
    u0 = _check_grid(u0, dx, dt, steps, D, boundary, solve=True)
    A = laplacian_matrix(u0.shape[0], dx, boundary).astype(u0.dtype)
    return _backward_euler(u0, A, dt, steps, D)


@jax.jit
def _backward_euler(u0, A, dt, steps, D):
    lu = jax.scipy.linalg.lu_factor(jnp.eye(A.shape[0], dtype=A.dtype) - D * dt * A)
    return jax.lax.fori_loop(0, steps, lambda k, u: jax.scipy.linalg.lu_solve(lu, u), u0)


def amplification_factor(scheme, r, s):
    r"""Von Neumann factor of one step on the mode :math:`e^{i\kappa x}`, :math:`s = \sin(\kappa\,dx/2)`,
    :math:`r = D\,dt/dx^2` (Strikwerda, *Finite Difference Schemes and PDEs*, §6.3):

    * ``"ftcs"``: :math:`1 - 4rs^2`;
    * ``"crank_nicolson"``: :math:`(1 - 2rs^2)/(1 + 2rs^2)`;
    * ``"backward_euler"``: :math:`1/(1 + 4rs^2)`;
    * ``"exact"``: :math:`e^{-4rs^2}`, the semi-discrete solution over one step.
    """
    q = 4 * jnp.asarray(r) * jnp.asarray(s) ** 2
    factors = {
        "ftcs": lambda: 1 - q,
        "crank_nicolson": lambda: (1 - q / 2) / (1 + q / 2),
        "backward_euler": lambda: 1 / (1 + q),
        "exact": lambda: jnp.exp(-q),
    }
    if scheme not in factors:
        raise ValueError(f"scheme must be one of {tuple(factors)}; got {scheme!r}")
    return factors[scheme]()


def semi_discrete_solution(u0, dx, t, D, boundary):
    r"""The exact solution of the space-discretised equation :math:`\dot u = D A u`:
    :math:`u(t) = e^{t D A} u_0` (matrix exponential of :func:`laplacian_matrix`). Every time
    stepper on the same grid converges to it as :math:`dt \to 0`, so the difference isolates the
    **time** error. Shapes: ``u0`` ``(n,)`` -> ``(n,)``."""
    u0 = _check_grid(u0, dx, t, 1, D, boundary, solve=True)
    A = laplacian_matrix(u0.shape[0], dx, boundary).astype(u0.dtype)
    return jax.scipy.linalg.expm(t * D * A) @ u0


def time_errors(solver, u0, dx, t, D, boundary, step_counts):
    r"""Max error of ``solver(u0, dx, t/m, m, D, boundary)`` against :func:`semi_discrete_solution`
    for every ``m`` in ``step_counts``, on one fixed grid: the time error alone. Its slope
    against :math:`dt = t/m` on a log-log plot is the temporal order (1 for FTCS and backward
    Euler, 2 for Crank–Nicolson). Returns ``(dts, errors)``, numpy arrays."""
    ref = semi_discrete_solution(u0, dx, t, D, boundary)
    dts, errs = [], []
    for m in step_counts:
        u = solver(u0, dx, t / m, int(m), D, boundary)
        dts.append(t / m)
        errs.append(float(jnp.max(jnp.abs(u - ref))))
    return np.array(dts), np.array(errs)


def fit_order(hs, errors) -> float:
    """Slope of the least-squares line through (ln h, ln error): the measured order.

    ``hs`` and ``errors``: positive, finite, of one length >= 2, ``hs`` not all equal."""
    return _fit_order(hs, errors, "hs")


def _fit_order(hs, errors, name: str) -> float:
    hs = _validate.array(name, hs, ndim=1, min_size=2)
    errors = _validate.array("errors", errors, shape=hs.shape)
    _validate.positive(name, hs)
    _validate.positive("errors", errors)
    if np.ptp(hs) == 0:
        raise _validate.fail(name, "at least two different step sizes", _validate._describe(hs))
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


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
    _validate.array("wind", wind, shape=(2,), finite=True)
    wind = jnp.asarray(wind, c0.dtype)
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


def upwind_diffusion(v, dx, dt):
    r"""Numerical diffusion of first-order upwind advection along one axis,
    :math:`\tfrac12 |v|\,dx\,(1 - |v|\,dt/dx)` (modified equation; LeVeque, *Finite Volume Methods
    for Hyperbolic Problems*, §8.6). For :func:`solve_plume` it is the *exact* extra growth of the
    second moment per unit time, so a puff's variance is :math:`\sigma_0^2 + 2(D + D_{num})t` to
    rounding."""
    v = _validate.real("v", v)
    dx = _validate.real("dx", dx, low=0.0, low_open=True)
    dt = _validate.real("dt", dt, low=0.0, low_open=True)
    return 0.5 * abs(v) * dx * (1 - abs(v) * dt / dx)


def moments(c, X, Y):
    r"""Mass :math:`\sum c\,dx^2`, centre of mass and variance per axis of a 2-D field ``c`` on the
    meshgrid ``X, Y`` (``indexing="ij"``, equal spacing). Returns ``(mass, (mx, my), (vx, vy))``."""
    c = _validate.array("c", c, ndim=2)
    if min(c.shape) < 2:
        raise _validate.fail("c", "a 2-D field of at least 2 x 2 points", f"shape {c.shape}")
    X = _validate.array("X", X, shape=c.shape)
    Y = _validate.array("Y", Y, shape=c.shape)
    if not (X[1, 0] > X[0, 0] and Y[0, 1] > Y[0, 0]):
        raise _validate.fail(
            "X", 'an increasing meshgrid with indexing="ij" (and Y)', "another grid"
        )
    c, X, Y = jnp.asarray(c), jnp.asarray(X), jnp.asarray(Y)
    w = (X[1, 0] - X[0, 0]) * (Y[0, 1] - Y[0, 0])
    m = jnp.sum(c) * w
    mx, my = jnp.sum(X * c) * w / m, jnp.sum(Y * c) * w / m
    vx, vy = jnp.sum((X - mx) ** 2 * c) * w / m, jnp.sum((Y - my) ** 2 * c) * w / m
    return m, (mx, my), (vx, vy)


def crosswind_sd(c, g, x_at):
    r"""Standard deviation in :math:`y` of the column ``c[i, :]`` nearest to :math:`x =` ``x_at``
    (grid ``g`` on both axes): the width of a plume blown along :math:`x`. For a steady plume of a
    point source in a wind :math:`v` along :math:`x`, slender-plume theory gives
    :math:`\sigma_y^2 = \sigma_s^2 + 2D\,d/|v|` at a distance :math:`d` downwind (Csanady,
    *Turbulent Diffusion in the Environment*, §3.2)."""
    g = _validate.array("g", g, ndim=1, min_size=2)
    _validate.monotone("g", g, increasing=True)
    c = _validate.array("c", c, shape=(g.size, g.size))
    x_at = _validate.real("x_at", x_at)
    col = c[int(np.argmin(np.abs(g - x_at)))]
    m = col.sum()
    if not m > 0:
        raise _validate.fail("c", f"a positive mass in the column nearest x = {x_at:g}", f"{m:g}")
    mean = (g * col).sum() / m
    return float(np.sqrt(((g - mean) ** 2 * col).sum() / m))


# --------------------------------------------------------------------------- demonstrations
def hat(x, centre=0.5, half_width=0.25):
    r"""The hat :math:`\max(0, 1 - |x - c|/w)`: continuous, with three kinks (rough modes)."""
    x = _boundary.data("x", x)
    centre = _validate.real("centre", centre)
    half_width = _validate.real("half_width", half_width, low=0.0, low_open=True)
    return jnp.maximum(0.0, 1.0 - jnp.abs(jnp.asarray(x) - centre) / half_width)


def ftcs_stability_demo(r_values=(0.48, 0.52), n=41, steps=400, D=1.0):
    """FTCS on the :func:`hat` on [0, 1] (Dirichlet) for ratios ``r = D dt / dx^2`` around 1/2.

    Returns ``x``, ``u0`` and a list of final profiles, one per ``r``.
    """
    r_values = _validate.array("r_values", r_values, ndim=1)
    _validate.positive("r_values", r_values)
    n, steps = _validate.integer("n", n, minimum=3), _validate.positive_int("steps", steps)
    D = _validate.real("D", D, low=0.0, low_open=True)
    x = jnp.linspace(0.0, 1.0, n)
    dx = float(x[1] - x[0])
    u0 = hat(x)
    out = []
    for r in r_values:
        dt = r * dx**2 / D
        out.append(solve_ftcs(u0, dx, dt, steps, D, "dirichlet", check_stability=False))
    return x, u0, out


def large_step_demo(r=50.0, steps=20, n=41, D=1.0, startup=2):
    r"""The :func:`hat` on [0, 1] advanced ``steps`` steps at ``r = D dt/dx^2`` by Crank–Nicolson,
    Crank–Nicolson with ``startup`` Rannacher steps and backward Euler, against the semi-discrete
    solution :math:`e^{tDA}u_0`. Returns ``x`` and a dict of profiles (keys ``"exact"``, ``"cn"``,
    ``"rannacher"``, ``"backward_euler"``)."""
    r = _validate.real("r", r, low=0.0, low_open=True)
    n, steps = _validate.integer("n", n, minimum=3), _validate.positive_int("steps", steps)
    D = _validate.real("D", D, low=0.0, low_open=True)
    startup = _validate.nonnegative_int("startup", startup)
    x = jnp.linspace(0.0, 1.0, n)
    dx = float(x[1] - x[0])
    u0, dt = hat(x), r * dx**2 / D
    return x, {
        "exact": semi_discrete_solution(u0, dx, steps * dt, D, "dirichlet"),
        "cn": solve_crank_nicolson(u0, dx, dt, steps, D, "dirichlet"),
        "rannacher": solve_crank_nicolson(u0, dx, dt, steps, D, "dirichlet", startup=startup),
        "backward_euler": solve_backward_euler(u0, dx, dt, steps, D, "dirichlet"),
    }


def plume_demo(n=81, half_width=4.0, D=0.05, wind=(0.9, 0.3), t=4.0, stack=(-2.5, -0.5)):
    """A chimney at ``stack`` (a Gaussian source of width 0.2 and unit emission rate) in a
    steady wind, solved by :func:`solve_plume` up to time ``t``. Returns ``c`` ``(n, n)``."""
    n = _validate.integer("n", n, minimum=3)
    half_width = _validate.real("half_width", half_width, low=0.0, low_open=True)
    D = _validate.real("D", D, low=0.0, low_open=True)
    t = _validate.real("t", t, low=0.0, low_open=True)
    wind = tuple(_validate.array("wind", wind, shape=(2,)))
    stack = tuple(_validate.array("stack", stack, shape=(2,)))
    g = jnp.linspace(-half_width, half_width, n)
    dx = float(g[1] - g[0])
    X, Y = jnp.meshgrid(g, g, indexing="ij")
    r2 = (X - stack[0]) ** 2 + (Y - stack[1]) ** 2
    source = jnp.exp(-r2 / (2 * 0.2**2)) / (2 * np.pi * 0.2**2)
    dt = 0.9 / (4 * D / dx**2 + (abs(wind[0]) + abs(wind[1])) / dx)
    steps = int(np.ceil(t / dt))
    return solve_plume(jnp.zeros((n, n)), dx, t / steps, steps, D, wind=wind, source=source)


def convergence_demo(ns=(41, 81, 161, 321), D=1.0, t_end=0.5, r=0.4):
    """Max errors of FTCS at fixed ``r = D dt/dx^2`` and of Crank-Nicolson with dt = dx/4 against
    the convolution solution (closed form), from the N(0, 0.25) bump on [-8, 8]. Both refine dx
    and dt together, so the slopes are *combined* orders: FTCS at fixed r has dt ∝ dx^2, its
    error O(dt + dx^2) = O(dx^2) whatever the time order; CN's O(dt^2 + dx^2) = O(dx^2).
    Returns two (len(ns), 3) arrays of rows (dx, dt, error)."""
    ns = _validate.ints("ns", ns, minimum=3)
    D = _validate.real("D", D, low=0.0, low_open=True)
    t_end = _validate.real("t_end", t_end, low=0.0, low_open=True)
    r = _validate.real("r", r, low=0.0, low_open=True)
    rows = {"ftcs": [], "cn": []}
    for n in ns:
        x = jnp.linspace(-8.0, 8.0, n)
        dx = float(x[1] - x[0])
        u0 = kernel_gaussian(x, 0.25)
        for name, dt in (("ftcs", r * dx**2 / D), ("cn", dx / 4)):
            solve = solve_ftcs if name == "ftcs" else solve_crank_nicolson
            steps = round(t_end / dt)
            u = solve(u0, dx, dt, steps, D, "dirichlet")
            err = jnp.max(jnp.abs(u - kernel_gaussian(x, 0.25 + 2 * D * steps * dt)))
            rows[name].append((dx, dt, float(err)))
    return np.array(rows["ftcs"]), np.array(rows["cn"])


def kernel_gaussian(x, var):
    r"""The :math:`\mathcal N(0, \mathrm{var})` density at the points ``x`` (any shape): the heat
    kernel at time ``var/(2D)``, and the exact solution from a Gaussian start."""
    x = jnp.asarray(_boundary.data("x", x))
    _validate.positive("var", var)
    return jnp.exp(-(x**2) / (2 * var)) / jnp.sqrt(2 * jnp.pi * var)


def block_start(x, half_width=1.0, edge=1.0):
    r"""The block :math:`u_0 = 1` on :math:`|x| < w`, 0 outside, with the value ``edge`` at grid
    nodes on the jumps :math:`x = \pm w`. With ``edge = 1/2`` (the mean of the two one-sided
    limits) the trapezoid rule in :func:`convolve` stays second order in ``dx``; with ``edge = 1``
    it is first order (each jump node carries an extra :math:`dx/2` of mass)."""
    x = jnp.asarray(_boundary.data("x", x))
    half_width = _validate.real("half_width", half_width, low=0.0, low_open=True)
    edge = _validate.real("edge", edge)
    inside = jnp.where(jnp.abs(x) < half_width, 1.0, 0.0)
    on_edge = jnp.isclose(jnp.abs(x), half_width, rtol=0, atol=1e-12)
    return jnp.where(on_edge, edge, inside)


# --------------------------------------------------------------------------- checks
def _check_boundary(boundary):
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}; got {boundary!r}")


def _check_grid(u0, dx, dt, steps, D, boundary, solve=False):
    """The checks of a 1-D solver; ``solve``: a linear solver follows (LU has no float16, so a
    float16 or bfloat16 ``u0`` is converted to float32)."""
    u0 = jnp.asarray(u0)
    if u0.ndim != 1 or u0.shape[0] < 3:
        raise ValueError(f"u0 must be a 1-D grid of at least 3 points; got shape {u0.shape}")
    if not jnp.issubdtype(u0.dtype, jnp.floating):
        u0 = u0.astype(float)
    if solve and u0.dtype in (jnp.float16, jnp.bfloat16):
        u0 = u0.astype(jnp.float32)
    _validate.positive("dx", dx)
    _validate.positive("dt", dt)
    _validate.positive("D", D)
    _validate.positive_int("steps", steps)
    _check_boundary(boundary)
    return u0
