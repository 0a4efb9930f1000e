"""The exercise contract, and the checks every exercise is built from (see the package docstring).

A check calls the student's function on cases it draws itself and compares each result with a
reference written here, never with the package's own implementation of the asked function. The
tolerance follows the precision of the answer: a relative ``rtol`` (1e-9 unless a check says
otherwise) for a float64 answer, ``rtol32`` (1e-4) when the answer is float32 or JAX runs in
32 bits (its default). A failure raises :class:`ExerciseError` naming the case, how far off the
answer is (relative error to one significant digit, and its direction for a number) and, when
the answer matches a named mistake on every case, that mistake in words. It never prints the
expected value.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import numpy as np

RTOL64, RTOL32 = 1e-9, 1e-4


class ExerciseError(AssertionError):
    """A student's answer is not yet right; the message says which case and the likely mistake."""


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer, written as a student would write it, and what it gets wrong."""

    name: str
    answer: Callable  # called by the check exactly as the student's answer is
    hint: str  # the mistake in words: shown when an answer matches it on every case


@dataclasses.dataclass(frozen=True)
class Entry:
    """One exercise in the registry: where it is, its check, what the check tries, the package
    functions that compute the asked thing (a solution calling one is "used the course's own
    implementation"), and its named mistakes."""

    notebook: str  # "01"
    number: int
    check: Callable
    tried: str  # e.g. "calls your em_step on 4 drifts and noise levels you have not seen"
    package: tuple  # e.g. ("diffcourse.flow.fm_weighting", "*.posterior_mean")
    mistakes: tuple  # of Mistake

    @property
    def name(self) -> str:
        return f"{self.check.__module__}.{self.check.__name__}"


REGISTRY: dict = {}  # (notebook, number) -> Entry, filled as the nbNN modules are imported


def exercise(notebook: str, number: int, *, tried: str, package=(), mistakes=()):
    """Register the decorated check as exercise ``number`` of notebook ``notebook``."""

    def register(check):
        entry = Entry(notebook, number, check, tried, tuple(package), tuple(mistakes))
        key = (notebook, number)
        if key in REGISTRY and REGISTRY[key].name != entry.name:
            raise ValueError(f"exercise {notebook}:{number} is registered twice")
        REGISTRY[key] = entry
        check.entry = entry
        return check

    return register


# --------------------------------------------------------------------------------------------
# comparing


def _runs_in_float32() -> bool:
    """True when JAX computes in 32 bits (its default), so a correct ``jnp`` answer is float32."""
    import jax

    return jax.dtypes.canonicalize_dtype(np.float64) != np.float64


def _is_float32(value) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is None and isinstance(value, (list, tuple)):
        return any(_is_float32(v) for v in value)
    return dtype is not None and np.dtype(dtype).itemsize <= 4 and np.dtype(dtype).kind in "fc"


def tolerance(raw, rtol: float = RTOL64, rtol32: float = RTOL32) -> float:
    """The relative tolerance for an answer ``raw``: ``rtol32`` when it is float32 or JAX runs in
    32 bits, else ``rtol``."""
    return max(rtol, rtol32) if (_is_float32(raw) or _runs_in_float32()) else rtol


def _as_array(raw):
    """A result as one float array: a tuple of equal shapes stacked, of unequal shapes (a mean
    and a covariance) flattened and joined."""
    if isinstance(raw, (tuple, list)):
        parts = [np.asarray(r, dtype=float) for r in raw]
        if len({p.shape for p in parts}) == 1:
            return np.stack(parts)
        return np.concatenate([p.ravel() for p in parts])
    return np.asarray(raw, dtype=float)


def _relative_error(got, expected) -> float:
    """max |got - expected| / (max |expected| + tiny): the error relative to the answer's scale,
    so an entry that is zero by cancellation is judged at the precision of the others."""
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return float(np.max(np.abs(got - expected))) / max(scale, 1e-300) if got.size else 0.0


def _close(got, expected, rtol) -> bool:
    return got.shape == expected.shape and bool(
        np.all(np.isfinite(got)) and _relative_error(got, expected) <= rtol
    )


def _describe(args, names) -> str:
    """The case's scalar inputs by name; arrays and functions by their kind only."""
    parts = []
    for name, a in zip(names, args, strict=False):
        if callable(a):
            parts.append(f"{name} = a function")
        elif np.ndim(a) == 0 and not isinstance(a, (str, bytes)):
            try:
                parts.append(f"{name} = {float(a):.4g}")
            except (TypeError, ValueError):
                parts.append(f"{name} = {type(a).__name__}")
        else:
            parts.append(f"{name} of shape {np.shape(a)}")
    return ", ".join(parts)


def _call(fn, args, what, i):
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as err:  # the student's function crashed: say on which input
        raise ExerciseError(f"{what}: calling your function on case {i} raised {err!r}") from err


def _matching_mistake(fn, cases, outputs, rtol, mistakes):
    """The hint of the first mistake whose answers equal the student's on every case (none for an
    answer that is the same on every case: a typed constant matches no formula)."""
    if len(outputs) > 1 and all(
        o is not None and o.shape == outputs[0].shape and np.array_equal(o, outputs[0])
        for o in outputs
    ):
        return None
    for m in mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = [_as_array(m.answer(*args)) for args in cases]
        except Exception:  # a mistake undefined on some case: not this one
            continue
        if all(
            g is not None and g.shape == w.shape and _relative_error(g, w) <= max(rtol, 1e-6)
            for g, w in zip(outputs, wrong, strict=True)
        ):
            return m.hint
    return None


def check_function(
    fn,
    cases,
    reference,
    *,
    what: str,
    rtol: float = RTOL64,
    rtol32: float = RTOL32,
    mistakes=(),
    names=None,
):
    """Call the student's ``fn(*args)`` on every ``args`` in ``cases`` (inputs the check drew) and
    compare with ``reference(*args)``: the largest error relative to the expected answer's scale
    must be at most :func:`tolerance` of the answer.

    Prints ``Correct: <what> (<n> fresh cases)`` and returns True, or raises
    :class:`ExerciseError` naming the first failing case, the size and direction of the error,
    and the mistake in ``mistakes`` that the answer matches on every case, if one does.
    """
    if not callable(fn):
        raise ExerciseError(
            f"{what}: expected a function (the check calls it on inputs of its own); got a "
            f"{type(fn).__name__}. Write a def or a lambda."
        )
    if names is None:
        try:
            names = list(inspect.signature(reference).parameters)
        except (TypeError, ValueError):
            names = [f"argument {k + 1}" for k in range(len(cases[0]))]
    outputs, failure = [], None
    for i, args in enumerate(cases, start=1):
        raw = _call(fn, args, what, i)
        expected = _as_array(reference(*args))
        try:
            got = _as_array(raw)
        except (TypeError, ValueError):
            got = None
        if got is not None and got.shape != expected.shape and got.size == expected.size:
            got = got.reshape(expected.shape)  # a (1,) for a number: accepted
        outputs.append(got)
        if failure is not None:
            continue
        tol = tolerance(raw, rtol, rtol32)
        if got is None or got.shape != expected.shape:
            shape = "no array" if got is None else f"shape {got.shape}"
            failure = f"on case {i} the answer has {shape}; expected shape {expected.shape}"
        elif not np.all(np.isfinite(got)):
            failure = f"on case {i} ({_describe(args, names)}) the answer contains NaN or inf"
        elif not _close(got, expected, tol):
            rel = _relative_error(got, expected)
            direction = " off"
            if expected.size == 1 and got.size == 1:
                direction = " too large" if got.item() > expected.item() else " too small"
            failure = (
                f"on case {i} of {len(cases)} ({_describe(args, names)}) the answer is{direction}"
                f" by a relative error of about {rel:.0e}; the check allows {tol:.0e}"
            )
    if failure is None:
        print(f"Correct: {what} ({len(cases)} fresh cases)")
        return True
    hint = _matching_mistake(fn, cases, outputs, tolerance(None, rtol, rtol32), mistakes)
    likely = f" Likely mistake: {hint}" if hint else ""
    raise ExerciseError(f"{what}: {failure}.{likely}")


def check_estimate(estimate, expected, se, *, what: str, k: float = 4.0, hint: str = ""):
    """A Monte Carlo ``estimate`` of a quantity whose exact value (or the check's own much more
    precise estimate) is ``expected``, with standard error ``se``: passes within ``k`` standard
    errors. The message says by how many standard errors and in which direction, not the value."""
    try:
        value = float(np.asarray(estimate, dtype=float))
    except (TypeError, ValueError) as err:
        raise ExerciseError(f"{what}: expected a number, got {type(estimate).__name__}") from err
    if not np.isfinite(value):
        raise ExerciseError(f"{what}: the estimate is NaN or inf")
    z = (value - expected) / se
    if abs(z) <= k:
        return True
    side = "too large" if z > 0 else "too small"
    size = f"{abs(z):.0f}" if abs(z) < 1e4 else "more than 10 000"
    extra = f" {hint}" if hint else ""
    raise ExerciseError(
        f"{what}: {side} by {size} standard errors of the estimate (the check allows {k:g}).{extra}"
    )


def check_close(answer, expected, *, what: str, rtol: float = 1e-6, atol: float = 0.0) -> bool:
    """Compare a number or array computed *by the check itself* (never one the student types)
    with ``expected``, |a - e| <= atol + rtol |e|. Prints ``Correct: <what>``, or raises without
    printing the expected value."""
    a = np.asarray(answer, dtype=float)
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise ExerciseError(f"{what}: expected an array of shape {e.shape}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ExerciseError(f"{what}: the answer contains NaN or inf")
    if not np.all(np.isfinite(e)):
        raise ExerciseError(f"{what}: the reference is not finite (the check is broken)")
    err = np.abs(a - e)
    if np.all(err <= atol + rtol * np.abs(e)):
        print(f"Correct: {what}")
        return True
    rel = float(np.max(err / np.maximum(np.abs(e), 1e-300)))
    raise ExerciseError(f"{what}: off by a relative error of about {rel:.0e} (allowed {rtol:g})")


def check_true(condition: bool, *, what: str, hint: str) -> bool:
    """Pass when ``condition`` holds; otherwise raise with ``hint`` (which must not hold the
    expected value)."""
    if bool(condition):
        print(f"Correct: {what}")
        return True
    raise ExerciseError(f"{what}: not yet. {hint}")


def check_estimates(fn, cases, truths, ses, *, what, outputs, labels, mistakes=(), k=4.0):
    """Statistical checks of an estimator: ``fn(*args)`` returns one estimate per name in
    ``outputs`` for each case of ``cases`` (data the check drew), and each must lie within ``k``
    standard errors ``ses[i][j]`` of ``truths[i][j]``. ``labels[i]`` describes case ``i`` in words
    (never its answer). The message gives the distance in standard errors and, when the answer
    equals a named mistake on every case, that mistake."""
    results = []
    for i, args in enumerate(cases, start=1):
        raw = _call(fn, args, what, i)
        try:
            got = np.asarray([float(np.asarray(v, dtype=float)) for v in raw], dtype=float)
        except (TypeError, ValueError) as err:
            raise ExerciseError(
                f"{what}: on case {i} expected {len(outputs)} numbers ({', '.join(outputs)}); "
                f"got {type(raw).__name__}"
            ) from err
        if got.shape != (len(outputs),):
            raise ExerciseError(
                f"{what}: on case {i} expected {len(outputs)} numbers ({', '.join(outputs)}); "
                f"got {got.size}"
            )
        results.append(got)
    for i, (got, truth, se) in enumerate(zip(results, truths, ses, strict=True), start=1):
        for name, g, e, s in zip(outputs, got, truth, se, strict=True):
            z = (g - e) / s
            if not np.isfinite(g) or abs(z) > k:
                hint = _matching_mistake(fn, cases, results, 1e-6, mistakes)
                likely = f" Likely mistake: {hint}" if hint else ""
                how = (
                    "is NaN or inf"
                    if not np.isfinite(g)
                    else f"is {'too large' if z > 0 else 'too small'} by {abs(z):.0f} standard "
                    f"errors (the check allows {k:g})"
                )
                raise ExerciseError(
                    f"{what}: on case {i} ({labels[i - 1]}) your {name} {how}.{likely}"
                )
    print(f"Correct: {what} ({len(cases)} fresh data sets)")
    return True
