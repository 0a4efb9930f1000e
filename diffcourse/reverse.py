r"""Reversing diffusion: the lam family of reverse processes and the probability-flow ODE.

The forward process :math:`dz = dW` has marginals :math:`p_t` solving
:math:`\partial_t p = \tfrac12\Delta p`. Run time backwards (:math:`\tau = T - t`) with noise level
:math:`\lambda \ge 0`; the Fokker–Planck equation of :math:`dz = u\,d\tau + \lambda\,dW` reproduces
:math:`p_{T-\tau}` exactly when :math:`u = \tfrac{1+\lambda^2}{2}\nabla\ln p_t`. In forward-time notation
(McAllester, arXiv 2301.11108, the consistent family of his reverse processes)

.. math:: dz = -\frac{1+\lambda^2}{2}\,\nabla_z\ln p_t(z)\,dt + \lambda\,d\bar W,\qquad dt < 0,

and one Euler–Maruyama step from :math:`t` to :math:`s = t - \Delta t` reads
:math:`z_s = z_t + \tfrac{1+\lambda^2}{2}\,\nabla\ln p_t(z_t)\,\Delta t + \lambda\sqrt{\Delta t}\,\epsilon`.

This module holds the mathematics of the family (the drift coefficient, the exact variance of
its Euler chain on a Gaussian); the one integrator that runs it is :func:`diffcourse.samplers.sample`,
whose step rules and settings table say which setting is which known sampler. In brief (VE time
t = sigma^2; the bridge z = x/sqrt(alphabar), t = (1 - alphabar)/alphabar maps each to its DDPM form):

============================  ==========================================================
setting                       known sampler
============================  ==========================================================
lam = 1, Euler                time reversal with the forward noise (Anderson 1982); the
                              continuous limit of DDPM ancestral sampling (Ho et al. 2020);
                              McAllester's denoiser step (his M4)
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

import jax.numpy as jnp
import numpy as np

from diffcourse import _boundary, _validate


def drift_coefficient(lam):
    r""":math:`c(\lambda) = (1+\lambda^2)/2`, the score's coefficient in the reverse drift.

    From the Fokker–Planck equation: :math:`dz = u\,d\tau + \lambda\,dW` keeps the marginals
    :math:`p_{T-\tau}` iff :math:`u = \tfrac{1+\lambda^2}{2}\nabla\ln p_t` (module docstring)."""
    lam = _boundary.data("lam", lam)
    _validate.nonnegative("lam", lam)
    return (1 + jnp.asarray(lam) ** 2) / 2


def gaussian_variance(c, lam, s2, ts):
    r"""Exact variance of the Euler–Maruyama reverse chain for :math:`\mathrm{pop} = \mathcal N(\mu, s^2)`.

    With score :math:`-(z-\mu)/(s^2+t)`, one step :math:`t \to s = t - h` of
    :math:`z \leftarrow z + c\,h\,\nabla\ln p_t(z) + \lambda\sqrt h\,\epsilon` is linear, so
    :math:`V \leftarrow (1 - c h/(s^2+t))^2 V + \lambda^2 h`, started at :math:`V = s^2 + t_0`.
    The consistent family :math:`c = (1+\lambda^2)/2` ends at :math:`V \approx s^2` (an
    :math:`O(h)` bias); the slides' :math:`c = (1+\lambda)/2` does not.
    ``ts``: the decreasing grid (numpy). Returns the final variance (float).
    """
    _boundary.nonnegative("c", c)
    _boundary.nonnegative("lam", lam)
    _boundary.positive("s2", s2)
    ts = np.asarray(_validate.monotone("ts", ts, increasing=False), dtype=float)
    v = s2 + ts[0]
    for t, s in zip(ts[:-1], ts[1:], strict=True):
        h = t - s
        v = (1 - c * h / (s2 + t)) ** 2 * v + lam**2 * h
    return float(v)
