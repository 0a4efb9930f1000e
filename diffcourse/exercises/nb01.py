"""Exercise checks for notebook 01 (the heat equation, general D).

The problem's numbers are fixed here, not taken from the student: a check compares the answer
with the closed form for exactly the exercise in the notebook.
"""

import numpy as np

from diffcourse.exercises._check import ExerciseError, check_close, check_function


def check_variance(answer):
    """Exercise 1: variance of the 1-D heat kernel at t = 0.3, D = 2: 2 D t = 1.2 (quadrature,
    0.1%)."""
    check_close(answer, 2 * 2.0 * 0.3, what="variance of the kernel at t=0.3, D=2", rtol=1e-3)


def check_ftcs_limit(answer):
    """Exercise 2: largest stable FTCS step for dx = 0.01, D = 0.5: dt = dx^2 / (2 D) = 1e-4."""
    check_close(answer, 0.01**2 / (2 * 0.5), what="FTCS stability limit dx^2/(2D)", rtol=1e-9)


def check_spreading_time(answer):
    """Exercise 3: seconds for the kernel's sd sqrt(2 D t) to reach 1 cm for sugar in water,
    D = 5e-10 m^2/s: t = width^2 / (2D) = 1e5 s."""
    check_close(answer, 0.01**2 / (2 * 5e-10), what="time (s) to spread to 1 cm", rtol=1e-6)


def check_rod_decay_rate(answer):
    """Exercise 4: decay rate of the slowest mode sin(pi x / L) of a rod of length L = 2 with
    D = 0.3 and ends at 0: D pi^2 / L^2 (measured from a solver: 1%)."""
    check_close(answer, 0.3 * np.pi**2 / 2.0**2, what="slowest decay rate D pi^2/L^2", rtol=1e-2)


def _backward_euler_reference(u, dx, dt, D):
    """One step of ``heat.solve_backward_euler`` with Dirichlet ends, in numpy (no compile per
    grid size; tests/test_exercises_00_04.py checks the two agree)."""
    n = u.shape[0]
    A = np.diag(-2.0 * np.ones(n)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    A[0, :] = A[-1, :] = 0.0
    return np.linalg.solve(np.eye(n) - D * dt / dx**2 * A, u)


def check_backward_euler_step(step):
    r"""Exercise 5: ``step(u, dx, dt, D)`` is one backward-Euler step
    :math:`(I - D\,dt\,A)\,u^{new} = u` with the end values held (Dirichlet). Called on five fresh
    grids, ratios r = D dt/dx^2 from 0.3 to 200, against ``heat.solve_backward_euler``
    (rtol 1e-8); then 20 steps at r = 50 from the hat must stay non-negative (no CN wiggle)."""
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
        atol=1e-12,
    )
    x = np.linspace(0.0, 1.0, 41)
    u = np.maximum(0.0, 1.0 - 4.0 * np.abs(x - 0.5))  # heat.hat
    for _ in range(20):
        u = np.asarray(step(u, x[1] - x[0], 50 * (x[1] - x[0]) ** 2, 1.0), dtype=float)
    if u.min() < -1e-12:
        raise ExerciseError(
            f"backward Euler at r = 50: expected a non-negative profile, got min {u.min():.3g}"
        )
    print(f"20 steps at r = 50 from the hat: no negative values, max {u.max():.3e}")
