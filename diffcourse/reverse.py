r"""Reversing diffusion: the lam family of reverse processes and the probability-flow ODE.

The forward process :math:`dz = dW` has marginals :math:`p_t` solving
:math:`\partial_t p = \tfrac12\Delta p`. Run time backwards (:math:`\tau = T - t`) with noise level
:math:`\lambda \ge 0`; the Fokker–Planck equation of :math:`dz = u\,d\tau + \lambda\,dW` reproduces
:math:`p_{T-\tau}` exactly when :math:`u = \tfrac{1+\lambda^2}{2}\nabla\ln p_t`. In forward-time notation
(McAllester, arXiv 2301.11108; MCALLESTER.md M12, the consistent family)

.. math:: dz = -\frac{1+\lambda^2}{2}\,\nabla_z\ln p_t(z)\,dt + \lambda\,d\bar W,\qquad dt < 0,

and one Euler–Maruyama step from :math:`t` to :math:`s = t - \Delta t` reads
:math:`z_s = z_t + \tfrac{1+\lambda^2}{2}\,s(z_t,t)\,\Delta t + \lambda\sqrt{\Delta t}\,\epsilon`.

Which setting is which known sampler (VE time t = sigma^2; the VP/VE bridge of MCALLESTER.md §2
maps each to its DDPM form):

============================  ==========================================================
setting                       known sampler
============================  ==========================================================
lam = 1, Euler                time reversal with the forward noise (Anderson 1982); the
                              continuous limit of DDPM ancestral sampling (Ho et al. 2020);
                              McAllester's M4 / ``denoiser_step``
lam = 0, Euler                probability-flow ODE (Song et al. 2021, eq. 13); in
                              sigma = sqrt(t) the Euler step is DDIM with eta = 0 (Song,
                              Meng & Ermon 2021)
lam = 0, Heun                 EDM's deterministic 2nd-order sampler (Karras et al. 2022,
                              Alg. 1) in the VE parametrisation
0 < lam < 1                   interpolates: less injected noise, more drift (DDIM with
                              0 < eta < 1 plays this role)
lam > 1                       more noise than the forward process, more drift (like EDM's
                              "churn"); still exact in continuous time
drift (1+lam)/2, noise lam    McAllester's slides as printed: WRONG for 0 < lam < 1 (and
                              lam > 1); tests show its variance drift
============================  ==========================================================
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _validate


def drift_coefficient(lam):
    r""":math:`c(\lambda) = (1+\lambda^2)/2`, the score's coefficient in the reverse drift (M12)."""
    return (1 + jnp.asarray(lam) ** 2) / 2


def gaussian_variance(c, lam, s2, ts):
    r"""Exact variance of the Euler–Maruyama reverse chain for :math:`\mathrm{pop} = \mathcal N(\mu, s^2)`.

    With score :math:`-(z-\mu)/(s^2+t)`, one step :math:`t \to s = t - h` of
    :math:`z \leftarrow z + c\,h\,\nabla\ln p_t(z) + \lambda\sqrt h\,\epsilon` is linear, so
    :math:`V \leftarrow (1 - c h/(s^2+t))^2 V + \lambda^2 h`, started at :math:`V = s^2 + t_0`
    (MCALLESTER.md check C6a). The consistent family :math:`c = (1+\lambda^2)/2` ends at
    :math:`V \approx s^2` (an :math:`O(h)` bias); the slides' :math:`c = (1+\lambda)/2` does not.
    ``ts``: the decreasing grid (numpy). Returns the final variance (float).
    """
    ts = np.asarray(_validate.monotone("ts", ts, increasing=False), dtype=float)
    v = s2 + ts[0]
    for t, s in zip(ts[:-1], ts[1:], strict=True):
        h = t - s
        v = (1 - c * h / (s2 + t)) ** 2 * v + lam**2 * h
    return float(v)


def time_grid(t_max, t_min, n_steps: int):
    r"""Geometric grid :math:`t_k = t_{\max}(t_{\min}/t_{\max})^{k/n}`, k = 0..n: strictly decreasing.

    Geometric, because the score of a finite population grows like :math:`1/t` (MCALLESTER.md §3.4):
    every step then has the same ratio :math:`\Delta t/t`. Returns shape (n_steps + 1,).
    """
    _validate.positive("t_min", t_min)
    _validate.positive("t_max", t_max)
    n_steps = _validate.positive_int("n_steps", n_steps)
    if not t_max > t_min:
        raise ValueError(f"t_max must be larger than t_min; got t_max={t_max}, t_min={t_min}")
    return jnp.geomspace(t_max, t_min, n_steps + 1)


def _step(score_fn, z, t, s, lam, noise, method):
    r"""One step from time t to s (either direction) of dz = -c(lam) score dt + lam dW, for a batch z."""
    score = jax.vmap(score_fn, (0, None))
    c, h = drift_coefficient(lam), s - t
    d1 = -c * score(z, t)
    if method == "euler":
        return z + d1 * h + lam * jnp.sqrt(jnp.abs(h)) * noise
    # Heun (lam = 0): trapezoid on the Euler predictor; an Euler step where s = 0 (EDM Alg. 1).
    z_pred = z + d1 * h
    d2 = -c * score(z_pred, jnp.where(s > 0, s, 1.0))
    return jnp.where(s > 0, z + 0.5 * (d1 + d2) * h, z_pred)


@eqx.filter_jit
def _integrate(key, score_fn, z, ts, lam, method, return_path):
    noises = jax.random.normal(key, (ts.shape[0] - 1, *z.shape), z.dtype)

    def body(z, inputs):
        t, s, noise = inputs
        z = _step(score_fn, z, t, s, lam, noise, method)
        return z, z

    z_end, path = jax.lax.scan(body, z, (ts[:-1], ts[1:], noises))
    if return_path:
        return jnp.concatenate([z[None], path])
    return z_end


def _check_common(z, method, lam):
    if np.ndim(z) != 2:
        raise ValueError(f"z must have shape (n, d); got {np.shape(z)}")
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun'; got {method!r}")
    _validate.nonnegative("lam", lam)
    if method == "heun" and _validate.is_concrete(lam) and float(lam) != 0:
        raise ValueError(f"method 'heun' is for the ODE, lam = 0; got lam={lam}")


def sample(key, score_fn, z_T, ts, lam, *, method="euler", return_path=False):
    r"""Run the reverse family from :math:`t_0 = T` down the grid ``ts`` (M12).

    .. math:: z_{t_{k+1}} = z_{t_k} + \frac{1+\lambda^2}{2}\,s(z_{t_k}, t_k)\,(t_k - t_{k+1})
              + \lambda\sqrt{t_k - t_{k+1}}\;\epsilon_k

    (Euler–Maruyama); ``method="heun"`` takes Heun's 2nd-order step for the ODE (lam = 0).
    ``score_fn(z, t)``: single sample, (d,) -> (d,), e.g. ``pop.score``; ``z_T``: (n, d) draws
    from :math:`p_T`; ``key`` may be ``None`` when lam = 0; ``ts``: strictly decreasing, ``ts[0] = T``, ``ts[-1] >= 0`` (the score is
    evaluated only at ``ts[:-1]`` by Euler). Returns (n, d), or (len(ts), n, d) with ``return_path``.
    """
    _check_common(z_T, method, lam)
    _validate.monotone("ts", ts, increasing=False)
    _validate.nonnegative("ts", ts)
    if key is None:
        if not (_validate.is_concrete(lam) and float(lam) == 0):
            raise ValueError(f"key may be None only for the ODE, lam = 0; got lam={lam}")
        key = jax.random.PRNGKey(0)  # unused: lam = 0 injects no noise
    ts = jnp.asarray(ts, dtype=jnp.result_type(z_T))
    return _integrate(
        key, score_fn, jnp.asarray(z_T), ts, jnp.asarray(lam, ts.dtype), method, return_path
    )


def ode_forward(score_fn, z0, ts, *, method="heun", return_path=False):
    r"""Integrate the probability-flow ODE :math:`dz/dt = -\tfrac12\nabla\ln p_t(z)` FORWARD in t (M10).

    The inverse of ``sample(..., lam=0)``: it maps samples of :math:`p_{t_0}` to samples of
    :math:`p_{t_{\rm end}}` deterministically. ``z0``: (n, d); ``ts``: strictly increasing, > 0.
    Returns (n, d), or (len(ts), n, d) with ``return_path``.
    """
    _check_common(z0, method, 0.0)
    _validate.monotone("ts", ts, increasing=True)
    _validate.positive("ts", ts)
    ts = jnp.asarray(ts, dtype=jnp.result_type(z0))
    key = jax.random.PRNGKey(0)  # unused: lam = 0 injects no noise
    return _integrate(
        key, score_fn, jnp.asarray(z0), ts, jnp.zeros((), ts.dtype), method, return_path
    )


def denoiser_step(key, denoiser_fn, z, t, dt):
    r"""McAllester's reverse step through the denoiser (M4, the lam = 1 member of M12):

    .. math:: z(t - \Delta t) = z + \frac{E[y\mid z(t)=z] - z}{t}\,\Delta t + \sqrt{\Delta t}\,\epsilon.

    ``denoiser_fn(z, t)``: single sample, (d,) -> (d,) (e.g. ``pop.posterior_mean``); ``z``: (d,)
    or a batch (n, d) (the denoiser is then vmapped); ``0 < dt <= t``. Returns the shape of ``z``.
    """
    _validate.positive("t", t)
    _validate.positive("dt", dt)
    if _validate.is_concrete((t, dt)) and not np.all(np.asarray(dt) <= np.asarray(t)):
        raise ValueError(f"dt must be at most t; got dt={dt}, t={t}")
    z = jnp.asarray(z)
    yhat = jax.vmap(denoiser_fn, (0, None))(z, t) if z.ndim == 2 else denoiser_fn(z, t)
    eps = jax.random.normal(key, z.shape, z.dtype)
    return z + (yhat - z) * dt / t + jnp.sqrt(dt) * eps
