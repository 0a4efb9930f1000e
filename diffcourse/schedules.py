r"""DDPM noise schedules, the forward kernel, and the bridge to McAllester's VE process.

DDPM (Ho et al. 2020, eq. 2 and 4) runs the variance-preserving chain

.. math:: q(x_t \mid x_{t-1}) = \mathcal N(\sqrt{1-\beta_t}\,x_{t-1},\ \beta_t I),\qquad
          q(x_t \mid x_0) = \mathcal N(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I),
          \qquad \bar\alpha_t = \prod_{s\le t} (1-\beta_s).

McAllester (arXiv 2301.11108) uses the variance-exploding process :math:`z(t) = y + \sqrt t\,\epsilon`.
The two are the same process seen through the *bridge* (McAllester 2023, §2)

.. math:: y = x_0,\qquad z = x_t/\sqrt{\bar\alpha_t},\qquad t_{VE} = (1-\bar\alpha_t)/\bar\alpha_t
          = 1/\mathrm{SNR},

under which eps-prediction, the denoiser :math:`E[y\mid z]` (x0-prediction) and the score convert
exactly into each other. All functions work elementwise on jnp arrays (float32 or float64).
"""

import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _boundary as b
from diffcourse import _validate as v

# ----------------------------------------------------------------------------- schedules


def linear_betas(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
    r"""The linear schedule of Ho et al. 2020 §4: :math:`\beta_t` evenly spaced from
    ``beta_start`` to ``beta_end``, for the steps :math:`k = 1..T`. Returns shape ``(T,)``."""
    T = v.positive_int("T", T)
    b.unit("beta_start", beta_start)
    b.unit("beta_end", beta_end)
    return jnp.linspace(beta_start, beta_end, T)


def cosine_alphabar(k, T: int = 1000, offset: float = 0.008):
    r"""The cosine :math:`\bar\alpha` of Nichol & Dhariwal 2021, eq. 17 (before clipping):

    .. math:: \bar\alpha_k = f(k)/f(0),\qquad f(k) = \cos^2\!\Big(\frac{k/T + o}{1+o}\,\frac\pi2\Big),

    with the paper's offset :math:`o` (its ``s`` = 0.008). ``k``: any array of step indices in
    [0, T] (also non-integer); the course keeps ``t`` for the VE time and ``s`` for the next time."""
    T = v.positive_int("T", T)
    b.positive("offset", offset)
    if v.is_concrete(k):
        kk = b.data("k", k, min_size=0)
        if not bool(jnp.all((kk >= 0) & (kk <= T))):
            raise v.fail("k", f"step indices in [0, T] = [0, {T}]", v._describe(np.asarray(kk)))
    f = lambda u: jnp.cos((u / T + offset) / (1 + offset) * jnp.pi / 2) ** 2
    return f(jnp.asarray(k, dtype=float)) / f(0.0)


def cosine_betas(T: int = 1000, offset: float = 0.008, max_beta: float = 0.999):
    r"""The cosine schedule of Nichol & Dhariwal 2021, eq. 17 and the text after it:

    .. math:: \beta_t = \min\big(1 - \bar\alpha_t/\bar\alpha_{t-1},\ \text{max\_beta}\big),
              \quad k = 1..T,

    with :math:`\bar\alpha_t` from :func:`cosine_alphabar`. The clip (0.999 in the paper) keeps the
    last step from being singular. Returns shape ``(T,)``."""
    T = v.positive_int("T", T)
    b.positive("offset", offset)
    b.unit("max_beta", max_beta)
    ab = cosine_alphabar(jnp.arange(T + 1), T, offset)
    return jnp.minimum(1.0 - ab[1:] / ab[:-1], max_beta)


def _check_betas(betas, name="betas"):
    betas = b.data(name, betas)
    v.in_open_interval(name, betas, 0.0, 1.0)
    return jnp.asarray(betas)


def alphas(betas):
    r""":math:`\alpha_t = 1 - \beta_t` (Ho et al. 2020, notation after eq. 3). Shape of ``betas``."""
    return 1.0 - _check_betas(betas)


def alphabars(betas):
    r""":math:`\bar\alpha_t = \prod_{s=1}^t \alpha_s` (Ho et al. 2020, eq. 4), a cumulative product
    along the last axis. With every :math:`\beta_t \in (0, 1)` it is strictly decreasing in (0, 1)."""
    return jnp.cumprod(alphas(betas), axis=-1)


def snr(alphabar):
    r"""Signal-to-noise ratio :math:`\mathrm{SNR} = \bar\alpha/(1-\bar\alpha)` (Kingma et al. 2021,
    VDM eq. 2); it equals :math:`1/t_{VE}`."""
    alphabar = b.data("alphabar", alphabar)
    v.in_open_interval("alphabar", alphabar, 0.0, 1.0)
    alphabar = jnp.asarray(alphabar)
    return alphabar / (1.0 - alphabar)


# ----------------------------------------------------------------------------- forward kernel


def q_step_mean_var(x_prev, beta):
    r"""Mean and variance of the DDPM forward kernel (Ho et al. 2020, eq. 2):
    :math:`q(x_t\mid x_{t-1}) = \mathcal N(\sqrt{1-\beta}\,x_{t-1}, \beta I)`.
    Returns ``(mean, var)``: mean has the shape of ``x_prev``, var the shape of ``beta``."""
    beta = _check_betas(beta)
    x_prev = b.data("x_prev", x_prev)
    b.broadcast(x_prev=x_prev, beta=beta)
    return jnp.sqrt(1.0 - beta) * x_prev, beta


def q_step(key, x_prev, beta):
    r"""One forward step :math:`x_t = \sqrt{1-\beta}\,x_{t-1} + \sqrt\beta\,\epsilon`,
    :math:`\epsilon\sim\mathcal N(0, I)` (Ho et al. 2020, eq. 2). Shape of ``x_prev``."""
    b.key("key", key)
    mean, var = q_step_mean_var(x_prev, beta)
    eps = jax.random.normal(key, jnp.shape(x_prev), dtype=jnp.result_type(mean))
    return mean + jnp.sqrt(var) * eps


def q_step_density(x, x_prev, beta):
    r"""The forward kernel as a density, elementwise in 1-D:
    :math:`q(x\mid x') = \mathcal N(x;\ \sqrt{1-\beta}\,x',\ \beta)`. Broadcasts ``x``, ``x_prev``."""
    x = b.data("x", x)
    b.broadcast(x=x, x_prev=b.data("x_prev", x_prev))
    mean, var = q_step_mean_var(x_prev, beta)
    return jnp.exp(-0.5 * (x - mean) ** 2 / var) / jnp.sqrt(2 * jnp.pi * var)


def q_step_push(x, beta, x_prev, p_prev):
    r"""Push a 1-D density through one forward step by quadrature:

    .. math:: p_{\rm new}(x) = \int q(x\mid x')\,p(x')\,dx',

    with the trapezoid rule on the grid ``x_prev`` (uniform or not) where ``p_prev`` holds
    :math:`p(x')`. ``x``: points (m,) to evaluate at; returns (m,). The trapezoid rule is spectrally
    accurate for these Gaussian integrands once the grid spacing resolves
    :math:`\sqrt{\beta/(1-\beta)}`, the width of :math:`q(x\mid\cdot)` in :math:`x'`."""
    x_prev = b.data("x_prev", x_prev, ndim=1, min_size=2)
    v.monotone("x_prev", x_prev, increasing=True)
    p_prev = b.data("p_prev", p_prev, shape=tuple(jnp.shape(x_prev)))
    v.nonnegative("p_prev", p_prev)
    _check_betas(beta)
    b.real("beta", beta)
    x = b.data("x", x)
    if v.is_concrete(x) and np.ndim(x) > 1:
        raise v.fail("x", "a point or a 1-D array of points", f"shape {np.shape(x)}")
    x = jnp.atleast_1d(jnp.asarray(x))
    kernel = q_step_density(x[:, None], x_prev[None, :], beta)
    return jnp.trapezoid(kernel * p_prev[None, :], x_prev, axis=1)


def q_sample(key, x0, alphabar):
    r""":math:`x_t = \sqrt{\bar\alpha}\,x_0 + \sqrt{1-\bar\alpha}\,\epsilon` (Ho et al. 2020, eq. 4),
    a draw from :math:`q(x_t\mid x_0)`. Shape of ``x0``."""
    b.key("key", key)
    x0 = b.data("x0", x0)
    alphabar = b.data("alphabar", alphabar)
    v.in_open_interval("alphabar", alphabar, 0.0, 1.0)
    b.broadcast(x0=x0, alphabar=alphabar)
    eps = jax.random.normal(key, jnp.shape(x0), dtype=jnp.result_type(x0, float))
    return jnp.sqrt(alphabar) * x0 + jnp.sqrt(1.0 - alphabar) * eps


def ddpm_posterior(x0, x_t, alphabar_t, alphabar_prev):
    r"""The forward-process posterior :math:`q(x_{t-1}\mid x_t, x_0) = \mathcal N(\tilde\mu, \tilde\beta)`
    (Ho et al. 2020, eq. 6-7), with :math:`\beta_t = 1 - \bar\alpha_t/\bar\alpha_{t-1}`:

    .. math:: \tilde\mu = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}x_0
              + \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}x_t,\qquad
              \tilde\beta = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t.

    ``alphabar_prev`` may be 1 (the step t = 1, where the posterior is the point x0).
    Returns ``(mean, var)``."""
    x0, x_t = b.data("x0", x0), b.data("x_t", x_t)
    alphabar_t = b.data("alphabar_t", alphabar_t)
    alphabar_prev = b.data("alphabar_prev", alphabar_prev)
    v.in_open_interval("alphabar_t", alphabar_t, 0.0, 1.0)
    v.in_open_interval("alphabar_prev", alphabar_prev, 0.0, 1.0 + 1e-12)
    b.broadcast(x0=x0, x_t=x_t, alphabar_t=alphabar_t, alphabar_prev=alphabar_prev)
    if v.is_concrete((alphabar_t, alphabar_prev)) and not bool(
        jnp.all(jnp.asarray(alphabar_t) < jnp.asarray(alphabar_prev))
    ):
        raise ValueError("alphabar_t must be smaller than alphabar_prev (alphabar decreases in t)")
    alpha_t = alphabar_t / alphabar_prev
    beta_t = 1.0 - alpha_t
    c0 = jnp.sqrt(alphabar_prev) * beta_t / (1.0 - alphabar_t)
    ct = jnp.sqrt(alpha_t) * (1.0 - alphabar_prev) / (1.0 - alphabar_t)
    return c0 * x0 + ct * x_t, (1.0 - alphabar_prev) / (1.0 - alphabar_t) * beta_t


# ----------------------------------------------------------------------------- the VP/VE bridge


def ve_time(alphabar):
    r"""McAllester's time of a DDPM step: :math:`t_{VE} = (1-\bar\alpha)/\bar\alpha = 1/\mathrm{SNR}`
    (McAllester 2023, §2). ``alphabar`` in (0, 1]; returns t >= 0."""
    alphabar = b.data("alphabar", alphabar)
    v.in_open_interval("alphabar", alphabar, 0.0, 1.0 + 1e-12)
    alphabar = jnp.asarray(alphabar)
    return (1.0 - alphabar) / alphabar


def alphabar_from_ve_time(t):
    r"""Inverse of :func:`ve_time`: :math:`\bar\alpha = 1/(1+t)`, ``t >= 0``."""
    t = b.data("t", t)
    v.nonnegative("t", t)
    return 1.0 / (1.0 + jnp.asarray(t))


def _vp(x, name, alphabar):
    """A state and an alphabar in (0, 1] whose shapes broadcast."""
    x, alphabar = b.data(name, x), b.data("alphabar", alphabar)
    v.in_open_interval("alphabar", alphabar, 0.0, 1.0 + 1e-12)
    b.broadcast(**{name: x, "alphabar": alphabar})
    return x, alphabar


def _ve(a, a_name, z, t):
    """A prediction, a state and VE times t > 0 whose shapes broadcast."""
    a, t = b.data(a_name, a), b.data("t", t)
    z = b.data("z", z)
    v.positive("t", t)
    b.broadcast(**{a_name: a, "z": z, "t": t})
    return a, z, t


def x_to_z(x, alphabar):
    r"""DDPM state to VE state: :math:`z = x_t/\sqrt{\bar\alpha_t}` (McAllester 2023, §2)."""
    x, alphabar = _vp(x, "x", alphabar)
    return x / jnp.sqrt(alphabar)


def z_to_x(z, alphabar):
    r"""VE state to DDPM state: :math:`x_t = \sqrt{\bar\alpha_t}\,z`."""
    z, alphabar = _vp(z, "z", alphabar)
    return jnp.sqrt(alphabar) * z


# In VE time t (z = y + sqrt(t) eps), for a prediction of eps, of y = E[y|z] and of the score:


def eps_to_denoiser(eps, z, t):
    r""":math:`E[y\mid z] = z - \sqrt t\,\hat\epsilon` (McAllester 2023, §2)."""
    eps, z, t = _ve(eps, "eps", z, t)
    return z - jnp.sqrt(t) * eps


def denoiser_to_eps(yhat, z, t):
    r""":math:`\hat\epsilon = (z - E[y\mid z])/\sqrt t` (McAllester 2023, §2)."""
    yhat, z, t = _ve(yhat, "yhat", z, t)
    return (z - yhat) / jnp.sqrt(t)


def denoiser_to_score(yhat, z, t):
    r"""Tweedie's formula in McAllester's variance-exploding form: :math:`\nabla_z \ln p_t(z) = (E[y\mid z] - z)/t`."""
    yhat, z, t = _ve(yhat, "yhat", z, t)
    return (yhat - z) / t


def score_to_denoiser(score, z, t):
    r"""Tweedie's formula (Robbins 1956, Efron 2011): :math:`E[y\mid z] = z + t\,\nabla_z\ln p_t(z)`."""
    score, z, t = _ve(score, "score", z, t)
    return z + t * score


def _eps_of_denoiser(denoiser, x, alphabar):
    if v.is_concrete(alphabar):
        alphabar = b.data("alphabar", alphabar)
        v.in_open_interval("alphabar", alphabar, 0.0, 1.0)
    z, t = x_to_z(x, alphabar), ve_time(alphabar)
    return denoiser_to_eps(denoiser(z, t), z, t)


def eps_model_from_denoiser(denoiser):
    r"""A DDPM :math:`\epsilon`-prediction from a VE denoiser, through the bridge (McAllester 2023, §2):

    .. math:: \hat\epsilon(x_t, \bar\alpha) = \frac{z - D(z, t)}{\sqrt t},\qquad
              z = \frac{x_t}{\sqrt{\bar\alpha}},\quad t = \frac{1-\bar\alpha}{\bar\alpha}

    (:func:`x_to_z`, :func:`ve_time`, :func:`denoiser_to_eps`). Since
    :math:`\epsilon = (z-y)/\sqrt t`, the exact denoiser :math:`D = E[y\mid z(t)]` gives the exact
    :math:`E[\epsilon\mid x_t]`, the minimiser of Ho et al. 2020's :math:`L_\text{simple}` (eq. 14).
    ``denoiser(z, t) -> (d,)``, one sample; returns ``eps_model(x_t, alphabar) -> (d,)``, the form
    :func:`diffcourse.elbo.ddpm_elbo` takes, with ``alphabar`` in (0, 1) (at 1 the VE time is 0
    and :math:`\hat\epsilon` is undefined). The result is a ``jax.tree_util.Partial``, a pytree, so
    ``eqx.filter_jit`` compiles once per population structure."""
    b.function("denoiser", denoiser)
    return jax.tree_util.Partial(_eps_of_denoiser, denoiser)


# ----------------------------------------------------------------------- schedules as clocks

# A schedule in continuous time is a clock u in [0, 1] and the VE time t(u) it visits:
# Song et al. 2021's continuous linear schedule (App. B: beta(u) = b0 + (b1 - b0) u, so
# alphabar(u) = exp(-b0 u - (b1 - b0) u^2 / 2)) and Nichol & Dhariwal 2021's cosine (eq. 17).
_LINEAR_B0, _LINEAR_B1, _COSINE_OFFSET = 0.1, 20.0, 0.008
_F0 = np.cos(_COSINE_OFFSET / (1 + _COSINE_OFFSET) * np.pi / 2) ** 2
_CLOCKS = {  # name -> (t(u), u(t)), numpy
    "linear": (
        lambda u: np.expm1(_LINEAR_B0 * u + 0.5 * (_LINEAR_B1 - _LINEAR_B0) * u**2),
        lambda t: (
            (np.sqrt(_LINEAR_B0**2 + 2 * (_LINEAR_B1 - _LINEAR_B0) * np.log1p(t)) - _LINEAR_B0)
            / (_LINEAR_B1 - _LINEAR_B0)
        ),
    ),
    "cosine": (
        lambda u: _F0 / np.cos((u + _COSINE_OFFSET) / (1 + _COSINE_OFFSET) * np.pi / 2) ** 2 - 1,
        lambda t: (
            (1 + _COSINE_OFFSET) * 2 / np.pi * np.arccos(np.sqrt(_F0 / (1 + t))) - _COSINE_OFFSET
        ),
    ),
}


def clock_grid(schedule: str, n: int, t_min, t_max) -> np.ndarray:
    r"""``n`` VE times from ``t_min`` to ``t_max``, evenly spaced in the clock :math:`u` of a
    continuous ``schedule``: ``"linear"`` (Song et al. 2021, App. B,
    :math:`\bar\alpha(u) = e^{-0.1u - 9.95u^2}`) or ``"cosine"`` (Nichol & Dhariwal 2021, eq. 17,
    :math:`\bar\alpha(u) = f(u)/f(0)`, :math:`f(u) = \cos^2(\frac{u + 0.008}{1.008}\frac\pi2)`);
    :math:`t = (1-\bar\alpha)/\bar\alpha`. Two schedules with the same ``t_min``, ``t_max`` have
    the same end points and visit different times in between (notebook 06, Kingma et al. 2021 §5)."""
    v.choice("schedule", schedule, tuple(_CLOCKS))
    n = v.integer("n", n, minimum=2)
    t_min = v.real("t_min", t_min, low=0.0, low_open=True)
    t_max = v.real("t_max", t_max, low=t_min, low_open=True)
    t_of_u, u_of_t = _CLOCKS[schedule]
    return t_of_u(np.linspace(u_of_t(t_min), u_of_t(t_max), n))


def betas_from_ve_times(ts):
    r"""The DDPM betas whose steps visit the VE times ``ts`` (strictly increasing, positive):
    :math:`\bar\alpha_k = 1/(1+t_k)`, :math:`\bar\alpha_0 = 1`,
    :math:`\beta_k = 1 - \bar\alpha_k/\bar\alpha_{k-1}` (the inverse of :func:`alphabars`)."""
    ts = b.data("ts", ts, ndim=1)
    v.monotone("ts", ts, increasing=True)
    v.positive("ts", ts)
    ab = alphabar_from_ve_time(ts)
    return 1 - ab / jnp.concatenate([jnp.ones(1, ab.dtype), ab[:-1]])
