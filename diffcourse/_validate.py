"""Argument checks shared by every module: one wording for every error message.

Each check raises ``ValueError`` naming the argument, what was given and what is expected.
Checks run only on concrete values; inside ``jax.jit`` a traced argument is passed through
unchecked (validate at the boundary, before tracing).
"""

import jax
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values (not a tracer inside jit/vmap/grad)."""
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _describe(x):
    a = np.asarray(x)
    if a.size == 1:
        return f"{a.item()!r}"
    return f"an array of shape {a.shape} with min {a.min():.6g} and max {a.max():.6g}"


def positive(name: str, x):
    """Require every entry of ``x`` to be finite and > 0."""
    if is_concrete(x):
        a = np.asarray(x)
        if not (np.all(np.isfinite(a)) and np.all(a > 0)):
            raise ValueError(f"{name} must be positive and finite; got {_describe(x)}")
    return x


def nonnegative(name: str, x):
    """Require every entry of ``x`` to be finite and >= 0."""
    if is_concrete(x):
        a = np.asarray(x)
        if not (np.all(np.isfinite(a)) and np.all(a >= 0)):
            raise ValueError(f"{name} must be non-negative and finite; got {_describe(x)}")
    return x


def in_open_interval(name: str, x, low: float, high: float):
    """Require ``low < x < high`` entrywise."""
    if is_concrete(x):
        a = np.asarray(x)
        if not (np.all(np.isfinite(a)) and np.all(a > low) and np.all(a < high)):
            raise ValueError(f"{name} must lie in ({low}, {high}); got {_describe(x)}")
    return x


def positive_int(name: str, n) -> int:
    """Require a Python/numpy integer >= 1 and return it as ``int``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n!r}")
    return int(n)


def monotone(name: str, x, *, increasing: bool):
    """Require a 1-D grid that is strictly increasing (or strictly decreasing)."""
    if is_concrete(x):
        a = np.asarray(x)
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


def probabilities(name: str, w, atol: float = 1e-6):
    """Require a 1-D vector of non-negative weights summing to 1."""
    if is_concrete(w):
        a = np.asarray(w, dtype=float)
        if a.ndim != 1 or np.any(a < 0) or not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be a 1-D vector of non-negative weights; got {a}")
        if abs(a.sum() - 1.0) > atol:
            raise ValueError(f"{name} must sum to 1; they sum to {a.sum():.8g}")
    return w
