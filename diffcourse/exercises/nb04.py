"""Exercise checks for notebook 04 (the score and Tweedie's formula, McAllester's form).

Each check calls the student's function on populations and points the notebook has not shown,
and compares with a formula written here in numpy, never with ``populations``.
"""

import functools

import numpy as np
from scipy.special import softmax

from diffcourse.exercises._check import Mistake, check_function, exercise


def _responsibilities(points, weights, z, t, *, variance=None):
    """r_i = softmax(ln w_i - (z - y_i)^2 / (2 t)): the posterior over the points given z."""
    v = t if variance is None else variance
    return softmax(np.log(weights) - (z - points) ** 2 / (2 * v))


def _posterior_mean(points, weights, z, t):
    return _responsibilities(points, weights, z, t) @ points


def _populations():
    rng = np.random.default_rng([4, 1])
    cases = []
    for n, z, t in ((2, 0.3, 0.2), (4, -1.1, 1.5), (6, 2.4, 0.05)):
        points = np.sort(rng.normal(scale=2.0, size=n))
        weights = rng.dirichlet(np.ones(n))
        cases.append((points, weights, z, t))
    return cases


_MEAN_MISTAKES = (
    Mistake(
        "weights left out",
        lambda points, weights, z, t: _posterior_mean(points, np.ones_like(weights), z, t),
        "the weights are missing: the posterior is proportional to w_i times the Gaussian "
        "likelihood, so ln w_i enters the softmax.",
    ),
    Mistake(
        "variance 2t",
        lambda points, weights, z, t: (
            _responsibilities(points, weights, z, t, variance=2 * t) @ points
        ),
        "z(t) = y + sqrt(t) eps has variance t around y (D = 1/2): divide by 2t, not 4t.",
    ),
    Mistake(
        "not normalised",
        lambda points, weights, z, t: np.sum(
            weights * np.exp(-((z - points) ** 2) / (2 * t)) * points
        ),
        "the responsibilities must sum to 1: divide by their sum (that is what the softmax does).",
    ),
)


@exercise(
    "04",
    1,
    tried="calls your posterior_mean on 3 discrete populations (2, 4 and 6 points) you have not seen",
    package=("*.posterior_mean",),
    mistakes=_MEAN_MISTAKES,
)
def check_posterior_mean(posterior_mean):
    r"""Exercise 1: ``posterior_mean(points, weights, z, t)`` is :math:`E[y\mid z(t) = z]` for the
    population with mass ``weights[i]`` at ``points[i]``: :math:`\sum_i r_i y_i`,
    :math:`r = \mathrm{softmax}(\ln w_i - (z - y_i)^2/2t)`."""
    check_function(
        posterior_mean,
        _populations(),
        _posterior_mean,
        what="E[y | z] of a discrete population",
        mistakes=_MEAN_MISTAKES,
    )


_SCORE_MISTAKES = (
    Mistake(
        "the sign",
        lambda points, weights, z, t: (z - _posterior_mean(points, weights, z, t)) / t,
        "the score points from z towards E[y | z]: (E[y | z] - z)/t.",
    ),
    Mistake(
        "divided by sqrt(t)",
        lambda points, weights, z, t: (_posterior_mean(points, weights, z, t) - z) / np.sqrt(t),
        "divide by the variance t, not the standard deviation.",
    ),
)


@exercise(
    "04",
    2,
    tried="calls your score on 3 discrete populations you have not seen",
    package=("*.score",),
    mistakes=_SCORE_MISTAKES,
)
def check_score(score):
    r"""Exercise 2: ``score(points, weights, z, t)``, :math:`\nabla_z\ln p_t(z)` of the same kind of
    population, through McAllester's identity :math:`(E[y\mid z] - z)/t`."""
    check_function(
        score,
        _populations(),
        lambda points, weights, z, t: (_posterior_mean(points, weights, z, t) - z) / t,
        what="the score of a discrete population",
        mistakes=_SCORE_MISTAKES,
    )


_GAUSS_MISTAKES = (
    Mistake(
        "variance 0.8 + 2t",
        lambda z, t: -(z - 0.3) / (0.8 + 2 * t),
        "p_t = N(0.3, 0.8 + t): the forward process adds variance t (D = 1/2), not 2t.",
    ),
    Mistake(
        "the sign",
        lambda z, t: (z - 0.3) / (0.8 + t),
        "the score points back towards the mean: -(z - mu)/(s^2 + t).",
    ),
    Mistake(
        "no t",
        lambda z, t: -(z - 0.3) / 0.8,
        "that is the score of pop itself; p_t has variance 0.8 + t.",
    ),
)


@exercise(
    "04",
    3,
    tried="calls your gaussian_score at 12 (z, t) pairs from t = 0.01 to 5 you have not seen",
    package=("*.score",),
    mistakes=_GAUSS_MISTAKES,
)
def check_gaussian_score(gaussian_score):
    r"""Exercise 3: ``gaussian_score(z, t)`` for pop = N(0.3, 0.8) in 1-D:
    :math:`-(z-0.3)/(0.8+t)`, at 12 (z, t) pairs."""
    cases = [(z, t) for t in (0.01, 0.5, 5.0) for z in (-2.7, -0.4, 0.9, 3.1)]
    check_function(
        gaussian_score,
        cases,
        lambda z, t: -(z - 0.3) / (0.8 + t),
        what="the score of N(0.3, 0.8) diffused to time t",
        mistakes=_GAUSS_MISTAKES,
    )


def _uniform_log_pt(z, t):
    """ln p_t(z) for pop = uniform on [-1, 1]: ln(1/2 [Phi((1-z)/sqrt t) - Phi((-1-z)/sqrt t)])."""
    import jax.numpy as jnp
    from jax.scipy.stats import norm

    s = jnp.sqrt(t)
    return jnp.log(0.5 * (norm.cdf((1 - z) / s) - norm.cdf((-1 - z) / s)))


@functools.cache
def _uniform_score_autodiff(z, t):
    """The score by jax.grad of the closed form, in float64 (once per process and point)."""
    import jax

    with jax.enable_x64(True):
        return float(jax.grad(_uniform_log_pt)(float(z), float(t)))


_UNIFORM_MISTAKES = (
    Mistake(
        "the sign",
        lambda z, t: -_uniform_score_autodiff(z, t),
        "the score is (E[y | z] - z)/t, pointing from z towards the posterior mean.",
    ),
    Mistake(
        "divided by sqrt(t)",
        lambda z, t: _uniform_score_autodiff(z, t) * np.sqrt(t),
        "divide E[y | z] - z by the variance t, not by sqrt(t).",
    ),
)


@exercise(
    "04",
    4,
    tried="calls your uniform_score at 12 (z, t) pairs you have not seen, inside and outside "
    "[-1, 1]",
    mistakes=_UNIFORM_MISTAKES,
)
def check_uniform_score(uniform_score):
    r"""Exercise 4: ``uniform_score(z, t)`` is the score of pop = uniform on [-1, 1] diffused to time
    ``t``, computed through Tweedie's formula :math:`(E[y\mid z] - z)/t` with :math:`E[y\mid z]` the
    mean of :math:`\mathcal N(z, t)` truncated to [-1, 1]. Compared at 12 fresh (z, t) pairs with
    ``jax.grad`` of the closed form :math:`\ln p_t(z) = \ln\tfrac12[\Phi(\frac{1-z}{\sqrt t}) - \Phi(\frac{-1-z}{\sqrt t})]`."""
    cases = [(z, t) for t in (0.05, 0.5, 2.0) for z in (-1.7, -0.3, 0.4, 1.2)]
    check_function(
        uniform_score,
        cases,
        _uniform_score_autodiff,
        what="the score of the uniform pop through Tweedie's formula",
        rtol=1e-7,
        mistakes=_UNIFORM_MISTAKES,
    )
