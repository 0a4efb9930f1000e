"""Denoising score matching (diffcourse.losses): its minimum, its minimiser, its weightings.

Float64 throughout (conftest). Monte Carlo comparisons use fixed keys and a tolerance of 4
standard errors, with the standard error estimated from the per-sample terms.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from diffcourse import losses, schedules
from diffcourse.data import toys
from diffcourse.nets.mlp import MLP
from diffcourse.nets.precond import Preconditioned
from diffcourse.populations import GaussianMixture

KEY = jax.random.PRNGKey(7)
WEIGHTINGS = ["denoiser", "eps", "score", "vlb"]


@pytest.fixture(scope="module")
def pop():
    return toys.ring_mixture(weights=jnp.tile(jnp.array([2.0, 1.0]), 4) / 12)


class Perturbed(eqx.Module):
    """The denoiser E[y|z] + a g(z, t) of ``pop``; a = 0 is the exact one."""

    pop: GaussianMixture
    a: jax.Array
    shrink: jax.Array = eqx.field(default_factory=lambda: jnp.ones(()))

    def __call__(self, z, t):
        return self.shrink * self.pop.posterior_mean(z, t) + self.a * _bump(z, t)


def _exact(pop):
    return Perturbed(pop, jnp.zeros(()))


def _bump(z, t):
    """A smooth perturbation direction g(z, t) for the denoiser."""
    return jnp.stack([jnp.sin(z[1]), jnp.cos(z[0] * z[1])]) * jnp.sqrt(t) / (1 + t)


def sampler_is_uniform(sampler):
    return isinstance(sampler, losses.LogUniform)


def _draws(key, y, t_sampler):
    key_t, key_eps = jax.random.split(key)
    return t_sampler.sample(key_t, y.shape[0], y.dtype), jax.random.normal(key_eps, y.shape)


# --- the minimum of the loss ----------------------------------------------------------------


@pytest.mark.parametrize("sampler", [losses.LogUniform(0.05, 20.0), losses.LogNormal(-1.0, 1.5)])
def test_irreducible_loss_of_a_gaussian_matches_closed_form(sampler):
    """Gaussian N(mu, s2 I): tr Cov(y|z) = d s2 t/(s2+t) for every z, so L* is a 1-D integral."""
    s2, d = 0.7, 2
    gauss = GaussianMixture(jnp.ones(1), jnp.array([[0.3, -1.0]]), jnp.full((1, d), s2))
    for name in WEIGHTINGS:
        w = losses.WEIGHTINGS[name]
        # adaptive quadrature over ln t with the sampler's density: no Monte Carlo at all
        f = lambda u, w=w: float(
            np.exp(sampler.log_prob(np.exp(u)) + u)
            * w(np.exp(u))
            * d
            * s2
            * np.exp(u)
            / (s2 + np.exp(u))
        )
        lo, hi = (
            (np.log(sampler.t_min), np.log(sampler.t_max))
            if sampler_is_uniform(sampler)
            else (-40, 40)
        )
        expected = integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
        got = losses.irreducible_loss(KEY, gauss, weighting=name, t_sampler=sampler, n_z=64)
        np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_vlb_integral_is_mcallester_c8c():
    r"""integral=True, "vlb": \int_{t0}^{t1} d s2 / (2 t (s2+t)) dt = d/2 ln((1+s2/t0)/(1+s2/t1))."""
    s2, d, t0, t1 = 0.8, 3, 0.05, 50.0
    gauss = GaussianMixture(jnp.ones(1), jnp.zeros((1, d)), jnp.full((1, d), s2))
    got = losses.irreducible_loss(
        KEY, gauss, weighting="vlb", t_sampler=losses.LogUniform(t0, t1), integral=True, n_z=8
    )
    expected = d / 2 * np.log((1 + s2 / t0) / (1 + s2 / t1))
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("weighting", "sampler"),
    [("eps", losses.LogUniform(0.01, 10.0)), ("denoiser", losses.LogNormal(-1.0, 1.5))],
)
def test_exact_denoiser_reaches_the_irreducible_loss(pop, weighting, sampler):
    """DSM with E[y|z] plugged in = E_t w(t) E tr Cov(y|z(t)), within 4 standard errors.

    The constant is computed here independently of losses.irreducible_loss too: a trapezoid
    rule in ln t over Monte Carlo traces of the posterior covariance."""
    n = 20000
    y = pop.sample(jax.random.PRNGKey(1), n)
    loss = losses.dsm_loss(_exact(pop), KEY, y, weighting=weighting, t_sampler=sampler)
    t, eps = _draws(jax.random.PRNGKey(2), y, sampler)
    terms = losses.dsm_terms(_exact(pop), y, t, eps, weighting=weighting)
    se = float(np.std(terms) / np.sqrt(n))
    floor = losses.irreducible_loss(
        jax.random.PRNGKey(3), pop, weighting=weighting, t_sampler=sampler, n_z=4096
    )
    independent = _expected_floor(pop, weighting, sampler)
    assert abs(float(loss) - float(floor)) < 4 * se, (loss, floor, se)
    np.testing.assert_allclose(floor, independent, rtol=2e-2)


def _expected_floor(pop, weighting, sampler):
    """E_t w(t) E tr Cov(y|z(t)) by a trapezoid rule in ln t (density p(t) t in ln t)."""
    u = np.linspace(np.log(1e-4), np.log(1e3), 151)
    t = np.exp(u)
    density = np.exp(np.asarray(sampler.log_prob(jnp.asarray(t)))) * t
    if isinstance(sampler, losses.LogUniform):
        u = np.linspace(np.log(sampler.t_min), np.log(sampler.t_max), 151)
        t, density = np.exp(u), np.full(151, 1 / np.log(sampler.t_max / sampler.t_min))

    @jax.jit
    @jax.vmap
    def trace(t):
        z = pop.sample_pt(jax.random.PRNGKey(5), 2048, t)
        return jnp.mean(jax.vmap(lambda z: jnp.trace(pop.posterior_cov(z, t)))(z))

    f = np.asarray(trace(t)) * losses.WEIGHTINGS[weighting](t) * density
    return np.trapezoid(f, u)


def test_any_other_denoiser_loses_more(pop):
    """Common random numbers: a shrunk or perturbed denoiser has a loss >= 10 SE above E[y|z]'s."""
    y = pop.sample(jax.random.PRNGKey(1), 4000)
    t, eps = _draws(KEY, y, losses.LogUniform(0.01, 10.0))
    exact = losses.dsm_terms(_exact(pop), y, t, eps, weighting="eps")
    for other in (
        Perturbed(pop, jnp.zeros(()), shrink=jnp.array(0.95)),
        Perturbed(pop, jnp.array(0.3)),
    ):
        diff = losses.dsm_terms(other, y, t, eps, weighting="eps") - exact
        assert np.mean(diff) > 10 * np.std(diff) / np.sqrt(len(diff))


@pytest.mark.parametrize("weighting", ["denoiser", "eps", "vlb"])
def test_gradient_at_the_exact_denoiser_is_zero(pop, weighting):
    r"""d/da L(E[y|z] + a g) at a = 0 is 0 (within 4 SE); at a = 0.3 it is > 10 SE: M5's minimiser."""
    n = 8000
    y = pop.sample(jax.random.PRNGKey(1), n)
    t, eps = _draws(KEY, y, losses.LogUniform(0.01, 10.0))

    def terms(a):
        return losses.dsm_terms(Perturbed(pop, a), y, t, eps, weighting=weighting)

    for a, zero in ((jnp.zeros(()), True), (jnp.array(0.3), False)):
        per_sample = jax.jacfwd(terms)(a)
        grad, se = float(np.mean(per_sample)), float(np.std(per_sample) / np.sqrt(n))
        np.testing.assert_allclose(grad, jax.grad(lambda a: jnp.mean(terms(a)))(a), rtol=1e-10)
        if zero:
            assert abs(grad) < 4 * se, (grad, se)
        else:
            assert grad > 10 * se, (grad, se)
    # and the loss itself, as dsm_loss computes it, has a zero gradient there
    g = jax.grad(
        lambda a: losses.dsm_loss(
            Perturbed(pop, a),
            KEY,
            y,
            weighting=weighting,
            t_sampler=losses.LogUniform(0.01, 10.0),
        )
    )(0.0)
    assert abs(float(g)) < 4 * se


# --- the weightings make the three targets the same loss -------------------------------------


class Net(eqx.Module):
    """Some network output of the right scale, and its readings as eps and as score."""

    mlp: MLP
    read_as: str = eqx.field(static=True, default="denoiser")

    def __call__(self, z, t):
        yhat = self.mlp(z, t) * jnp.sqrt(1 + t)
        if self.read_as == "eps":
            return schedules.denoiser_to_eps(yhat, z, t)
        if self.read_as == "score":
            return schedules.denoiser_to_score(yhat, z, t)
        return yhat


def _net(read_as="denoiser"):
    return Net(MLP(jax.random.PRNGKey(3), 2, width=16, depth=2), read_as)


@pytest.mark.parametrize("sampler", [losses.LogUniform(1e-3, 1e2), losses.LogNormal()])
def test_denoiser_eps_score_losses_agree(pop, sampler):
    """The same network output read as yhat, eps or score gives the same loss (1e-10), for
    every weighting, with and without integral=True."""
    y = pop.sample(jax.random.PRNGKey(1), 256)
    for weighting in [*WEIGHTINGS, losses.edm_weighting(1.3)]:
        for integral in (False, True):
            values = {
                target: float(
                    losses.dsm_loss(
                        _net(target),
                        KEY,
                        y,
                        target=target,
                        weighting=weighting,
                        t_sampler=sampler,
                        integral=integral,
                    )
                )
                for target in losses.TARGETS
            }
            np.testing.assert_allclose(values["eps"], values["denoiser"], rtol=1e-10)
            np.testing.assert_allclose(values["score"], values["denoiser"], rtol=1e-10)


def test_native_losses_are_the_textbook_ones(pop):
    """eps-weighting on eps = ||eps - epshat||^2 (Ho et al. eq. 14); score on score = Vincent's DSM;
    vlb on eps = ||eps - epshat||^2 / 2t; integral=True divides by p(t) = 1/(t ln R)."""
    f = _net()
    y = pop.sample(jax.random.PRNGKey(1), 64)
    t, eps = _draws(KEY, y, losses.LogUniform())
    z = y + jnp.sqrt(t)[:, None] * eps
    out = jax.vmap(f)(z, t)
    sq = lambda a: np.sum(np.asarray(a) ** 2, axis=1)
    terms = lambda target, weighting: losses.dsm_terms(
        f, y, t, eps, target=target, weighting=weighting
    )
    np.testing.assert_allclose(terms("eps", "eps"), sq(eps - out), rtol=1e-12)
    np.testing.assert_allclose(terms("eps", "vlb"), sq(eps - out) / (2 * t), rtol=1e-12)
    np.testing.assert_allclose(terms("score", "score"), sq((y - z) / t[:, None] - out), rtol=1e-12)
    np.testing.assert_allclose(terms("denoiser", "denoiser"), sq(y - out), rtol=1e-12)
    sampler = losses.LogUniform(1e-3, 1e2)
    log_r = np.log(sampler.t_max / sampler.t_min)
    a = losses.dsm_loss(f, KEY, y, weighting="vlb", t_sampler=sampler, integral=True)
    b = losses.dsm_loss(f, KEY, y, weighting=lambda t: t * log_r / (2 * t**2), t_sampler=sampler)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_t_samplers_match_their_densities():
    """KS test of each sampler against its CDF; log_prob integrates to 1; quadrature is exact for E ln t."""
    from scipy import stats

    lu, ln = losses.LogUniform(1e-3, 1e2), losses.LogNormal(-2.4, 2.4)
    t = np.asarray(lu.sample(KEY, 4000))
    assert stats.kstest(np.log(t), stats.uniform(np.log(1e-3), np.log(1e5)).cdf).pvalue > 1e-3
    t = np.asarray(ln.sample(KEY, 4000))
    assert stats.kstest(np.log(t), stats.norm(-2.4, 2.4).cdf).pvalue > 1e-3
    for s, mean_log in ((lu, 0.5 * np.log(1e-3 * 1e2)), (ln, -2.4)):
        u = (
            np.linspace(np.log(1e-3), np.log(1e2), 20001)
            if s is lu
            else np.linspace(-20, 15, 20001)
        )
        np.testing.assert_allclose(np.trapezoid(np.exp(s.log_prob(np.exp(u)) + u), u), 1, rtol=1e-6)
        tq, q = s.quadrature(16)
        np.testing.assert_allclose(np.sum(q * np.log(tq)), mean_log, atol=1e-12)


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_is_rejected(pop):
    m = Preconditioned(MLP(jax.random.PRNGKey(0), 2, width=8, depth=1), shape=(2,))
    y = pop.sample(KEY, 8)
    with pytest.raises(ValueError, match="y must be a batch"):
        losses.dsm_loss(m, KEY, y[:, 0])
    with pytest.raises(ValueError, match=r"y must have shape \(n, 2\)"):
        losses.dsm_loss(m, KEY, jnp.ones((8, 3)))
    with pytest.raises(ValueError, match="target must be one of"):
        losses.make_loss_fn(target="x0")
    with pytest.raises(ValueError, match="weighting must be one of"):
        losses.make_loss_fn(weighting="snr")
    with pytest.raises(ValueError, match="t_sampler"):
        losses.make_loss_fn(t_sampler=(1e-3, 1e2))
    with pytest.raises(ValueError, match="t_min must be < t_max"):
        losses.LogUniform(1.0, 0.5)
    with pytest.raises(ValueError, match="t_min must be positive"):
        losses.LogUniform(0.0, 1.0)
    with pytest.raises(ValueError, match="std must be positive"):
        losses.LogNormal(0.0, 0.0)
    with pytest.raises(ValueError, match="sigma_data must be positive"):
        losses.edm_weighting(-1.0)
    with pytest.raises(ValueError, match="no density"):
        losses.make_loss_fn(t_sampler=losses.ScheduleUniform((0.9, 0.5)), integral=True)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        losses.mmse(KEY, pop, 1.0, n=0)
    with pytest.raises(ValueError, match="t must be positive"):
        losses.denoiser_error(KEY, m, pop, jnp.array([0.1, 0.0]))


def test_per_dim_and_schedule_uniform():
    """per_dim divides by the coordinates of one sample; ScheduleUniform draws DDPM's VE times with
    equal weight (chi-square over the 4 steps of a small schedule, p > 1e-3)."""
    from scipy import stats

    f = _net()
    y = jax.random.normal(KEY, (64, 2))
    a = losses.dsm_loss(f, KEY, y, weighting="eps")
    b = losses.dsm_loss(f, KEY, y, weighting="eps", per_dim=True)
    np.testing.assert_allclose(a, 2 * b, rtol=1e-12)
    ab = (0.9, 0.6, 0.3, 0.1)
    s = losses.ScheduleUniform(ab)
    t = np.asarray(s.sample(KEY, 4000))
    want = (1 - np.array(ab)) / np.array(ab)
    counts = np.array([np.sum(np.isclose(t, w)) for w in want])
    assert counts.sum() == 4000 and stats.chisquare(counts).pvalue > 1e-3
    assert s.support() == pytest.approx((want.min(), want.max()))
    lo, hi = losses.LogNormal(-2.4, 2.4).support()
    assert stats.norm(-2.4, 2.4).cdf(np.log(hi)) == pytest.approx(0.999)
    assert stats.norm(-2.4, 2.4).cdf(np.log(lo)) == pytest.approx(0.001)


def test_loss_per_log_t_closed_forms():
    """For pop = N(0, s2 I): mmse(t) = d s2 t/(s2+t), so under ln t uniform EDM's weighting gives the
    flat d (its point: every noise level weighs the same per unit ln t), the VLB d s2/(2t(s2+t));
    a LogNormal t-sampler multiplies by its density of ln t. (Monte Carlo mmse: 3%.)"""
    s2, d = 0.6, 2
    gauss = GaussianMixture(jnp.ones(1), jnp.zeros((1, d)), jnp.full((1, d), s2))
    t = np.geomspace(1e-3, 1e2, 7)
    edm = losses.loss_per_log_t(KEY, gauss, t, weighting=losses.edm_weighting(np.sqrt(s2)))
    np.testing.assert_allclose(edm, d, rtol=0.03)
    vlb = losses.loss_per_log_t(KEY, gauss, t, weighting="vlb")
    np.testing.assert_allclose(vlb, d * s2 / (2 * t * (s2 + t)), rtol=0.03)
    ln = losses.LogNormal(-2.4, 2.4)
    got = losses.loss_per_log_t(KEY, gauss, t, weighting="vlb", t_sampler=ln)
    density = np.exp(-0.5 * ((np.log(t) + 2.4) / 2.4) ** 2) / (2.4 * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(got, vlb * density, rtol=1e-10)
    # the measure for t uniform (w t mmse, the old figure's curve) is not flat for EDM
    assert np.ptp(np.log(np.asarray(edm) * t)) > 10
