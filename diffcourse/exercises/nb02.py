"""Exercise checks for notebook 02 (random walks, D = 1/2 from here on unless stated).

The problem's numbers, sample sizes, seeds and tolerances are fixed here, not taken from the
student.
"""

import numpy as np
from scipy import special

from diffcourse.exercises._check import ExerciseError, check_close

N_WALKERS, N_STEPS = 4000, 400  # the walkers `paths` of the notebook


def check_diffusion_constant(answer):
    """Exercise 1: D in m^2/s of a molecule jumping dx = 0.2 nm every dt = 10 ps:
    dx^2 / (2 dt) = 2e-9 m^2/s (water's self-diffusion is 2.3e-9)."""
    check_close(answer, (0.2e-9) ** 2 / (2 * 10e-12), what="D = dx^2/(2 dt) in m^2/s", rtol=1e-9)


def check_tail_fraction(answer):
    """Exercise 2: fraction of the notebook's 4000 walkers (400 steps) that end farther than two
    standard deviations from the start. Exact lattice value P(|S_400| > 40) = 0.04023 (binomial,
    not the normal 0.0455), within 4 binomial standard errors for 4000 walkers."""
    from diffcourse.random_walk import lattice_inside_probability

    p = 1.0 - lattice_inside_probability(N_STEPS, 2.0)
    tol = 4 * np.sqrt(p * (1 - p) / N_WALKERS)
    check_close(answer, p, what="fraction beyond two standard deviations (exact 0.0402)", atol=tol)


def check_median_passage(answer):
    """Exercise 3: median first-passage time through a = 1 for D = 1/2: erfc(a / sqrt(4 D t)) = 1/2,
    i.e. t = a^2 / (4 D erfcinv(1/2)^2) = 2.198 (closed form or a root finder, rtol 1e-6; a
    Monte Carlo median is not accurate enough)."""
    expected = 1.0 / (4 * 0.5 * special.erfcinv(0.5) ** 2)
    check_close(answer, expected, what="median first-passage time through a = 1", rtol=1e-6)


def check_drift_and_D(estimate):
    r"""Exercise 4: ``estimate(paths, ts) -> (v, D)`` estimates the drift and the diffusion constant
    of 1-D walks ``paths`` (N, m) observed at the times ``ts`` (m,). Called on two sets of biased
    walks it has not seen (4000 walkers each, drawn here), against :math:`v = (2p-1)dx/dt` and
    :math:`D = 2p(1-p)dx^2/dt`, each within 4 standard errors of the end-point estimator."""
    import jax

    from diffcourse.random_walk import biased_walk

    keys = jax.random.split(jax.random.key(424242), 2)
    for key, (p, dx, dt, n) in zip(
        keys, ((0.6, 0.1, 0.01, 200), (0.3, 0.2, 0.05, 100)), strict=True
    ):
        paths = np.asarray(biased_walk(key, N_WALKERS, n, dx, dt, p))
        ts = dt * np.arange(n + 1)
        try:
            v_hat, D_hat = (float(a) for a in estimate(paths, ts))
        except Exception as err:
            raise ExerciseError(f"calling estimate(paths, ts) raised {err!r}") from err
        v, D, T = (2 * p - 1) * dx / dt, 2 * p * (1 - p) * dx**2 / dt, ts[-1]
        se_v, se_D = np.sqrt(2 * D * T / N_WALKERS) / T, D * np.sqrt(2 / N_WALKERS)
        where = f"walks with p = {p}, dx = {dx}, dt = {dt}"
        check_close(v_hat, v, what=f"drift v = (2p-1) dx/dt for {where}", atol=4 * se_v)
        check_close(D_hat, D, what=f"D = 2p(1-p) dx^2/dt for {where}", atol=4 * se_D)
