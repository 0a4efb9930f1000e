"""Exercise checks for notebook 01 (the heat equation, general D).

Each check calls the student's function on problems the notebook has not shown and compares
with a closed form written here.
"""

import numpy as np

from diffcourse.exercises._check import ExerciseError, Mistake, check_function, exercise

_VARIANCE_MISTAKES = (
    Mistake(
        "D t",
        lambda t, D: D * t,
        "your variance is D t: with the heat equation u_t = D u_xx the kernel's variance is 2 D t.",
    ),
    Mistake(
        "the standard deviation",
        lambda t, D: np.sqrt(2 * D * t),
        "you returned the standard deviation; the variance is the integral of x^2 G.",
    ),
)


@exercise(
    "01",
    1,
    tried="calls your kernel_variance at 3 (t, D) pairs you have not seen",
    mistakes=_VARIANCE_MISTAKES,
)
def check_kernel_variance(kernel_variance):
    r"""Exercise 1: ``kernel_variance(t, D)`` is :math:`\int x^2 G(x, t)\,dx` of the 1-D heat kernel,
    by quadrature: :math:`2Dt`. Three fresh (t, D), relative 1e-3 (a quadrature's accuracy)."""
    cases = [(0.05, 1.0), (1.5, 0.2), (0.7, 3.0)]
    check_function(
        kernel_variance,
        cases,
        lambda t, D: 2 * D * t,
        what="the variance of the heat kernel",
        rtol=1e-3,
        rtol32=1e-3,
        mistakes=_VARIANCE_MISTAKES,
    )


_FTCS_MISTAKES = (
    Mistake(
        "dx^2 / D",
        lambda dx, D: dx**2 / D,
        "twice too large: FTCS is stable for r = D dt/dx^2 <= 1/2.",
    ),
    Mistake(
        "dx / (2D)",
        lambda dx, D: dx / (2 * D),
        "the step scales with dx^2, not dx (r = D dt/dx^2).",
    ),
)


@exercise(
    "01",
    2,
    tried="calls your ftcs_limit on 3 grids and diffusion constants you have not seen",
    mistakes=_FTCS_MISTAKES,
)
def check_ftcs_limit(ftcs_limit):
    """Exercise 2: ``ftcs_limit(dx, D)``, the largest stable FTCS step, :math:`dx^2/(2D)`."""
    cases = [(0.02, 0.3), (0.5, 4.0), (1e-3, 1e-2)]
    check_function(
        ftcs_limit,
        cases,
        lambda dx, D: dx**2 / (2 * D),
        what="the FTCS stability limit",
        mistakes=_FTCS_MISTAKES,
    )


_SPREAD_MISTAKES = (
    Mistake(
        "width^2 / D",
        lambda width, D: width**2 / D,
        "twice too long: the kernel's variance is 2 D t, so t = width^2 / (2 D).",
    ),
    Mistake(
        "in days",
        lambda width, D: width**2 / (2 * D) / 86400,
        "that is in days; the task asks for seconds.",
    ),
    Mistake(
        "width / (2D)",
        lambda width, D: width / (2 * D),
        "the standard deviation is sqrt(2 D t): square the width.",
    ),
)


@exercise(
    "01",
    3,
    tried="calls your spreading_time on 3 widths and diffusion constants you have not seen",
    mistakes=_SPREAD_MISTAKES,
)
def check_spreading_time(spreading_time):
    r"""Exercise 3: ``spreading_time(width, D)``, the seconds until the kernel's standard deviation
    :math:`\sqrt{2Dt}` reaches ``width``: :math:`t = \mathrm{width}^2/(2D)`."""
    cases = [(0.02, 1e-9), (1e-3, 2e-5), (5.0, 0.1)]
    check_function(
        spreading_time,
        cases,
        lambda width, D: width**2 / (2 * D),
        what="the time to spread to a width",
        mistakes=_SPREAD_MISTAKES,
    )


def _cn_rate(D, L, n, dt):
    r"""The decay rate of :math:`\sin(\pi x/L)` under Crank–Nicolson with Dirichlet ends on ``n``
    points: the sine is an eigenvector of the discrete Laplacian with eigenvalue
    :math:`-\mu`, :math:`\mu = (4/dx^2)\sin^2(\pi dx/2L)`, and each step multiplies it by
    :math:`g = (1 - D\,dt\,\mu/2)/(1 + D\,dt\,\mu/2)`; the rate is :math:`-\ln g/dt`."""
    dx = L / (n - 1)
    mu = 4 / dx**2 * np.sin(np.pi * dx / (2 * L)) ** 2
    g = (1 - D * dt * mu / 2) / (1 + D * dt * mu / 2)
    return -np.log(g) / dt


_DECAY_MISTAKES = (
    Mistake(
        "the PDE's rate",
        lambda D, L, n, dt: D * np.pi**2 / L**2,
        "that is the PDE's rate D pi^2/L^2. On these coarse grids and long steps the solver's "
        "rate differs from it: run heat.solve_crank_nicolson and measure.",
    ),
    Mistake(
        "per step, not per unit time",
        lambda D, L, n, dt: _cn_rate(D, L, n, dt) * dt,
        "that is the decay of ln(amplitude) per step; divide by the time step.",
    ),
    Mistake(
        "L instead of L^2",
        lambda D, L, n, dt: D * np.pi**2 / L,
        "the rate of sin(pi x/L) is D (pi/L)^2: L squared.",
    ),
)


@exercise(
    "01",
    4,
    tried="calls your cn_decay_rate on 3 rods, grids and time steps you have not seen, "
    "where the solver's rate and the PDE's differ by 0.5 to 2%",
    mistakes=_DECAY_MISTAKES,
)
def check_cn_decay_rate(cn_decay_rate):
    r"""Exercise 4: ``cn_decay_rate(D, L, n, dt)`` measures with ``heat.solve_crank_nicolson`` the
    decay rate of the mode :math:`\sin(\pi x/L)` in a rod of length ``L`` with both ends at 0,
    on ``n`` grid points and time step ``dt``. Compared with the scheme's own rate
    :math:`-\ln g/dt` (see ``_cn_rate``), which differs from :math:`D\pi^2/L^2` on these
    coarse grids and long steps: the closed form typed in fails."""
    cases = [(0.3, 2.0, 6, 0.5), (1.0, 1.0, 11, 0.02), (0.05, 3.0, 9, 5.0)]
    check_function(
        cn_decay_rate,
        cases,
        _cn_rate,
        what="the decay rate measured with Crank-Nicolson",
        rtol=1e-7,
        rtol32=2e-4,
        mistakes=_DECAY_MISTAKES,
    )


def _backward_euler_reference(u, dx, dt, D):
    """One step of ``heat.solve_backward_euler`` with Dirichlet ends, in numpy (no compile per
    grid size; tests/test_exercises_00_04.py checks the two agree)."""
    n = u.shape[0]
    A = np.diag(-2.0 * np.ones(n)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    A[0, :] = A[-1, :] = 0.0
    return np.linalg.solve(np.eye(n) - D * dt / dx**2 * A, u)


def _explicit(u, dx, dt, D):
    return u + D * dt * (np.r_[0, u[:-2] - 2 * u[1:-1] + u[2:], 0]) / dx**2


_BE_MISTAKES = (
    Mistake(
        "forward Euler",
        _explicit,
        "that is the explicit (FTCS) step u + D dt A u; backward Euler solves (I - D dt A) u_new = u.",
    ),
    Mistake(
        "the sign of A",
        lambda u, dx, dt, D: _backward_euler_reference(u, dx, -dt, D),
        "you solved (I + D dt A) u_new = u; the matrix is I - D dt A.",
    ),
    Mistake(
        "A / dx",
        lambda u, dx, dt, D: _backward_euler_reference(u, dx, dt * dx, D),
        "the second difference is divided by dx^2, not dx.",
    ),
)


@exercise(
    "01",
    5,
    tried="calls your be_step on 5 grids with r = D dt/dx^2 from 0.3 to 200, then takes 20 "
    "steps at r = 50",
    mistakes=_BE_MISTAKES,
)
def check_backward_euler_step(step):
    r"""Exercise 5: ``step(u, dx, dt, D)`` is one backward-Euler step
    :math:`(I - D\,dt\,A)\,u^{new} = u` with the end values held (Dirichlet). Called on five fresh
    grids, ratios r = D dt/dx^2 from 0.3 to 200, against the same step written here in numpy;
    then 20 steps at r = 50 from the hat must stay non-negative (no CN wiggle)."""
    rng = np.random.default_rng(20240101)
    cases = []
    for n, r, D in (
        (7, 0.3, 1.0),
        (12, 2.0, 0.4),
        (25, 50.0, 1.0),
        (40, 200.0, 2.5),
        (9, 5.0, 0.1),
    ):
        u = rng.uniform(-1.0, 1.0, n)
        dx = 1.0 / (n - 1)
        cases.append((u, dx, r * dx**2 / D, D))
    check_function(
        step,
        cases,
        _backward_euler_reference,
        what="one backward-Euler step with fixed ends",
        rtol=1e-8,
        rtol32=1e-3,
        mistakes=_BE_MISTAKES,
    )
    x = np.linspace(0.0, 1.0, 41)
    u = np.maximum(0.0, 1.0 - 4.0 * np.abs(x - 0.5))  # heat.hat
    for _ in range(20):
        u = np.asarray(step(u, x[1] - x[0], 50 * (x[1] - x[0]) ** 2, 1.0), dtype=float)
    if u.min() < -1e-6:
        raise ExerciseError(
            "backward Euler at r = 50: 20 steps from the hat gave negative values; backward "
            "Euler damps every mode, so the profile stays non-negative (a Crank-Nicolson wiggle?)"
        )
    print(f"20 steps at r = 50 from the hat: no negative values, max {u.max():.3e}")
