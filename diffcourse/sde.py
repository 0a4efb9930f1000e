r"""Itô SDEs :math:`dx = f(x, t)\,dt + g(x, t)\,dW`, Euler–Maruyama, and the processes of the course.

An SDE is any object with two single-sample methods, ``drift(x, t) -> (d,)`` and
``diffusion(x, t) -> scalar or (d,)`` (a scalar noise level or a diagonal one, >= 0). :class:`SDE`
wraps two functions; the ready processes below carry their closed-form marginals:

====================  ==========================================  ===============================
process               SDE                                         marginal given x(0) = x0
====================  ==========================================  ===============================
BrownianMotion        dz = dW  (McAllester's VE process, D = 1/2)  N(x0, t)
OrnsteinUhlenbeck     dx = theta (mu - x) dt + sigma dW           N(mu + (x0-mu) e^{-theta t}, ...)
VPProcess             dx = -beta(t) x / 2 dt + sqrt(beta(t)) dW   N(sqrt(alphabar) x0, 1-alphabar)
GeometricBrownian     dS = mu S dt + sigma S dW                   lognormal
====================  ==========================================  ===============================

Euler–Maruyama (Kloeden & Platen 1992, §9.1) is
:math:`x_{n+1} = x_n + f(x_n, t_n)\,\Delta t_n + g(x_n, t_n)\,\Delta W_n`,
:math:`\Delta W_n \sim \mathcal N(0, \Delta t_n I)`: strong order 1/2 and weak order 1 in
general; strong order 1 when the noise is additive (g independent of x: Brownian motion, OU, VP),
where EM coincides with Milstein's scheme (Kloeden & Platen 1992, §10.3).
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from diffcourse import _boundary as b
from diffcourse import _validate as v
from diffcourse import heat


def _finite(name, x):
    """Require every entry of a parameter to be a finite number (a tracer passes through)."""
    if v.is_concrete(x):
        a = np.asarray(x)
        if a.dtype.kind not in "iuf" or not np.all(np.isfinite(a)):
            raise v.fail(name, "finite", v._describe(x))
    return x


# ----------------------------------------------------------------------------- SDEs


class SDE(eqx.Module):
    r""":math:`dx = f(x,t)\,dt + g(x,t)\,dW` from two functions of one sample ``(x (d,), t)``."""

    f: Callable
    g: Callable

    def __check_init__(self):
        b.function("f", self.f)
        b.function("g", self.g)

    def drift(self, x, t):
        return self.f(x, t)

    def diffusion(self, x, t):
        return self.g(x, t)


class BrownianMotion(eqx.Module):
    r"""Brownian motion :math:`dz = dW`: McAllester's forward process :math:`z(t) = y + \sqrt t\,\epsilon`
    (arXiv 2301.11108, §2). Its Fokker–Planck equation is the heat equation with D = 1/2."""

    def drift(self, x, t):
        return jnp.zeros_like(x)

    def diffusion(self, x, t):
        return jnp.ones((), jnp.result_type(x))

    def gaussian_marginal(self, m0, v0, t):
        """Law of z(t) when z(0) ~ N(m0, v0): N(m0, v0 + t), t >= 0. Returns (mean, var)."""
        b.times("t", t, allow_zero=True)
        return m0, v0 + t

    def exact(self, x0, t, w):
        """The solution driven by the Brownian value W(t) = w: x0 + w."""
        return x0 + w


class OrnsteinUhlenbeck(eqx.Module):
    r"""Ornstein–Uhlenbeck :math:`dx = \theta(\mu - x)\,dt + \sigma\,dW` (Uhlenbeck & Ornstein 1930).

    .. math:: x(t)\mid x(0) \sim \mathcal N\big(\mu + (x_0-\mu)e^{-\theta t},\
              \tfrac{\sigma^2}{2\theta}(1 - e^{-2\theta t})\big),
              \qquad \text{stationary law } \mathcal N(\mu, \sigma^2/(2\theta)).
    """

    theta: jax.Array = eqx.field(default=1.0, converter=jnp.asarray)
    mu: jax.Array = eqx.field(default=0.0, converter=jnp.asarray)
    sigma: jax.Array = eqx.field(default=1.0, converter=jnp.asarray)

    def __check_init__(self):
        v.positive("theta", self.theta)
        _finite("mu", self.mu)
        v.nonnegative("sigma", self.sigma)

    def drift(self, x, t):
        return self.theta * (self.mu - x)

    def diffusion(self, x, t):
        return jnp.asarray(self.sigma, jnp.result_type(x))

    def stationary(self):
        r"""Mean and variance of the stationary law: :math:`(\mu, \sigma^2/(2\theta))`."""
        return self.mu, self.sigma**2 / (2 * self.theta)

    def gaussian_marginal(self, m0, v0, t):
        """Law of x(t) when x(0) ~ N(m0, v0), t >= 0. Returns (mean, var)."""
        b.times("t", t, allow_zero=True)
        decay = jnp.exp(-self.theta * t)
        mu, var_inf = self.stationary()
        return mu + (m0 - mu) * decay, v0 * decay**2 + var_inf * (1 - decay**2)

    def exact_from_path(self, x0, ts, W):
        r"""The solution at ``ts[-1] = T`` driven by the Brownian path ``W`` sampled at ``ts``
        (``W[..., k, :]`` at ``ts[k]``, ``W[..., 0, :] = 0``): integrating by parts,

        .. math:: x(T) = \mu + (x_0-\mu)e^{-\theta T}
                  + \sigma\Big(W(T) - \theta\int_0^T e^{-\theta(T-s)}W(s)\,ds\Big),

        the Riemann integral by the trapezoid rule on ``ts`` (error :math:`O(h^{3/2})`, far
        below the EM error on any coarser grid)."""
        ts = jnp.asarray(ts)
        T = ts[-1]
        w = jnp.exp(-self.theta * (T - ts))[:, None] * W
        integral = jnp.sum(0.5 * (w[..., 1:, :] + w[..., :-1, :]) * jnp.diff(ts)[:, None], axis=-2)
        noise = self.sigma * (W[..., -1, :] - self.theta * integral)
        return self.mu + (x0 - self.mu) * jnp.exp(-self.theta * T) + noise

    def em_stationary_variance(self, dt):
        r"""Stationary variance of the Euler–Maruyama chain
        :math:`x \leftarrow x + \theta(\mu - x)\Delta t + \sigma\Delta W`: from
        :math:`v = (1-\theta\Delta t)^2 v + \sigma^2\Delta t`,
        :math:`v = \sigma^2/(2\theta - \theta^2\Delta t)`, above the exact
        :math:`\sigma^2/(2\theta)` by the factor :math:`1/(1 - \theta\Delta t/2)` (needs
        :math:`\theta\Delta t < 2`)."""
        return self.sigma**2 / (2 * self.theta - self.theta**2 * dt)


class VPProcess(eqx.Module):
    r"""The variance-preserving SDE of Song et al. 2021 (eq. 11), the continuous limit of DDPM:

    .. math:: dx = -\tfrac12\beta(t)\,x\,dt + \sqrt{\beta(t)}\,dW,\qquad
              \beta(t) = \beta_{\min} + t(\beta_{\max} - \beta_{\min}),\quad t\in[0, 1],

    with :math:`\bar\alpha(t) = e^{-\int_0^t\beta}` and :math:`x(t)\mid x_0 \sim
    \mathcal N(\sqrt{\bar\alpha}\,x_0, 1-\bar\alpha)` (Song et al. 2021, eq. 33). With constant
    :math:`\beta` it is an OU process with :math:`\theta = \beta/2, \sigma^2 = \beta`: stationary N(0, 1).
    """

    beta_min: jax.Array = eqx.field(default=0.1, converter=jnp.asarray)
    beta_max: jax.Array = eqx.field(default=20.0, converter=jnp.asarray)

    def __check_init__(self):
        v.positive("beta_min", self.beta_min)
        v.positive("beta_max", self.beta_max)

    def beta(self, t):
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def alphabar(self, t):
        r""":math:`\bar\alpha(t) = \exp(-\beta_{\min} t - \tfrac12 t^2 (\beta_{\max}-\beta_{\min}))`."""
        return jnp.exp(-self.beta_min * t - 0.5 * t**2 * (self.beta_max - self.beta_min))

    def drift(self, x, t):
        return -0.5 * self.beta(t) * x

    def diffusion(self, x, t):
        return jnp.sqrt(self.beta(t)).astype(jnp.result_type(x))

    def gaussian_marginal(self, m0, v0, t):
        """Law of x(t) when x(0) ~ N(m0, v0), t >= 0. Returns (mean, var)."""
        b.times("t", t, allow_zero=True)
        ab = self.alphabar(t)
        return jnp.sqrt(ab) * m0, ab * v0 + 1 - ab


class GeometricBrownian(eqx.Module):
    r"""Geometric Brownian motion :math:`dS = \mu S\,dt + \sigma S\,dW` (Black & Scholes 1973):

    .. math:: S(t) = S_0 \exp\big((\mu - \tfrac12\sigma^2)t + \sigma W(t)\big),\quad
              E[S(t)] = S_0 e^{\mu t},\quad \mathrm{Var}[S(t)] = S_0^2 e^{2\mu t}(e^{\sigma^2 t}-1).
    """

    mu: jax.Array = eqx.field(default=0.05, converter=jnp.asarray)
    sigma: jax.Array = eqx.field(default=0.2, converter=jnp.asarray)

    def __check_init__(self):
        _finite("mu", self.mu)
        v.nonnegative("sigma", self.sigma)

    def drift(self, x, t):
        return self.mu * x

    def diffusion(self, x, t):
        return self.sigma * x

    def exact(self, x0, t, w):
        """The solution driven by the Brownian value W(t) = w (Itô's formula on ln S)."""
        return x0 * jnp.exp((self.mu - 0.5 * self.sigma**2) * t + self.sigma * w)

    def moments(self, x0, t):
        """(E[S(t)], Var[S(t)]) given S(0) = x0."""
        m = x0 * jnp.exp(self.mu * t)
        return m, m**2 * (jnp.exp(self.sigma**2 * t) - 1)


def marginal_moments(process, x0, t):
    """(mean, var) of x(t) given x(0) = x0 for any ready process (t >= 0)."""
    b.times("t", t, allow_zero=True)
    if isinstance(process, GeometricBrownian):
        return process.moments(x0, t)
    return process.gaussian_marginal(x0, 0.0, t)


# ----------------------------------------------------------------------------- Euler–Maruyama


@eqx.filter_jit
def _diffusion_on_grid(sde, x0, ts):
    return jax.vmap(lambda t: sde.diffusion(x0, t))(ts)


def _check_grid(sde, x0, ts):
    v.monotone("ts", ts, increasing=True)
    v.shape("x0", x0, (None,))
    if v.is_concrete(x0):
        g = _diffusion_on_grid(sde, jnp.asarray(x0), jnp.asarray(ts[:-1]))
        if not np.all(np.asarray(g) >= 0):
            raise ValueError(f"diffusion g(x, t) must be non-negative; got min {np.min(g):.3g}")


def brownian_increments(key, ts, d: int):
    r""":math:`\Delta W_n \sim \mathcal N(0, (t_{n+1}-t_n) I_d)`, independent. Shape (len(ts)-1, d)."""
    b.key("key", key)
    if v.is_concrete(ts):
        v.monotone("ts", ts, increasing=True)
    d = v.positive_int("d", d)
    dt = jnp.diff(jnp.asarray(ts))
    return jnp.sqrt(dt)[:, None] * jax.random.normal(key, (dt.shape[0], d), dt.dtype)


def _em(sde, x0, ts, dW, return_path):
    def step(x, inp):
        t, dt, dw = inp
        x = x + sde.drift(x, t) * dt + sde.diffusion(x, t) * dw
        return x, x

    xT, path = jax.lax.scan(step, x0, (ts[:-1], jnp.diff(ts), dW))
    return jnp.concatenate([x0[None], path]) if return_path else xT


def euler_maruyama_increments(sde, x0, ts, dW, *, return_path: bool = True):
    r"""Euler–Maruyama driven by given Brownian increments (for strong-order tests):
    :math:`x_{n+1} = x_n + f(x_n,t_n)\Delta t_n + g(x_n,t_n)\Delta W_n`.

    ``x0`` (d,), ``ts`` (N+1,) strictly increasing, ``dW`` (N, d). Returns the path (N+1, d) or,
    with ``return_path=False``, x(ts[-1]) of shape (d,)."""
    _check_grid(sde, x0, ts)
    v.shape("dW", dW, (len(ts) - 1, np.shape(x0)[0]))
    return _em_jit(sde, jnp.asarray(x0), jnp.asarray(ts), jnp.asarray(dW), return_path)


def euler_maruyama(key, sde, x0, ts, *, return_path: bool = True):
    """Euler–Maruyama for one path with fresh increments; see :func:`euler_maruyama_increments`."""
    b.key("key", key)
    _check_grid(sde, x0, ts)
    dW = brownian_increments(key, jnp.asarray(ts), np.shape(x0)[0])
    return _em_jit(sde, jnp.asarray(x0), jnp.asarray(ts), dW, return_path)


@eqx.filter_jit
def _em_many(sde, key, x0s, ts, return_path):
    """The batch advanced together: one scan over time, the step vmapped over paths, the
    increments of step i drawn from fold_in(key, i) (cheap to compile, no (N, n, d) array)."""

    def step(x, inp):
        i, t, dt = inp
        dw = jnp.sqrt(dt) * jax.random.normal(jax.random.fold_in(key, i), x.shape, x.dtype)
        one = lambda x, dw: x + sde.drift(x, t) * dt + sde.diffusion(x, t) * dw
        x = jax.vmap(one)(x, dw)
        return x, (x if return_path else None)

    steps = (jnp.arange(ts.shape[0] - 1), ts[:-1], jnp.diff(ts))
    xT, path = jax.lax.scan(step, x0s, steps)
    if return_path:
        return jnp.moveaxis(jnp.concatenate([x0s[None], path]), 0, 1)
    return xT


_em_jit = eqx.filter_jit(_em)


def euler_maruyama_many(key, sde, x0s, ts, *, return_path: bool = False):
    """Euler–Maruyama for many independent paths (the one-path scheme under ``jax.vmap``).

    ``x0s`` (n, d). Returns (n, d) at ts[-1] or, with ``return_path``, (n, N+1, d)."""
    b.key("key", key)
    v.shape("x0s", x0s, (None, None))
    _check_grid(sde, x0s[0], ts)
    return _em_many(sde, key, jnp.asarray(x0s), jnp.asarray(ts), return_path)


# ----------------------------------------------------------------------------- measured orders


def strong_errors(key, process, x0: float, T: float, n_fine: int, factors, n_paths: int):
    r"""Strong error :math:`E|x_{EM}(T) - x(T)|` of Euler–Maruyama against the exact solution
    ``process.exact(x0, T, W(T))`` driven by the *same* Brownian path, for steps
    :math:`\Delta t = T\,R/n_{fine}`, R in ``factors`` (each dividing ``n_fine``): the coarse
    increments are sums of R fine ones. A process without ``exact`` (OU) gives its solution
    from the whole fine path, ``process.exact_from_path``. Returns (dts, errors), numpy arrays."""
    b.key("key", key)
    b.real("x0", x0)
    v.positive("T", T)
    n_fine = v.positive_int("n_fine", n_fine)
    factors = list(v.ints("factors", factors, minimum=1))
    n_paths = v.positive_int("n_paths", n_paths)
    for R in factors:
        if n_fine % R:
            raise ValueError(f"factors must divide n_fine = {n_fine}; got {R}")
    dW = jax.random.normal(key, (n_paths, n_fine, 1)) * jnp.sqrt(T / n_fine)
    W = jnp.concatenate([jnp.zeros((n_paths, 1, 1)), jnp.cumsum(dW, axis=1)], axis=1)
    if hasattr(process, "exact"):
        exact = process.exact(x0, T, W[:, -1])
    else:
        exact = process.exact_from_path(x0, jnp.linspace(0.0, T, n_fine + 1), W)
    errs = [
        float(jnp.mean(jnp.abs(_em_coarse(process, x0, T, W, jnp.asarray(R)) - exact)))
        for R in factors
    ]
    return T * np.asarray(factors) / n_fine, np.array(errs)


@eqx.filter_jit
def _em_coarse(sde, x0, T, W, R):
    """EM on every R-th point of the fine Brownian paths W (n, n_fine+1, d); one compile for all R."""
    n_fine = W.shape[1] - 1
    dt = T * R / n_fine

    def one(w):
        def body(i, x):
            dw = w[(i + 1) * R] - w[i * R]
            return x + sde.drift(x, i * dt) * dt + sde.diffusion(x, i * dt) * dw

        return jax.lax.fori_loop(0, n_fine // R, body, jnp.full(w.shape[1:], x0, w.dtype))

    return jax.vmap(one)(W)


@eqx.filter_jit
def _em_uniform(sde, key, x0s, T, n):
    """EM on the uniform grid of n steps over [0, T] (n may vary without recompiling)."""
    dt = T / n

    def step(x, dw, t):
        return x + sde.drift(x, t) * dt + sde.diffusion(x, t) * dw

    def body(i, x):
        dw = jnp.sqrt(dt) * jax.random.normal(jax.random.fold_in(key, i), x.shape, x.dtype)
        return jax.vmap(step, (0, 0, None))(x, dw, i * dt)

    return jax.lax.fori_loop(0, n, body, x0s)


def weak_errors(key, process, x0: float, T: float, n_steps, n_paths: int, power: int = 1):
    r"""Weak error :math:`|E[x_{EM}(T)^p] - E[x(T)^p]|` (p = ``power``, 1 or 2) against the exact
    moment from :func:`marginal_moments`, estimated with ``n_paths`` paths for each number of steps
    in ``n_steps`` (each >= 1). Returns (dts, errors, standard errors), numpy arrays."""
    b.key("key", key)
    b.real("x0", x0)
    v.positive("T", T)
    n_steps = list(v.ints("n_steps", n_steps, minimum=1))
    n_paths = v.positive_int("n_paths", n_paths)
    power = v.choice("power", power, (1, 2))
    m, var = marginal_moments(process, x0, T)
    exact = float(m if power == 1 else var + m**2)
    x0s = jnp.full((n_paths, 1), float(x0))
    errs, ses = [], []
    for k, n in zip(jax.random.split(key, len(n_steps)), n_steps, strict=True):
        xp = _em_uniform(process, k, x0s, float(T), jnp.asarray(n))[:, 0] ** power
        errs.append(abs(float(xp.mean()) - exact))
        ses.append(float(xp.std()) / np.sqrt(n_paths))
    return T / np.asarray(n_steps), np.array(errs), np.array(ses)


def fit_order(dts, errors) -> float:
    """Slope of the least-squares line through (ln dt, ln error): the measured order
    (the same least squares as :func:`diffcourse.heat.fit_order`)."""
    return heat._fit_order(dts, errors, "dts")


# ----------------------------------------------------------------------------- Black–Scholes


def black_scholes_call(S0, K, r, sigma, T):
    r"""Black–Scholes price of a European call (Black & Scholes 1973, eq. 13):

    .. math:: C = S_0\,\Phi(d_1) - K e^{-rT}\,\Phi(d_2),\quad
              d_{1,2} = \frac{\ln(S_0/K) + (r \pm \sigma^2/2)T}{\sigma\sqrt T}."""
    v.positive("S0", S0)
    v.positive("K", K)
    v.positive("sigma", sigma)
    v.positive("T", T)
    _finite("r", r)
    d1 = (jnp.log(S0 / K) + (r + 0.5 * sigma**2) * T) / (sigma * jnp.sqrt(T))
    d2 = d1 - sigma * jnp.sqrt(T)
    return S0 * norm.cdf(d1) - K * jnp.exp(-r * T) * norm.cdf(d2)


def mc_call_price(key, S0, K, r, sigma, T, n_paths: int, n_steps: int | None = None):
    r"""Monte Carlo call price :math:`e^{-rT} E[(S_T - K)^+]` under the risk-neutral GBM
    (:math:`\mu = r`). ``n_steps=None`` samples :math:`S_T` exactly; an integer simulates
    Euler–Maruyama with that many steps. Returns (price, standard error)."""
    v.positive("S0", S0)
    v.positive("K", K)
    v.nonnegative("sigma", sigma)
    v.positive("T", T)
    _finite("r", r)
    b.key("key", key)
    n_paths = v.positive_int("n_paths", n_paths)
    gbm = GeometricBrownian(mu=r, sigma=sigma)
    if n_steps is None:
        w = jnp.sqrt(T) * jax.random.normal(key, (n_paths,))
        S_T = gbm.exact(S0, T, w)
    else:
        ts = jnp.linspace(0.0, T, v.positive_int("n_steps", n_steps) + 1)
        S_T = euler_maruyama_many(key, gbm, jnp.full((n_paths, 1), float(S0)), ts)[:, 0]
    payoff = jnp.exp(-r * T) * jnp.maximum(S_T - K, 0.0)
    return float(payoff.mean()), float(payoff.std() / np.sqrt(n_paths))


def em_call_bias(key, S0, K, r, sigma, T, n_paths: int, n_steps: int):
    r"""Euler–Maruyama's own bias in the Monte Carlo call price, measured with **common random
    numbers**: each path's increments :math:`\Delta W_1..\Delta W_n` drive both the EM path of
    the risk-neutral GBM (:func:`euler_maruyama_increments`) and the exact lognormal
    :math:`S_T = S_0 e^{(r-\sigma^2/2)T + \sigma\sum\Delta W}` (:meth:`GeometricBrownian.exact`),
    so the difference of the discounted payoffs has a far smaller spread than either price
    (Glasserman 2004, §4.1). Its mean is the weak error :math:`O(\Delta t)` of EM (Kloeden &
    Platen 1992, §14.1). Returns (bias, standard error)."""
    v.positive("S0", S0)
    v.positive("K", K)
    v.nonnegative("sigma", sigma)
    v.positive("T", T)
    _finite("r", r)
    b.key("key", key)
    n_paths = v.positive_int("n_paths", n_paths)
    n_steps = v.positive_int("n_steps", n_steps)
    gbm = GeometricBrownian(mu=r, sigma=sigma)
    ts = jnp.linspace(0.0, T, n_steps + 1)
    dW = jnp.sqrt(T / n_steps) * jax.random.normal(key, (n_paths, n_steps, 1))
    x0 = jnp.full((1,), float(S0))
    S_em = jax.vmap(lambda dw: _em_jit(gbm, x0, ts, dw, False)[0])(dW)
    S_ex = gbm.exact(S0, T, dW[:, :, 0].sum(axis=1))
    d = jnp.exp(-r * T) * (jnp.maximum(S_em - K, 0.0) - jnp.maximum(S_ex - K, 0.0))
    return float(d.mean()), float(d.std() / np.sqrt(n_paths))


def mixture_marginal_pdf(process, x, t, weights, m0s=None, v0s=None):
    r"""Density at ``x`` of x(t) for a linear process (Brownian, OU, VP) started from the 1-D
    Gaussian mixture :math:`\sum_k w_k\,\mathcal N(m_k, v_k)`; ``t`` a scalar. Each component moves by
    ``process.gaussian_marginal``. ``x`` any shape; ``weights, m0s, v0s`` shape (K,), or a 1-D
    :class:`~diffcourse.populations.GaussianMixture` in place of ``weights`` (and no others)."""
    if m0s is None:
        pop = weights
        if not all(hasattr(pop, a) for a in ("weights", "means", "covs")):
            raise v.fail("weights", "a GaussianMixture when m0s and v0s are not given", repr(pop))
        weights, m0s, v0s = pop.weights, pop.means[:, 0], pop.covs[:, 0, 0]
    elif v0s is None:
        raise v.fail("v0s", "the component variances (K,) when m0s is given", "None")
    b.data("x", x)
    b.times("t", t, allow_zero=True)
    v.probabilities("weights", weights, atol=1e-5)
    b.data("m0s", m0s, ndim=1, shape=(np.shape(weights)[0],), finite=True)
    v.shape("v0s", v0s, (np.shape(weights)[0],))
    v.nonnegative("v0s", v0s)
    args = (jnp.asarray(a, float) for a in (x, t, weights, m0s, v0s))
    return _mixture_marginal_pdf(process, *args)


@eqx.filter_jit
def _mixture_marginal_pdf(process, x, t, weights, m0s, v0s):
    m, var = process.gaussian_marginal(m0s, v0s, t)
    x = x[..., None]
    comp = jnp.exp(-0.5 * (x - m) ** 2 / var) / jnp.sqrt(2 * jnp.pi * var)
    return jnp.sum(weights * comp, axis=-1)


# ----------------------------------------------------------------------------- Itô's surprise


def ito_and_midpoint_sums(key, n_paths: int, n_steps: int, T: float = 1.0):
    r"""Two Riemann sums for :math:`\int_0^T W\,dW` on ``n_steps`` intervals of one Brownian path
    (sampled on a grid twice as fine, so that the midpoints are true values of W):

    * left point (Itô): :math:`\sum_k W(t_k)\,\Delta W_k \to \tfrac12(W_T^2 - T)`;
    * midpoint (Stratonovich): :math:`\sum_k W(t_{k+1/2})\,\Delta W_k \to \tfrac12 W_T^2`.

    The two differ by :math:`\sum_k (W(t_{k+1/2}) - W(t_k))\Delta W_k \to T/2`, half the
    quadratic variation: the reason Itô's formula carries the :math:`\tfrac12 g^2\varphi''` term
    (Øksendal, *Stochastic Differential Equations*, §3.1). Returns ``(left, mid, W_T)``, (n_paths,)."""
    b.key("key", key)
    n_paths, n_steps = v.positive_int("n_paths", n_paths), v.positive_int("n_steps", n_steps)
    v.positive("T", T)
    dw = jnp.sqrt(T / (2 * n_steps)) * jax.random.normal(key, (n_paths, 2 * n_steps))
    W = jnp.concatenate([jnp.zeros((n_paths, 1)), jnp.cumsum(dw, axis=1)], axis=1)
    left, mid, right = W[:, :-1:2], W[:, 1::2], W[:, 2::2]
    dW = right - left
    return jnp.sum(left * dW, axis=1), jnp.sum(mid * dW, axis=1), W[:, -1]


# ----------------------------------------------------------------------------- Langevin


def langevin(score):
    r"""The overdamped Langevin SDE :math:`dx = \tfrac12\nabla\ln p(x)\,dt + dW` for a density
    with score ``score(x)`` (one sample, (d,) -> (d,)). Its stationary Fokker–Planck solution is
    :math:`p` itself: zero flux :math:`F = \tfrac12 p\nabla\ln p - \tfrac12\nabla p = 0`
    (Roberts & Tweedie 1996, *Bernoulli* 2, 341). Sampling with a score: the seed of the reverse
    process of notebook 05. Returns an :class:`SDE`."""
    b.function("score", score)
    return SDE(lambda x, t: 0.5 * score(x), lambda x, t: jnp.ones((), jnp.result_type(x)))
