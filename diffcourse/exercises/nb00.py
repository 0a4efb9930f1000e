"""Exercise checks for notebook 00 (the JAX primer).

Inputs, sample sizes, seeds and tolerances are fixed here, not taken from the student.
"""

import numpy as np
from scipy.special import softmax

from diffcourse.exercises._check import (
    ExerciseError,
    Mistake,
    check_estimate,
    check_function,
    exercise,
)

_GRAD_MISTAKES = (
    Mistake(
        "exp, not normalised",
        lambda x: np.exp(x),
        "your gradient is e^x, the gradient of sum e^x. Differentiate the log of that sum: each "
        "e^{x_i} is divided by the sum, so the entries add to 1 (a function with a name).",
    ),
    Mistake(
        "log of the softmax",
        lambda x: x - np.log(np.sum(np.exp(x))),
        "your gradient is x - logsumexp(x), the log of the right answer: exponentiate.",
    ),
)


@exercise(
    "00",
    1,
    tried="calls your grad_logsumexp on 4 vectors of lengths 2 to 9 you have not seen",
    package=("jax.nn.softmax", "jax.scipy.special.softmax", "scipy.special.softmax"),
    mistakes=_GRAD_MISTAKES,
)
def check_grad_logsumexp(grad_logsumexp):
    r"""Exercise 1: ``grad_logsumexp(x)`` is the gradient of
    :math:`\mathrm{logsumexp}(x) = \ln\sum_i e^{x_i}` at ``x`` (by ``jax.grad``): the softmax
    :math:`e^{x_i}/\sum_j e^{x_j}`. Called on four fresh vectors."""
    rng = np.random.default_rng([0, 1])
    cases = [(rng.normal(scale=2.0, size=n),) for n in (2, 4, 7, 9)]
    check_function(
        grad_logsumexp,
        cases,
        lambda x: softmax(x),
        what="the gradient of logsumexp",
        mistakes=_GRAD_MISTAKES,
    )


_ROW_MISTAKES = (
    Mistake(
        "the norm, not squared",
        lambda xs: np.sqrt(np.sum(xs**2, axis=1)),
        "you returned the length |x_i|; the task asks for its square.",
    ),
    Mistake(
        "the square of the sum",
        lambda xs: np.sum(xs, axis=1) ** 2,
        "you squared the sum of the entries; square each entry first, then sum.",
    ),
)


@exercise(
    "00",
    2,
    tried="calls your row_norms on 3 arrays of shapes (6, 3), (1, 5), (40, 2) you have not seen",
    mistakes=_ROW_MISTAKES,
)
def check_row_norms(row_norms):
    """Exercise 2: ``row_norms(xs)`` returns the squared Euclidean norm of every row of ``xs``
    (shape (n, d) -> (n,)). Called on three fresh arrays of different shapes."""
    rng = np.random.default_rng(7)
    cases = [(rng.normal(size=shape),) for shape in ((6, 3), (1, 5), (40, 2))]
    reference = lambda xs: np.sum(xs**2, axis=1)
    check_function(
        row_norms, cases, reference, what="squared norm of every row", mistakes=_ROW_MISTAKES
    )


def _fixed_key(key, n):
    import jax

    return (jax.random.normal(jax.random.key(0), (n,)) ** 2).mean()


def _first_moment(key, n):
    import jax

    return jax.random.normal(key, (n,)).mean()


_MOMENT_MISTAKES = (
    Mistake("a fixed key", _fixed_key, "draw with the key you are given, not a key of your own."),
    Mistake("the mean of eps", _first_moment, "that estimates E[eps] = 0; square the draws first."),
)


@exercise(
    "00",
    3,
    tried="calls your second_moment with 2 keys of its own and n = 40 000",
    mistakes=_MOMENT_MISTAKES,
)
def check_second_moment(second_moment):
    r"""Exercise 3: ``second_moment(key, n)`` is a Monte Carlo estimate of :math:`E[\varepsilon^2] = 1`,
    :math:`\varepsilon\sim\mathcal N(0,1)`, from ``n`` samples drawn with ``key``. Called with two
    keys of the check's own at n = 40 000: each estimate must be within 4 standard errors
    :math:`4\sqrt{2/n}` of 1, and the two must differ (a constant is not an estimate)."""
    import jax

    n = 40_000
    k1, k2 = jax.random.split(jax.random.key(20240229))
    try:
        a, b = float(second_moment(k1, n)), float(second_moment(k2, n))
    except NotImplementedError:
        raise
    except Exception as err:
        raise ExerciseError(f"calling second_moment(key, n) raised {err!r}") from err
    se = np.sqrt(2 / n)
    if a == b:
        raise ExerciseError(
            "E[eps^2]: two different keys gave the same estimate (a constant is not an "
            f"estimate). Likely mistake: {_MOMENT_MISTAKES[0].hint}"
        )
    hint = "A sample mean of eps^2, with eps drawn with the key, is what is asked."
    for mistake in _MOMENT_MISTAKES[1:]:
        if np.isclose(a, float(mistake.answer(k1, n)), rtol=1e-6, atol=1e-9):
            hint = f"Likely mistake: {mistake.hint}"
    check_estimate(a, 1.0, se, what=f"E[eps^2] from {n} samples, first key", hint=hint)
    check_estimate(b, 1.0, se, what=f"E[eps^2] from {n} samples, second key", hint=hint)
    print(f"Correct: E[eps^2] from {n} samples, two keys")
