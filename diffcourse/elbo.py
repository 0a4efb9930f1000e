r"""The VAE view of diffusion: the ELBO as an integral of denoising errors, ln pop(y), the discrete
DDPM ELBO, and the likelihood through the probability-flow ODE.

Notation (the course's, D = 1/2): :math:`z(t) = y + \sqrt t\,\epsilon`, :math:`p_t = \mathrm{pop} * \mathcal N(0, tI)`.
A *denoiser* is a callable ``yhat(z, t) -> (d,)`` for one sample; the exact one is
:math:`E[y\mid z(t)=z]`. Expectations over :math:`\epsilon\sim\mathcal N(0,I)` use a *rule*
``(eps, w)``: nodes of shape (m, d) and weights (m,) summing to 1, from :func:`eps_quadrature`
(Gauss–Hermite, exact for polynomials) or :func:`eps_monte_carlo`. Time integrals run over an
increasing grid ``ts`` (:func:`log_t_grid`) with the trapezoid rule in :math:`u = \ln t`
(the integrands live on many decades of t).

Sources: McAllester, "On the Mathematics of Diffusion Models" (arXiv 2301.11108: the Markovian VAE,
the bound as an integral of denoising errors, the expression for ln pop); Ho et al. 2020 (DDPM) eq. 5, 7, 11; Song et al. 2021 (score SDEs) §4.3 and App. D.2;
Hutchinson 1989; Grathwohl et al. 2019 (FFJORD) for the trace estimator inside the ODE.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _boundary, _validate, samplers, schedules

# ---------------------------------------------------------------- expectations and time grids


def eps_quadrature(n: int, d: int = 1):
    r"""Gauss–Hermite rule for :math:`E_{\epsilon\sim\mathcal N(0,I_d)} f(\epsilon)`: tensor product of ``n`` nodes per axis.

    Nodes from ``numpy.polynomial.hermite_e.hermegauss`` (weight :math:`e^{-x^2/2}`), weights
    normalised to sum to 1. Exact for polynomials of degree :math:`\le 2n-1` in each coordinate.
    Returns ``(eps, w)`` with shapes ``(n**d, d)`` and ``(n**d,)``. Use it for small ``d`` only.
    """
    n = _validate.positive_int("n", n)
    d = _validate.positive_int("d", d)
    if n**d > 10**6:
        raise ValueError(f"n**d must be at most 1e6 nodes; got n={n}, d={d} (use eps_monte_carlo)")
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    grids = np.meshgrid(*([x] * d), indexing="ij")
    wgrids = np.meshgrid(*([w] * d), indexing="ij")
    eps = np.stack([g.ravel() for g in grids], axis=-1)
    weights = np.prod(np.stack([g.ravel() for g in wgrids], axis=-1), axis=-1)
    return jnp.asarray(eps), jnp.asarray(weights)


def eps_monte_carlo(key, n: int, d: int):
    """Monte Carlo rule: ``n`` draws :math:`\\epsilon\\sim\\mathcal N(0, I_d)` with weights 1/n. Shapes (n, d), (n,)."""
    n = _validate.positive_int("n", n)
    d = _validate.positive_int("d", d)
    _boundary.key("key", key)
    eps = jax.random.normal(key, (n, d))
    return eps, jnp.full((n,), 1.0 / n, dtype=eps.dtype)


def log_t_grid(t_min, t_max, n: int):
    """Increasing geometric grid of ``n`` times from ``t_min`` to ``t_max`` (uniform in ln t): the
    sampler's :func:`diffcourse.samplers.geometric_grid` read forwards, for integrals. Shape (n,)."""
    n = _validate.positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be at least 2 (a grid has two ends); got {n}")
    return jnp.asarray(samplers.geometric_grid(t_max, t_min, n - 1)[::-1].copy())


def integrate_log_t(f, ts):
    r""":math:`\int_{t_0}^{T} f(t)\,dt = \int f(e^u)\,e^u\,du`: trapezoid rule in :math:`u=\ln t` over the grid ``ts``.

    ``f``: values on the grid, shape (n,); ``ts``: strictly increasing positive grid, shape (n,).
    """
    if _validate.is_concrete((f, ts)):
        ts = _check_grid(ts)
        f = _boundary.data("f", f, shape=np.shape(ts))
    return _integrate_log_t(f, ts)


@jax.jit
def _integrate_log_t(f, ts):
    u = jnp.log(ts)
    g = f * ts
    return jnp.sum(0.5 * (g[1:] + g[:-1]) * jnp.diff(u))


def _check_rule(rule, d):
    if not (isinstance(rule, (tuple, list)) and len(rule) == 2):
        raise _validate.fail(
            "rule", "a pair (eps, w) of nodes and weights", _validate._describe(rule)
        )
    eps, w = rule
    eps = _boundary.data("rule[0] (eps nodes)", eps, finite=True)
    w = _boundary.data("rule[1] (weights)", w)
    _validate.shape("rule[0] (eps nodes)", eps, (None, d))
    _validate.shape("rule[1] (weights)", w, (np.shape(eps)[0],))
    _validate.probabilities("rule[1] (weights)", w)
    return eps, w


def _check_grid(ts):
    ts = _boundary.data("ts", ts, min_size=0)
    _validate.monotone("ts", ts, increasing=True)
    _validate.positive("ts", ts)
    return jnp.asarray(ts)


def _check_y(y, name="y"):
    y = jnp.asarray(_boundary.data(name, y, shape=(None,)))
    if y.ndim != 1:
        raise ValueError(f"y must have shape (d,) (one sample; vmap for a batch); got {y.shape}")
    return y


# ---------------------------------------------------------------- continuous time (McAllester)


def vlb_weight(t):
    r"""The VLB weight of the denoising error, :math:`1/(2t^2)` (M6).

    :math:`\frac{\|y-\hat y\|^2}{2t^2} = \frac{\|\epsilon-\hat\epsilon\|^2}{2t}` (McAllester 2023, §2).
    """
    _boundary.times("t", _boundary.data("t", t))
    return 0.5 / jnp.asarray(t) ** 2


def _check_noised(name, f, y, t, rule, *, positive_t):
    """The public checks of a function of the noised point ``y + sqrt(t) eps``: ``f`` callable,
    ``y`` (d,), ``t`` > 0 (or >= 0), ``rule`` a pair for dimension d. Traced values pass."""
    if _validate.is_concrete((y, t, rule)):
        _boundary.function(name, f)
        y = _check_y(y)
        (_boundary.positive if positive_t else _boundary.nonnegative)("t", t)
        rule = _check_rule(rule, y.shape[0])
    return y, rule


def _noised_mean(f, y, t, rule):
    r""":math:`E_\epsilon f(y + \sqrt t\,\epsilon)` by the nodes and weights of ``rule``: the one
    expectation over the forward noise that the bounds below take (checked by the callers)."""
    eps, w = rule
    return jnp.sum(w * jax.vmap(f)(y + jnp.sqrt(t) * eps))


def denoising_error(denoiser, y, t, rule):
    r""":math:`E_\epsilon\|y - \hat y(y+\sqrt t\,\epsilon,\ t)\|^2` for one fixed ``y`` (d,) and scalar ``t``; uses ``rule``."""
    y, rule = _check_noised("denoiser", denoiser, y, t, rule, positive_t=True)
    return _noised_mean(lambda z: jnp.sum((y - denoiser(z, t)) ** 2), y, t, rule)


@eqx.filter_jit
def _errors_on_grid(denoiser, y, ts, rule):
    return jax.vmap(lambda t: denoising_error(denoiser, y, t, rule))(ts)


def denoising_errors(denoiser, y, ts, rule):
    r""":func:`denoising_error` at every time of the grid ``ts`` (n,), in one compiled call. (n,)."""
    _boundary.function("denoiser", denoiser)
    y = _check_y(y)
    _check_rule(rule, y.shape[0])
    ts = _boundary.data("ts", ts, ndim=1)
    _validate.positive("ts", ts)
    return _errors_on_grid(denoiser, y, jnp.asarray(ts), rule)


def vlb_density_per_log_t(denoiser, y, ts, rule):
    r"""The variational bound's integrand per unit :math:`\ln t` on the grid ``ts``:
    :math:`t\,\frac{E_\epsilon\|y-\hat y\|^2}{2t^2}`, so that the area under it against
    :math:`\ln t` is the bound's denoising part (McAllester 2023). (n,)."""
    ts = _boundary.data("ts", ts, ndim=1)
    _validate.positive("ts", ts)
    ts = jnp.asarray(ts)
    return ts * vlb_weight(ts) * denoising_errors(denoiser, y, ts, rule)


def log_pop_integrand(denoiser, y, t, rule):
    r"""Integrand of M8: :math:`\frac{d}{2t} - \frac{E_\epsilon\|y-\hat y(t, y+\sqrt t\epsilon)\|^2}{2t^2}`."""
    if _validate.is_concrete((y, t)):
        y = _check_y(y)
        _boundary.positive("t", t)
    return 0.5 * y.shape[-1] / t - vlb_weight(t) * denoising_error(denoiser, y, t, rule)


def expected_log_density(log_density, y, t, rule):
    r""":math:`E_\epsilon \ln p(y + \sqrt t\,\epsilon)` for a single-sample log-density ``log_density(z)``."""
    y, rule = _check_noised("log_density", log_density, y, t, rule, positive_t=False)
    return _noised_mean(log_density, y, t, rule)


def log_pop(denoiser, log_p_T, y, ts, rule):
    r"""McAllester's pointwise log-density (McAllester 2023):

    .. math:: \ln\mathrm{pop}(y) = E_\epsilon[\ln p_T(y+\sqrt T\epsilon)]
              + \int_0^T\Big(\frac d{2t}-\frac{E_\epsilon\|y-E[y\mid t, y+\sqrt t\epsilon]\|^2}{2t^2}\Big)dt.

    Exact with the exact denoiser and :math:`p_T`; the integral runs over ``ts`` (from
    ``t_0 = ts[0]``, small: the neglected piece :math:`\int_0^{t_0}` is :math:`O(t_0)` for a smooth
    pop), ``T = ts[-1]``. ``denoiser(z, t) -> (d,)``; ``log_p_T(z) -> scalar``; ``y`` (d,).
    With a learned denoiser and a prior in place of :math:`p_T` this is the continuous ELBO
    (see :func:`continuous_elbo`). Returns a scalar (nats).
    """
    _boundary.function("denoiser", denoiser)
    _boundary.function("log_p_T", log_p_T)
    y = _check_y(y)
    ts = _check_grid(ts)
    rule = _check_rule(rule, y.shape[0])
    return _log_pop(denoiser, log_p_T, y, ts, rule)


@eqx.filter_jit
def _log_pop(denoiser, log_p_T, y, ts, rule):
    f = 0.5 * y.shape[0] / ts - vlb_weight(ts) * _errors_on_grid(denoiser, y, ts, rule)
    return expected_log_density(log_p_T, y, ts[-1], rule) + integrate_log_t(f, ts)


class ElboTerms(NamedTuple):
    r"""The three terms of the continuous bound :math:`-\ln p_\theta(y) \le` prior + diffusion + reconstruction (nats)."""

    prior: jax.Array
    diffusion: jax.Array
    reconstruction: jax.Array

    @property
    def total(self):
        """The bound on the negative log-likelihood: the sum of the three terms."""
        return self.prior + self.diffusion + self.reconstruction


def continuous_elbo(denoiser, log_prior, y, ts, rule, decoder_var=None) -> ElboTerms:
    r"""The variational bound of the continuous-time (λ = 1) diffusion model at one point ``y`` (M1, M6, M7).

    The model: :math:`z(T)\sim\pi` (``log_prior``), the reverse SDE of M4 with drift
    :math:`(\hat y_\theta - z)/t` from :math:`T` down to :math:`t_0`, then the decoder
    :math:`y\sim\mathcal N(\hat y_\theta(z(t_0), t_0),\ \sigma_0^2 I)`. For every ``y``

    .. math:: -\ln p_\theta(y) \le \underbrace{KL(\mathcal N(y, TI)\,\|\,\pi)}_{\text{prior}}
       + \underbrace{\int_{t_0}^{T} \frac{E_\epsilon\|y-\hat y_\theta(t, y+\sqrt t\epsilon)\|^2}{2t^2}\,dt}_{\text{diffusion (sum of M6 KLs)}}
       + \underbrace{E_\epsilon\big[-\ln\mathcal N(y;\ \hat y_\theta(t_0, y+\sqrt{t_0}\epsilon),\ \sigma_0^2 I)\big]}_{\text{reconstruction}}

    with equality up to the decoder's mismatch when :math:`\hat y_\theta` is exact and :math:`\pi = p_T`.
    ``ts``: increasing grid, :math:`t_0 = ` ``ts[0]``, :math:`T = ` ``ts[-1]``; ``decoder_var``:
    :math:`\sigma_0^2`, default :math:`t_0` (the posterior variance of y given z(t0) for a smooth pop).
    """
    _boundary.function("denoiser", denoiser)
    _boundary.function("log_prior", log_prior)
    y = _check_y(y)
    ts = _check_grid(ts)
    d = y.shape[0]
    rule = _check_rule(rule, d)
    if decoder_var is not None:
        _boundary.positive("decoder_var", decoder_var)
    return _continuous_elbo(denoiser, log_prior, y, ts, rule, decoder_var)


@eqx.filter_jit
def _continuous_elbo(denoiser, log_prior, y, ts, rule, decoder_var):
    d, t0, T = y.shape[0], ts[0], ts[-1]
    decoder_var = t0 if decoder_var is None else decoder_var
    errors = _errors_on_grid(denoiser, y, ts, rule)
    prior = -expected_log_density(log_prior, y, T, rule) - 0.5 * d * jnp.log(2 * jnp.pi * jnp.e * T)
    diffusion = integrate_log_t(vlb_weight(ts) * errors, ts)
    reconstruction = 0.5 * d * jnp.log(2 * jnp.pi * decoder_var) + errors[0] / (2 * decoder_var)
    return ElboTerms(prior, diffusion, reconstruction)


def mutual_information(denoiser, ys, y_weights, ts, rule):
    r"""I-MMSE (M7): :math:`I(y; z(t_0)) = \int_{t_0}^\infty \frac{E_{y,\epsilon}\|y-E[y\mid t,z(t)]\|^2}{2t^2}dt`.

    The expectation over :math:`y` is the weighted sum over ``ys`` (n, d) with ``y_weights`` (n,)
    (a finite pop, or quadrature nodes of a continuous one); over :math:`\epsilon` it uses ``rule``.
    The integral runs over the grid ``ts``; the tail beyond :math:`T` = ``ts[-1]`` is taken
    analytically as :math:`\mathrm{tr\,Cov}(y)/(2T)` (for large t the denoiser is E[y]).
    For a discrete pop, :math:`t_0\to 0` gives the entropy :math:`H(y)` (:math:`H(y\mid z(t_0))\to0`).
    """
    _boundary.function("denoiser", denoiser)
    ys = jnp.asarray(_boundary.data("ys", ys, shape=(None, None)))
    y_weights = _boundary.data("y_weights", y_weights)
    _validate.shape("y_weights", y_weights, (ys.shape[0],))
    _validate.probabilities("y_weights", y_weights)
    ts = _check_grid(ts)
    rule = _check_rule(rule, ys.shape[1])
    return _mutual_information(denoiser, ys, y_weights, ts, rule)


@eqx.filter_jit
def _mutual_information(denoiser, ys, y_weights, ts, rule):
    mmse = y_weights @ jax.vmap(lambda y: _errors_on_grid(denoiser, y, ts, rule))(ys)
    mean = y_weights @ ys
    tr_cov = y_weights @ jnp.sum((ys - mean) ** 2, axis=-1)
    return integrate_log_t(vlb_weight(ts) * mmse, ts) + tr_cov / (2 * ts[-1])


# ---------------------------------------------------------------- discrete time (Ho et al. 2020)


def gaussian_kl(mean_q, var_q, mean_p, var_p):
    r""":math:`KL(\mathcal N(m_q, v_q I)\,\|\,\mathcal N(m_p, v_p I))` in d dimensions (scalar variances).

    :math:`\tfrac12\big[d\,v_q/v_p + \|m_q-m_p\|^2/v_p - d + d\ln(v_p/v_q)\big]`.
    """
    if _validate.is_concrete((mean_q, var_q, mean_p, var_p)):
        mean_q = _boundary.data("mean_q", mean_q, min_ndim=1)
        mean_p = _boundary.data("mean_p", mean_p, min_ndim=1)
        _boundary.broadcast(mean_q=mean_q, mean_p=mean_p)
        if np.shape(mean_q)[-1] != np.shape(mean_p)[-1]:
            raise _validate.fail("mean_p", f"of dimension {np.shape(mean_q)[-1]}", np.shape(mean_p))
        _boundary.times("var_q", var_q)
        _boundary.times("var_p", var_p)
    d = jnp.shape(mean_q)[-1]
    r = var_q / var_p
    return 0.5 * (d * r + jnp.sum((mean_q - mean_p) ** 2, axis=-1) / var_p - d - d * jnp.log(r))


def ddpm_p_mean(eps_model, x_t, alphabar_t, beta_t):
    r"""Mean of the model kernel :math:`p_\theta(x_{t-1}\mid x_t)` (Ho et al. 2020 eq. 11):
    :math:`\mu_\theta = \frac1{\sqrt{\alpha_t}}\big(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\hat\epsilon(x_t,\bar\alpha_t)\big)`.
    """
    if _validate.is_concrete((x_t, alphabar_t, beta_t)):
        _boundary.function("eps_model", eps_model)
        x_t = _boundary.data("x_t", x_t, min_ndim=1)
        _validate.in_open_interval("alphabar_t", alphabar_t, 0.0, 1.0)
        _validate.in_open_interval("beta_t", beta_t, 0.0, 1.0)
    eps_hat = eps_model(x_t, alphabar_t)
    return (x_t - beta_t / jnp.sqrt(1 - alphabar_t) * eps_hat) / jnp.sqrt(1 - beta_t)


class DDPMTerms(NamedTuple):
    r"""Ho et al. 2020 eq. 5 at one :math:`x_0`: :math:`L_T`, :math:`L_{t-1}` for t = 2..T (shape (T-1,)), :math:`L_0` (nats)."""

    L_T: jax.Array
    L_mid: jax.Array
    L_0: jax.Array

    @property
    def total(self):
        r"""The bound :math:`-\ln p_\theta(x_0) \le L_T + \sum_t L_{t-1} + L_0`."""
        return self.L_T + jnp.sum(self.L_mid) + self.L_0


def ddpm_elbo(eps_model, x0, betas, rule, *, sigma2: str = "beta") -> DDPMTerms:
    r"""The discrete DDPM bound (Ho et al. 2020 eq. 5) at one data point ``x0`` (d,):

    .. math:: -\ln p_\theta(x_0) \le \underbrace{KL(q(x_T|x_0)\|\mathcal N(0,I))}_{L_T}
       + \sum_{t=2}^T \underbrace{E_q\,KL(q(x_{t-1}|x_t,x_0)\,\|\,p_\theta(x_{t-1}|x_t))}_{L_{t-1}}
       \underbrace{- E_q\ln p_\theta(x_0|x_1)}_{L_0}.

    :math:`q(x_{t-1}|x_t,x_0)` is ``schedules.ddpm_posterior`` (eq. 6–7); :math:`p_\theta(x_{t-1}|x_t) =
    \mathcal N(\mu_\theta, \sigma_t^2 I)` with :math:`\mu_\theta` from :func:`ddpm_p_mean` and
    :math:`\sigma_t^2 = \beta_t` (``sigma2="beta"``) or :math:`\tilde\beta_t` (``"beta_tilde"``);
    the decoder :math:`p_\theta(x_0|x_1)` is Gaussian with variance :math:`\beta_1` (continuous data).
    ``eps_model(x_t, alphabar_t) -> (d,)`` predicts :math:`\epsilon`; ``betas`` (T,) in (0, 1);
    the expectation over :math:`x_t = \sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\epsilon` uses ``rule``.
    """
    _boundary.function("eps_model", eps_model)
    x0 = _check_y(x0, "x0")
    d = x0.shape[0]
    rule = _check_rule(rule, d)
    betas = jnp.asarray(_boundary.data("betas", betas, min_size=0))
    if betas.ndim != 1 or betas.shape[0] < 2:
        raise ValueError(
            f"betas must be a 1-D schedule of at least 2 steps; got shape {betas.shape}"
        )
    _validate.in_open_interval("betas", betas, 0.0, 1.0)
    if sigma2 not in ("beta", "beta_tilde"):
        raise ValueError(f"sigma2 must be 'beta' or 'beta_tilde'; got {sigma2!r}")
    tilde = jnp.asarray(sigma2 == "beta_tilde")  # traced, so both choices share one compilation
    return _ddpm_terms(eps_model, x0, betas, schedules.alphabars(betas), *rule, tilde)


@eqx.filter_jit
def _ddpm_terms(eps_model, x0, betas, alphabar, eps, w, tilde):
    d = x0.shape[0]
    alphabar_prev = jnp.concatenate([jnp.ones(1, alphabar.dtype), alphabar[:-1]])

    def x_t_nodes(ab):
        return jnp.sqrt(ab) * x0 + jnp.sqrt(1 - ab) * eps

    def L_step(ab, ab_prev, beta):  # t = 2..T
        def kl(x_t):
            mean_q, var_q = schedules.ddpm_posterior(x0, x_t, ab, ab_prev)
            var_p = jnp.where(tilde, var_q, beta)
            return gaussian_kl(mean_q, var_q, ddpm_p_mean(eps_model, x_t, ab, beta), var_p)

        return jnp.sum(w * jax.vmap(kl)(x_t_nodes(ab)))

    L_mid = jax.vmap(L_step)(alphabar[1:], alphabar_prev[1:], betas[1:])
    L_T = gaussian_kl(jnp.sqrt(alphabar[-1]) * x0, 1 - alphabar[-1], jnp.zeros(d), 1.0)

    def nll0(x_1):
        mean = ddpm_p_mean(eps_model, x_1, alphabar[0], betas[0])
        return 0.5 * d * jnp.log(2 * jnp.pi * betas[0]) + jnp.sum((x0 - mean) ** 2) / (2 * betas[0])

    L_0 = jnp.sum(w * jax.vmap(nll0)(x_t_nodes(alphabar[0])))
    return DDPMTerms(L_T, L_mid, L_0)


# ---------------------------------------------------------------- likelihood by the probability-flow ODE


def divergence_exact(f, z):
    r""":math:`\nabla\cdot f(z) = \mathrm{tr}\,\partial f/\partial z` by ``jax.jacrev`` (d reverse passes;
    low d). Reverse mode, because networks with a hand-written backward (``jax.custom_vjp``, the
    U-Net's fused GroupNorm) have no forward-mode derivative."""
    if _validate.is_concrete(z):
        _boundary.function("f", f)
        z = _check_y(z, "z")
    return jnp.trace(jax.jacrev(f)(z))


def hutchinson_probes(key, n: int, d: int, kind: str = "rademacher"):
    r"""``n`` probe vectors (n, d) with :math:`E[vv^\top] = I`: Rademacher (±1) or Gaussian."""
    n = _validate.positive_int("n", n)
    d = _validate.positive_int("d", d)
    _boundary.key("key", key)
    if kind == "rademacher":
        return jax.random.rademacher(key, (n, d)).astype(jnp.result_type(float))
    if kind == "gaussian":
        return jax.random.normal(key, (n, d))
    raise ValueError(f"kind must be 'rademacher' or 'gaussian'; got {kind!r}")


def divergence_hutchinson(f, z, probes):
    r"""Hutchinson's estimator :math:`\frac1n\sum_k v_k^\top \frac{\partial f}{\partial z} v_k` (one
    vector-Jacobian product per probe: reverse mode, which custom-VJP networks support).

    Unbiased for :math:`\mathrm{tr}\,\partial f/\partial z` when :math:`E[vv^\top]=I` (Hutchinson 1989).
    ``probes``: (n, d) from :func:`hutchinson_probes`.
    """
    if _validate.is_concrete((z, probes)):
        _boundary.function("f", f)
        z = _check_y(z, "z")
        probes = _boundary.data("probes", probes, shape=(None, z.shape[0]), finite=True)
    probes = jnp.asarray(probes).astype(jnp.result_type(z))  # tangents must match z's dtype
    _, vjp = jax.vjp(f, z)
    vj = jax.vmap(lambda v: vjp(v)[0])(probes)  # v^T (df/dz), then dotted with v
    return jnp.mean(jnp.sum(probes * vj, axis=-1))


def ode_log_likelihood(denoiser, log_prior, y, ts, probes=None):
    r""":math:`\ln p_{t_0}(y)` by the probability-flow ODE and the instantaneous change of variables (M10, M13).

    With :math:`u=\ln t`, the flow :math:`dz/dt = -\tfrac12\nabla\ln p_t = -\tfrac{\hat y - z}{2t}` becomes
    :math:`dz/du = \tfrac12(z-\hat y(z,t))`, and :math:`\frac{d}{dt}\ln p_t(z(t)) = \tfrac12\nabla\cdot s`
    with :math:`\nabla\cdot s = (\nabla\cdot\hat y - d)/t`, so

    .. math:: \ln p_{t_0}(y) = \ln\pi(z(T)) - \int_{\ln t_0}^{\ln T}\tfrac12\big(\nabla_z\cdot\hat y(z(t),t) - d\big)\,du,

    integrated from :math:`z(t_0)=y` up to :math:`T` with RK4 on the (increasing) grid ``ts``
    (Song et al. 2021 App. D.2). The clock and conventions are the sampler's (VE time t, the
    denoiser :math:`D(z,t)`, a geometric grid); the solver is a fixed-grid RK4 in :math:`u = \ln t`
    rather than :func:`diffcourse.samplers.heun` because the log-density integral needs 4th order to
    reach 1e-6 nats on 100 steps, and rather than diffrax's adaptive Dopri5 because a fixed grid
    gives bit-for-bit reproducible stored outputs and one compile (no extra dependency). The divergence is exact (``jax.jacfwd``) when
    ``probes`` is None, else Hutchinson's estimate with the fixed ``probes`` (n, d) along the whole
    path (FFJORD), which makes the result an unbiased estimate up to the RK4 error.
    ``log_prior(z)``: the prior :math:`\pi`, e.g. :math:`\ln p_T`. Returns a scalar (nats).
    """
    _boundary.function("denoiser", denoiser)
    _boundary.function("log_prior", log_prior)
    y = _check_y(y)
    ts = _check_grid(ts)
    d = y.shape[0]
    if probes is not None:
        probes = _boundary.data("probes", probes, finite=True)
        _validate.shape("probes", probes, (None, d))
        probes = jnp.asarray(probes, y.dtype)
    return _ode_solve(denoiser, log_prior, y, jnp.log(ts).astype(y.dtype), probes)


@eqx.filter_jit
def _ode_solve(denoiser, log_prior, y, u, probes):
    d = y.shape[0]

    def rhs(state, u):
        z, _ = state
        t = jnp.exp(u)
        f = lambda x: denoiser(x, t)
        yhat = f(z)
        div = divergence_exact(f, z) if probes is None else divergence_hutchinson(f, z, probes)
        return (0.5 * (z - yhat)).astype(z.dtype), (0.5 * (div - d)).astype(z.dtype)

    def add(state, k, h):
        return jax.tree_util.tree_map(lambda s, dk: s + h * dk, state, k)

    # Classic RK4 as a loop over its four stages, so the compiled body holds one evaluation of
    # the network (and its divergence) instead of four: a quarter of the graph to compile.
    # Stage i evaluates at state + a_i h k_{i-1}, time u + a_i h, and adds b_i k_i.
    a_stage = jnp.array([0.0, 0.5, 0.5, 1.0], u.dtype)
    b_stage = jnp.array([1.0, 2.0, 2.0, 1.0], u.dtype) / 6

    def step(state, us):
        u, u_next = us
        h = u_next - u

        def stage(carry, ab):
            k_prev, acc = carry
            a, b = ab
            k = rhs(add(state, k_prev, a * h), u + a * h)
            return (k, jax.tree_util.tree_map(lambda s, dk: s + b * dk, acc, k)), None

        zeros = jax.tree_util.tree_map(jnp.zeros_like, state)
        (_, k), _ = jax.lax.scan(stage, (zeros, zeros), (a_stage, b_stage))
        return add(state, k, h), None

    (z_T, integral), _ = jax.lax.scan(step, (y, jnp.zeros((), y.dtype)), (u[:-1], u[1:]))
    return log_prior(z_T) - integral


# ---------------------------------------------------------------- units


def bits_per_dim(nll, d: int, bin_width=None):
    r"""Convert a negative log-likelihood in nats to bits per dimension: :math:`\mathrm{nll}/(d\ln 2)`.

    With ``bin_width`` :math:`\Delta` (2/255 for 8-bit images scaled by :math:`2p/255-1`, 2/16 for
    the 17-level digits), the density is first turned into the probability of a bin,
    :math:`-\ln P \approx \mathrm{nll} - d\ln\Delta`; with the density evaluated at dequantised
    points (uniform noise over each bin) its average is a bound on the discrete data's
    :math:`-\ln P` (Theis, van den Oord & Bethge 2016). Ho et al. 2020 instead use a discretised
    Gaussian decoder (their eq. 13).
    """
    d = _validate.positive_int("d", d)
    nll = jnp.asarray(_boundary.data("nll", nll))
    if bin_width is not None:
        _boundary.positive("bin_width", bin_width)
        nll = nll - d * jnp.log(bin_width)
    return nll / (d * jnp.log(2.0))
