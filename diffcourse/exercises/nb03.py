"""Exercise checks for notebook 03: SDEs and the Fokker–Planck equation."""

import math

from diffcourse.exercises._check import check_close


def check_ou_stationary_variance(answer, *, theta: float, sigma: float):
    r"""Stationary variance of :math:`dx = \theta(\mu - x)dt + \sigma dW`: :math:`\sigma^2/(2\theta)`."""
    check_close(
        answer, sigma**2 / (2 * theta), what="OU stationary variance sigma^2/(2 theta)", rtol=1e-6
    )


def check_ddpm_theta(answer, *, beta: float):
    r"""The OU rate :math:`\theta` whose exact transition over time 1 (with :math:`\sigma^2 = 2\theta`)
    is the DDPM step: :math:`e^{-2\theta} = 1 - \beta`, i.e. :math:`\theta = -\tfrac12\ln(1-\beta)`."""
    check_close(
        answer, -0.5 * math.log1p(-beta), what="theta with exp(-2 theta) = 1 - beta", rtol=1e-6
    )


def check_heat_cfl(answer, *, h: float):
    r"""Largest stable explicit step for the Fokker–Planck equation of Brownian motion
    (:math:`\partial_t p = \tfrac12 p''`) on the course's scheme: :math:`\Delta t = h^2`."""
    check_close(answer, h**2, what="CFL step h^2 for D = 1/2", rtol=1e-6)


def check_put_price(answer, *, S0: float, K: float, r: float, sigma: float, T: float):
    r"""European put by put–call parity: :math:`P = C - S_0 + K e^{-rT}`."""
    from diffcourse.sde import black_scholes_call

    call = float(black_scholes_call(S0, K, r, sigma, T))
    check_close(answer, call - S0 + K * math.exp(-r * T), what="put price", rtol=1e-6)
