"""Exercise checks for notebook 02 (random walks, D = 1/2 from here on unless stated)."""

import numpy as np
from scipy import special, stats

from diffcourse.exercises._check import check_close


def check_diffusion_constant(answer, dx, dt):
    """D of a lattice walk with steps ``dx`` every ``dt``: dx^2 / (2 dt)."""
    check_close(answer, dx**2 / (2 * dt), what="D = dx^2 / (2 dt)", rtol=1e-9)


def check_tail_fraction(answer, n_walkers):
    """Fraction of walkers farther than two standard deviations from the start: 2 (1 - Phi(2))
    = 0.0455, within 4 binomial standard errors for ``n_walkers`` walkers."""
    p = 2 * stats.norm.sf(2.0)
    tol = 4 * np.sqrt(p * (1 - p) / n_walkers)
    check_close(answer, p, what="fraction beyond two standard deviations", atol=tol)


def check_median_passage(answer, a, D=0.5):
    """Median first-passage time through ``a``: erfc(a / sqrt(4 D t)) = 1/2, i.e.
    t = a^2 / (4 D erfcinv(1/2)^2) (closed form, 1e-6; from samples use rtol of a few %)."""
    expected = a**2 / (4 * D * special.erfcinv(0.5) ** 2)
    check_close(answer, expected, what=f"median first-passage time through {a}", rtol=1e-6)


def check_msd_slope_2d(answer, D, n_walkers):
    """Slope of the 2-D mean-square displacement, 4 D, within 4 relative standard errors
    sqrt(1 / n_walkers) (the 2-D estimate averages two coordinates)."""
    tol = 4 * np.sqrt(1 / n_walkers)
    check_close(answer, 4 * D, what="slope of the 2-D MSD", rtol=tol)
