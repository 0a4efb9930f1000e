"""Exercise checks for notebook 09 (conditioning, guidance and inpainting).

Each check calls the student's function on inputs it chooses itself (drawn here, never seen by
the student), compares with the course's formula, prints ``Correct: ...`` or raises
ExerciseError saying what was expected; it returns None."""

import numpy as np

from diffcourse.exercises._check import ExerciseError, check_close, check_function, check_true


def _rng(seed):
    return np.random.default_rng([9, seed])


def check_guided_denoiser(fn):
    r"""Exercise 1: ``fn(yhat_c, yhat_u, w)`` is classifier-free guidance in Ho & Salimans' convention,
    :math:`(1+w)\hat y_c - w\,\hat y_u` (eq. 6 in the denoiser view): ``w = 0`` the conditional
    model. Checked on 5 fresh cases to 1e-12, and that ``w`` is not diffusers' ``guidance_scale``."""
    rng = _rng(1)
    cases = [(rng.normal(size=6), rng.normal(size=6), w) for w in (0.0, 0.5, 1.0, 3.0, 7.5)]
    reference = lambda yc, yu, w: (1 + w) * yc - w * yu
    yc, yu, _ = cases[0]
    if np.allclose(np.asarray(fn(yc, yu, 0.0), float), yu):
        raise ExerciseError(
            "guided denoiser: with w = 0 your function returns the unconditional yhat_u; in Ho & "
            "Salimans' convention w = 0 is the conditional model (diffusers' guidance_scale = 1 + w)"
        )
    check_function(fn, cases, reference, what="the guided denoiser", rtol=1e-12, atol=1e-12)


def check_classifier_guidance(fn):
    r"""Exercise 2: ``fn(yhat_u, grad_log_p_c, t, w)`` is classifier guidance in the denoiser view,
    :math:`\hat y_u + (1+w)\,t\,\nabla_z\ln p_t(c\mid z)` (Dhariwal & Nichol 2021 with scale
    :math:`s = 1+w`), checked on 4 fresh cases to 1e-12."""
    rng = _rng(2)
    cases = [
        (rng.normal(size=4), rng.normal(size=4), t, w)
        for t, w in ((0.01, 0.0), (0.5, 1.0), (2.0, 2.5), (30.0, 0.3))
    ]
    reference = lambda yu, g, t, w: yu + (1 + w) * t * g
    check_function(fn, cases, reference, what="classifier guidance", rtol=1e-12, atol=1e-12)


def _random_gaussian(rng, d):
    a = rng.normal(size=(d, d))
    return rng.normal(size=d), a @ a.T / d + 0.2 * np.eye(d)


def check_gaussian_conditional(fn):
    r"""Exercise 3: ``fn(mean, cov, y, mask)`` returns ``(mean_u, cov_u)``, the exact
    :math:`p(y_u\mid y_k)` of :math:`N(\mu, C)` given the coordinates with ``mask`` = 1:
    :math:`\mu_u + C_{uk}C_{kk}^{-1}(y_k-\mu_k)` and :math:`C_{uu} - C_{uk}C_{kk}^{-1}C_{ku}`,
    on three fresh Gaussians (5, 6 and 9 dimensions, scattered masks) to 1e-9."""
    from diffcourse.guidance import gaussian_conditional

    rng = _rng(3)
    for i, d in enumerate((5, 6, 9)):
        mean, cov = _random_gaussian(rng, d)
        y = rng.normal(size=d)
        mask = (rng.random(d) < 0.5).astype(float)
        mask[0], mask[-1] = 1.0, 0.0  # at least one known and one unknown coordinate
        m_ref, c_ref = gaussian_conditional(mean, cov, y, mask)
        try:
            m, c = fn(mean, cov, y, mask)
        except Exception as err:
            raise ExerciseError(f"Gaussian conditional: case {i} raised {err!r}") from err
        what = f"conditional mean, case {i} (d = {d}, known {np.flatnonzero(mask).tolist()})"
        check_close(np.asarray(m), m_ref, what=what, rtol=1e-9, atol=1e-9)
        check_close(
            np.asarray(c), c_ref, what=f"conditional covariance, case {i}", rtol=1e-9, atol=1e-9
        )


def check_tilted_mass(answer):
    r"""Exercise 4: the mass :math:`P(\text{class } 0)` of the tilted density
    :math:`p(y\mid 0)^{1+w}p(y)^{-w}` at :math:`w = 2` on the labelled mixture,
    :math:`E_{p(y\mid0)}[p(0\mid y)^{w}\,1(\text{class}(y) = 0)] / E_{p(y\mid0)}[p(0\mid y)^{w}]`,
    within 0.01 (computed here with 200 000 fresh draws; Monte Carlo error below 0.001)."""
    import jax
    import jax.numpy as jnp

    from diffcourse.guidance import labelled_mixture

    mix = labelled_mixture()
    y = mix.class_population(0).sample(jax.random.key(909), 200_000)

    @jax.jit
    def mass(y):
        logp = jax.vmap(lambda c: jax.vmap(lambda y: mix.log_prob_class(y, 0.0, c))(y))
        lp = logp(jnp.arange(mix.n_classes))  # (classes, n)
        weights = jnp.exp(2.0 * lp[0])
        return jnp.sum(weights * (jnp.argmax(lp, 0) == 0)) / jnp.sum(weights)

    expected = float(mass(y))
    check_true(
        abs(float(answer) - expected) < 0.01,
        what="the tilted density's mass on class 0",
        hint=f"expected {expected:.3f} within 0.01; got {float(answer):.4g}",
    )
