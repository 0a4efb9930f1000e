"""Exercise checks for notebook 01 (the heat equation, general D)."""

import numpy as np

from diffcourse.exercises._check import check_close


def check_variance(answer, t, D):
    """Variance of the 1-D heat kernel at time ``t``: 2 D t (answer by quadrature, 0.1%)."""
    check_close(answer, 2 * D * t, what=f"variance of the kernel at t={t}, D={D}", rtol=1e-3)


def check_ftcs_limit(answer, dx, D):
    """Largest stable FTCS step: dt = dx^2 / (2 D)."""
    check_close(answer, dx**2 / (2 * D), what="FTCS stability limit on dt", rtol=1e-9)


def check_spreading_time(answer, width, D):
    """Time for the kernel's standard deviation sqrt(2 D t) to reach ``width``: width^2 / (2D)."""
    check_close(answer, width**2 / (2 * D), what=f"time to spread to {width}", rtol=1e-6)


def check_rod_decay_rate(answer, D, length):
    """Decay rate of the slowest mode sin(pi x / length) of a rod with ends held at 0:
    D pi^2 / length^2 (answer may be measured from a solver: 1%)."""
    check_close(answer, D * np.pi**2 / length**2, what="slowest decay rate", rtol=1e-2)
