"""Exercise checks for notebook 00 (the JAX primer)."""

import numpy as np

from diffcourse.exercises._check import check_close


def check_derivative(answer):
    """d/dx (x^3 + 2x) at x = 2, i.e. 3 x^2 + 2 = 14 (exact up to rounding)."""
    check_close(answer, 14.0, what="d/dx (x^3 + 2x) at x = 2", rtol=1e-6)


def check_row_norms(answer, xs):
    """Squared Euclidean norm of every row of ``xs`` (shape (n, d) -> (n,))."""
    expected = np.sum(np.asarray(xs, dtype=float) ** 2, axis=1)
    check_close(answer, expected, what="squared norm of every row", rtol=1e-5)


def check_second_moment(answer, n):
    """Monte Carlo estimate of E[eps^2] = 1 for eps ~ N(0, 1) from ``n`` samples: within 4
    standard errors, sqrt(2 / n)."""
    tol = 4 * np.sqrt(2 / n)
    check_close(answer, 1.0, what=f"E[eps^2] from {n} samples", atol=tol)
