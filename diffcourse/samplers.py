r"""The course's one reverse-time sampler: step rules, time grids, and the settings table.

Everything here is written for **one sample** in the course's VE coordinates
:math:`z = y + \sqrt t\,\epsilon`, with a denoiser :math:`D(z, t, c)\approx E[y\mid z(t)=z, c]`
(``c`` omitted for an unconditional model), and lifted to a batch with ``jax.vmap`` over
(key, :math:`z_T`, condition). The reverse family (McAllester, arXiv 2301.11108, the consistent
:math:`\lambda` family; Song et al. 2021 "score SDE" eq. 6 and 13) is

.. math:: dz = -\frac{1+\lambda^2}{2}\,\frac{D(z,t)-z}{t}\,dt + \lambda\,d\bar W,\qquad dt<0,

and three small step rules walk it from :math:`t` to :math:`s < t` (noise :math:`\xi\sim N(0,I)`):

- :func:`euler`: Euler–Maruyama in :math:`t`, any :math:`\lambda` (order 1 for the ODE, strong
  order 1/2 with noise);
- :func:`ddim`: the generalised DDIM step in :math:`\sigma = \sqrt t` (Song, Meng & Ermon 2021,
  eq. 12, divided by :math:`\sqrt{\bar\alpha_s}`), with noise level :math:`\lambda` = DDIM's
  :math:`\eta`; exact when :math:`D` is constant (a one-point population), and equal to the
  :math:`\lambda` Euler–Maruyama step to first order in the step;
- :func:`heun`: Heun's method in :math:`\sigma` for :math:`\lambda = 0` (Karras et al. 2022, Alg. 1),
  order 2.

The settings table (smalldiffusion-style: one sampler, named settings):

=============  =========  ===================  ====================  =================================
setting        step       :math:`\lambda`      grid                  known as
=============  =========  ===================  ====================  =================================
``ddpm``       ddim       1                    every DDPM step       Ho et al. 2020 Alg. 2 with
                                                                     :math:`\sigma_t^2=\tilde\beta_t`
``ddim``       ddim       0                    DDPM subsequence      Song et al. 2021 eq. 12, eta = 0
``ddim-eta``   ddim       eta                  DDPM subsequence      DDIM with eta (= lam) in (0, 1]
``sde``        euler      any                  geometric in t        the lam family of notebook 05;
                                                                     lam = 1 is Anderson's reversal
``ode-euler``  euler      0                    geometric in t        probability-flow ODE, Euler in t
``ode``        heun       0                    Karras (rho = 7)      EDM's deterministic sampler
=============  =========  ===================  ====================  =================================

Grids (:func:`geometric_grid`, :func:`ddpm_grid`, :func:`karras_grid`) always return VE times,
decreasing; the sampler evaluates :math:`D` at every time but the last, which may be 0.
"""

import inspect
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _boundary, _validate, schedules
from diffcourse.reverse import drift_coefficient

# ------------------------------------------------------------------------------- step rules


def _check_step(D, z, t, s, lam, xi, *, heun_step=False):
    """A step rule's arguments, when called with concrete values (inside the sampler's scan they
    are traced and pass unchecked)."""
    _boundary.function("D", D)
    _boundary.data("z", z)
    _boundary.positive("t", t)
    _boundary.nonnegative("s", s)
    if _validate.is_concrete((t, s)) and not heun_step and not float(s) < float(t):
        raise _validate.fail("s", f"a time below t = {float(t):g}", repr(float(s)))
    _boundary.nonnegative("lam", lam)
    if not heun_step:
        _boundary.data("xi", xi, shape=np.shape(z))


def euler(D, z, t, s, lam, xi):
    r"""Euler–Maruyama in :math:`t` of the :math:`\lambda` family, from :math:`t` to :math:`s<t`:

    .. math:: z_s = z_t + \frac{1+\lambda^2}{2}\,\frac{D(z_t,t)-z_t}{t}\,(t-s) + \lambda\sqrt{t-s}\;\xi.

    Order 1 for the ODE (:math:`\lambda = 0`); McAllester's denoiser step M4 is :math:`\lambda = 1`.
    """
    _check_step(D, z, t, s, lam, xi)
    h = t - s
    return z + drift_coefficient(lam) * (D(z, t) - z) / t * h + lam * jnp.sqrt(h) * xi


def ddim(D, z, t, s, lam, xi):
    r"""The generalised DDIM step in :math:`\sigma=\sqrt t` with noise level :math:`\lambda` (= DDIM's :math:`\eta`):

    .. math:: \hat y = D(z_t, t),\quad \hat\epsilon = \frac{z_t-\hat y}{\sqrt t},\quad
              v = \lambda^2\,\frac{s\,(t-s)}{t},\quad
              z_s = \hat y + \sqrt{s - v}\;\hat\epsilon + \sqrt v\;\xi

    (Song, Meng & Ermon 2021, eq. 12 and 16, divided by :math:`\sqrt{\bar\alpha_s}`: through the
    bridge :math:`z = x/\sqrt{\bar\alpha}`, :math:`\sigma_t(\eta)^2/\bar\alpha_{t-1} = v`). With
    :math:`\lambda = 1` it is Ho et al.'s ancestral step with :math:`\sigma_t^2 = \tilde\beta_t`.
    Exact when :math:`D` is constant; :math:`s = 0` returns :math:`\hat y`. (:math:`v` is capped
    at :math:`s` for :math:`\lambda > 1`.)
    """
    _check_step(D, z, t, s, lam, xi)
    yhat = D(z, t)
    v = jnp.minimum(lam**2 * s * (t - s) / t, s)
    return yhat + jnp.sqrt(s - v) * (z - yhat) / jnp.sqrt(t) + jnp.sqrt(v) * xi


def heun(D, z, t, s, lam, xi):
    r"""Heun's method in :math:`\sigma = \sqrt t` for the probability-flow ODE (:math:`\lambda = 0`):

    .. math:: \frac{dz}{d\sigma} = \frac{z - D(z,\sigma^2)}{\sigma},\qquad
              z_s = z_t + (\sigma_s-\sigma_t)\,\tfrac12\big(d(z_t,t) + d(\tilde z_s, s)\big),

    with the Euler predictor :math:`\tilde z_s`; the last step (:math:`s = 0`) is the Euler step,
    which returns :math:`D(z_t, t)` (Karras et al. 2022, Alg. 1), so N steps cost 2N - 1
    evaluations of ``D``: the corrector is a ``lax.cond`` branch, not computed and discarded (the
    grid is shared by the samples, so the branch stays a branch under ``vmap``). Order 2. Also
    runs forward (:math:`s > t`). ``lam`` and ``xi`` are unused.
    """
    _check_step(D, z, t, s, 0.0, None, heun_step=True)
    del lam, xi
    slope = lambda z, t: (z - D(z, t)) / jnp.sqrt(t)
    d = slope(z, t)
    h = jnp.sqrt(s) - jnp.sqrt(t)
    z_euler = z + h * d
    corrected = lambda: (z + h * 0.5 * (d + slope(z_euler, s))).astype(z_euler.dtype)
    return jax.lax.cond(s > 0, corrected, lambda: z_euler)


STEPS = {"euler": euler, "ddim": ddim, "heun": heun}
ORDER = {"euler": 1, "ddim": 1, "heun": 2}  # deterministic (lam = 0) order; tests/test_samplers.py

# ------------------------------------------------------------------------------------ grids


def geometric_grid(t_max, t_min, n_steps: int):
    r""":math:`t_k = t_{\max}(t_{\min}/t_{\max})^{k/n}`, k = 0..n (``n_steps + 1`` times, decreasing).

    Every step has the same ratio :math:`\Delta t/t`: the score of a finite population grows like
    :math:`1/t`, and :math:`\ln t` is the clock in which a diffusion's error is spread evenly.
    """
    _boundary.positive("t_min", t_min)
    _boundary.positive("t_max", t_max)
    n_steps = _validate.positive_int("n_steps", n_steps)
    if not t_max > t_min:
        raise ValueError(f"t_max must be larger than t_min; got t_max={t_max}, t_min={t_min}")
    return np.geomspace(t_max, t_min, n_steps + 1)


def ddpm_grid(alphabars, n_steps: int, t_max=None):
    r"""VE times of ``n_steps`` DDPM steps, then 0: DDIM's evenly spaced index subsequence
    (Song et al. 2021 §4.2), mapped by :math:`t = (1-\bar\alpha)/\bar\alpha` (:func:`schedules.ve_time`).

    ``alphabars``: :math:`\bar\alpha_1 > \dots > \bar\alpha_T`, shape (T,). ``t_max``: keep only the
    steps with :math:`t \le t_{\max}` (a model's training range; the cosine schedule's last steps
    reach :math:`t = 4\cdot10^8`). ``n_steps = T`` is every step (DDPM ancestral). Returns numpy
    (n_steps + 1,), decreasing.
    """
    ab = np.asarray(_boundary.data("alphabars", alphabars, ndim=1, finite=True), np.float64)
    if ab.ndim != 1 or len(ab) < 1:
        raise ValueError(f"alphabars must be a 1-D schedule; got shape {ab.shape}")
    if not np.all((ab > 0) & (ab <= 1)):
        raise _validate.fail("alphabars", "in (0, 1]", _validate._describe(ab))
    if not np.all(np.diff(ab) <= 0):
        raise _validate.fail("alphabars", "decreasing (alphabar_1 > ... > alphabar_T)", ab[:4])
    t_all = np.asarray(schedules.ve_time(ab), dtype=np.float64)
    if t_max is not None:
        _boundary.positive("t_max", t_max)
        t_all = t_all[t_all <= t_max]
        if len(t_all) == 0:
            raise ValueError(f"t_max={t_max} is below every time of the schedule")
    n_steps = _validate.positive_int("n_steps", n_steps)
    if n_steps > len(t_all):
        raise ValueError(f"n_steps must be at most the number of steps {len(t_all)}; got {n_steps}")
    idx = np.unique(np.round(np.linspace(0, len(t_all) - 1, n_steps)).astype(int))[::-1]
    return np.append(t_all[idx], 0.0)


def karras_grid(n_steps: int, t_min=0.002**2, t_max=80.0**2, rho: float = 7.0):
    r"""Karras et al. 2022's grid (eq. 5) in VE time, then 0:

    .. math:: \sigma_i = \big(\sigma_{\max}^{1/\rho} + \tfrac{i}{n-1}(\sigma_{\min}^{1/\rho}-\sigma_{\max}^{1/\rho})\big)^\rho,
              \quad t_i = \sigma_i^2,\ i = 0..n-1,\quad t_n = 0,

    dense at small :math:`\sigma`, where the ODE's solution bends (``t_min``, ``t_max`` are
    :math:`\sigma_{\min}^2, \sigma_{\max}^2`). Returns numpy (n_steps + 1,), decreasing.
    """
    n_steps = _validate.positive_int("n_steps", n_steps)
    _boundary.positive("t_min", t_min)
    _boundary.positive("t_max", t_max)
    _boundary.positive("rho", rho)
    if not t_max > t_min:
        raise ValueError(f"t_max must exceed t_min={t_min}; got {t_max}")
    i = np.arange(n_steps) / max(n_steps - 1, 1)
    a, b = t_max ** (0.5 / rho), t_min ** (0.5 / rho)
    return np.append((a + i * (b - a)) ** (2 * rho), 0.0)


def check_grid(ts, *, increasing=False):
    """A time grid for the sampler: >= 2 finite times, strictly monotone, positive but the last (>= 0)."""
    _validate.flag("increasing", increasing)
    ts = np.asarray(_boundary.data("ts", ts, min_size=0), dtype=np.float64)
    if ts.ndim != 1 or len(ts) < 2 or not np.all(np.isfinite(ts)):
        raise ValueError(f"ts must be a 1-D array of at least 2 finite times; got shape {ts.shape}")
    order = ts if increasing else ts[::-1]
    if not np.all(np.diff(order) > 0):
        kind = "increasing" if increasing else "decreasing"
        raise ValueError(f"ts must be strictly {kind}; got {ts[:4]}...")
    inner = ts[1:] if increasing else ts[:-1]
    if not (np.all(inner > 0) and ts.min() >= 0):
        raise ValueError(f"ts must be positive (only the end time may be 0); got min {ts.min()}")
    return ts


# -------------------------------------------------------------------------------- the sampler


class Setting(NamedTuple):
    """A named setting of the one sampler: its step rule, noise level and grid kind."""

    step: Callable
    lam: float
    grid: str


SETTINGS = {
    "ddpm": Setting(ddim, 1.0, "ddpm-all"),
    "ddim": Setting(ddim, 0.0, "ddpm"),
    "ddim-eta": Setting(ddim, None, "ddpm"),
    "sde": Setting(euler, None, "geometric"),
    "ode-euler": Setting(euler, 0.0, "geometric"),
    "ode": Setting(heun, 0.0, "karras"),
}


def takes_condition(denoiser) -> bool:
    """Whether ``denoiser`` accepts a condition: ``D(z, t, c)`` (a ``conditional`` attribute wins)."""
    _boundary.function("denoiser", denoiser)
    flag = getattr(denoiser, "conditional", None)
    if flag is not None:
        return bool(flag)
    try:
        inspect.signature(denoiser).bind(None, None, None)
    except TypeError:
        return False
    except ValueError:  # no signature to read: trust the caller
        return True
    return True


def _one(key, denoiser, z_T, ts, lam, step, c, return_path):
    r"""One reverse path of one sample: a ``lax.scan`` of ``step`` over the pairs :math:`(t_k, t_{k+1})`."""
    D = (lambda z, t: denoiser(z, t)) if c is None else (lambda z, t: denoiser(z, t, c))
    xis = jax.random.normal(key, (ts.shape[0] - 1, *z_T.shape), z_T.dtype)

    def body(z, inputs):
        t, s, xi = inputs
        z = step(D, z, t, s, lam, xi).astype(z.dtype)  # the carry keeps z_T's dtype
        return z, (z if return_path else None)

    z, path = jax.lax.scan(body, z_T, (ts[:-1], ts[1:], xis))
    return jnp.concatenate([z_T[None], path]) if return_path else z


@eqx.filter_jit
def _run(keys, denoiser, z_T, ts, lam, step, c, return_path):
    one = lambda k, z, c: _one(k, denoiser, z, ts, lam, step, c, return_path)
    out = jax.vmap(one, in_axes=(0, 0, None if c is None else 0))(keys, z_T, c)
    return jnp.moveaxis(out, 1, 0) if return_path else out


def _check_lam(lam, step):
    _boundary.nonnegative("lam", lam)
    if step is heun and float(lam) != 0.0:
        raise ValueError(f"the heun step is for the ODE, lam = 0; got lam={lam}")
    return float(lam)


def _check_condition(denoiser, c, n):
    if c is None:
        return None
    if not takes_condition(denoiser):
        raise ValueError("c was given but the denoiser is unconditional (it takes D(z, t) only)")
    leaves = jax.tree_util.tree_leaves(c)
    if not leaves or any(np.shape(a)[:1] != (n,) for a in leaves):
        shapes = [np.shape(a) for a in leaves]
        raise ValueError(
            f"c must have a leading axis of length n={n} (one per sample); got {shapes}"
        )
    return jax.tree.map(jnp.asarray, c)


def _float_start(x, name):
    """The start of a run: numbers in a batch; an int or bool array is refused (its dtype would
    fix the dtype of every time), a list is read as floats."""
    if isinstance(x, (jax.Array, np.ndarray)) and x.dtype.kind in "biu":
        raise ValueError(f"{name} must be a floating-point array; got dtype {x.dtype}")
    return jnp.asarray(_boundary.data(name, x, min_size=0))


def sample(key, denoiser, z_T, ts, *, step=ddim, lam=0.0, c=None, return_path=False):
    r"""Run the reverse family down the grid ``ts`` from the draws ``z_T`` (n, ...): the one sampler.

    For each sample :math:`i`, :math:`z \leftarrow \text{step}(D, z, t_k, t_{k+1}, \lambda, \xi_{ik})`
    for :math:`k = 0..K-1` (the step rules and settings in the module docstring), vmapped over
    (per-sample keys split from ``key``, ``z_T``, ``c``). ``denoiser(z, t)`` or ``denoiser(z, t, c)``
    for one sample; ``ts``: VE times, strictly decreasing, positive but the last (:func:`check_grid`);
    ``lam >= 0`` (0 for :func:`heun`); ``c``: None, or a pytree with leading axis n (one condition
    per sample, e.g. class labels). Returns (n, ...), or the path (len(ts), n, ...).
    """
    _boundary.key("key", key)
    _boundary.function("denoiser", denoiser)
    return_path = _validate.flag("return_path", return_path)
    z_T = _float_start(z_T, "z_T")
    if z_T.ndim < 2 or z_T.shape[0] < 1:
        raise ValueError(f"z_T must be a batch of shape (n, ...) with n >= 1; got {z_T.shape}")
    if not jnp.issubdtype(z_T.dtype, jnp.floating):
        raise ValueError(f"z_T must be a floating-point array; got dtype {z_T.dtype}")
    if step not in STEPS.values():
        raise ValueError(f"step must be one of samplers.{tuple(STEPS)}; got {step!r}")
    ts = jnp.asarray(check_grid(ts), z_T.dtype)
    lam = _check_lam(lam, step)
    c = _check_condition(denoiser, c, z_T.shape[0])
    keys = jax.random.split(key, z_T.shape[0])
    return _run(keys, denoiser, z_T, ts, jnp.asarray(lam, z_T.dtype), step, c, bool(return_path))


def ode_forward(denoiser, z0, ts, *, c=None, return_path=False):
    r"""The probability-flow ODE run **forward** in t with :func:`heun` (the inverse of
    ``sample(step=heun)``): samples of :math:`p_{t_0}` to samples of :math:`p_{t_{\rm end}}`,
    deterministically. ``ts``: strictly increasing, positive. Returns (n, ...) or the path."""
    _boundary.function("denoiser", denoiser)
    return_path = _validate.flag("return_path", return_path)
    z0 = _float_start(z0, "z0")
    if z0.ndim < 2 or z0.shape[0] < 1:
        raise ValueError(f"z0 must be a batch of shape (n, ...) with n >= 1; got {z0.shape}")
    ts = check_grid(ts, increasing=True)
    if ts[0] <= 0:
        raise ValueError(f"ts must start at a positive time for the forward ODE; got {ts[0]}")
    c = _check_condition(denoiser, c, z0.shape[0])
    keys = jax.random.split(jax.random.key(0), z0.shape[0])  # heun draws no noise
    ts = jnp.asarray(ts, z0.dtype)
    return _run(keys, denoiser, z0, ts, jnp.zeros((), z0.dtype), heun, c, bool(return_path))


def _setting_grid(kind, n_steps, alphabars, t_range):
    lo, hi = t_range
    if kind in ("ddpm", "ddpm-all"):
        if alphabars is None:
            raise ValueError("a DDPM setting needs the schedule (alphabars)")
        if kind == "ddpm-all":  # every step of the schedule inside the range
            n_steps = int(np.sum(np.asarray(schedules.ve_time(np.asarray(alphabars))) <= hi))
        return ddpm_grid(alphabars, n_steps, None if np.isinf(hi) else hi)
    if kind == "karras":
        return karras_grid(n_steps, lo, hi)
    return np.append(geometric_grid(hi, lo, max(n_steps - 1, 1)), 0.0)


def settings_grid(name, n_steps, *, alphabars=None, t_range=None, strict=False):
    r"""The grid a named setting is meant for (module table), kept inside a model's training range.

    ``t_range``: (t_min, t_max) the model was trained on, or None (then EDM's default range
    :math:`\sigma\in[0.002, 80]` bounds the Karras and geometric grids, and the DDPM grids use the
    whole schedule). Returns ``(ts, note)``: ``note`` says, when the setting's default grid would
    leave the range, where the kept grid starts instead ("" otherwise); ``strict=True`` raises then.
    """
    if not isinstance(name, str) or name not in SETTINGS:
        raise ValueError(f"setting must be one of {tuple(SETTINGS)}; got {name!r}")
    n_steps = _validate.positive_int("n_steps", n_steps)
    strict = _validate.flag("strict", strict)
    if alphabars is not None:
        _boundary.data("alphabars", alphabars, ndim=1, finite=True)
    kind = SETTINGS[name].grid
    default = _setting_grid(
        kind, n_steps, alphabars, (0.002**2, np.inf if "ddpm" in kind else 80.0**2)
    )
    if t_range is None:
        return default, ""
    if not (hasattr(t_range, "__len__") and len(t_range) == 2):
        raise _validate.fail("t_range", "a pair (t_min, t_max)", repr(t_range))
    lo = _boundary.positive("t_range[0] (t_min)", t_range[0])
    hi = _boundary.positive("t_range[1] (t_max)", t_range[1])
    lo, hi = float(lo), float(hi)
    if not 0 < lo < hi:
        raise ValueError(f"t_range must be (t_min, t_max) with 0 < t_min < t_max; got {t_range}")
    if default[0] <= hi * (1 + 1e-9):
        return default, ""
    if strict:
        raise ValueError(
            f"the {name!r} grid starts at t = {default[0]:.6g}, above the model's training range t <= {hi:.6g}"
        )
    ts = _setting_grid(kind, n_steps, alphabars, (lo, hi))
    return (
        ts,
        f"grid kept to the model's training range: starts at t = {ts[0]:.3g}, not {default[0]:.3g}",
    )
