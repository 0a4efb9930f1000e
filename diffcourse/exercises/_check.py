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


def check_function(fn, cases, reference, *, what: str, rtol: float = 1e-6, atol: float = 0.0):
    """Call the student's ``fn(*args)`` on every ``args`` in ``cases`` (fresh inputs chosen by the
    check) and compare with ``reference(*args)`` entrywise, |a - e| <= atol + rtol |e|.

    Prints ``Correct: <what>`` and returns True, or raises :class:`ExerciseError` naming the first
    input that fails, the expected value and the answer.
    """

    def show(x):
        if callable(x):  # a function among the inputs (a denoiser): name it, don't print it
            return getattr(x, "__name__", type(x).__name__)
        return np.array2string(np.asarray(x, dtype=float), precision=6, threshold=6)

    for i, args in enumerate(cases):
        try:
            got = np.asarray(fn(*args), dtype=float)
        except Exception as err:  # the student's function crashed: say on which input
            raise ExerciseError(
                f"{what}: calling your function on case {i} raised {err!r}"
            ) from err
        expected = np.asarray(reference(*args), dtype=float)
        if got.shape != expected.shape:
            raise ExerciseError(
                f"{what}: on case {i} expected an array of shape {expected.shape}, got {got.shape}"
            )
        err = np.abs(got - expected)
        if not (np.all(np.isfinite(got)) and np.all(err <= atol + rtol * np.abs(expected))):
            raise ExerciseError(
                f"{what}: on case {i} (inputs {', '.join(show(a) for a in args)}) expected "
                f"{show(expected)} within rtol={rtol:g}, atol={atol:g}; got {show(got)}"
            )
    print(f"Correct: {what} ({len(cases)} fresh cases)")
    return True
