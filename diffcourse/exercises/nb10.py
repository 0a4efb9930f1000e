"""Exercise checks for notebook 10 (flow matching and rectified flow).

Each check calls the student's function on fresh inputs it draws itself, prints ``Correct: ...``
or raises ExerciseError saying on which input and the likely mistake. The formulas are written
here from the identities, not taken from ``diffcourse.flow``."""

import numpy as np

from diffcourse.exercises._check import Mistake, check_function, exercise


def _cases(n_cases=4, d=3, seed=10):
    rng = np.random.default_rng(seed)
    cases = []
    for tau in rng.uniform(0.05, 0.95, n_cases):
        cases.append((rng.standard_normal(d), rng.standard_normal(d), float(tau)))
    return cases


def _score(v, x, tau):
    yhat, z, t = x - tau * v, x / (1 - tau), (tau / (1 - tau)) ** 2
    return (yhat - z) / t


_SCORE_MISTAKES = (
    Mistake(
        "the score of x_tau",
        lambda v, x, tau: (x - tau * v) * (1 - tau) / tau**2 - x / tau**2,
        "that is the score in x = (1 - tau) z; the course's score is in z, at t = (tau/(1-tau))^2.",
    ),
    Mistake(
        "z = x",
        lambda v, x, tau: (x - tau * v - x) / (tau / (1 - tau)) ** 2,
        "z is x/(1 - tau), not x: the identity needs the VE point.",
    ),
    Mistake(
        "the sign",
        lambda v, x, tau: -_score(v, x, tau),
        "McAllester's identity is (E[y | z] - z)/t.",
    ),
)


@exercise(
    "10",
    1,
    tried="calls your velocity_to_score on 4 (v, x, tau) you have not seen",
    package=("diffcourse.flow.velocity_to_score",),
    mistakes=_SCORE_MISTAKES,
)
def check_velocity_to_score(fn):
    r"""Exercise 1: ``fn(v, x, tau)`` returns the course's score :math:`\nabla_z\ln p_t(z)` at
    :math:`z = x/(1-\tau)`, :math:`t = (\tau/(1-\tau))^2`, of a velocity :math:`v`:
    :math:`-(1-\tau)(x + (1-\tau)v)/\tau` (through :math:`\hat y = x-\tau v` and McAllester's
    identity :math:`(\hat y - z)/t`), on 4 fresh inputs."""
    check_function(fn, _cases(), _score, what="the score of a velocity", mistakes=_SCORE_MISTAKES)


_FM_MISTAKES = (
    Mistake(
        "tau = t/(1 + t)",
        lambda t: ((1 + t) / t) ** 2,
        "tau = sigma/(1 + sigma) with sigma = sqrt(t), not t/(1 + t).",
    ),
    Mistake(
        "1/tau",
        lambda t: (1 + np.sqrt(t)) / np.sqrt(t),
        "the denoiser error enters the velocity error squared: the weight is 1/tau^2.",
    ),
)


@exercise(
    "10",
    2,
    tried="calls your fm_weighting at 5 times from 1e-4 to 1e4 you have not seen",
    package=("diffcourse.flow.fm_weighting",),
    mistakes=_FM_MISTAKES,
)
def check_fm_weighting(fn):
    r"""Exercise 2: ``fn(t)`` is flow matching's weighting on the denoiser error at VE time ``t``,
    :math:`w = 1/\tau^2` with :math:`\tau = \sqrt t/(1+\sqrt t)`, on 5 fresh times."""
    rng = np.random.default_rng(11)
    cases = [(float(t),) for t in 10.0 ** rng.uniform(-4, 4, 5)]
    check_function(
        fn,
        cases,
        lambda t: ((1 + np.sqrt(t)) / np.sqrt(t)) ** 2,
        what="the flow-matching weighting",
        mistakes=_FM_MISTAKES,
    )


def _euler(v, x, taus, *, at_next=False):
    x = np.asarray(x, dtype=float)
    for tau, tau_next in zip(taus[:-1], taus[1:], strict=True):
        x = x + (tau_next - tau) * np.asarray(v(x, tau_next if at_next else tau), dtype=float)
    return x


class _Velocity:
    """A velocity field the notebook never uses, v(x, tau) = (x - A x_star(tau))/tau-ish."""

    def __init__(self, kind):
        self.kind = kind
        self.__name__ = f"velocity field {kind}"

    def __call__(self, x, tau):
        if self.kind == 0:  # a point mass at 0.5: (x - yhat)/tau with yhat = 0.5
            return (x - 0.5) / tau
        if self.kind == 1:  # linear in x and tau
            return 0.3 * x - 2.0 * tau + 1.0
        return np.sin(x) + tau**2  # nonlinear


_EULER_MISTAKES = (
    Mistake(
        "velocity at the next tau",
        lambda v, x, taus: _euler(v, x, taus, at_next=True),
        "Euler's method evaluates the velocity where the step starts, at tau_k, not tau_{k+1}.",
    ),
    Mistake(
        "the step's sign",
        lambda v, x, taus: _euler(lambda x, tau: -np.asarray(v(x, tau)), x, taus),
        "the step is x + (tau_{k+1} - tau_k) v, and tau decreases from noise to data.",
    ),
)


@exercise(
    "10",
    3,
    tried="calls your fm_euler with 3 velocity fields and tau grids you have not seen",
    package=("diffcourse.flow.ode_tau", "diffcourse.flow.sample"),
    mistakes=_EULER_MISTAKES,
)
def check_fm_euler(fm_euler):
    r"""Exercise 3: ``fm_euler(v, x, taus)`` integrates :math:`dx/d\tau = v(x, \tau)` with Euler's
    method along the grid ``taus`` (decreasing, from noise towards data) and returns the last
    ``x``: :math:`x_{k+1} = x_k + (\tau_{k+1}-\tau_k)\,v(x_k, \tau_k)`. Three velocity fields (one
    the point mass's :math:`(x - \hat y)/\tau`, whose steps are DDIM's), on fresh grids."""
    rng = np.random.default_rng(12)
    cases = [
        (_Velocity(0), rng.standard_normal(3), np.linspace(0.9, 0.05, 6)),
        (_Velocity(1), rng.standard_normal(4), np.array([0.99, 0.7, 0.4, 0.2, 0.0])),
        (_Velocity(2), rng.standard_normal(2), np.linspace(0.95, 0.0, 9)),
    ]
    check_function(
        fm_euler,
        cases,
        _euler,
        what="Euler's method in tau",
        mistakes=_EULER_MISTAKES,
    )


_LOGIT_MISTAKES = (
    Mistake(
        "the same numbers",
        lambda m, s: (m, s),
        "ln t = 2 ln sigma = 2 logit tau: both the mean and the standard deviation double.",
    ),
    Mistake(
        "only the mean doubled",
        lambda m, s: (2 * m, s),
        "scaling a normal variable by 2 doubles its standard deviation too.",
    ),
)


@exercise(
    "10",
    4,
    tried="calls your lognormal_in_t at 3 (m, s) you have not seen",
    mistakes=_LOGIT_MISTAKES,
)
def check_logit_normal(lognormal_in_t):
    r"""Exercise 4: ``lognormal_in_t(m, s)`` returns ``(mean, std)`` of ``losses.LogNormal`` in
    :math:`t` equal to Esser et al.'s logit-normal :math:`\mathrm{logit}\,\tau\sim N(m, s^2)`:
    :math:`(2m, 2s)`, since :math:`\mathrm{logit}\,\tau = \ln\sigma = \tfrac12\ln t`."""
    cases = [(0.5, 0.8), (-1.2, 1.5), (0.0, 0.3)]
    check_function(
        lognormal_in_t,
        cases,
        lambda m, s: (2 * m, 2 * s),
        what="the log-normal law of t",
        mistakes=_LOGIT_MISTAKES,
    )
