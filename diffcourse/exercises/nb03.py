"""Exercise checks for notebook 03: SDEs and the Fokker–Planck equation.

The problem's numbers, sample sizes, seeds and tolerances are fixed here, not taken from the
student.
"""

import math

import numpy as np

from diffcourse.exercises._check import Mistake, check_estimate, check_function, exercise

_OU_MISTAKES = (
    Mistake(
        "sigma^2 / theta",
        lambda theta, sigma: sigma**2 / theta,
        "twice too large: the stationary Fokker-Planck balance gives sigma^2/(2 theta).",
    ),
    Mistake(
        "sigma / (2 theta)",
        lambda theta, sigma: sigma / (2 * theta),
        "the variance grows with the noise's variance sigma^2, not sigma.",
    ),
)


@exercise(
    "03",
    1,
    tried="calls your ou_stationary_variance at 3 (theta, sigma) you have not seen",
    package=("*.stationary",),
    mistakes=_OU_MISTAKES,
)
def check_ou_stationary_variance(ou_stationary_variance):
    r"""Exercise 1: ``ou_stationary_variance(theta, sigma)`` of
    :math:`dx = \theta(\mu - x)dt + \sigma dW`: :math:`\sigma^2/(2\theta)`."""
    cases = [(2.0, 0.5), (0.1, 3.0), (7.0, 1.2)]
    check_function(
        ou_stationary_variance,
        cases,
        lambda theta, sigma: sigma**2 / (2 * theta),
        what="the OU stationary variance",
        mistakes=_OU_MISTAKES,
    )


def _em_reference(x, dw, dt, theta, mu, sigma):
    return x + theta * (mu - x) * dt + sigma * dw


def _noise_first(x, dw, dt, theta, mu, sigma):  # the drift evaluated after the noise
    y = x + sigma * dw
    return y + theta * (mu - y) * dt


def _exact_ou(x, dw, dt, theta, mu, sigma):  # the exact transition, not EM
    decay = np.exp(-theta * dt)
    return mu + (x - mu) * decay + sigma * np.sqrt((1 - decay**2) / (2 * theta * dt)) * dw


_EM_MISTAKES = (
    Mistake(
        "drift after the noise",
        _noise_first,
        "you evaluated the drift at x + sigma dw; Euler-Maruyama evaluates it at the step's "
        "start, x.",
    ),
    Mistake(
        "the exact OU step",
        _exact_ou,
        "that is OU's exact transition, not one Euler-Maruyama step x + theta(mu - x)dt + sigma dw.",
    ),
    Mistake(
        "dt under a root",
        lambda x, dw, dt, theta, mu, sigma: x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * dw,
        "dw is already the Brownian increment, with variance dt: do not multiply by sqrt(dt).",
    ),
)


@exercise(
    "03",
    2,
    tried="calls your em_step on 4 sets of inputs you have not seen, then runs 40 000 chains of "
    "it for 60 steps of 0.2",
    mistakes=_EM_MISTAKES,
)
def check_em_step(step):
    r"""Exercise 2: ``step(x, dw, dt, theta, mu, sigma)`` is one Euler–Maruyama step of
    :math:`dx = \theta(\mu - x)dt + \sigma dW` with the Brownian increment ``dw`` given (arrays in,
    array out). Called on four fresh sets of inputs; then the check runs 40 000 chains of your
    step for 60 steps of :math:`\Delta t = 0.2` (:math:`\theta = \sigma = 1`) and compares their
    variance with the EM stationary variance :math:`\sigma^2/(2\theta - \theta^2\Delta t)` within
    4 standard errors."""
    rng = np.random.default_rng(31)
    cases = []
    for theta, mu, sigma, dt in (
        (1.0, 0.0, 1.0, 0.1),
        (2.5, -1.0, 0.3, 0.01),
        (0.4, 2.0, 1.7, 0.5),
    ):
        x = rng.normal(size=7)
        cases.append((x, np.sqrt(dt) * rng.normal(size=7), dt, theta, mu, sigma))
    cases.append((np.array([0.0]), np.array([0.0]), 0.3, 1.0, 1.0, 1.0))  # drift only
    check_function(
        step, cases, _em_reference, what="one Euler-Maruyama step of OU", mistakes=_EM_MISTAKES
    )
    dt, n = 0.2, 40_000
    x = np.zeros(n)
    for _ in range(60):
        x = np.asarray(step(x, np.sqrt(dt) * rng.normal(size=n), dt, 1.0, 0.0, 1.0), dtype=float)
    em_var = 1.0 / (2 - dt)
    check_estimate(
        x.var(),
        em_var,
        em_var * np.sqrt(2 / n),
        what="the stationary variance of your EM chain",
    )
    print(f"measured {x.var():.4f}; EM theory {em_var:.4f}; the SDE's own sigma^2/(2 theta) = 0.5")


_CFL_MISTAKES = (
    Mistake(
        "h^2 / (2 g^2)",
        lambda h, g: h**2 / (2 * g**2),
        "half the limit: the rate out of a cell is g^2/h^2 (half to each neighbour), so "
        "dt <= h^2/g^2.",
    ),
    Mistake(
        "h / g",
        lambda h, g: h / g,
        "the explicit diffusion step scales with h^2, not h.",
    ),
)


@exercise(
    "03",
    3,
    tried="calls your fp_stable_dt at 3 grid spacings and noise levels you have not seen",
    package=("diffcourse.fokker_planck.stable_dt",),
    mistakes=_CFL_MISTAKES,
)
def check_fp_stable_dt(fp_stable_dt):
    r"""Exercise 3: ``fp_stable_dt(h, g)``, the largest stable explicit step of the course's
    Fokker–Planck scheme for :math:`dx = g\,dW` on a grid of spacing ``h``: the rate out of an
    interior cell is :math:`g^2/h^2`, so :math:`\Delta t = h^2/g^2`."""
    cases = [(0.04, 1.0), (0.1, 0.3), (0.002, 2.5)]
    check_function(
        fp_stable_dt,
        cases,
        lambda h, g: h**2 / g**2,
        what="the explicit Fokker-Planck step limit",
        mistakes=_CFL_MISTAKES,
    )


def _call(S0, K, r, sigma, T):
    from diffcourse.sde import black_scholes_call

    return float(black_scholes_call(S0, K, r, sigma, T))


_PUT_MISTAKES = (
    Mistake(
        "strike not discounted",
        lambda S0, K, r, sigma, T: _call(S0, K, r, sigma, T) - S0 + K,
        "the strike is paid at T: discount it, K exp(-rT).",
    ),
    Mistake(
        "parity the wrong way",
        lambda S0, K, r, sigma, T: _call(S0, K, r, sigma, T) + S0 - K * math.exp(-r * T),
        "from C - P = S0 - K exp(-rT), P = C - S0 + K exp(-rT).",
    ),
)


@exercise(
    "03",
    4,
    tried="calls your put_price on 3 options you have not seen",
    mistakes=_PUT_MISTAKES,
)
def check_put_price(put_price):
    r"""Exercise 4: ``put_price(S0, K, r, sigma, T)``, the European put by put–call parity:
    :math:`P = C - S_0 + K e^{-rT}` with :math:`C` from ``sde.black_scholes_call``."""
    cases = [
        (50.0, 55.0, 0.03, 0.3, 0.5),
        (120.0, 100.0, 0.01, 0.15, 2.0),
        (10.0, 10.0, 0.1, 0.5, 3.0),
    ]
    check_function(
        put_price,
        cases,
        lambda S0, K, r, sigma, T: _call(S0, K, r, sigma, T) - S0 + K * math.exp(-r * T),
        what="the put price by parity",
        rtol=1e-7,
        mistakes=_PUT_MISTAKES,
    )
