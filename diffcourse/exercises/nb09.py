"""Exercise checks for notebook 09 (conditioning, guidance and inpainting).

Each check calls the student's function on inputs it chooses itself (drawn here, never seen by
the student), compares with the course's formula written here, prints ``Correct: ...`` or raises
ExerciseError saying which case failed and the likely mistake; it returns None."""

import numpy as np

from diffcourse.exercises._check import (
    ExerciseError,
    Mistake,
    check_estimates,
    check_function,
    exercise,
)


def _rng(seed):
    return np.random.default_rng([9, seed])


_CFG_MISTAKES = (
    Mistake(
        "diffusers' reading",
        lambda yhat_c, yhat_u, w: yhat_u + w * (yhat_c - yhat_u),
        "with w = 0 your function returns the unconditional yhat_u; in Ho & Salimans' "
        "convention w = 0 is the conditional model (diffusers' guidance_scale = 1 + w).",
    ),
    Mistake(
        "the sign of w",
        lambda yhat_c, yhat_u, w: (1 - w) * yhat_c + w * yhat_u,
        "guidance moves away from the unconditional prediction: (1 + w) yhat_c - w yhat_u.",
    ),
)


@exercise(
    "09",
    1,
    tried="calls your guided on 5 pairs of predictions you have not seen, w from 0 to 7.5",
    package=("diffcourse.guidance.combine", "diffcourse.guidance.combine_scale"),
    mistakes=_CFG_MISTAKES,
)
def check_guided_denoiser(fn):
    r"""Exercise 1: ``fn(yhat_c, yhat_u, w)`` is classifier-free guidance in Ho & Salimans' convention,
    :math:`(1+w)\hat y_c - w\,\hat y_u` (eq. 6 in the denoiser view): ``w = 0`` the conditional
    model. Checked on 5 fresh cases; diffusers' ``guidance_scale`` reading is named."""
    rng = _rng(1)
    cases = [(rng.normal(size=6), rng.normal(size=6), w) for w in (0.0, 0.5, 1.0, 3.0, 7.5)]
    check_function(
        fn,
        cases,
        lambda yhat_c, yhat_u, w: (1 + w) * yhat_c - w * yhat_u,
        what="the guided denoiser",
        mistakes=_CFG_MISTAKES,
    )


_CG_MISTAKES = (
    Mistake(
        "scale w",
        lambda yhat_u, g, t, w: yhat_u + w * t * g,
        "with the same w as exercise 1, w = 0 must give the conditional denoiser "
        "yhat_u + t grad ln p_t(c | z): the scale is 1 + w.",
    ),
    Mistake(
        "no t",
        lambda yhat_u, g, t, w: yhat_u + (1 + w) * g,
        "a score term becomes a denoiser term through McAllester's identity, times t.",
    ),
)


@exercise(
    "09",
    2,
    tried="calls your classifier_guided on 4 cases you have not seen, t from 0.01 to 30",
    mistakes=_CG_MISTAKES,
)
def check_classifier_guidance(fn):
    r"""Exercise 2: ``fn(yhat_u, grad_log_p_c, t, w)`` is classifier guidance in the denoiser view,
    :math:`\hat y_u + (1+w)\,t\,\nabla_z\ln p_t(c\mid z)` (Dhariwal & Nichol 2021 with scale
    :math:`s = 1+w`, which holds for an unconditional base model), on 4 fresh cases."""
    rng = _rng(2)
    cases = [
        (rng.normal(size=4), rng.normal(size=4), t, w)
        for t, w in ((0.01, 0.0), (0.5, 1.0), (2.0, 2.5), (30.0, 0.3))
    ]
    check_function(
        fn,
        cases,
        lambda yhat_u, grad_log_p_c, t, w: yhat_u + (1 + w) * t * grad_log_p_c,
        what="classifier guidance",
        mistakes=_CG_MISTAKES,
    )


def _random_gaussian(rng, d):
    a = rng.normal(size=(d, d))
    return rng.normal(size=d), a @ a.T / d + 0.2 * np.eye(d)


def _conditional(mean, cov, y, mask, *, centred=True, corrected=True):
    """p(y_u | y_k) of N(mean, cov): mu_u + C_uk C_kk^-1 (y_k - mu_k), C_uu - C_uk C_kk^-1 C_ku."""
    k, u = mask == 1, mask == 0
    A = np.linalg.solve(cov[np.ix_(k, k)], cov[np.ix_(k, u)]).T
    m = mean[u] + A @ (y[k] - (mean[k] if centred else 0.0))
    c = cov[np.ix_(u, u)] - (A @ cov[np.ix_(k, u)] if corrected else 0.0)
    return m, c


_COND_MISTAKES = (
    Mistake(
        "uncentred",
        lambda mean, cov, y, mask: _conditional(mean, cov, y, mask, centred=False),
        "the regression acts on the known coordinates' deviation from their mean, y_k - mu_k.",
    ),
    Mistake(
        "covariance not reduced",
        lambda mean, cov, y, mask: _conditional(mean, cov, y, mask, corrected=False),
        "knowing y_k removes C_uk C_kk^-1 C_ku from the unknown coordinates' covariance.",
    ),
)


@exercise(
    "09",
    3,
    tried="calls your gaussian_conditional on 3 Gaussians (5, 6 and 9 dimensions) with scattered "
    "masks you have not seen",
    package=("diffcourse.guidance.gaussian_conditional",),
    mistakes=_COND_MISTAKES,
)
def check_gaussian_conditional(fn):
    r"""Exercise 3: ``fn(mean, cov, y, mask)`` returns ``(mean_u, cov_u)``, the exact
    :math:`p(y_u\mid y_k)` of :math:`N(\mu, C)` given the coordinates with ``mask`` = 1:
    :math:`\mu_u + C_{uk}C_{kk}^{-1}(y_k-\mu_k)` and :math:`C_{uu} - C_{uk}C_{kk}^{-1}C_{ku}`,
    on three fresh Gaussians (5, 6 and 9 dimensions, scattered masks)."""
    rng = _rng(3)
    cases = []
    for d in (5, 6, 9):
        mean, cov = _random_gaussian(rng, d)
        y = rng.normal(size=d)
        mask = (rng.random(d) < 0.5).astype(float)
        mask[0], mask[-1] = 1.0, 0.0  # at least one known and one unknown coordinate
        cases.append((mean, cov, y, mask))
    check_function(
        fn,
        cases,
        _conditional,
        what="the Gaussian conditional (mean and covariance)",
        rtol=1e-8,
        mistakes=_COND_MISTAKES,
    )


def _tilted(mix, c, w, key, n, *, power=None):
    """The self-normalised importance estimate of the tilted mean with n draws of p(y | c),
    weights p(c | y)^power (power w unless given), and its standard error for n draws."""
    import jax

    y = np.asarray(mix.class_population(c).sample(key, n), np.float64)
    logp = np.asarray(jax.jit(jax.vmap(lambda y: mix.log_prob_class(y, 0.0, c)))(y), np.float64)
    lw = (w if power is None else power) * logp
    p = np.exp(lw - lw.max())
    p /= p.sum()
    mean = p @ y
    se = np.sqrt(np.sum(p[:, None] ** 2 * (y - mean) ** 2, axis=0))  # delta method
    return mean, se


def _mistake_tilted(power_of_w):
    def wrong(key, mix, c, w, n):
        return _tilted(mix, c, w, key, n, power=power_of_w(w))[0]

    return wrong


_TILT_MISTAKES = (
    Mistake(
        "exponent 1 + w",
        _mistake_tilted(lambda w: 1 + w),
        "the tilted density is p(y | c)^(1+w) p(y)^(-w) = p(y | c) (p(y | c)/p(y))^w, so draws of "
        "p(y | c) need weights p(c | y)^w, not p(c | y)^(1+w).",
    ),
    Mistake(
        "no weights",
        _mistake_tilted(lambda w: 0.0),
        "that is the class's own mean: weight each draw of p(y | c) by p(c | y)^w.",
    ),
)

N_TILT = 40_000
_REFERENCE = {}  # (class, w, key seed) -> the check's own 1 000 000-draw estimate, once per process


@exercise(
    "09",
    4,
    tried=f"calls your tilted_mean with its own keys for 2 (class, w) pairs and n = {N_TILT}, "
    "against its own estimate from 1 000 000 draws",
    mistakes=_TILT_MISTAKES,
)
def check_tilted_mean(tilted_mean):
    r"""Exercise 4: ``tilted_mean(key, mix, c, w, n)`` estimates the mean of the tilted density
    :math:`\tilde p_w(y) \propto p(y\mid c)^{1+w}p(y)^{-w}` by self-normalised importance
    sampling: ``n`` draws of :math:`p(y\mid c)` with weights :math:`p(c\mid y)^w`. Called for
    two (class, w) the notebook has not used, with the check's keys and ``n``; each coordinate
    must lie within 4 standard errors (the delta-method error of ``n`` draws, from the check's
    own 1 000 000) of the check's estimate. The exponent 1 + w and the unweighted class mean lie
    far outside."""
    import jax

    from diffcourse.guidance import labelled_mixture

    mix = labelled_mixture()
    cases, truths, ses, labels = [], [], [], []
    for i, (c, w) in enumerate(((1, 1.5), (2, 0.5))):
        k_ref, k_student = jax.random.split(jax.random.key(9090 + i))
        if (c, w, i) not in _REFERENCE:
            _REFERENCE[(c, w, i)] = _tilted(mix, c, w, k_ref, 1_000_000)
        ref, se_ref = _REFERENCE[(c, w, i)]
        se_n = se_ref * np.sqrt(1_000_000 / N_TILT)
        cases.append((k_student, mix, c, w, N_TILT))
        truths.append(tuple(ref))
        ses.append(tuple(np.sqrt(se_n**2 + se_ref**2)))
        labels.append(f"class {c}, w = {w}")
    if not callable(tilted_mean):
        raise ExerciseError("tilted mean: expected a function tilted_mean(key, mix, c, w, n)")
    check_estimates(
        tilted_mean,
        cases,
        truths,
        ses,
        what="the tilted density's mean",
        outputs=("first coordinate", "second coordinate"),
        labels=labels,
        mistakes=_TILT_MISTAKES,
    )
