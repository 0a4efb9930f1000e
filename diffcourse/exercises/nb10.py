"""Exercise checks for notebook 10 (flow matching and rectified flow).

Each check calls the student's function on fresh inputs it draws itself, prints ``Correct: ...``
or raises ExerciseError saying on which input, what was expected and within what tolerance."""

import numpy as np

from diffcourse.exercises._check import check_close, check_function


def _cases(n_cases=4, d=3, seed=10):
    rng = np.random.default_rng(seed)
    cases = []
    for tau in rng.uniform(0.05, 0.95, n_cases):
        cases.append((rng.standard_normal(d), rng.standard_normal(d), float(tau)))
    return cases


def check_velocity_to_score(fn):
    r"""Exercise 1: ``fn(v, x, tau)`` returns the course's score :math:`\nabla_z\ln p_t(z)` at
    :math:`z = x/(1-\tau)`, :math:`t = (\tau/(1-\tau))^2`, of a velocity :math:`v`:
    :math:`-(1-\tau)(x + (1-\tau)v)/\tau` (through :math:`\hat y = x-\tau v` and McAllester's
    identity :math:`(\hat y - z)/t`), on 4 fresh inputs to 1e-9."""

    def reference(v, x, tau):  # written from the identity, not from diffcourse.flow
        yhat, z, t = x - tau * v, x / (1 - tau), (tau / (1 - tau)) ** 2
        return (yhat - z) / t

    check_function(fn, _cases(), reference, what="the score of a velocity", rtol=1e-9, atol=1e-12)


def check_fm_weighting(fn):
    r"""Exercise 2: ``fn(t)`` is flow matching's weighting on the denoiser error at VE time ``t``,
    :math:`w = 1/\tau^2` with :math:`\tau = \sqrt t/(1+\sqrt t)`, on 5 fresh times to 1e-10."""
    rng = np.random.default_rng(11)
    cases = [(float(t),) for t in 10.0 ** rng.uniform(-4, 4, 5)]
    reference = lambda t: ((1 + np.sqrt(t)) / np.sqrt(t)) ** 2
    check_function(fn, cases, reference, what="the flow-matching weighting", rtol=1e-10)


def check_euler_tau_is_ddim(fn):
    r"""Exercise 3: ``fn(z, yhat, t, s)`` maps :math:`z` to :math:`x = z/(1+\sqrt t)`, takes one
    Euler step in :math:`\tau` of :math:`dx/d\tau = (x-\hat y)/\tau` to :math:`\tau(s)`, and returns
    the new :math:`z`. Compared with DDIM's step :math:`\hat y + \sqrt{s/t}(z-\hat y)` on 4 fresh
    inputs to 1e-9: the two are the same step."""
    rng = np.random.default_rng(12)
    cases = []
    for t, s in ((4.0, 1.0), (100.0, 0.5), (0.3, 0.01), (2.0, 0.0)):
        cases.append((rng.standard_normal(3), rng.standard_normal(3), t, s))
    reference = lambda z, yhat, t, s: yhat + np.sqrt(s / t) * (z - yhat)
    check_function(fn, cases, reference, what="Euler in tau", rtol=1e-9, atol=1e-12)


def check_logit_normal(mean, std, *, m=0.0, s=1.0):
    r"""Exercise 4: Esser et al.'s logit-normal :math:`\mathrm{logit}\,\tau\sim N(m, s^2)` is
    ``losses.LogNormal(mean, std)`` in :math:`t` with ``mean`` = 2m, ``std`` = 2s
    (:math:`\mathrm{logit}\,\tau = \ln\sigma = \tfrac12\ln t`)."""
    check_close([mean, std], [2 * m, 2 * s], what="the log-normal law of t", rtol=1e-12)
