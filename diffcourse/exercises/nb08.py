"""Exercise checks for notebook 08 (a DDPM on images).

Each check prints ``Correct: ...`` or raises ExerciseError; it returns None so a notebook cell
that calls it shows only the printed line."""

import jax
import numpy as np

from diffcourse.exercises._check import check_close


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
