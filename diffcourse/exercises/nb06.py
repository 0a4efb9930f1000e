"""Exercise checks for notebook 06: the VAE view, likelihood and schedules."""

import numpy as np

from diffcourse.exercises._check import ExerciseError, check_close


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


def check_entropy_bits(answer):
    r"""Exercise 3: the entropy of the pop on three points with weights (1/2, 1/4, 1/4), in bits (1.5),
    computed by the I-MMSE integral; the quadrature reaches it to about 1e-8."""
    if np.isclose(float(answer), 1.5 * np.log(2), atol=1e-5):
        raise ExerciseError("entropy: that is in nats; divide by ln 2 for bits.")
    return check_close(answer, 1.5, what="H = 1.5 bits from the I-MMSE integral", atol=1e-6)
