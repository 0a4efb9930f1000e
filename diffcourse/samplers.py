r"""Samplers for image DDPMs: ancestral (the lam family in DDPM discretisation), DDIM, and the ODE.

All samplers read a *denoiser* ``denoiser(z, t) -> E[y | z(t) = z]`` for one sample, in the
course's VE coordinates (``z = y + sqrt(t) eps``), and walk a decreasing grid of VE times
``ts = (t_0 > t_1 > ... > t_n = 0)``. Through the bridge (MCALLESTER.md §2)
:math:`z = x/\sqrt{\bar\alpha}`, :math:`t = (1-\bar\alpha)/\bar\alpha`, a grid of DDPM
:math:`\bar\alpha`'s is a grid of VE times (:func:`ve_grid`), and every sampler here *is* the DDPM
update written in z. One step from t to s < t, with :math:`\hat y = D(z,t)`,
:math:`\hat\epsilon = (z-\hat y)/\sqrt t`:

.. math:: z_s = \hat y + \sqrt{s - \sigma^2}\,\hat\epsilon + \sigma\,\xi,\qquad
          \sigma^2 = \eta^2\,\frac{s(t-s)}{t},\quad \xi\sim\mathcal N(0, I).

This is DDIM's generalised step (Song et al. 2021, "DDIM", eq. 12 and 16) divided by
:math:`\sqrt{\bar\alpha_s}`. The table of settings (smalldiffusion-style, one sampler):

=====================  ===============================  ==================================
sampler                setting                          continuous limit
=====================  ===============================  ==================================
DDPM ancestral         every step of the schedule, eta=1  reverse SDE, lam = 1 (M12)
DDIM                   a subsequence, eta = 0            probability-flow ODE, Euler in sqrt(t)
DDIM with eta          a subsequence, 0 < eta            reverse SDE with lam = eta
:func:`ode`            Heun in sqrt(t) (EDM Alg. 1)      probability-flow ODE (lam = 0, M10)
=====================  ===============================  ==================================

With eta = 1 the step is exactly DDPM's ancestral step: mean :math:`\hat y + \tfrac st(z-\hat y)`,
variance :math:`s(t-s)/t`, i.e. :math:`q(x_{s}\mid x_t, x_0=\hat y)` (Ho et al. 2020 eq. 6-7) in z.
For small :math:`t-s` the noise variance is :math:`\eta^2 (t-s)`, the reverse SDE's
:math:`\lambda^2\,dt`: eta is the course's lam in DDPM discretisation.

Inputs and outputs are on the DDPM scale: ``x_T`` (n, ...) ~ N(0, I) is scaled to
:math:`z = x_T\sqrt{1+t_0}`; the result is :math:`x_0 = z_{t_n=0}`. With ``return_path=True``
samplers return every state on the DDPM scale, :math:`x = z/\sqrt{1+t}`, shape (n_steps+1, n, ...).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _validate


def ve_grid(alphabars, n_steps: int):
    r"""VE times of ``n_steps`` DDPM steps: an evenly spaced subsequence of the schedule, then 0.

    ``alphabars``: the schedule's :math:`\bar\alpha_1 > ... > \bar\alpha_T`, shape (T,). DDIM's
    "uniform" subsequence :math:`\tau_i` (Song et al. 2021 §4.2) of indices from T down to 1, mapped
    by :math:`t = (1-\bar\alpha)/\bar\alpha`; a final 0 (:math:`\bar\alpha_0 = 1`) is appended.
    ``n_steps = T`` gives every step (DDPM ancestral). Returns numpy (n_steps + 1,), decreasing.
    """
    ab = np.asarray(alphabars, dtype=np.float64)
    n_steps = _validate.positive_int("n_steps", n_steps)
    if ab.ndim != 1 or n_steps > len(ab):
        raise ValueError(f"n_steps must be at most the schedule length {len(ab)}; got {n_steps}")
    idx = np.unique(np.round(np.linspace(0, len(ab) - 1, n_steps)).astype(int))[::-1]
    return np.append((1.0 - ab[idx]) / ab[idx], 0.0)


def edm_grid(n_steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0):
    r"""VE times of Karras et al. 2022's grid (eq. 5), then 0: the grid Heun's method is made for.

    .. math:: \sigma_i = \big(\sigma_{\max}^{1/\rho} + \tfrac{i}{n-1}(\sigma_{\min}^{1/\rho}-\sigma_{\max}^{1/\rho})\big)^\rho,
              \quad t_i = \sigma_i^2,\ i = 0..n-1,\quad t_n = 0.

    Dense at small :math:`\sigma`, where the ODE's solution bends. Returns numpy (n_steps + 1,).
    """
    n_steps = _validate.positive_int("n_steps", n_steps)
    _validate.positive("sigma_min", sigma_min)
    if not sigma_max > sigma_min:
        raise ValueError(f"sigma_max must exceed sigma_min={sigma_min}; got {sigma_max}")
    i = np.arange(n_steps) / max(n_steps - 1, 1)
    sigma = (sigma_max ** (1 / rho) + i * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return np.append(sigma**2, 0.0)


def _check_ts(ts):
    ts = np.asarray(ts, dtype=np.float64)
    _validate.monotone("ts", ts, increasing=False)
    if ts[-1] != 0.0 or ts[-2] <= 0.0:
        raise ValueError(f"ts must decrease to a final 0 from positive times; got ..., {ts[-2:]}")
    return ts


def _denoise(denoiser, z, t):
    return jax.vmap(denoiser, in_axes=(0, None))(z, t)


def _step(denoiser, z, t, s, eta, xi):
    """One generalised DDIM step from VE time t to s < t (formula in the module docstring)."""
    yhat = _denoise(denoiser, z, t)
    eps = (z - yhat) / jnp.sqrt(t)
    var = eta**2 * s * (t - s) / t
    return yhat + jnp.sqrt(jnp.maximum(s - var, 0.0)) * eps + jnp.sqrt(var) * xi


@eqx.filter_jit
def _run_generalised(key, denoiser, x_T, ts, eta, return_path):
    z = x_T * jnp.sqrt(1.0 + ts[0])
    xis = jax.random.normal(key, (len(ts) - 1, *x_T.shape), x_T.dtype)

    def body(z, inputs):
        t, s, xi = inputs
        z = _step(denoiser, z, t, s, eta, xi)
        return z, (z / jnp.sqrt(1.0 + s) if return_path else None)

    z, path = jax.lax.scan(body, z, (ts[:-1], ts[1:], xis))
    if return_path:
        return jnp.concatenate([x_T[None], path])
    return z


def generalised(key, denoiser, x_T, ts, *, eta, return_path=False):
    """The one sampler: generalised DDIM steps along ``ts`` with noise level ``eta`` (= lam).

    ``denoiser(z, t)``: one sample; ``x_T`` (n, ...): draws of N(0, I); ``ts``: VE times decreasing
    to 0 (see :func:`ve_grid`). Returns x_0 (n, ...) or, with ``return_path``, (len(ts), n, ...).
    """
    ts = _check_ts(ts)
    _validate.nonnegative("eta", eta)
    x_T = jnp.asarray(x_T)
    ts = jnp.asarray(ts, x_T.dtype)
    return _run_generalised(key, denoiser, x_T, ts, jnp.asarray(eta, x_T.dtype), bool(return_path))


def ddpm(key, denoiser, x_T, alphabars, *, lam=1.0, return_path=False):
    r"""DDPM ancestral sampling (Ho et al. 2020, Alg. 2) over every step of the schedule.

    ``lam = 1`` (default) is Ho et al.'s sampler with :math:`\sigma_t^2=\tilde\beta_t`;
    other ``lam`` give the reverse family of MCALLESTER M12 in this discretisation
    (``lam = 0`` is DDIM on the full grid). ``alphabars`` (T,): :math:`\bar\alpha_1..\bar\alpha_T`.
    """
    ts = ve_grid(alphabars, len(alphabars))
    return generalised(key, denoiser, x_T, ts, eta=lam, return_path=return_path)


def ddim(key, denoiser, x_T, alphabars, n_steps: int, *, eta=0.0, return_path=False):
    """DDIM (Song et al. 2021, eq. 12) on ``n_steps`` evenly spaced steps of the schedule.

    ``eta = 0``: deterministic (the key is unused); ``eta = 1``: ancestral on the subsequence.
    """
    ts = ve_grid(alphabars, n_steps)
    return generalised(key, denoiser, x_T, ts, eta=eta, return_path=return_path)


@eqx.filter_jit
def _run_heun(denoiser, x_T, ts, return_path):
    sigma = jnp.sqrt(ts)
    z = x_T * jnp.sqrt(1.0 + ts[0])

    def slope(z, t):  # dz/dsigma = eps_hat = (z - D(z, t)) / sigma  (M10 in sigma = sqrt(t))
        return (z - _denoise(denoiser, z, t)) / jnp.sqrt(t)

    def body(z, inputs):
        t, s, sig_t, sig_s = inputs
        d = slope(z, t)
        z_euler = z + (sig_s - sig_t) * d
        z_heun = z + (sig_s - sig_t) * 0.5 * (d + slope(z_euler, jnp.maximum(s, 1e-30)))
        z = jnp.where(s > 0, z_heun, z_euler)
        return z, (z / jnp.sqrt(1.0 + s) if return_path else None)

    z, path = jax.lax.scan(body, z, (ts[:-1], ts[1:], sigma[:-1], sigma[1:]))
    if return_path:
        return jnp.concatenate([x_T[None], path])
    return z


def ode(denoiser, x_T, ts, *, return_path=False):
    r"""The probability-flow ODE (Song et al. 2021 "score SDE" eq. 13; MCALLESTER M10), solved
    with Heun's method in :math:`\sigma = \sqrt t` (Karras et al. 2022, Alg. 1):

    .. math:: \frac{dz}{d\sigma} = \hat\epsilon(z, \sigma^2) = \frac{z - D(z,\sigma^2)}{\sigma}
              = -\sigma\,\nabla_z \ln p_t(z).

    Each step costs two denoiser calls, except the last (to t = 0), an Euler step that returns
    :math:`D(z, t_{n-1})`. ``ts``: VE times decreasing to 0, preferably :func:`edm_grid`: with the
    DDPM index grid (:func:`ve_grid`) Heun's steps are too coarse where the solution bends.
    """
    ts = _check_ts(ts)
    x_T = jnp.asarray(x_T)
    return _run_heun(denoiser, x_T, jnp.asarray(ts, x_T.dtype), bool(return_path))
