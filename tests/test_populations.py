"""Tests for diffcourse.populations: exact p_t, E[y|z], Cov(y|z) and the score (McAllester 2023 M9, M11)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from scipy.special import logsumexp as np_logsumexp

from diffcourse import populations
from diffcourse.populations import FinitePop, GaussianMixture

TS = np.geomspace(1e-3, 1e2, 6)


d2_pop, g1_mixture = populations.mcallester_d2, populations.mcallester_g1


def random_finite(d, n=7, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, n)
    return FinitePop(jnp.asarray(rng.normal(size=(n, d)) * 2), jnp.asarray(w / w.sum()))


def random_mixture(d, k=3, seed=0, full=True):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, k)
    means = rng.normal(size=(k, d)) * 2
    if full:
        a = rng.normal(size=(k, d, d)) / np.sqrt(d)
        covs = 0.05 * np.eye(d) + 0.3 * a @ np.swapaxes(a, 1, 2)
    else:
        covs = rng.uniform(0.05, 0.5, (k, d))
    return GaussianMixture(jnp.asarray(w / w.sum()), jnp.asarray(means), jnp.asarray(covs))


def populations(d):
    return [random_finite(d), random_mixture(d, full=d < 3)]


def rel_err(a, b):
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def batched(fn):
    """jit(vmap(fn)) over z of shape (m, d) and t of shape (m,)."""
    return jax.jit(jax.vmap(fn))


def typical_points(pop, ts, per_t=8, seed=0):
    """per_t draws of z(t) for each t, drawn with numpy (the JAX samplers are tested below):
    z of shape (m, d) and the matching t of shape (m,)."""
    rng = np.random.default_rng(seed)
    t = np.repeat(np.asarray(ts, dtype=float), per_t)
    w = np.asarray(pop.weights)
    k = rng.choice(w.shape[0], size=t.shape[0], p=w / w.sum())
    if isinstance(pop, FinitePop):
        y = np.asarray(pop.points)[k]
    else:
        chol = np.linalg.cholesky(np.asarray(pop.covs))[k]
        y = np.asarray(pop.means)[k] + np.einsum(
            "nij,nj->ni", chol, rng.normal(size=(t.shape[0], pop.dim))
        )
    z = y + np.sqrt(t)[:, None] * rng.normal(size=y.shape)
    return jnp.asarray(z), jnp.asarray(t)


def three_scores(pop):
    """score, (E[y|z] - z)/t and jax.grad ln p_t at one (z, t)."""
    return lambda z, t: (
        pop.score(z, t),
        (pop.posterior_mean(z, t) - z) / t,
        jax.grad(pop.log_density)(z, t),
    )


def row_rel_err(a, b):
    return np.max(np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1))


@pytest.mark.parametrize("d", [1, 2, 10])
def test_score_identity_and_autodiff(d):
    """score == (E[y|z] - z)/t == grad ln p_t to 1e-8 relative, t from 1e-3 to 1e2 (M11)."""
    worst = 0.0
    for pop in populations(d):
        z, t = typical_points(pop, TS)
        s, tweedie, grad = batched(three_scores(pop))(z, t)
        worst = max(worst, row_rel_err(s, tweedie), row_rel_err(s, grad))
    assert worst < 1e-8, worst


def test_log_density_against_scipy():
    """ln p_t recomputed independently with scipy.stats (a mixture of normals) to 1e-10."""
    z = np.tile(np.array([[0.3, -0.2], [4.0, 1.0], [-3.0, 3.0]]), (3, 1))
    t = np.repeat([1e-2, 0.7, 30.0], 3)
    for pop in [d2_pop(), random_mixture(2)]:
        if isinstance(pop, FinitePop):
            means, covs = np.asarray(pop.points), np.zeros((4, 2, 2))
        else:
            means, covs = np.asarray(pop.means), np.asarray(pop.covs)
        got = batched(pop.log_density)(jnp.asarray(z), jnp.asarray(t))
        for x, tx, g in zip(z, t, np.asarray(got), strict=True):
            ref = np_logsumexp(
                [
                    np.log(w) + scipy.stats.multivariate_normal(m, c + tx * np.eye(2)).logpdf(x)
                    for w, m, c in zip(np.asarray(pop.weights), means, covs, strict=True)
                ]
            )
            assert abs(g - ref) < 1e-10 * abs(ref) + 1e-12


def test_single_gaussian_closed_form():
    """N(mu, s^2 I): E[y|z] = mu + s^2/(s^2+t)(z-mu), p_t = N(mu, (s^2+t)I), Cov = s^2 t/(s^2+t) I."""
    d, s2, mu = 3, 0.8, jnp.array([0.3, -1.0, 2.0])
    pop = GaussianMixture(jnp.ones(1), mu[None], jnp.full((1, d), s2))
    z = jnp.array([1.0, 0.5, -0.7])
    ts = jnp.array([0.0, 1e-3, 0.5, 40.0])
    f = lambda t: (pop.posterior_mean(z, t), pop.log_density(z, t), pop.posterior_cov(z, t))
    means, logps, covs = jax.jit(jax.vmap(f))(ts)
    for t, mean, logp, cov in zip(np.asarray(ts), means, logps, covs, strict=True):
        assert rel_err(mean, mu + s2 / (s2 + t) * (z - mu)) < 1e-13
        ref_logp = scipy.stats.multivariate_normal(mu, (s2 + t) * np.eye(d)).logpdf(z)
        assert abs(float(logp) - ref_logp) < 1e-12
        assert np.allclose(cov, s2 * t / (s2 + t) * np.eye(d), atol=1e-14)


def test_diagonal_and_full_covs_agree():
    diag = random_mixture(4, full=False)
    full = GaussianMixture(diag.weights, diag.means, diag.covs)  # already stored full
    z = jnp.linspace(-1.0, 1.0, 4)
    for t in [1e-2, 1.0]:
        assert rel_err(full.score(z, t), diag.score(z, t)) < 1e-14
        assert abs(float(full.log_density(z, t) - diag.log_density(z, t))) < 1e-13


def second_order_errors(pop):
    """C2/C3 and M9 residuals at one (z, t): |Jac E[y|z] - Cov/t|, |Hess ln p_t - (Cov/t - I)/t|
    (scaled), the smallest eigenvalue and asymmetry of Cov, and the heat-equation residual
    d_t ln p - (Lap ln p + |grad ln p|^2)/2 (scaled)."""

    def errors(z, t):
        cov = pop.posterior_cov(z, t)
        jac = jax.jacfwd(pop.posterior_mean)(z, t)
        hess = jax.hessian(pop.log_density)(z, t)
        ref_hess = (cov / t - jnp.eye(pop.dim)) / t
        e_jac = jnp.max(jnp.abs(jac - cov / t)) / (jnp.max(jnp.abs(cov / t)) + 1e-3)
        e_hess = jnp.max(jnp.abs(hess - ref_hess)) / jnp.max(jnp.abs(ref_hess))
        d_t = jax.grad(pop.log_density, argnums=1)(z, t)
        g = jax.grad(pop.log_density)(z, t)
        rhs = 0.5 * (jnp.trace(hess) + g @ g)
        heat = jnp.abs(d_t - rhs) / (jnp.abs(rhs) + 1e-3)
        return e_jac, e_hess, jnp.min(jnp.linalg.eigvalsh(cov)), jnp.max(jnp.abs(cov - cov.T)), heat

    return errors


@pytest.mark.parametrize(
    "make",
    [
        d2_pop,
        g1_mixture,
        lambda: random_mixture(3),
        lambda: random_finite(10),
        lambda: random_mixture(10),
    ],
)
def test_tweedie_second_order_and_heat_equation(make):
    """C2/C3: Jacobian of E[y|z] = Cov(y|z)/t, Hessian of ln p_t = (Cov(y|z)/t - I)/t, Cov is
    symmetric PSD; M9: p_t solves dp/dt = (1/2) Lap p, i.e. d_t ln p = (Lap ln p + |grad ln p|^2)/2."""
    pop = make()
    z, t = typical_points(pop, [0.05, 0.3, 1.0, 5.0], per_t=4, seed=20)
    e_jac, e_hess, min_eig, asym, heat = batched(second_order_errors(pop))(z, t)
    assert float(e_jac.max()) < 1e-9 and float(e_hess.max()) < 1e-9
    assert float(min_eig.min()) > -1e-12 and float(asym.max()) < 1e-14
    assert float(heat.max()) < 1e-9


def test_stable_in_64d_small_t():
    """64-D, t = 1e-4, z far from every point: finite values and the identity still holds."""
    scale = jnp.repeat(jnp.array([1.0, 30.0, 3.0]), 3)[:, None]
    for pop in [random_finite(64, n=50), random_mixture(64, k=4)]:
        z, t = typical_points(pop, [1e-4, 1e-4, 1e2], per_t=3, seed=1)
        s, tweedie, grad = batched(three_scores(pop))(z * scale, t)
        assert np.all(np.isfinite(s)) and np.all(np.isfinite(grad))
        assert max(row_rel_err(s, tweedie), row_rel_err(s, grad)) < 1e-8


def test_small_t_posterior_mean_is_nearest_point():
    """As t -> 0, E[y|z] of a finite pop is the nearest training point (the memorising denoiser)."""
    pop = random_finite(5, n=20)
    z, _ = typical_points(pop, [1e-3], per_t=50, seed=3)
    nearest = pop.points[jnp.argmin(jnp.sum((z[:, None] - pop.points) ** 2, -1), axis=1)]
    m = batched(pop.posterior_mean)(z, jnp.full(50, 1e-5))
    assert np.max(np.abs(m - nearest)) < 1e-10


@pytest.mark.parametrize("make", [d2_pop, lambda: random_mixture(2)])
def test_sampling_laws(make):
    """sample_pt agrees with the exact marginal CDF (KS p > 1e-3) and E[r_k(z)] = pi_k (4 SE)."""
    pop = make()
    t, n = 0.4, 4000
    z = pop.sample_pt(jax.random.PRNGKey(5), n, t)
    for a in range(pop.dim):
        cdf = jax.jit(jax.vmap(lambda x, a=a: pop.marginal_cdf(x, t, a)))
        p = scipy.stats.kstest(np.asarray(z[:, a]), lambda x, cdf=cdf: np.asarray(cdf(x))).pvalue
        assert p > 1e-3, p
    r = batched(pop.responsibilities)(z, jnp.full(n, t))
    se = np.asarray(r.std(0)) / np.sqrt(n)
    assert np.all(np.abs(np.asarray(r.mean(0) - pop.weights)) < 4 * se + 1e-12)


def test_sampling_detects_wrong_t():
    """The KS check above is sharp: samples at t = 0.4 fail against the CDF at t = 2."""
    pop = g1_mixture()
    z = pop.sample_pt(jax.random.PRNGKey(5), 4000, 0.4)[:, 0]
    cdf = jax.jit(jax.vmap(lambda x: pop.marginal_cdf(x, 2.0)))
    assert scipy.stats.kstest(np.asarray(z), lambda x: np.asarray(cdf(x))).pvalue < 1e-4


def test_passes_through_jit():
    pop = d2_pop()
    f = jax.jit(lambda p, z: jax.vmap(p.score, (0, None))(z, 0.5))
    z = jnp.ones((3, 2))
    assert np.allclose(f(pop, z), jax.vmap(pop.score, (0, None))(z, 0.5))


def test_bad_input():
    with pytest.raises(ValueError, match="points must have shape"):
        FinitePop(jnp.ones(3))
    with pytest.raises(ValueError, match="weights must sum to 1"):
        FinitePop(jnp.ones((3, 2)), jnp.array([0.5, 0.2, 0.2]))
    with pytest.raises(ValueError, match="weights must be a 1-D vector of non-negative"):
        FinitePop(jnp.ones((3, 2)), jnp.array([1.2, -0.2, 0.0]))
    with pytest.raises(ValueError, match="weights must have shape"):
        FinitePop(jnp.ones((3, 2)), jnp.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="t must be positive"):
        d2_pop().score(jnp.zeros(2), 0.0)
    with pytest.raises(ValueError, match="t must be positive"):
        d2_pop().sample_pt(jax.random.PRNGKey(0), 3, -1.0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        g1_mixture().sample(jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="t must be non-negative"):
        g1_mixture().log_density(jnp.zeros(1), -1.0)
    with pytest.raises(ValueError, match="means must have shape"):
        GaussianMixture(jnp.ones(1), jnp.zeros(2), jnp.ones((1, 2)))
    with pytest.raises(ValueError, match="covs must have shape"):
        GaussianMixture(jnp.ones(1), jnp.zeros((1, 2)), jnp.ones((1, 3)))
    with pytest.raises(ValueError, match="covs must be positive"):
        GaussianMixture(jnp.ones(1), jnp.zeros((1, 2)), jnp.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="symmetric positive definite"):
        GaussianMixture(jnp.ones(1), jnp.zeros((1, 2)), jnp.array([[[1.0, 2.0], [2.0, 1.0]]]))
    with pytest.raises(ValueError, match="weights must sum to 1"):
        GaussianMixture(jnp.array([0.5, 0.6]), jnp.zeros((2, 1)), jnp.ones((2, 1)))


# ------------------------------------------------------------------ independent denoiser checks
import diffcourse.populations as dcpop  # noqa: E402  (the name `populations` is taken above)


def test_posterior_mean_by_quadrature_matches_the_mixture():
    """Bayes' rule by quadrature (independent of GaussianMixture) against posterior_mean: 1e-12.
    A plausible wrong closed form (the per-component shrinkage averaged with the prior weights
    instead of the responsibilities) is off by more than 0.1."""
    from scipy.stats import norm

    g1 = dcpop.mcallester_g1()
    y = np.linspace(-12.0, 12.0, 40001)
    pdf = norm.pdf(y[:, None], [-2.0, 0.5, 3.0], np.sqrt([0.05, 0.3, 0.1])) @ [0.3, 0.5, 0.2]
    z = jnp.linspace(-3.0, 4.0, 15)
    for t in (0.01, 0.3, 3.0):
        quad = dcpop.posterior_mean_quadrature(y, pdf, z, t)
        closed = jax.vmap(g1.posterior_mean, (0, None))(z[:, None], t)[:, 0]
        assert float(jnp.max(jnp.abs(quad - closed))) < 1e-12
    mu, v, w = np.array([-2.0, 0.5, 3.0]), np.array([0.05, 0.3, 0.1]), np.array([0.3, 0.5, 0.2])
    wrong = (w * (mu + v / (v + 0.3) * (np.asarray(z)[:, None] - mu))).sum(1)
    assert np.max(np.abs(np.asarray(dcpop.posterior_mean_quadrature(y, pdf, z, 0.3)) - wrong)) > 0.1


def test_ideal_denoiser_is_mse_optimal_by_the_pythagorean_margin():
    """E[y|z] + delta costs exactly E delta^2 more; every perturbed denoiser is worse."""
    g1 = dcpop.mcallester_g1()
    k1, k2 = jax.random.split(jax.random.key(11))
    y = g1.sample(k1, 100_000)
    z = y + np.sqrt(0.3) * jax.random.normal(k2, y.shape)
    best = dcpop.denoiser_mse(g1.posterior_mean, y, z, 0.3)
    shifted = dcpop.denoiser_mse(lambda z, t: g1.posterior_mean(z, t) + 0.1, y, z, 0.3)
    assert shifted - best == pytest.approx(0.01, abs=1.5e-3)
    for f in (lambda z, t: 0.9 * g1.posterior_mean(z, t), lambda z, t: g1.posterior_mean(z, 2 * t)):
        assert dcpop.denoiser_mse(f, y, z, 0.3) > best + 3e-3
    resid = np.asarray(y - jax.vmap(g1.posterior_mean, (0, None))(z, 0.3))[:, 0]
    _, bias, n = dcpop.binned_mean(np.asarray(z)[:, 0], resid, np.linspace(-3, 4, 8))
    _, sq, _ = dcpop.binned_mean(np.asarray(z)[:, 0], resid**2, np.linspace(-3, 4, 8))
    assert np.max(np.abs(bias / np.sqrt(sq / n))) < 4
    # the regression sees the difference when the denoiser is wrong: E[y|z] at 2t is biased
    resid2 = np.asarray(y - jax.vmap(g1.posterior_mean, (0, None))(z, 0.6))[:, 0]
    _, bias2, _ = dcpop.binned_mean(np.asarray(z)[:, 0], resid2, np.linspace(-3, 4, 8))
    assert np.max(np.abs(bias2 / np.sqrt(sq / n))) > 10


def test_tweedie_and_heat_residuals():
    d2 = dcpop.mcallester_d2()
    z = d2.sample_pt(jax.random.key(3), 20, 0.7)
    assert float(jnp.max(dcpop.tweedie_residual(d2, z, jnp.full(20, 0.7)))) < 1e-12
    assert float(jnp.max(dcpop.heat_residual(d2, z, 0.7))) < 1e-9
    # a wrong D (p_t solving d_t p = Delta p, i.e. the score at t/2 read as at t) is caught
    wrong = dcpop.FinitePop(d2.points, d2.weights)
    res = jnp.abs(
        jax.vmap(lambda zz: jax.grad(wrong.log_density)(zz, 0.7))(z)
        - jax.vmap(lambda zz: (wrong.posterior_mean(zz, 0.35) - zz) / 0.7)(z)
    )
    assert float(jnp.max(res)) > 0.1
