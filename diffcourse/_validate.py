"""Argument checks shared by every module: one wording for every error message.

Each check raises ``ValueError`` worded ``"{name} must be {expected}; got {what was given}"``
(built by :func:`fail`), so a message always names the argument, what was wrong and what is
expected. Checks run only on concrete values; inside ``jax.jit`` a traced argument is passed
through unchecked (validate at the boundary, before tracing).

This module imports numpy only (jax when it is already loaded), so the command line can check its
arguments before paying for jax.
"""

import math
import numbers
import os
import pathlib
import sys

import numpy as np


def fail(name: str, expected: str, got) -> ValueError:
    """The one wording: ``ValueError("{name} must be {expected}; got {got}")``, to be raised."""
    return ValueError(f"{name} must be {expected}; got {got}")


def is_concrete(x) -> bool:
    """True when ``x`` holds values (not a tracer inside jit/vmap/grad)."""
    jax = sys.modules.get("jax")
    if jax is None:  # jax not loaded: nothing can be a tracer
        return True
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _describe(x):
    try:
        a = np.asarray(x)
    except Exception:  # an object numpy cannot hold
        return f"{type(x).__name__} {x!r}"[:200]
    if a.dtype.kind not in "biuf":
        return f"{x!r}"[:200] if a.size <= 1 else f"an array of dtype {a.dtype}"
    if a.size == 1:
        return f"{a.item()!r}" if a.ndim == 0 else f"{a.item()!r} in shape {a.shape}"
    if a.size == 0:
        return f"an empty array of shape {a.shape}"
    with np.errstate(invalid="ignore"):
        return f"an array of shape {a.shape} with min {a.min():.6g} and max {a.max():.6g}"


def _floats(name: str, x, expected: str) -> np.ndarray:
    """``x`` as a float64 array, or a :func:`fail` error when it is not numeric."""
    try:
        a = np.asarray(x)
    except Exception:
        raise fail(name, expected, _describe(x)) from None
    if a.dtype.kind in "USOMmc" or a.dtype == np.bool_:
        raise fail(name, expected, _describe(x))
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError):
        raise fail(name, expected, _describe(x)) from None


def positive(name: str, x):
    """Require every entry of ``x`` to be finite and > 0."""
    if is_concrete(x):
        a = _floats(name, x, "positive and finite")
        if not (np.all(np.isfinite(a)) and np.all(a > 0)):
            raise fail(name, "positive and finite", _describe(x))
    return x


def nonnegative(name: str, x):
    """Require every entry of ``x`` to be finite and >= 0."""
    if is_concrete(x):
        a = _floats(name, x, "non-negative and finite")
        if not (np.all(np.isfinite(a)) and np.all(a >= 0)):
            raise fail(name, "non-negative and finite", _describe(x))
    return x


def in_open_interval(name: str, x, low: float, high: float):
    """Require ``low < x < high`` entrywise."""
    if is_concrete(x):
        a = _floats(name, x, f"in ({low}, {high})")
        if not (np.all(np.isfinite(a)) and np.all(a > low) and np.all(a < high)):
            raise ValueError(f"{name} must lie in ({low}, {high}); got {_describe(x)}")
    return x


def integer(name: str, n, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Require a Python/numpy integer (not a bool, not a float) in ``[minimum, maximum]``; return ``int``."""
    kind = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, "an integer")
    if maximum is not None:
        expected = f"{kind} <= {maximum}" if minimum in (0, 1) or minimum is None else None
        expected = expected or f"an integer in [{minimum}, {maximum}]"
    else:
        expected = kind if minimum in (0, 1, None) else f"an integer >= {minimum}"
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (numbers.Integral, np.integer)):
        raise fail(name, expected, _describe(n) if not isinstance(n, str) else repr(n))
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        raise fail(name, expected, repr(int(n)))
    return int(n)


def positive_int(name: str, n) -> int:
    """Require a Python/numpy integer >= 1 and return it as ``int``."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n!r}")
    return int(n)


def nonnegative_int(name: str, n) -> int:
    """Require a Python/numpy integer >= 0 and return it as ``int``."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {n!r}")
    return int(n)


def real(
    name: str,
    x,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Require one finite real number (a 0-d value, not a bool) in the stated interval; return ``float``.

    The interval is ``[low, high]``, with ``low_open``/``high_open`` excluding an end.
    """
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    if (low, high) == (0.0, math.inf):
        expected = "positive and finite" if low_open else "non-negative and finite"
    elif (low, high) == (-math.inf, math.inf):
        expected = "a finite real number"
    else:
        expected = f"a real number in {left}{low:g}, {high:g}{right}"
    if isinstance(x, (bool, np.bool_)) or isinstance(x, str) or x is None:
        raise fail(name, expected, repr(x))
    a = _floats(name, x, expected)
    if a.ndim != 0:
        raise fail(name, expected + " (a scalar)", _describe(x))
    v = float(a)
    ok = (
        math.isfinite(v)
        and (v > low if low_open else v >= low)
        and (v < high if high_open else v <= high)
    )
    if not ok:
        raise fail(name, expected, repr(v))
    return v


def choice(name: str, x, options):
    """Require ``x`` to be one of ``options`` (compared with ``==``); return it."""
    if not any(x is o or (type(x) is type(o) and x == o) for o in options):
        listed = ", ".join(repr(o) for o in options)
        raise fail(name, f"one of {listed}", repr(x))
    return x


def flag(name: str, x) -> bool:
    """Require a bool (Python or numpy); return ``bool``."""
    if not isinstance(x, (bool, np.bool_)):
        raise fail(name, "True or False", repr(x))
    return bool(x)


def ints(name: str, xs, *, minimum: int = 1, min_len: int = 1, max_len: int = 64) -> tuple:
    """Require a sequence of ``min_len..max_len`` integers each >= ``minimum``; return a tuple."""
    expected = f"a sequence of {min_len} to {max_len} integers >= {minimum}"
    if isinstance(xs, (str, bytes)) or not hasattr(xs, "__len__"):
        raise fail(name, expected, repr(xs))
    if not min_len <= len(xs) <= max_len:
        raise fail(name, expected, f"{len(xs)} entries")
    for x in xs:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or x < minimum:
            raise fail(name, expected, repr(list(xs)))
    return tuple(int(x) for x in xs)


def key(name: str, k):
    """Require a JAX PRNG key: a typed key (``jax.random.key``) of shape () or a legacy uint32 (2,) array."""
    expected = "a PRNG key from jax.random.key(seed) (a typed key of shape ())"
    import jax

    if isinstance(k, jax.Array) or isinstance(k, np.ndarray):
        if jax.dtypes.issubdtype(k.dtype, jax.dtypes.prng_key):
            if k.shape != ():
                raise fail(name, expected, f"a key array of shape {k.shape}")
            return k
        if k.dtype == np.uint32 and k.shape == (2,):  # legacy jax.random.PRNGKey
            return k
    raise fail(name, expected, _describe(k) if not isinstance(k, jax.Array) else f"{k.dtype}")


def array(
    name: str,
    x,
    *,
    ndim: int | None = None,
    min_ndim: int = 0,
    shape: tuple | None = None,
    min_size: int = 1,
    finite: bool = True,
    dtype=None,
) -> np.ndarray:
    """``x`` (a list or array of numbers) as a numpy array after checking it.

    Integer and bool arrays are converted to ``dtype`` (default float64; float16/32/64 keep their
    dtype unless ``dtype`` is given), never reinterpreted. Checks: numeric, ``ndim`` (or at
    least ``min_ndim``), ``shape`` (``None`` entries match any size), at least ``min_size``
    entries, and (``finite=True``) no NaN or inf.
    """
    try:
        a = np.asarray(x)
    except Exception:
        raise fail(name, "an array of numbers", _describe(x)) from None
    if a.dtype.kind not in "biuf":
        raise fail(name, "an array of numbers", _describe(x))
    if ndim is not None and a.ndim != ndim:
        raise fail(name, f"an array with {ndim} axes", f"shape {a.shape}")
    if a.ndim < min_ndim:
        raise fail(name, f"an array with at least {min_ndim} axes", f"shape {a.shape}")
    if shape is not None:
        _check_shape(name, a, shape)
    if a.size < min_size:
        raise fail(name, f"an array of at least {min_size} entries", f"shape {a.shape}")
    if dtype is not None:
        a = a.astype(dtype)
    elif a.dtype.kind in "biu":
        a = a.astype(np.float64)
    if finite and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise fail(name, "finite (no NaN or inf)", _describe(a))
    return a


def monotone(name: str, x, *, increasing: bool):
    """Require a 1-D grid that is strictly increasing (or strictly decreasing)."""
    if is_concrete(x):
        a = _floats(name, x, "a 1-D grid of numbers")
        if a.ndim != 1 or a.size < 2:
            raise ValueError(f"{name} must be a 1-D grid of at least 2 points; got shape {a.shape}")
        d = np.diff(a)
        ok = np.all(d > 0) if increasing else np.all(d < 0)
        if not ok or not np.all(np.isfinite(a)):
            word = "increasing" if increasing else "decreasing"
            raise ValueError(f"{name} must be strictly {word}; got {a.tolist()[:8]}...")
    return x


def shape(name: str, x, expected: tuple):
    """Require ``x.shape == expected``; ``None`` in ``expected`` matches any size."""
    got = tuple(np.shape(x))
    ok = len(got) == len(expected) and all(
        e is None or e == g for e, g in zip(expected, got, strict=False)
    )
    if not ok:
        want = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {want}; got {got}")
    return x


_check_shape = shape


def probabilities(name: str, w, atol: float = 1e-6):
    """Require a 1-D vector of non-negative weights summing to 1."""
    if is_concrete(w):
        a = _floats(name, w, "a 1-D vector of non-negative weights")
        if a.ndim != 1 or np.any(a < 0) or not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be a 1-D vector of non-negative weights; got {a}")
        if abs(a.sum() - 1.0) > atol:
            raise ValueError(f"{name} must sum to 1; they sum to {a.sum():.8g}")
    return w


# ---------------------------------------------------------------------------------------------
# paths


def _as_path(name: str, path) -> pathlib.Path:
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise fail(name, "a file or folder path", repr(path))
    return pathlib.Path(path)


def existing_file(name: str, path) -> pathlib.Path:
    """Require ``path`` to name an existing regular file; return it as a ``Path``."""
    p = _as_path(name, path)
    if not p.is_file():
        what = "a folder" if p.is_dir() else "nothing there"
        raise fail(name, "an existing file", f"{str(p)!r} ({what})")
    return p


def writable_dir(name: str, path) -> pathlib.Path:
    """Require ``path`` to be a folder that exists or can be created, inside a writable folder."""
    p = _as_path(name, path)
    if p.exists():
        if not p.is_dir():
            raise fail(name, "a folder (or a new name)", f"{str(p)!r}, an existing file")
        if not os.access(p, os.W_OK | os.X_OK):
            raise fail(name, "a folder you can write to", repr(str(p)))
        return p
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise fail(name, "a path whose parents are folders", f"{str(p)!r} ({parent} is a file)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise fail(name, "a path under a folder you can write to", f"{str(p)!r} ({parent})")
    return p


def writable_file(name: str, path, suffixes=None) -> pathlib.Path:
    """Require a file path ending in one of ``suffixes`` whose folder exists and is writable."""
    p = _as_path(name, path)
    if suffixes is not None and p.suffix not in suffixes:
        raise fail(name, "a file name ending in " + " or ".join(suffixes), repr(str(p)))
    if p.is_dir():
        raise fail(name, "a file name", f"{str(p)!r}, an existing folder")
    parent = p.absolute().parent
    if not parent.is_dir():
        raise fail(name, "a file in an existing folder", f"{str(p)!r} (no folder {parent})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise fail(name, "a file in a folder you can write to", repr(str(p)))
    return p
