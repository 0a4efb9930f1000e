"""Exercise checks for notebook 04 (the score and Tweedie's formula, McAllester's form)."""

import numpy as np
from scipy.special import softmax

from diffcourse.exercises._check import check_close, check_function

# Exercise 1: the three-point population {-1, 0.5, 2} with weights (.2, .5, .3), at z = 1, t = 0.5.
POINTS = np.array([-1.0, 0.5, 2.0])
WEIGHTS = np.array([0.2, 0.5, 0.3])
Z, T = 1.0, 0.5


def check_posterior_mean(answer):
    r"""E[y | z(t) = 1] at t = 0.5 for the three-point pop: :math:`\sum_i r_i y_i`,
    :math:`r = \mathrm{softmax}(\ln w_i - (z - y_i)^2 / 2t)`."""
    r = softmax(np.log(WEIGHTS) - (Z - POINTS) ** 2 / (2 * T))
    check_close(answer, r @ POINTS, what="E[y | z] by the softmax formula", rtol=1e-6)


def check_score(answer):
    """The score of the same pop at z = 1, t = 0.5, through the identity (E[y|z] - z)/t."""
    r = softmax(np.log(WEIGHTS) - (Z - POINTS) ** 2 / (2 * T))
    check_close(answer, (r @ POINTS - Z) / T, what="score = (E[y|z] - z)/t", rtol=1e-6)


def check_gaussian_score(score_fn, mu=0.3, s2=0.8):
    r"""``score_fn(z, t)`` for pop = N(mu, s2) in 1-D: :math:`-(z-\mu)/(s^2+t)`, at 12 (z, t) pairs."""
    z = np.linspace(-3.0, 3.0, 4)
    zz, tt = np.meshgrid(z, [0.01, 0.5, 5.0])
    got = np.array(
        [float(np.asarray(score_fn(a, b))) for a, b in zip(zz.ravel(), tt.ravel(), strict=True)]
    )
    expected = -(zz.ravel() - mu) / (s2 + tt.ravel())
    check_close(got, expected, what="score of N(mu, s2) diffused to time t", rtol=1e-6)


def check_heat_convolution(answer):
    r"""p_t(0) at t = 0.5 for pop = uniform on [-1, 1]: :math:`\tfrac12[\Phi(1/\sqrt t) - \Phi(-1/\sqrt t)]`."""
    from scipy.stats import norm

    s = np.sqrt(0.5)
    expected = 0.5 * (norm.cdf(1 / s) - norm.cdf(-1 / s))
    check_close(answer, expected, what="(pop * N(0, t))(0) for the uniform pop", rtol=1e-5)


def _uniform_log_pt(z, t):
    """ln p_t(z) for pop = uniform on [-1, 1]: ln(1/2 [Phi((1-z)/sqrt t) - Phi((-1-z)/sqrt t)])."""
    import jax.numpy as jnp
    from jax.scipy.stats import norm

    s = jnp.sqrt(t)
    return jnp.log(0.5 * (norm.cdf((1 - z) / s) - norm.cdf((-1 - z) / s)))


def _uniform_score_autodiff(z, t):
    import jax

    return float(jax.grad(_uniform_log_pt)(float(z), float(t)))


def check_uniform_score(score_fn):
    r"""Exercise 4: ``score_fn(z, t)`` is the score of pop = uniform on [-1, 1] diffused to time
    ``t``, computed through Tweedie's formula :math:`(E[y\mid z] - z)/t` with :math:`E[y\mid z]` the
    mean of :math:`\mathcal N(z, t)` truncated to [-1, 1]. Compared at 12 fresh (z, t) pairs with
    ``jax.grad`` of the closed form :math:`\ln p_t(z) = \ln\tfrac12[\Phi(\frac{1-z}{\sqrt t}) - \Phi(\frac{-1-z}{\sqrt t})]`
    (rtol 1e-6)."""
    cases = [(z, t) for t in (0.05, 0.5, 2.0) for z in (-1.7, -0.3, 0.4, 1.2)]
    check_function(
        lambda z, t: float(np.asarray(score_fn(z, t))),
        cases,
        _uniform_score_autodiff,
        what="score of the uniform pop through Tweedie's formula",
        rtol=1e-6,
        atol=1e-9,
    )
