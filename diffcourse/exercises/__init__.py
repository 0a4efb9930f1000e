"""Checks for the exercises at the end of each notebook.

Convention: the cell holding a worked answer carries the cell tag ``solution``; the
next cell calls a check from here with the student's answer. A right answer prints a line that
starts with ``Correct``; a wrong one raises :class:`ExerciseError` saying what was expected and
within what tolerance. One submodule per notebook: ``dc.exercises.nb01.check_...``.
"""

from diffcourse import _lazy
from diffcourse.exercises._check import ExerciseError, check_close, check_true

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

__all__ = ["ExerciseError", "check_close", "check_true", *_NOTEBOOKS]


_lazy.attach(globals(), _NOTEBOOKS)
