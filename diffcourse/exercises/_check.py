"""The two primitive checks every exercise is built from."""

import numpy as np


class ExerciseError(AssertionError):
    """A student's answer is not yet right; the message says what was expected."""


def check_close(answer, expected, *, what: str, rtol: float = 1e-6, atol: float = 0.0) -> bool:
    """Compare ``answer`` with ``expected`` entrywise: |a - e| <= atol + rtol |e|.

    Prints ``Correct: <what>`` and returns True, or raises :class:`ExerciseError` with the
    expected value, the answer and the tolerance.
    """
    a = np.asarray(answer, dtype=float)
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise ExerciseError(f"{what}: expected an array of shape {e.shape}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ExerciseError(f"{what}: the answer contains NaN or inf")
    err = np.abs(a - e)
    if np.all(err <= atol + rtol * np.abs(e)):
        print(f"Correct: {what}")
        return True
    show = lambda x: np.array2string(np.asarray(x), precision=6, threshold=6)
    raise ExerciseError(
        f"{what}: expected {show(e)} within rtol={rtol:g}, atol={atol:g}; "
        f"got {show(a)} (largest error {err.max():.3g})"
    )


def check_true(condition: bool, *, what: str, hint: str) -> bool:
    """Pass when ``condition`` holds; otherwise raise with ``hint`` saying what was expected."""
    if bool(condition):
        print(f"Correct: {what}")
        return True
    raise ExerciseError(f"{what}: not yet. {hint}")
