"""Exercise checks for notebook 00 (the JAX primer).

Inputs, sample sizes, seeds and tolerances are fixed here, not taken from the student.
"""

import numpy as np
from scipy.special import softmax

from diffcourse.exercises._check import ExerciseError, check_close, check_function

X0 = np.array([0.5, -1.0, 2.0, 0.3])  # the point of exercise 1


def check_derivative(answer):
    r"""Exercise 1: the gradient of :math:`\mathrm{logsumexp}(x) = \ln\sum_i e^{x_i}` at
    ``X0 = (0.5, -1, 2, 0.3)``: the softmax :math:`e^{x_i}/\sum_j e^{x_j}` (rtol 1e-10)."""
    check_close(answer, softmax(X0), what="grad of logsumexp at (0.5, -1, 2, 0.3)", rtol=1e-10)


def check_row_norms(row_norms):
    """Exercise 2: ``row_norms(xs)`` returns the squared Euclidean norm of every row of ``xs``
    (shape (n, d) -> (n,)). Called on three fresh arrays of different shapes (rtol 1e-10)."""
    rng = np.random.default_rng(7)
    cases = [(rng.normal(size=shape),) for shape in ((6, 3), (1, 5), (40, 2))]
    reference = lambda xs: np.sum(xs**2, axis=1)
    check_function(row_norms, cases, reference, what="squared norm of every row", rtol=1e-10)


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
    except Exception as err:
        raise ExerciseError(f"calling second_moment(key, n) raised {err!r}") from err
    tol = 4 * np.sqrt(2 / n)
    check_close(a, 1.0, what=f"E[eps^2] from {n} samples, first key", atol=tol)
    check_close(b, 1.0, what=f"E[eps^2] from {n} samples, second key", atol=tol)
    if a == b:
        raise ExerciseError(
            "E[eps^2]: expected different estimates from different keys (a sample mean of "
            f"eps^2 drawn with the key); got {a!r} twice"
        )
