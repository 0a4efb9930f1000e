"""Exercise checks for notebook 05 (reversing diffusion)."""

import numpy as np

from diffcourse.exercises._check import check_close, check_true


def check_drift_coefficient(c_fn):
    r"""``c_fn(lam)``: the score's coefficient in the reverse drift, :math:`(1+\lambda^2)/2` (M12)."""
    lams = np.array([0.0, 0.3, 0.5, 1.0, 2.0, 3.0])
    got = np.array([float(np.asarray(c_fn(lam))) for lam in lams])
    check_close(got, (1 + lams**2) / 2, what="drift coefficient c(lam)", rtol=1e-10)


def check_euler_step(answer):
    r"""One reverse step for pop = N(0, 1): z = 2, t = 1, dt = 0.1, lam = 0.5, eps = -1.
    The score is :math:`-z/(1+t) = -1`, so :math:`z + \tfrac{1+\lambda^2}{2}(-1)\,0.1 + 0.5\sqrt{0.1}(-1)`."""
    z, t, dt, lam, eps = 2.0, 1.0, 0.1, 0.5, -1.0
    expected = z + (1 + lam**2) / 2 * (-z / (1 + t)) * dt + lam * np.sqrt(dt) * eps
    check_close(answer, expected, what="one Euler-Maruyama step of the lam family", rtol=1e-10)


def check_slide_lams(lams):
    r"""The lam >= 0 for which the slide form (1+lam)/2 agrees with (1+lam^2)/2: exactly {0, 1}."""
    got = sorted(float(x) for x in lams)
    check_true(
        len(got) == 2 and np.allclose(got, [0.0, 1.0]),
        what="the slide form is right only for lam in {0, 1}",
        hint="Solve (1 + lam)/2 = (1 + lam^2)/2 for lam >= 0; expected the two roots [0, 1], "
        f"got {got}.",
    )


def check_memorisation_fraction(fraction):
    """The fraction of exact-score samples within 4 sqrt(t_min) of a training point: at least 0.99."""
    check_true(
        0.99 <= float(fraction) <= 1.0,
        what="samples from the exact empirical score sit on the training points",
        hint=f"expected a fraction in [0.99, 1]; got {float(fraction):.4f}. Use the nearest "
        "training point of every sample and the threshold 4 sqrt(t_min).",
    )
