"""Exercise checks for notebook 07 (learning the score in 2-D).

Each check prints ``Correct: ...`` or raises ExerciseError; it returns None so a notebook cell
that calls it shows only the printed line."""

import functools

import numpy as np

from diffcourse.exercises._check import Mistake, check_function, exercise


@functools.cache
def _ring_terms(std, radius, lo, hi):
    """Quadrature nodes, weights and mmse(t) of a ring (the package's tested ``losses.mmse``;
    key 0, 16 nodes), computed once per process and case."""
    import jax

    from diffcourse import losses
    from diffcourse.data import toys

    pop = toys.ring_mixture(radius=radius, std=std)
    t_q, q_q = losses.LogUniform(lo, hi).quadrature(16)
    mmse = losses.mmse(jax.random.PRNGKey(0), pop, jax.numpy.asarray(t_q))
    return np.asarray(t_q, float), np.asarray(q_q, float), np.asarray(mmse, float)


def _irreducible(std, radius, lo, hi):
    t, q, mmse = _ring_terms(std, radius, lo, hi)
    return float(np.sum(q * mmse / t))


def _mmse_at_nodes(pop, t_lo, t_hi):
    import jax

    from diffcourse import losses

    t_q, q_q = losses.LogUniform(t_lo, t_hi).quadrature(16)
    mmse = losses.mmse(jax.random.PRNGKey(0), pop, jax.numpy.asarray(t_q))
    return np.asarray(t_q, float), np.asarray(q_q, float), np.asarray(mmse, float)


def _no_inverse_t(pop, t_lo, t_hi):
    t, q, mmse = _mmse_at_nodes(pop, t_lo, t_hi)
    return float(np.sum(q * mmse))


def _t_uniform(pop, t_lo, t_hi):  # t uniform on [t_lo, t_hi] instead of ln t
    t, q, mmse = _mmse_at_nodes(pop, t_lo, t_hi)
    q_t = q * t / np.sum(q * t)  # the density of t uniform, relative to ln t uniform, is prop. to t
    return float(np.sum(q_t * mmse / t))


_L_MISTAKES = (
    Mistake(
        "no 1/t",
        _no_inverse_t,
        "that is E_t mmse(t): the eps-prediction loss weights the denoiser's error by 1/t.",
    ),
    Mistake(
        "t uniform",
        _t_uniform,
        "that averages over t uniform on [t_lo, t_hi]; here ln t is uniform, which puts as much "
        "weight on each decade of small t as of large t (LogUniform.quadrature).",
    ),
)


@exercise(
    "07",
    1,
    tried="calls your irreducible on 2 rings and time ranges the notebook has not printed",
    package=("diffcourse.losses.irreducible_loss",),
    mistakes=_L_MISTAKES,
)
def check_irreducible_loss(loss_fn):
    r"""Exercise 1: ``loss_fn(pop, t_lo, t_hi)`` returns :math:`L^* = E_t\,\tfrac1t\,\mathrm{mmse}(t)`
    for a Gaussian mixture ``pop``, :math:`\ln t` uniform on [t_lo, t_hi].

    Called on rings and intervals the notebook has not printed (a wider ring, a smaller one),
    against a 16-node quadrature of ``losses.mmse`` within 3% (the Monte Carlo error of a
    student's own draws)."""
    cases = [(0.35, 2.0, 0.05, 5.0), (0.1, 1.0, 0.002, 2.0)]  # (std, radius, t_lo, t_hi)

    on_ring = _on_ring(loss_fn)

    mistakes = [Mistake(m.name, _on_ring(m.answer), m.hint) for m in _L_MISTAKES]
    check_function(
        on_ring,
        cases,
        _irreducible,
        what="the irreducible DSM loss of rings (inputs: std, radius, t_lo, t_hi)",
        rtol=0.03,
        rtol32=0.03,
        mistakes=mistakes,
    )


def _on_ring(answer):
    """A mistake written for ``(pop, t_lo, t_hi)``, called on the check's ring parameters."""
    from diffcourse.data import toys

    return lambda std, radius, lo, hi: answer(toys.ring_mixture(radius=radius, std=std), lo, hi)


_VLB_MISTAKES = (
    Mistake(
        "no d",
        lambda s2, d, t0, t1: 0.5 * np.log((1 + s2 / t0) / (1 + s2 / t1)),
        "each of the d coordinates contributes the same integral: multiply by d.",
    ),
    Mistake(
        "the ratio upside down",
        lambda s2, d, t0, t1: d / 2 * np.log((1 + s2 / t1) / (1 + s2 / t0)),
        "the integrand is positive, so is the integral from t0 to t1 > t0: check the ratio.",
    ),
    Mistake(
        "d for d/2",
        lambda s2, d, t0, t1: d * np.log((1 + s2 / t0) / (1 + s2 / t1)),
        "twice too large: s^2/(t(s^2 + t)) = 1/t - 1/(s^2 + t), and the weighting has a 1/2.",
    ),
)


@exercise(
    "07",
    2,
    tried="calls your vlb_gaussian at 3 (s2, d, t0, t1) you have not seen",
    mistakes=_VLB_MISTAKES,
)
def check_vlb_gaussian(vlb_fn):
    r"""Exercise 2: ``vlb_fn(s2, d, t0, t1)`` for :math:`y\sim\mathcal N(\mu, s^2 I_d)`:
    :math:`\int_{t_0}^{t_1}\frac{d\,s^2}{2t(s^2+t)}dt = \frac d2\ln\frac{1+s^2/t_0}{1+s^2/t_1}`.
    Called on parameters the notebook has not used."""
    cases = [(0.3, 2, 0.01, 10.0), (2.5, 5, 0.2, 400.0), (1.0, 1, 1e-4, 1.0)]
    reference = lambda s2, d, t0, t1: d / 2 * np.log((1 + s2 / t0) / (1 + s2 / t1))
    check_function(
        vlb_fn, cases, reference, what="the VLB integral of a Gaussian", mistakes=_VLB_MISTAKES
    )


def _edm(t, sd, *, sigma=None):
    s2 = sd**2
    v = t if sigma is None else sigma
    return np.array([1 / np.sqrt(v + s2), s2 / (v + s2), np.sqrt(v * s2 / (v + s2))])


_EDM_MISTAKES = (
    Mistake(
        "sigma for sigma^2",
        lambda t, sd: _edm(t, sd, sigma=np.sqrt(t)),
        "t is the variance sigma^2, not sigma: use t + sigma_data^2 where EDM writes "
        "sigma^2 + sigma_data^2.",
    ),
    Mistake(
        "c_out without the root",
        lambda t, sd: np.array(
            [1 / np.sqrt(t + sd**2), sd**2 / (t + sd**2), t * sd**2 / (t + sd**2)]
        ),
        "c_out is a standard deviation: the square root of t sigma_data^2/(t + sigma_data^2).",
    ),
)


@exercise(
    "07",
    3,
    tried="calls your edm_coefficients at 4 (t, sigma_data) you have not seen",
    mistakes=_EDM_MISTAKES,
)
def check_edm_coefficients(coefficients_fn):
    r"""Exercise 3: ``coefficients_fn(t, sigma_data) -> (c_in, c_skip, c_out)`` of EDM's
    preconditioning with :math:`\sigma^2 = t`: :math:`1/\sqrt{t+\sigma_d^2}`,
    :math:`\sigma_d^2/(t+\sigma_d^2)`, :math:`\sqrt{t\sigma_d^2/(t+\sigma_d^2)}`. Called on fresh inputs."""
    cases = [(0.04, 0.5), (3.0, 0.85), (250.0, 1.3), (1e-4, 0.2)]
    check_function(
        coefficients_fn, cases, _edm, what="EDM's c_in, c_skip, c_out", mistakes=_EDM_MISTAKES
    )
