"""Checks at the public boundary of the mathematical modules, built on :mod:`diffcourse._validate`.

The same wording (``"{name} must be {expected}; got {...}"``), with what the jax modules need on
top: every check passes a traced value through unchecked (inside ``jit``/``vmap`` the boundary
was checked already), data arrays come back as jax arrays (an int or bool array converted to
floats, never reinterpreted), and a scalar parameter is one finite number in its range.
"""

import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _validate
from diffcourse._validate import fail, is_concrete


def data(name, x, *, ndim=None, min_ndim=0, shape=None, min_size=1, finite=False, dtype=None):
    """A data argument after its checks: numeric, ``ndim``/``shape`` as stated, at least
    ``min_size`` entries, and (``finite``) no NaN or inf; NaN in data is allowed otherwise.

    Float arrays and Python numbers come back as given (so a float32 input stays float32); an int
    or bool array, or a list, comes back as a jax float array (``dtype``, default jax's float),
    never reinterpreted. A tracer passes through unchecked."""
    if not is_concrete(x):
        return x
    if isinstance(x, jax.Array):
        if x.dtype.kind not in "biuf" or jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            raise fail(name, "an array of numbers", f"an array of dtype {x.dtype}")
        a = x
    else:
        if isinstance(x, str) or x is None:
            raise fail(name, "an array of numbers", repr(x))
        try:
            a = np.asarray(x)
        except Exception:
            raise fail(name, "an array of numbers", _validate._describe(x)) from None
        if a.dtype.kind not in "biuf":
            raise fail(name, "an array of numbers", _validate._describe(x))
    if a.dtype.kind == "b":  # True is no number here: refused, not read as 1.0
        raise fail(name, "an array of numbers (not booleans)", _validate._describe(np.asarray(a)))
    if ndim is not None and a.ndim != ndim:
        raise fail(name, f"an array with {ndim} axes", f"shape {a.shape}")
    if a.ndim < min_ndim:
        raise fail(name, f"an array with at least {min_ndim} axes", f"shape {a.shape}")
    if shape is not None:
        _validate.shape(name, a, shape)
    if a.size < min_size:
        raise fail(name, f"an array of at least {min_size} entries", f"shape {a.shape}")
    if finite and a.dtype.kind == "f" and not bool(np.all(np.isfinite(np.asarray(a)))):
        raise fail(name, "finite (no NaN or inf)", _validate._describe(np.asarray(a)))
    if dtype is not None:
        return jnp.asarray(a, dtype)
    if a.dtype.kind == "f":
        return x if isinstance(x, (jax.Array, np.ndarray, np.generic, float)) else jnp.asarray(a)
    if isinstance(x, int) and not isinstance(x, bool):
        return x  # a Python int is weakly typed: it takes the dtype of what it meets
    if a.ndim == 0 and not isinstance(x, jax.Array):
        return float(a)
    return jnp.asarray(a, jnp.result_type(float))


def real(name, x, **interval):
    """One finite real number in the interval of :func:`diffcourse._validate.real`; ``x`` is
    returned as given (a tracer passes through)."""
    if is_concrete(x):
        _validate.real(name, x, **interval)
    return x


def positive(name, x):
    """One finite number > 0 (see :func:`real`)."""
    return real(name, x, low=0.0, low_open=True)


def nonnegative(name, x):
    """One finite number >= 0 (see :func:`real`)."""
    return real(name, x, low=0.0)


def unit(name, x):
    """One number in (0, 1)."""
    if is_concrete(x):
        if isinstance(x, (bool, np.bool_, str)) or x is None or np.ndim(x) != 0:
            raise fail(name, "one number in (0, 1)", _validate._describe(x))
        _validate.in_open_interval(name, x, 0.0, 1.0)
    return x


def times(name, t, *, allow_zero=False):
    """A scalar or an array of times, every entry finite and > 0 (>= 0 with ``allow_zero``)."""
    if not is_concrete(t):
        return t
    if isinstance(t, (bool, np.bool_)) or t is None or isinstance(t, str):
        raise fail(name, "a positive finite time", repr(t))
    if np.size(t) == 0:
        raise fail(name, "at least one time", f"shape {np.shape(t)}")
    return (_validate.nonnegative if allow_zero else _validate.positive)(name, t)


def key(name, k):
    """A PRNG key (:func:`diffcourse._validate.key`); a traced key passes through."""
    if is_concrete(k):
        _validate.key(name, k)
    return k


def function(name, f):
    """A callable."""
    if not callable(f):
        raise fail(name, "a callable", _validate._describe(f))
    return f


def broadcast(**arrays):
    """Require the shapes of the named arrays to broadcast together; name the first that does not."""
    shapes = {n: np.shape(a) for n, a in arrays.items()}
    seen = ()
    for n, s in shapes.items():
        try:
            seen = np.broadcast_shapes(seen, s)
        except ValueError:
            others = ", ".join(f"{m} {shapes[m]}" for m in shapes if m != n)
            raise fail(n, f"an array whose shape broadcasts with {others}", f"shape {s}") from None
    return seen


def axis(name, a, ndim):
    """An axis index in [0, ndim)."""
    return _validate.integer(name, a, minimum=0, maximum=ndim - 1)
