"""Exercise checks for notebook 08 (a DDPM on images).

Each check prints ``Correct: ...`` or raises ExerciseError; it returns None so a notebook cell
that calls it shows only the printed line."""

import jax
import numpy as np

from diffcourse.exercises._check import check_close, check_function


def _points():
    k1, k2 = jax.random.split(jax.random.key(8))
    x_t = np.asarray(jax.random.normal(k1, (5, 8)), np.float64)
    eps = np.asarray(jax.random.normal(k2, (5, 8)), np.float64)
    return x_t, eps, np.array([0.9, 0.5, 0.1, 0.01, 0.999])[:, None]


def check_x0_from_eps(x0_fn):
    r"""Exercise 1: ``x0_fn(x_t, eps, alphabar)`` returns :math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha}\,\hat\epsilon)/\sqrt{\bar\alpha}`
    (Ho et al. 2020 eq. 15), compared on 5 random points to 1e-10."""
    x_t, eps, ab = _points()
    expected = (x_t - np.sqrt(1 - ab) * eps) / np.sqrt(ab)  # schedules.x0_from_eps in float64
    check_close(
        np.asarray(x0_fn(x_t, eps, ab)),
        expected,
        what="x0 from eps",
        rtol=1e-10,
        atol=1e-10,
    )


def check_ddim_step(step_fn):
    r"""Exercise 2: ``step_fn(z, yhat, t, s)`` is DDIM's deterministic step in VE coordinates,
    :math:`z_s = \hat y + \sqrt{s/t}\,(z - \hat y)` (an Euler step in :math:`\sqrt t` of the exponential form)."""
    z, yhat, _ = _points()
    for t, s in ((2.0, 1.0), (50.0, 0.3), (0.1, 0.0)):
        expected = yhat + np.sqrt(s) * (z - yhat) / np.sqrt(t)
        check_close(
            np.asarray(step_fn(z, yhat, t, s)),
            expected,
            what=f"the DDIM step t={t} -> s={s}",
            rtol=1e-10,
            atol=1e-12,
        )


def check_frechet_1d(fd_fn):
    r"""Exercise 3: ``fd_fn(mu_a, s_a, mu_b, s_b)``, the Fréchet distance of two 1-D Gaussians,
    :math:`(\mu_a-\mu_b)^2 + (s_a - s_b)^2`, on four pairs to 1e-12."""
    pairs = [
        (0.0, 1.0, 0.0, 1.0),
        (1.0, 2.0, -1.0, 0.5),
        (0.3, 0.1, 0.3, 3.0),
        (-2.0, 1.0, 1.0, 1.0),
    ]
    got = [float(fd_fn(*p)) for p in pairs]
    expected = [(a - c) ** 2 + (b - d) ** 2 for a, b, c, d in pairs]
    check_close(got, expected, what="the 1-D Fréchet distance", rtol=1e-12, atol=1e-12)


def _ddim_reference(z, yhat, t, s, eta, xi):
    """The package's generalised DDIM step (``samplers.ddim`` with ``lam = eta``) for a constant
    denoiser ``D = yhat``, in float64."""
    from diffcourse import samplers

    with jax.enable_x64(True):
        yh = jax.numpy.asarray(yhat, jax.numpy.float64)
        out = samplers.ddim(lambda z, t: yh, jax.numpy.asarray(z, jax.numpy.float64), t, s, eta, xi)
        return np.asarray(out, np.float64)


def check_ddim_eta_step(step_fn):
    r"""Exercise 4: ``step_fn(z, yhat, t, s, eta, xi)`` is the generalised DDIM step in VE
    coordinates, :math:`v = \eta^2 s(t-s)/t`, :math:`z_s = \hat y + \sqrt{s-v}\,(z-\hat y)/\sqrt t + \sqrt v\,\xi`
    (Song et al. 2021, eq. 12 and 16, through the bridge).

    Two checks on inputs chosen here: (1) against ``diffcourse.samplers.ddim`` with ``lam = eta``
    at eta = 0, 0.5, 1 (to 1e-10); (2) at eta = 1 the step's mean (``xi = 0``) and variance (the
    squared coefficient of ``xi``), carried to the DDPM scale :math:`x = z\sqrt{\bar\alpha}`,
    :math:`\bar\alpha = 1/(1+t)`, equal the closed-form posterior
    :math:`q(x_s\mid x_t, x_0 = \hat x_0)` of Ho et al. 2020, eq. 6-7:
    :math:`\tilde\mu = \frac{\sqrt{\bar\alpha_s}\,\beta}{1-\bar\alpha_t}x_0 + \frac{\sqrt{a}\,(1-\bar\alpha_s)}{1-\bar\alpha_t}x_t`,
    :math:`\tilde\beta = \frac{1-\bar\alpha_s}{1-\bar\alpha_t}\beta`, with :math:`a = \bar\alpha_t/\bar\alpha_s`, :math:`\beta = 1-a`."""
    k1, k2, k3 = jax.random.split(jax.random.key(84), 3)
    z = np.asarray(jax.random.normal(k1, (6,)), np.float64) * 3.0
    yhat = np.asarray(jax.random.normal(k2, (6,)), np.float64)
    xi = np.asarray(jax.random.normal(k3, (6,)), np.float64)
    times = ((4.0, 1.5), (30.0, 0.2), (0.5, 0.1))
    cases = [(z, yhat, t, s, eta, xi) for t, s in times for eta in (0.0, 0.5, 1.0)]
    check_function(
        step_fn,
        cases,
        _ddim_reference,
        what="the generalised DDIM step against samplers.ddim with lam = eta",
        rtol=1e-10,
        atol=1e-12,
    )
    means, variances, mu_q, var_q = [], [], [], []
    for t, s in times:
        m = np.asarray(step_fn(z, yhat, t, s, 1.0, np.zeros_like(xi)), np.float64)
        coef = np.asarray(step_fn(z, yhat, t, s, 1.0, np.ones_like(xi)), np.float64) - m
        ab_t, ab_s = 1 / (1 + t), 1 / (1 + s)
        a = ab_t / ab_s
        beta = 1 - a
        x_t = np.sqrt(ab_t) * z
        means.append(np.sqrt(ab_s) * m)
        variances.append(ab_s * coef**2)
        mu_q.append(
            np.sqrt(ab_s) * beta / (1 - ab_t) * yhat + np.sqrt(a) * (1 - ab_s) / (1 - ab_t) * x_t
        )
        var_q.append(np.full_like(z, (1 - ab_s) / (1 - ab_t) * beta))
    check_close(
        np.array(means),
        np.array(mu_q),
        what="at eta = 1 the mean of x_s is the DDPM posterior mean of q(x_s | x_t, x0)",
        rtol=1e-10,
        atol=1e-12,
    )
    check_close(
        np.array(variances),
        np.array(var_q),
        what="at eta = 1 the variance of x_s is the DDPM posterior variance beta-tilde",
        rtol=1e-10,
        atol=1e-12,
    )
