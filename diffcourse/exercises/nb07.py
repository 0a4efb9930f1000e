"""Exercise checks for notebook 07 (learning the score in 2-D).

Each check prints ``Correct: ...`` or raises ExerciseError; it returns None so a notebook cell
that calls it shows only the printed line."""

import functools

import jax
import numpy as np

from diffcourse import losses
from diffcourse.data import toys
from diffcourse.exercises._check import check_function


@functools.cache
def _irreducible_reference(std, radius, lo, hi):
    """L* of a ring by the package (computed once per process and case)."""
    pop, t_sampler = toys.ring_mixture(radius=radius, std=std), losses.LogUniform(lo, hi)
    loss = losses.irreducible_loss(
        jax.random.PRNGKey(0), pop, weighting="eps", t_sampler=t_sampler, n_t=16
    )
    return float(loss)


def check_irreducible_loss(loss_fn):
    r"""Exercise 1: ``loss_fn(pop, t_lo, t_hi)`` returns :math:`L^* = E_t\,\tfrac1t\,E\,\mathrm{tr}\,\mathrm{Cov}(y\mid z(t))`
    for a Gaussian mixture ``pop``, :math:`\ln t` uniform on [t_lo, t_hi].

    Called on populations and intervals the notebook has not printed (a wider ring, a smaller
    one), and recomputed by :func:`diffcourse.losses.irreducible_loss` (key 0, 2048 draws per
    node, 16 nodes) within 3% (the Monte Carlo error of a student's own draws)."""
    cases = [(0.35, 2.0, 0.05, 5.0), (0.1, 1.0, 0.002, 2.0)]  # (std, radius, t_lo, t_hi)

    def on_ring(std, radius, lo, hi):
        return loss_fn(toys.ring_mixture(radius=radius, std=std), lo, hi)

    check_function(
        on_ring,
        cases,
        _irreducible_reference,
        what="the irreducible DSM loss of rings (inputs: std, radius, t_lo, t_hi)",
        rtol=0.03,
    )


def check_vlb_gaussian(vlb_fn):
    r"""Exercise 2: ``vlb_fn(s2, d, t0, t1)`` for :math:`y\sim\mathcal N(\mu, s^2 I_d)`:
    :math:`\int_{t_0}^{t_1}\frac{d\,s^2}{2t(s^2+t)}dt = \frac d2\ln\frac{1+s^2/t_0}{1+s^2/t_1}`.
    Called on parameters the notebook has not used."""
    cases = [(0.3, 2, 0.01, 10.0), (2.5, 5, 0.2, 400.0), (1.0, 1, 1e-4, 1.0)]
    reference = lambda s2, d, t0, t1: d / 2 * np.log((1 + s2 / t0) / (1 + s2 / t1))
    check_function(vlb_fn, cases, reference, what="the VLB integral of a Gaussian", rtol=1e-8)


def check_edm_coefficients(coefficients_fn):
    r"""Exercise 3: ``coefficients_fn(t, sigma_data) -> (c_in, c_skip, c_out)`` of EDM's
    preconditioning with :math:`\sigma^2 = t`: :math:`1/\sqrt{t+\sigma_d^2}`,
    :math:`\sigma_d^2/(t+\sigma_d^2)`, :math:`\sqrt{t\sigma_d^2/(t+\sigma_d^2)}`. Called on fresh inputs."""
    cases = [(0.04, 0.5), (3.0, 0.85), (250.0, 1.3), (1e-4, 0.2)]

    def reference(t, sd):  # in float64, whatever precision JAX runs in
        s2 = sd**2
        return np.array([1 / np.sqrt(t + s2), s2 / (t + s2), np.sqrt(t * s2 / (t + s2))])

    student = lambda t, sd: np.stack([np.asarray(c, dtype=float) for c in coefficients_fn(t, sd)])
    check_function(student, cases, reference, what="EDM's c_in, c_skip, c_out", rtol=1e-8)
