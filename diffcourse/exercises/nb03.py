"""Exercise checks for notebook 03: SDEs and the Fokker–Planck equation.

The problem's numbers, sample sizes, seeds and tolerances are fixed here, not taken from the
student.
"""

import math

import numpy as np

from diffcourse.exercises._check import check_close, check_function


def check_ou_stationary_variance(answer):
    r"""Exercise 1: stationary variance of :math:`dx = 3(1 - x)dt + 0.6\,dW`: :math:`\sigma^2/(2\theta) = 0.06`."""
    check_close(answer, 0.6**2 / (2 * 3.0), what="OU stationary variance sigma^2/(2 theta)")


def _em_reference(x, dw, dt, theta, mu, sigma):
    return x + theta * (mu - x) * dt + sigma * dw


def check_em_step(step):
    r"""Exercise 2: ``step(x, dw, dt, theta, mu, sigma)`` is one Euler–Maruyama step of
    :math:`dx = \theta(\mu - x)dt + \sigma dW` with the Brownian increment ``dw`` given (arrays in,
    array out). Called on four fresh sets of inputs (rtol 1e-10); then the check runs 40 000
    chains of your step for 60 steps of :math:`\Delta t = 0.2` (:math:`\theta = \sigma = 1`) and
    compares their variance with the EM stationary variance :math:`\sigma^2/(2\theta - \theta^2\Delta t)`
    within 4 standard errors."""
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
    check_function(step, cases, _em_reference, what="one Euler-Maruyama step of OU", rtol=1e-10)
    dt, n = 0.2, 40_000
    x = np.zeros(n)
    for _ in range(60):
        x = np.asarray(step(x, np.sqrt(dt) * rng.normal(size=n), dt, 1.0, 0.0, 1.0), dtype=float)
    em_var = 1.0 / (2 - dt)
    check_close(
        x.var(),
        em_var,
        what="stationary variance of your EM chain, sigma^2/(2 theta - theta^2 dt)",
        atol=4 * em_var * np.sqrt(2 / n),
    )
    print(f"measured {x.var():.4f}; EM theory {em_var:.4f}; the SDE's own sigma^2/(2 theta) = 0.5")


def check_ddpm_theta(answer, *, beta: float = 0.02):
    r"""The OU rate :math:`\theta` whose exact transition over time 1 (with :math:`\sigma^2 = 2\theta`)
    is the DDPM step: :math:`e^{-2\theta} = 1 - \beta`, i.e. :math:`\theta = -\tfrac12\ln(1-\beta)`."""
    check_close(
        answer, -0.5 * math.log1p(-beta), what="theta with exp(-2 theta) = 1 - beta", rtol=1e-6
    )


def check_heat_cfl(answer):
    r"""Exercise 3: largest stable explicit step for the Fokker–Planck equation of Brownian motion
    (:math:`\partial_t p = \tfrac12 p''`) on the course's scheme with :math:`h = 0.05`: the rate out
    of a cell is :math:`g^2/h^2`, so :math:`\Delta t = h^2 = 0.0025`."""
    check_close(answer, 0.05**2, what="CFL step h^2/g^2 for Brownian motion, h = 0.05", rtol=1e-6)


def check_put_price(answer):
    r"""Exercise 4: European put, :math:`S_0 = 100, K = 105, r = 0.05, \sigma = 0.2, T = 1`, by
    put–call parity: :math:`P = C - S_0 + K e^{-rT}`."""
    from diffcourse.sde import black_scholes_call

    call = float(black_scholes_call(100.0, 105.0, 0.05, 0.2, 1.0))
    check_close(answer, call - 100.0 + 105.0 * math.exp(-0.05), what="put price", rtol=1e-6)
