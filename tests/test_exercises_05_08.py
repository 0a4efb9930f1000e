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
    with pytest.raises(ExerciseError, match="expected"):
        nb07.check_irreducible_loss(0.8)  # a typed guess far from L* = 1.0


def test_memorised_fraction_is_calibrated_and_catches_a_copier():
    """Fresh draws score q (= 5%) within binomial error; a sampler that returns training points
    plus tiny noise scores ~1; fresh draws from a 2x wider population score ~0 (not memorising)."""
    from diffcourse import metrics

    rng = np.random.default_rng(0)
    train, fresh, ref = (rng.standard_normal((n, 2)) for n in (400, 2000, 2000))
    assert abs(metrics.memorised_fraction(fresh, train, ref) - 0.05) < 4 * np.sqrt(
        0.05 * 0.95 / 2000
    )
    copies = train[rng.integers(0, 400, 1000)] + 1e-3 * rng.standard_normal((1000, 2))
    assert metrics.memorised_fraction(copies, train, ref) > 0.99
    assert metrics.memorised_fraction(2 * fresh, train, ref) < 0.05


def test_the_quality_bar_fails_the_pixel_gaussian_and_passes_the_shipped_model():
    """Notebook 08's bar, FD <= 1.2 x the held-out real digits' FD (same n = 297): the full-covariance
    pixel Gaussian fails it on 3 seeds (measured 11.9-12.5 against a bar of 8.1; it passes the old
    bar of 2x), the shipped model passes it (DDIM 25 steps, measured ratio 0.90)."""
    import jax

    from diffcourse import ddpm, metrics
    from diffcourse.data import images

    train = images.load_digits("train")[0]
    bar = 1.2 * metrics.heldout_reference()["fd"]
    for seed in range(3):
        assert metrics.evaluate(metrics.gaussian_baseline(train, 297, seed))["fd"] > bar
    model, _ = ddpm.load()
    x = np.asarray(ddpm.sample(jax.random.key(1), model, 297, setting="ddim", steps=25))[..., 0]
    assert metrics.evaluate(x)["fd"] <= bar
