"""The exercise checks of notebooks 05-08: the worked answers pass, typical mistakes fail with a
message that says what was expected."""

import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse import samplers
from diffcourse.exercises import ExerciseError, nb05


def _heun(D, z, t, s):
    return samplers.heun(D, z, t, s, 0.0, None)


def _euler_in_sigma(D, z, t, s):  # a typical mistake: no corrector
    return z + (np.sqrt(s) - np.sqrt(t)) * (z - D(z, t)) / np.sqrt(t)


def _heun_in_t(D, z, t, s):  # a typical mistake: Heun on dz/dt = (z - D)/(2t) with s = 0 unguarded
    f = lambda z, t: (z - D(z, t)) / (2 * t)
    pred = z + (s - t) * f(z, t)
    return z + (s - t) * 0.5 * (f(z, t) + f(pred, s))


def test_nb05_checks():
    nb05.check_drift_coefficient(lambda lam: (1 + lam**2) / 2)
    nb05.check_euler_step(2.0 + 0.625 * (-1.0) * 0.1 - 0.5 * np.sqrt(0.1))
    nb05.check_heun_step(_heun)
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_drift_coefficient(lambda lam: (1 + lam) / 2)  # the slide form
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_euler_step(2.0 - 0.625 * (-1.0) * 0.1 - 0.5 * np.sqrt(0.1))  # wrong sign
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_heun_step(_euler_in_sigma)
    with pytest.raises(ExerciseError, match="expected|raised"):
        nb05.check_heun_step(_heun_in_t)
    with pytest.raises(ExerciseError, match="expected"):
        nb05.check_heun_step(lambda D, z, t, s: jnp.asarray(D(z, t)))  # typing the denoiser


def test_nb07_checks():
    from diffcourse.exercises import nb07

    def coefficients(t, sd):
        return 1 / np.sqrt(t + sd**2), sd**2 / (t + sd**2), np.sqrt(t * sd**2 / (t + sd**2))

    nb07.check_vlb_gaussian(lambda s2, d, t0, t1: d / 2 * np.log((1 + s2 / t0) / (1 + s2 / t1)))
    nb07.check_edm_coefficients(coefficients)
    with pytest.raises(ExerciseError, match="expected"):  # forgot the factor d
        nb07.check_vlb_gaussian(lambda s2, d, t0, t1: 0.5 * np.log((1 + s2 / t0) / (1 + s2 / t1)))
    with pytest.raises(ExerciseError, match="expected"):  # integrated 1/t^2 wrongly: no log
        nb07.check_vlb_gaussian(lambda s2, d, t0, t1: d / 2 * s2 * (1 / t0 - 1 / t1))
    with pytest.raises(ExerciseError, match="expected"):  # sigma_d where sigma_d^2 belongs
        nb07.check_edm_coefficients(
            lambda t, sd: (1 / np.sqrt(t + sd), sd / (t + sd), np.sqrt(t * sd / (t + sd)))
        )
    with pytest.raises(ExerciseError, match="expected"):  # the DDPM (eps) row instead
        nb07.check_edm_coefficients(lambda t, sd: (1 / np.sqrt(1 + t), 1.0 + 0 * t, -np.sqrt(t)))
    with pytest.raises(ExerciseError, match="expected"):
        nb07.check_irreducible_loss(0.8)  # a typed guess far from L* = 1.0
