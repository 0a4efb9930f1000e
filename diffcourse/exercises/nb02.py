"""Exercise checks for notebook 02 (random walks, D = 1/2 from here on unless stated).

The problem's numbers, sample sizes, seeds and tolerances are fixed here, not taken from the
student.
"""

import numpy as np
from scipy import special, stats

from diffcourse.exercises._check import Mistake, check_estimates, check_function, exercise

_D_MISTAKES = (
    Mistake(
        "dx^2 / dt",
        lambda dx, dt: dx**2 / dt,
        "twice too large: one step has variance dx^2 = 2 D dt, so D = dx^2/(2 dt).",
    ),
    Mistake(
        "dx / (2 dt)",
        lambda dx, dt: dx / (2 * dt),
        "D has units of length^2/time: square the step.",
    ),
)


@exercise(
    "02",
    1,
    tried="calls your diffusion_constant on 3 jump sizes and times you have not seen",
    package=("diffcourse.random_walk.diffusion_constant",),
    mistakes=_D_MISTAKES,
)
def check_diffusion_constant(diffusion_constant):
    """Exercise 1: ``diffusion_constant(dx, dt)`` of a walk jumping ``dx`` every ``dt``:
    :math:`dx^2/(2dt)`."""
    cases = [(0.3e-9, 2e-12), (1.0, 0.5), (0.02, 4e-3)]
    check_function(
        diffusion_constant,
        cases,
        lambda dx, dt: dx**2 / (2 * dt),
        what="the diffusion constant of a lattice walk",
        mistakes=_D_MISTAKES,
    )


def _tail(n, c, *, strict=True):
    """P(|S_n| > c sqrt(n)) (or >= when not strict) for S_n = 2B - n, B ~ Binomial(n, 1/2)."""
    B = np.arange(n + 1)
    edge = np.abs(2 * B - n) - c * np.sqrt(n)
    outside = edge > 1e-9 if strict else edge > -1e-9
    return float(stats.binom.pmf(B[outside], n, 0.5).sum())


_TAIL_MISTAKES = (
    Mistake(
        ">= instead of >",
        lambda n, c: _tail(n, c, strict=False),
        "you counted the sites exactly at c sqrt(n) as outside; 'farther than' excludes them, "
        "and on a lattice they carry real mass.",
    ),
    Mistake(
        "the normal tail",
        lambda n, c: 2 * stats.norm.sf(c),
        "that is the normal tail 2(1 - Phi(c)); the walk lives on a lattice, and its exact law "
        "is binomial.",
    ),
    Mistake(
        "one side only",
        lambda n, c: _tail(n, c) / 2,
        "you counted one side; |S_n| > c sqrt(n) has two tails.",
    ),
)


@exercise(
    "02",
    2,
    tried="calls your lattice_tail at 4 (n, c) you have not seen, two of them with lattice "
    "sites exactly on the boundary",
    package=("diffcourse.random_walk.lattice_inside_probability",),
    mistakes=_TAIL_MISTAKES,
)
def check_lattice_tail(lattice_tail):
    r"""Exercise 2: ``lattice_tail(n, c)`` is the exact probability that a simple walk of ``n``
    steps ends farther than ``c`` standard deviations from the start,
    :math:`P(|S_n| > c\sqrt n)` with :math:`S_n = 2B - n`, :math:`B\sim\mathrm{Binomial}(n, 1/2)`.
    Checked at (n, c) where the boundary is a lattice site (so ``>`` and ``>=`` differ) and where
    it is not, against ``scipy.stats.binom``."""
    cases = [(16, 1.5), (36, 2.0), (25, 1.2), (100, 0.6)]
    check_function(
        lattice_tail,
        cases,
        _tail,
        what="the lattice walk's two-sided tail",
        mistakes=_TAIL_MISTAKES,
    )


_MEDIAN_MISTAKES = (
    Mistake(
        "2Dt for 4Dt",
        lambda a, D: a**2 / (2 * D * special.erfcinv(0.5) ** 2),
        "twice too long: P(tau_a <= t) = erfc(a / sqrt(4 D t)), with 4 D t under the root.",
    ),
    Mistake(
        "a not squared",
        lambda a, D: a / (4 * D * special.erfcinv(0.5) ** 2),
        "solve erfc(a/sqrt(4Dt)) = 1/2 for t: t grows like a^2.",
    ),
)


@exercise(
    "02",
    3,
    tried="calls your median_passage_time at 3 levels and diffusion constants you have not seen",
    mistakes=_MEDIAN_MISTAKES,
)
def check_median_passage(median_passage_time):
    r"""Exercise 3: ``median_passage_time(a, D)``, the median first-passage time through ``a > 0``
    of :math:`\sqrt{2D}W`: :math:`\mathrm{erfc}(a/\sqrt{4Dt}) = 1/2`, i.e.
    :math:`t = a^2/(4D\,\mathrm{erfcinv}(1/2)^2)` (closed form or a root finder; relative 1e-6)."""
    cases = [(2.0, 0.5), (0.3, 1.7), (5.0, 0.05)]
    check_function(
        median_passage_time,
        cases,
        lambda a, D: a**2 / (4 * D * special.erfcinv(0.5) ** 2),
        what="the median first-passage time",
        rtol=1e-6,
        mistakes=_MEDIAN_MISTAKES,
    )


def _raw_step(paths, ts):  # D from the squared increments: dx^2/(2 dt), the unbiased walk's D
    dt = ts[1] - ts[0]
    return paths[:, -1].mean() / ts[-1], np.mean(np.diff(paths, axis=1) ** 2) / (2 * dt)


def _drift_in_msd(paths, ts):  # the MSD still holds v^2 T^2
    return paths[:, -1].mean() / ts[-1], np.mean(paths[:, -1] ** 2) / (2 * ts[-1])


_WALK_MISTAKES = (
    Mistake(
        "D from the raw step",
        _raw_step,
        "the squared step dx^2 is the same whichever way the walker steps; D = 2p(1-p) dx^2/dt "
        "comes from the variance of the steps, not their square.",
    ),
    Mistake(
        "drift left in the MSD",
        _drift_in_msd,
        "E x_T^2 = 2 D T + v^2 T^2: subtract the drift (use the variance of x_T).",
    ),
)

N_WALKERS = 4000


@exercise(
    "02",
    4,
    tried="calls your estimate on 2 sets of 4000 biased walks it draws, with p = 0.6 and 0.3",
    mistakes=_WALK_MISTAKES,
)
def check_drift_and_D(estimate):
    r"""Exercise 4: ``estimate(paths, ts) -> (v, D)`` estimates the drift and the diffusion constant
    of 1-D walks ``paths`` (N, m) observed at the times ``ts`` (m,). Called on two sets of biased
    walks it has not seen (4000 walkers each, drawn here), against :math:`v = (2p-1)dx/dt` and
    :math:`D = 2p(1-p)dx^2/dt`, each within 4 standard errors of the end-point estimator."""
    import jax

    from diffcourse.random_walk import biased_walk

    keys = jax.random.split(jax.random.key(424242), 2)
    cases, truths, ses, labels = [], [], [], []
    for key, (p, dx, dt, n) in zip(
        keys, ((0.6, 0.1, 0.01, 200), (0.3, 0.2, 0.05, 100)), strict=True
    ):
        paths = np.asarray(biased_walk(key, N_WALKERS, n, dx, dt, p))
        ts = dt * np.arange(n + 1)
        v, D, T = (2 * p - 1) * dx / dt, 2 * p * (1 - p) * dx**2 / dt, ts[-1]
        cases.append((paths, ts))
        truths.append((v, D))
        ses.append((np.sqrt(2 * D * T / N_WALKERS) / T, D * np.sqrt(2 / N_WALKERS)))
        labels.append(f"p = {p}, dx = {dx}, dt = {dt}, {n} steps")
    check_estimates(
        estimate,
        cases,
        truths,
        ses,
        what="drift and diffusion constant of biased walks",
        outputs=("v", "D"),
        labels=labels,
        mistakes=_WALK_MISTAKES,
    )
