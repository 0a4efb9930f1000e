"""Exercise checks for notebook 05 (reversing diffusion)."""

import numpy as np

from diffcourse import samplers
from diffcourse.exercises._check import check_close, check_function
from diffcourse.populations import mcallester_g1


def check_drift_coefficient(c_fn):
    r"""``c_fn(lam)``: the score's coefficient in the reverse drift, :math:`(1+\lambda^2)/2`."""
    lams = np.array([0.0, 0.3, 0.5, 1.0, 2.0, 3.0])
    got = np.array([float(np.asarray(c_fn(lam))) for lam in lams])
    check_close(got, (1 + lams**2) / 2, what="drift coefficient c(lam)", rtol=1e-10)


def check_euler_step(answer):
    r"""One reverse step for pop = N(0, 1): z = 2, t = 1, dt = 0.1, lam = 0.5, eps = -1.
    The score is :math:`-z/(1+t) = -1`, so :math:`z + \tfrac{1+\lambda^2}{2}(-1)\,0.1 + 0.5\sqrt{0.1}(-1)`."""
    z, t, dt, lam, eps = 2.0, 1.0, 0.1, 0.5, -1.0
    expected = z + (1 + lam**2) / 2 * (-z / (1 + t)) * dt + lam * np.sqrt(dt) * eps
    check_close(answer, expected, what="one Euler-Maruyama step of the lam family", rtol=1e-10)


def check_heun_step(heun_step):
    r"""``heun_step(D, z, t, s)``: one Heun step in :math:`\sigma=\sqrt t` of the probability-flow ODE
    from VE time ``t`` to ``s < t`` (Karras et al. 2022, Alg. 1), for one sample ``z`` (d,):
    :math:`d(z,t) = (z - D(z,t))/\sqrt t`, Euler predictor :math:`\tilde z = z + (\sqrt s-\sqrt t)\,d(z,t)`,
    corrector :math:`z + (\sqrt s-\sqrt t)\,\tfrac12(d(z,t) + d(\tilde z, s))`, and the Euler step
    when ``s = 0``. Called on a denoiser and inputs the notebook has not used."""
    pop = mcallester_g1()
    D = pop.posterior_mean
    cases = [
        (D, np.array([0.9]), 2.0, 1.5),
        (D, np.array([-3.1]), 0.4, 0.05),
        (D, np.array([2.7]), 10.0, 3.0),
        (D, np.array([0.2]), 0.3, 0.0),
    ]
    reference = lambda D, z, t, s: samplers.heun(D, z, t, s, 0.0, None)
    check_function(heun_step, cases, reference, what="one Heun step in sigma", rtol=1e-9)
