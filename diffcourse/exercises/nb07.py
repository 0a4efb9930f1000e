"""Exercise checks for notebook 07 (learning the score in 2-D).

Each check prints ``Correct: ...`` or raises ExerciseError; it returns None so a notebook cell
that calls it shows only the printed line."""

import jax
import numpy as np

from diffcourse import losses
from diffcourse.exercises._check import check_close, check_true


def check_irreducible_loss(answer, pop, *, weighting="eps", t_sampler=None):
    r"""Exercise 1: :math:`L^* = E_t\,w(t)\,E\,\mathrm{tr}\,\mathrm{Cov}(y\mid z(t))` for ``pop``.

    Compared with :func:`diffcourse.losses.irreducible_loss` (key 0, 2048 draws per node) within
    3% (the Monte Carlo error of a student's own draws)."""
    t_sampler = losses.LogUniform(0.01, 10.0) if t_sampler is None else t_sampler
    expected = losses.irreducible_loss(
        jax.random.PRNGKey(0), pop, weighting=weighting, t_sampler=t_sampler
    )
    check_close(answer, float(expected), what="the irreducible DSM loss", rtol=0.03)


def check_vlb_gaussian(answer, *, s2, d, t0, t1):
    r"""Exercise 2: for :math:`y\sim\mathcal N(\mu, s^2 I_d)`,
    :math:`\int_{t_0}^{t_1}\frac{d\,s^2}{2t(s^2+t)}dt = \frac d2\ln\frac{1+s^2/t_0}{1+s^2/t_1}` (McAllester C8c)."""
    expected = d / 2 * np.log((1 + s2 / t0) / (1 + s2 / t1))
    check_close(answer, expected, what="the VLB integral of a Gaussian", rtol=1e-4)


def check_score_weighting_is_worse(err_score, err_edm):
    """Exercise 3: the plain score-matching weighting 1/t^2 learns worse than EDM's in as many steps."""
    check_true(
        float(err_score) > float(err_edm),
        what="the 1/t^2 (score) weighting leaves a larger mean denoiser error",
        hint=(
            f"expected the error of the score-weighted model ({float(err_score):.4g}) to exceed that "
            f"of the EDM-weighted one ({float(err_edm):.4g}); did you pass weighting='score' and "
            "evaluate both with losses.denoiser_error on the same t grid?"
        ),
    )
