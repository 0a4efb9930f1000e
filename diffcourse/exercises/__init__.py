"""Checks for the exercises at the end of each notebook, and the contract they follow.

**Where an exercise lives.** The cell holding a worked answer carries the cell tag ``solution``;
the next cell calls a check from here with the student's answer. One submodule per notebook:
``dc.exercises.nb01.check_...``. Every check is registered (:func:`registry`) with its notebook,
its number, a sentence saying what it tries, the package functions that compute the asked thing,
and at least two named plausible mistakes.

**The contract** (every exercise, 00-10):

1. The student writes a *function* (or an estimator); the check calls it. No exercise asks for
   a number that the notebook could print.
2. The check calls it on inputs it draws itself, from seeds of its own, that the notebook never
   shows; it never takes a sample size, seed or tolerance from the student. A typed constant
   therefore fails: every check has at least two cases with different answers.
3. A failure raises :class:`ExerciseError` saying which case failed, by how much (a relative
   error to one significant digit, or a number of standard errors) and in which direction, and,
   when the answer equals one of the check's named mistakes on every case, that mistake in
   words. It never prints the expected value.
4. Tolerances follow the answer's precision: 1e-9 relative for a float64 answer (unless a
   check's task is approximate, such as a quadrature or a Monte Carlo estimate), 1e-4 when the
   answer is float32 or JAX computes in 32 bits, its default; every named mistake is off by more.
5. Where the task is to write something the package already has, the grader reports an answer
   cell that calls that package function (read from its syntax tree) as "used the course's own
   implementation", not as passed (:mod:`diffcourse.grading`).

A right answer prints a line that starts with ``Correct``. ``tests/test_exercises.py`` holds the
course's solution and extra wrong answers of every exercise and checks the contract for each:
the solution passes in float32 and float64, each mistake fails with its own message, typed
numbers fail, and no message holds the expected value.
"""

from diffcourse import _lazy
from diffcourse.exercises._check import (
    REGISTRY,
    Entry,
    ExerciseError,
    Mistake,
    check_close,
    check_function,
    check_true,
)

_NOTEBOOKS = (
    "nb00",
    "nb01",
    "nb02",
    "nb03",
    "nb04",
    "nb05",
    "nb06",
    "nb07",
    "nb08",
    "nb09",
    "nb10",
)

__all__ = [
    "Entry",
    "ExerciseError",
    "Mistake",
    "check_close",
    "check_function",
    "check_true",
    "registry",
    "entry_for",
    *_NOTEBOOKS,
]


def registry() -> list:
    """Every registered exercise (:class:`Entry`), in notebook and number order (imports every
    ``nbNN`` module)."""
    import importlib

    for name in _NOTEBOOKS:
        importlib.import_module(f"{__name__}.{name}")
    return [REGISTRY[k] for k in sorted(REGISTRY)]


def entry_for(check_name: str):
    """The :class:`Entry` of a check named as a notebook calls it (``dc.exercises.nb02.check_x``,
    ``nb02.check_x`` or ``check_x`` with the notebook's number known), or None."""
    parts = check_name.split(".")
    for entry in registry():
        module = entry.check.__module__.rsplit(".", 1)[-1]
        if parts[-1] == entry.check.__name__ and (len(parts) < 2 or parts[-2] == module):
            return entry
    return None


_lazy.attach(globals(), _NOTEBOOKS)
