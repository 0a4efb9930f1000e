"""Exercise checks for notebook 08 (a DDPM on images).

Each check prints ``Correct: ...`` or raises ExerciseError; it returns None so a notebook cell
that calls it shows only the printed line."""

import numpy as np

from diffcourse.exercises._check import Mistake, check_close, check_function, exercise


def _draws(seed, shape):
    rng = np.random.default_rng([8, seed])
    return rng.normal(size=shape), rng.normal(size=shape)


def _x0(x_t, eps, alphabar):
    return (x_t - np.sqrt(1 - alphabar) * eps) / np.sqrt(alphabar)


_X0_MISTAKES = (
    Mistake(
        "1 - alphabar without the root",
        lambda x_t, eps, alphabar: (x_t - (1 - alphabar) * eps) / np.sqrt(alphabar),
        "x_t = sqrt(alphabar) x0 + sqrt(1 - alphabar) eps: the noise's coefficient is a square root.",
    ),
    Mistake(
        "divided by alphabar",
        lambda x_t, eps, alphabar: (x_t - np.sqrt(1 - alphabar) * eps) / alphabar,
        "the signal's coefficient is sqrt(alphabar): divide by it, not by alphabar.",
    ),
    Mistake(
        "the noise added",
        lambda x_t, eps, alphabar: (x_t + np.sqrt(1 - alphabar) * eps) / np.sqrt(alphabar),
        "remove the predicted noise: x_t - sqrt(1 - alphabar) eps.",
    ),
)


@exercise(
    "08",
    1,
    tried="calls your x0_from_eps on 3 batches with alphabar from 0.999 to 0.01, scalar and "
    "per image",
    package=("diffcourse.schedules.x0_from_eps",),
    mistakes=_X0_MISTAKES,
)
def check_x0_from_eps(x0_fn):
    r"""Exercise 1: ``x0_fn(x_t, eps, alphabar)`` returns :math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha}\,\hat\epsilon)/\sqrt{\bar\alpha}`
    (Ho et al. 2020 eq. 15), on fresh batches with a scalar and a per-row ``alphabar``."""
    x_t, eps = _draws(1, (5, 8))
    x2, e2 = _draws(2, (3, 4))
    cases = [
        (x_t, eps, np.array([0.9, 0.5, 0.1, 0.01, 0.999])[:, None]),
        (x2, e2, 0.3),
        (x2[0], e2[0], 0.97),
    ]
    check_function(x0_fn, cases, _x0, what="x0 from eps", mistakes=_X0_MISTAKES)


def _ddim(z, yhat, t, s):
    return yhat + np.sqrt(s / t) * (z - yhat)


_DDIM_MISTAKES = (
    Mistake(
        "s/t without the root",
        lambda z, yhat, t, s: yhat + s / t * (z - yhat),
        "the noise's standard deviation scales as sqrt(t): the factor is sqrt(s/t).",
    ),
    Mistake(
        "towards z",
        lambda z, yhat, t, s: z + np.sqrt(s / t) * (yhat - z),
        "the step keeps the fraction sqrt(s/t) of the noise z - yhat around yhat: "
        "yhat + sqrt(s/t) (z - yhat).",
    ),
)


@exercise(
    "08",
    2,
    tried="calls your ddim_step at 3 pairs of times (one ending at s = 0) on inputs you have not "
    "seen",
    package=("diffcourse.samplers.ddim",),
    mistakes=_DDIM_MISTAKES,
)
def check_ddim_step(step_fn):
    r"""Exercise 2: ``step_fn(z, yhat, t, s)`` is DDIM's deterministic step in VE coordinates,
    :math:`z_s = \hat y + \sqrt{s/t}\,(z - \hat y)` (an Euler step in :math:`\sqrt t` of the exponential form)."""
    z, yhat = _draws(3, (5, 8))
    cases = [(z, yhat, 2.0, 1.0), (z, yhat, 50.0, 0.3), (z, yhat, 0.1, 0.0)]
    check_function(step_fn, cases, _ddim, what="the DDIM step", mistakes=_DDIM_MISTAKES)


_FD_MISTAKES = (
    Mistake(
        "variances, not standard deviations",
        lambda mu_a, s_a, mu_b, s_b: (mu_a - mu_b) ** 2 + (s_a**2 - s_b**2) ** 2,
        "for commuting covariances the trace term is the squared difference of the standard "
        "deviations, (s_a - s_b)^2.",
    ),
    Mistake(
        "no cross term",
        lambda mu_a, s_a, mu_b, s_b: (mu_a - mu_b) ** 2 + s_a**2 + s_b**2,
        "tr(A + B - 2 (A B)^(1/2)): the cross term -2 s_a s_b is missing.",
    ),
)


@exercise(
    "08",
    3,
    tried="calls your fd_1d on 4 pairs of Gaussians you have not seen",
    package=("diffcourse.metrics.frechet_distance",),
    mistakes=_FD_MISTAKES,
)
def check_frechet_1d(fd_fn):
    r"""Exercise 3: ``fd_fn(mu_a, s_a, mu_b, s_b)``, the Fréchet distance of two 1-D Gaussians,
    :math:`(\mu_a-\mu_b)^2 + (s_a - s_b)^2`, on four pairs."""
    pairs = [
        (0.2, 1.0, 0.0, 1.0),
        (1.0, 2.0, -1.0, 0.5),
        (0.3, 0.1, 0.3, 3.0),
        (-2.0, 1.5, 1.0, 1.2),
    ]
    check_function(
        fd_fn,
        pairs,
        lambda mu_a, s_a, mu_b, s_b: (mu_a - mu_b) ** 2 + (s_a - s_b) ** 2,
        what="the 1-D Fréchet distance",
        mistakes=_FD_MISTAKES,
    )


def _ddim_eta(z, yhat, t, s, eta, xi):
    """Song et al. 2021, eq. 12 and 16, through the bridge to VE coordinates, in numpy."""
    v = eta**2 * s * (t - s) / t
    return yhat + np.sqrt(s - v) * (z - yhat) / np.sqrt(t) + np.sqrt(v) * xi


_ETA_MISTAKES = (
    Mistake(
        "v = eta^2 (t - s)",
        lambda z, yhat, t, s, eta, xi: (
            _ddim_eta(z, yhat, t, s, 0.0, xi) + eta * np.sqrt(t - s) * xi
        ),
        "the added noise's variance is eta^2 s (t - s)/t, and the deterministic part shrinks "
        "to keep the total variance s.",
    ),
    Mistake(
        "sqrt(s) for sqrt(s - v)",
        lambda z, yhat, t, s, eta, xi: (
            yhat + np.sqrt(s) * (z - yhat) / np.sqrt(t) + np.sqrt(eta**2 * s * (t - s) / t) * xi
        ),
        "with noise added, the deterministic part keeps variance s - v, not s: sqrt(s - v).",
    ),
)


@exercise(
    "08",
    4,
    tried="calls your ddim_eta_step at 3 pairs of times and eta = 0, 0.5, 1, then reads its mean "
    "and variance at eta = 1",
    package=("diffcourse.samplers.ddim",),
    mistakes=_ETA_MISTAKES,
)
def check_ddim_eta_step(step_fn):
    r"""Exercise 4: ``step_fn(z, yhat, t, s, eta, xi)`` is the generalised DDIM step in VE
    coordinates, :math:`v = \eta^2 s(t-s)/t`, :math:`z_s = \hat y + \sqrt{s-v}\,(z-\hat y)/\sqrt t + \sqrt v\,\xi`
    (Song et al. 2021, eq. 12 and 16, through the bridge).

    Two checks on inputs chosen here: (1) against that formula at eta = 0, 0.5, 1; (2) at
    eta = 1 the step's mean (``xi = 0``) and variance (the squared coefficient of ``xi``),
    carried to the DDPM scale :math:`x = z\sqrt{\bar\alpha}`, :math:`\bar\alpha = 1/(1+t)`, equal
    the closed-form posterior :math:`q(x_s\mid x_t, x_0 = \hat x_0)` of Ho et al. 2020, eq. 6-7:
    :math:`\tilde\mu = \frac{\sqrt{\bar\alpha_s}\,\beta}{1-\bar\alpha_t}x_0 + \frac{\sqrt{a}\,(1-\bar\alpha_s)}{1-\bar\alpha_t}x_t`,
    :math:`\tilde\beta = \frac{1-\bar\alpha_s}{1-\bar\alpha_t}\beta`, with :math:`a = \bar\alpha_t/\bar\alpha_s`, :math:`\beta = 1-a`."""
    rng = np.random.default_rng([8, 4])
    z, yhat, xi = 3.0 * rng.normal(size=6), rng.normal(size=6), rng.normal(size=6)
    times = ((4.0, 1.5), (30.0, 0.2), (0.5, 0.1))
    cases = [(z, yhat, t, s, eta, xi) for t, s in times for eta in (0.0, 0.5, 1.0)]
    check_function(
        step_fn,
        cases,
        _ddim_eta,
        what="the generalised DDIM step",
        mistakes=_ETA_MISTAKES,
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
        rtol=1e-4,
        atol=1e-6,
    )
    check_close(
        np.array(variances),
        np.array(var_q),
        what="at eta = 1 the variance of x_s is the DDPM posterior variance beta-tilde",
        rtol=1e-3,
        atol=1e-6,
    )
