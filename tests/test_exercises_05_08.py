"""The exercise checks of notebooks 05-08: the worked answers pass, typical mistakes fail with a
message that says what was expected."""

import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse import samplers
from diffcourse.exercises import ExerciseError, nb05, nb08


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


def test_nb06_bits_per_dim_check():
    from diffcourse import elbo
    from diffcourse.exercises import nb06

    nb06.check_bits_per_dim(
        float(elbo.bits_per_dim(250.0, 64, bin_width=2 / 16)), 250.0, 64, 2 / 16
    )
    # the closed form, not the package: (250 - 64 ln(1/8)) / (64 ln 2) = 250/(64 ln 2) + 3
    nb06.check_bits_per_dim(250 / (64 * np.log(2)) + 3.0, 250.0, 64, 2 / 16)
    with pytest.raises(ExerciseError, match="probability of its bin"):  # no bin width
        nb06.check_bits_per_dim(250 / (64 * np.log(2)), 250.0, 64, 2 / 16)
    with pytest.raises(ExerciseError, match="did not divide by d"):
        nb06.check_bits_per_dim((250 + 64 * np.log(8)) / np.log(2), 250.0, 64, 2 / 16)
    with pytest.raises(ExerciseError, match="expected"):  # the bin width with the wrong sign
        nb06.check_bits_per_dim(250 / (64 * np.log(2)) - 3.0, 250.0, 64, 2 / 16)


def _log_t_trapezoid(integrand):
    """A student's quadrature: the trapezoid rule in u = ln t of integrand(mmse, t) dt/du."""

    def mutual_information(mmse, t0, T, n=4001):
        u = np.linspace(np.log(t0), np.log(T), n)
        t = np.exp(u)
        return np.trapezoid(integrand(mmse, t), u)

    return mutual_information


def test_nb06_mutual_information_check():
    """Ex. 3: the I-MMSE integral as a function, called on Gaussians it has not seen. The right
    quadrature passes; each typical mistake, computed by quadrature (not by the check's closed
    forms), fails and is named."""
    from diffcourse.exercises import nb06

    nb06.check_mutual_information(_log_t_trapezoid(lambda m, t: m(t) / (2 * t**2) * t))
    mistakes = [
        (lambda m, t: m(t) / t**2 * t, "the 1/2 is missing"),
        (lambda m, t: m(t) / (2 * t) * t, "mmse\\(t\\)/\\(2t\\)"),  # t where t^2 belongs
        (lambda m, t: m(t) / (2 * t**2), "Jacobian, dt = t du"),  # ln t without dt = t du
        (lambda m, t: -m(t) / (2 * t**2) * t, "minus the integral"),
    ]
    for integrand, message in mistakes:
        with pytest.raises(ExerciseError, match=message):
            nb06.check_mutual_information(_log_t_trapezoid(integrand))
    with pytest.raises(ExerciseError, match="expected") as err:  # 1% off: no mistake named
        nb06.check_mutual_information(lambda m, t0, T: 1.01 * nb06._mi_gaussian(m, t0, T))
    assert "On every case" not in str(err.value)
    with pytest.raises(ExerciseError, match="raised"):
        nb06.check_mutual_information(lambda m, t0, T: m.s2[5])  # a crash names its case


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


def test_nb07_irreducible_loss_check_recomputes_from_a_function():
    """The check calls the student's function on rings the notebook has not printed: the worked
    answer (quadrature and mmse) passes, the notebook's printed L* = 1.009 typed in does not."""
    import jax
    import jax.numpy as jnp

    from diffcourse import losses
    from diffcourse.exercises import nb07

    def irreducible(pop, t_lo, t_hi):
        t_q, q_q = losses.LogUniform(t_lo, t_hi).quadrature(16)
        mmse = np.asarray(losses.mmse(jax.random.PRNGKey(1), pop, jnp.asarray(t_q)))
        return float(np.sum(q_q / t_q * mmse))

    nb07.check_irreducible_loss(irreducible)
    with pytest.raises(ExerciseError, match="expected 1.2"):  # the printed number, copied
        nb07.check_irreducible_loss(lambda pop, t_lo, t_hi: 1.009)


def _ddim_eta(z, yhat, t, s, eta, xi):
    v = eta**2 * s * (t - s) / t
    return yhat + np.sqrt(s - v) * (z - yhat) / np.sqrt(t) + np.sqrt(v) * xi


def test_nb08_ddim_eta_check():
    """The generalised DDIM step passes (against samplers.ddim and, at eta = 1, Ho et al.'s posterior
    q(x_s | x_t, x0)); t where s belongs in the variance, or v where sqrt(v) belongs, fail."""
    nb08.check_ddim_eta_step(_ddim_eta)

    def t_for_s(z, yhat, t, s, eta, xi):  # v = eta^2 t (t - s) / t
        v = eta**2 * (t - s)
        return yhat + np.sqrt(np.abs(s - v)) * (z - yhat) / np.sqrt(t) + np.sqrt(v) * xi

    def no_sqrt(z, yhat, t, s, eta, xi):  # the noise scaled by v, not its square root
        v = eta**2 * s * (t - s) / t
        return yhat + np.sqrt(s - v) * (z - yhat) / np.sqrt(t) + v * xi

    for wrong in (t_for_s, no_sqrt):
        with pytest.raises(ExerciseError, match="expected"):
            nb08.check_ddim_eta_step(wrong)
