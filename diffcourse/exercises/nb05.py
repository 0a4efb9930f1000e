"""Exercise checks for notebook 05 (reversing diffusion)."""

import numpy as np

from diffcourse.exercises._check import Mistake, check_function, exercise

_C_MISTAKES = (
    Mistake(
        "(1 + lam)/2",
        lambda lam: (1 + lam) / 2,
        "the noise enters through its variance lam^2: c = (1 + lam^2)/2.",
    ),
    Mistake(
        "lam^2 / 2",
        lambda lam: lam**2 / 2,
        "at lam = 0 the probability-flow ODE still has drift (1/2) score: c = (1 + lam^2)/2.",
    ),
)


@exercise(
    "05",
    1,
    tried="calls your c at 6 noise levels lam from 0 to 3",
    mistakes=_C_MISTAKES,
)
def check_drift_coefficient(c_fn):
    r"""Exercise 1: ``c_fn(lam)``: the score's coefficient in the reverse drift, :math:`(1+\lambda^2)/2`."""
    cases = [(lam,) for lam in (0.0, 0.3, 0.5, 1.0, 2.0, 3.0)]
    check_function(
        c_fn,
        cases,
        lambda lam: (1 + lam**2) / 2,
        what="the drift coefficient c(lam)",
        mistakes=_C_MISTAKES,
    )


class _GaussianScore:
    """The score of pop = N(m, s2) diffused to time t: -(z - m)/(s2 + t)."""

    def __init__(self, m, s2):
        self.m, self.s2 = m, s2
        self.__name__ = f"score of N({m:g}, {s2:g})"

    def __call__(self, z, t):
        return -(z - self.m) / (self.s2 + t)


def _reverse_step(score, z, t, dt, lam, eps):
    return z + (1 + lam**2) / 2 * score(z, t) * dt + lam * np.sqrt(dt) * eps


_STEP_MISTAKES = (
    Mistake(
        "drift coefficient 1/2",
        lambda score, z, t, dt, lam, eps: z + 0.5 * score(z, t) * dt + lam * np.sqrt(dt) * eps,
        "the drift's coefficient is c(lam) = (1 + lam^2)/2, not 1/2 for every lam.",
    ),
    Mistake(
        "the drift's sign",
        lambda score, z, t, dt, lam, eps: (
            z - (1 + lam**2) / 2 * score(z, t) * dt + lam * np.sqrt(dt) * eps
        ),
        "going back in time, the step moves along the score, towards higher density: + c dt score.",
    ),
    Mistake(
        "noise lam^2",
        lambda score, z, t, dt, lam, eps: (
            z + (1 + lam**2) / 2 * score(z, t) * dt + lam**2 * np.sqrt(dt) * eps
        ),
        "the noise's standard deviation is lam sqrt(dt), its variance lam^2 dt.",
    ),
)


@exercise(
    "05",
    2,
    tried="calls your reverse_step with 4 scores, times, steps and noise levels you have not seen",
    package=("diffcourse.samplers.euler",),
    mistakes=_STEP_MISTAKES,
)
def check_reverse_step(reverse_step):
    r"""Exercise 2: ``reverse_step(score, z, t, dt, lam, eps)``, one Euler–Maruyama step of the
    :math:`\lambda` family from time ``t`` back to ``t - dt``:
    :math:`z + \tfrac{1+\lambda^2}{2}\,\mathrm{score}(z, t)\,dt + \lambda\sqrt{dt}\,\epsilon`."""
    cases = [
        (_GaussianScore(0.0, 2.0), 1.3, 0.7, 0.05, 0.5, 0.8),
        (_GaussianScore(-1.0, 0.3), -0.4, 2.0, 0.2, 1.0, -1.2),
        (_GaussianScore(2.0, 1.0), 3.5, 0.1, 0.01, 0.0, 0.4),
        (_GaussianScore(0.5, 0.5), 0.0, 5.0, 0.5, 2.0, 0.3),
    ]
    check_function(
        reverse_step,
        cases,
        _reverse_step,
        what="one reverse step of the lam family",
        mistakes=_STEP_MISTAKES,
    )


def _heun(D, z, t, s):
    """Karras et al. 2022, Alg. 1, in sigma = sqrt(t), numpy."""
    d = (z - D(z, t)) / np.sqrt(t)
    z_euler = z + (np.sqrt(s) - np.sqrt(t)) * d
    if s == 0:
        return z_euler
    d2 = (z_euler - D(z_euler, s)) / np.sqrt(s)
    return z + (np.sqrt(s) - np.sqrt(t)) * 0.5 * (d + d2)


def _euler_in_sigma(D, z, t, s):  # no corrector
    return z + (np.sqrt(s) - np.sqrt(t)) * (z - D(z, t)) / np.sqrt(t)


def _heun_in_t(D, z, t, s):  # Heun on dz/dt = (z - D)/(2t) in t, not sigma
    f = lambda z, t: (z - D(z, t)) / (2 * t) if t > 0 else (z - D(z, t)) * 0.0
    pred = z + (s - t) * f(z, t)
    return z + (s - t) * 0.5 * (f(z, t) + f(pred, s))


_HEUN_MISTAKES = (
    Mistake(
        "Euler only",
        _euler_in_sigma,
        "that is the Euler predictor alone; Heun averages its slope with the slope at the "
        "predicted point.",
    ),
    Mistake(
        "Heun in t",
        _heun_in_t,
        "you stepped in t; the step is taken in sigma = sqrt(t), with slope (z - D)/sigma.",
    ),
)


@exercise(
    "05",
    3,
    tried="calls your heun_step with a mixture's exact denoiser at 4 (z, t, s) you have not seen",
    package=("diffcourse.samplers.heun",),
    mistakes=_HEUN_MISTAKES,
)
def check_heun_step(heun_step):
    r"""Exercise 3: ``heun_step(D, z, t, s)``: one Heun step in :math:`\sigma=\sqrt t` of the
    probability-flow ODE from VE time ``t`` to ``s < t`` (Karras et al. 2022, Alg. 1), for one
    sample ``z`` (d,): :math:`d(z,t) = (z - D(z,t))/\sqrt t`, Euler predictor
    :math:`\tilde z = z + (\sqrt s-\sqrt t)\,d(z,t)`, corrector
    :math:`z + (\sqrt s-\sqrt t)\,\tfrac12(d(z,t) + d(\tilde z, s))`, and the Euler step when
    ``s = 0``. Called on a denoiser and inputs the notebook has not used."""
    from diffcourse.populations import mcallester_g1

    pop = mcallester_g1()

    def D(z, t):
        return np.asarray(pop.posterior_mean(z, t), dtype=float)

    D.__name__ = "the exact denoiser of a two-component mixture"
    cases = [
        (D, np.array([0.9]), 2.0, 1.5),
        (D, np.array([-3.1]), 0.4, 0.05),
        (D, np.array([2.7]), 10.0, 3.0),
        (D, np.array([0.2]), 0.3, 0.0),
    ]
    check_function(heun_step, cases, _heun, what="one Heun step in sigma", mistakes=_HEUN_MISTAKES)
