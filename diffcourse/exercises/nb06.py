"""Exercise checks for notebook 06: the VAE view, likelihood and schedules."""

import jax.numpy as jnp
import numpy as np

from diffcourse.exercises._check import ExerciseError, check_close, check_function


def check_ve_time(answer, alphabar):
    r"""Exercise 1: McAllester's time of a DDPM step, :math:`t = (1-\bar\alpha)/\bar\alpha` (McAllester 2023, §2)."""
    alphabar = np.asarray(alphabar, dtype=float)
    expected = (1 - alphabar) / alphabar
    a = np.asarray(answer, dtype=float)
    if a.shape == expected.shape and np.allclose(a, 1 - alphabar, rtol=1e-6):
        raise ExerciseError(
            "VE time: you gave 1 - alphabar, the variance of the VP noise. The VE process divides "
            "x_t by sqrt(alphabar), so its noise variance is (1 - alphabar)/alphabar."
        )
    return check_close(a, expected, what="the VE time t = (1 - alphabar)/alphabar", rtol=1e-8)


def check_bits_per_dim(answer, nll, d, bin_width):
    r"""Exercise 2: a density's negative log-likelihood ``nll`` (nats) of a ``d``-dimensional image
    whose pixels sit in bins of width ``bin_width``, as bits per dimension of the discrete image:
    :math:`-\ln P \approx \mathrm{nll} - d\ln\Delta` nats for the bin, then divided by :math:`d\ln 2`."""
    d, delta = int(d), float(bin_width)
    expected = (float(nll) - d * np.log(delta)) / (d * np.log(2))
    if np.isclose(float(answer), float(nll) / (d * np.log(2)), rtol=1e-8):
        raise ExerciseError(
            "bits per dimension: that is the density's nll / (d ln 2); a discrete image needs the "
            f"probability of its bin, -ln P = nll - d ln(bin width), so expected {expected:.6f}."
        )
    if np.isclose(float(answer), (float(nll) - d * np.log(delta)) / np.log(2), rtol=1e-8) and d > 1:
        raise ExerciseError("bits per dimension: you converted to bits but did not divide by d.")
    return check_close(
        answer, expected, what="bits per dimension (nll - d ln bin_width) / (d ln 2)", rtol=1e-8
    )


class _GaussianMMSE:
    r"""The minimum mean-square error of :math:`y\sim\mathcal N(0, \mathrm{diag}(s_1^2..s_d^2))`
    at VE time t: :math:`\sum_i s_i^2 t/(s_i^2+t)` (elementwise in ``t``, any array shape)."""

    def __init__(self, s2):
        self.s2 = np.asarray(s2, dtype=float)
        self.__name__ = "mmse of N(0, diag(" + ", ".join(f"{v:g}" for v in self.s2) + "))"

    def __call__(self, t):
        t = jnp.asarray(t)[..., None]
        return jnp.sum(self.s2 * t / (self.s2 + t), axis=-1)


def _mi_gaussian(mmse, t0, T):
    """The I-MMSE integral in closed form: sum_i (1/2) ln((1 + s_i^2/t0) / (1 + s_i^2/T))."""
    s2 = mmse.s2
    return 0.5 * np.sum(np.log1p(s2 / t0) - np.log1p(s2 / T))


def _mi_over_t(mmse, t0, T):  # a mistake: mmse/(2t) dt, the weight with t where t^2 belongs
    s2 = mmse.s2
    return 0.5 * np.sum(s2 * np.log((s2 + T) / (s2 + t0)))


def _mi_no_jacobian(mmse, t0, T):  # a mistake: mmse/(2t^2) integrated in u = ln t, no dt = t du
    s2 = mmse.s2  # 1/(t^2 (a + t)) = 1/(a t^2) - 1/(a^2 t) + 1/(a^2 (a + t)), a = s^2
    return 0.5 * np.sum(1 / t0 - 1 / T + (np.log((s2 + T) / (s2 + t0)) - np.log(T / t0)) / s2)


_MI_MISTAKES = [
    (
        lambda m, t0, T: 2 * _mi_gaussian(m, t0, T),
        "twice the integral: the weight is 1/(2 t^2); the 1/2 is missing.",
    ),
    (
        lambda m, t0, T: 0.5 * _mi_gaussian(m, t0, T),
        "half the integral: the weight is 1/(2 t^2), with one 1/2, not two.",
    ),
    (
        lambda m, t0, T: -_mi_gaussian(m, t0, T),
        "minus the integral: the integrand mmse/(2t^2) is positive, so is I.",
    ),
    (_mi_over_t, "the integral of mmse(t)/(2t): the weight is 1/(2 t^2), t squared."),
    (
        _mi_no_jacobian,
        "the integral of mmse(t)/(2t^2) d(ln t): in u = ln t the integrand needs its Jacobian, dt = t du.",
    ),
]


def check_mutual_information(mi_fn):
    r"""Exercise 3: ``mi_fn(mmse, t0, T)`` returns the I-MMSE integral (M7; Guo, Shamai & Verdú 2005)

    .. math:: I(y; z(t_0)) - I(y; z(T)) = \int_{t_0}^{T}\frac{\mathrm{mmse}(t)}{2t^2}\,dt,

    for a function ``mmse(t)`` (elementwise in an array of times). Called on Gaussian populations
    :math:`\mathcal N(0, \mathrm{diag}(s_i^2))` the notebook has not used, whose integral is
    :math:`\sum_i\tfrac12\ln\frac{1+s_i^2/t_0}{1+s_i^2/T}`, within a relative 1e-5. A wrong answer
    that matches a typical mistake on every case (a factor 2, the sign, 1/t for 1/t^2, the ln t
    substitution without its Jacobian) is named."""
    cases = [
        (_GaussianMMSE([2.0]), 1e-3, 1e3),
        (_GaussianMMSE([0.3] * 5), 0.05, 1e5),
        (_GaussianMMSE([0.01, 1.0, 25.0]), 1e-4, 1e6),
    ]
    try:
        check_function(
            mi_fn, cases, _mi_gaussian, what="the I-MMSE integral of mmse(t)/(2t^2)", rtol=1e-5
        )
    except ExerciseError as err:
        hint = _named_mistake(mi_fn, cases)
        if hint is None:
            raise
        raise ExerciseError(f"{err}. On every case your answer is {hint}") from None


def _named_mistake(fn, cases):
    try:
        got = [float(np.asarray(fn(*args), dtype=float)) for args in cases]
    except Exception:  # a crash or a wrong shape: check_function's message says it
        return None
    for wrong, hint in _MI_MISTAKES:
        if all(np.isclose(g, wrong(*args), rtol=1e-3) for g, args in zip(got, cases, strict=True)):
            return hint
    return None
