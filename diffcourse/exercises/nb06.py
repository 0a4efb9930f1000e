"""Exercise checks for notebook 06: the VAE view, likelihood and schedules."""

import jax.numpy as jnp
import numpy as np

from diffcourse.exercises._check import Mistake, check_function, exercise

_VE_MISTAKES = (
    Mistake(
        "1 - alphabar",
        lambda alphabar: 1 - alphabar,
        "that is the VP noise's variance. The VE process divides x_t by sqrt(alphabar), so its "
        "noise variance is (1 - alphabar)/alphabar.",
    ),
    Mistake(
        "upside down",
        lambda alphabar: alphabar / (1 - alphabar),
        "that is the signal-to-noise ratio, 1/t.",
    ),
)


@exercise(
    "06",
    1,
    tried="calls your ve_time on 3 arrays of alphabar, from 0.9999 to 1e-5, you have not seen",
    package=("diffcourse.schedules.ve_time",),
    mistakes=_VE_MISTAKES,
)
def check_ve_time(ve_time):
    r"""Exercise 1: ``ve_time(alphabar)``, McAllester's time of a DDPM step,
    :math:`t = (1-\bar\alpha)/\bar\alpha` (McAllester 2023, §2), elementwise."""
    cases = [
        (np.array([0.9999, 0.99, 0.5]),),
        (np.array([0.3, 0.01, 1e-5]),),
        (np.linspace(0.05, 0.95, 7),),
    ]
    check_function(
        ve_time,
        cases,
        lambda alphabar: (1 - alphabar) / alphabar,
        what="the VE time of a DDPM step",
        mistakes=_VE_MISTAKES,
    )


def _bpd(nll, d, bin_width):
    return (nll - d * np.log(bin_width)) / (d * np.log(2))


_BPD_MISTAKES = (
    Mistake(
        "no bin",
        lambda nll, d, bin_width: nll / (d * np.log(2)),
        "that converts the density's nll; a discrete image needs the probability of its bin, "
        "-ln P = nll - d ln(bin width).",
    ),
    Mistake(
        "not per dimension",
        lambda nll, d, bin_width: (nll - d * np.log(bin_width)) / np.log(2),
        "you converted to bits but did not divide by d.",
    ),
    Mistake(
        "the bin's sign",
        lambda nll, d, bin_width: (nll + d * np.log(bin_width)) / (d * np.log(2)),
        "P = p times the bin's volume, so -ln P = nll - d ln(bin width).",
    ),
)


@exercise(
    "06",
    2,
    tried="calls your bits_per_dim on 3 likelihoods, dimensions and bin widths you have not seen",
    package=("diffcourse.elbo.bits_per_dim",),
    mistakes=_BPD_MISTAKES,
)
def check_bits_per_dim(bits_per_dim):
    r"""Exercise 2: ``bits_per_dim(nll, d, bin_width)``: a density's negative log-likelihood
    ``nll`` (nats) of a ``d``-dimensional image whose pixels sit in bins of width ``bin_width``,
    as bits per dimension of the discrete image: :math:`-\ln P \approx \mathrm{nll} - d\ln\Delta`
    nats for the bin, then divided by :math:`d\ln 2`."""
    cases = [(1200.0, 784, 2 / 255), (40.0, 16, 0.25), (-30.0, 3, 0.01)]
    check_function(
        bits_per_dim,
        cases,
        _bpd,
        what="bits per dimension of a binned image",
        mistakes=_BPD_MISTAKES,
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


_MI_MISTAKES = (
    Mistake(
        "twice",
        lambda m, t0, T: 2 * _mi_gaussian(m, t0, T),
        "twice the integral: the weight is 1/(2 t^2); the 1/2 is missing.",
    ),
    Mistake(
        "half",
        lambda m, t0, T: 0.5 * _mi_gaussian(m, t0, T),
        "half the integral: the weight is 1/(2 t^2), with one 1/2, not two.",
    ),
    Mistake(
        "the sign",
        lambda m, t0, T: -_mi_gaussian(m, t0, T),
        "minus the integral: the integrand mmse/(2t^2) is positive, so is I.",
    ),
    Mistake(
        "1/t for 1/t^2",
        _mi_over_t,
        "the integral of mmse(t)/(2t): the weight is 1/(2 t^2), t squared.",
    ),
    Mistake(
        "no Jacobian",
        _mi_no_jacobian,
        "the integral of mmse(t)/(2t^2) d(ln t): in u = ln t the integrand needs its Jacobian, "
        "dt = t du.",
    ),
)


@exercise(
    "06",
    3,
    tried="calls your mutual_information on 3 Gaussian populations (1, 3 and 5 dimensions) "
    "and time ranges up to 10 decades you have not seen",
    mistakes=_MI_MISTAKES,
)
def check_mutual_information(mi_fn):
    r"""Exercise 3: ``mi_fn(mmse, t0, T)`` returns the I-MMSE integral (Guo, Shamai & Verdú 2005)

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
    check_function(
        mi_fn,
        cases,
        _mi_gaussian,
        what="the I-MMSE integral of mmse(t)/(2t^2)",
        rtol=1e-5,
        rtol32=1e-4,
        mistakes=_MI_MISTAKES,
    )
