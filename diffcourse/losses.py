r"""Denoising score matching, written once, with its weighting as a parameter (notebook 07).

Forward process (course notation): :math:`z = y + \sqrt t\,\epsilon`, :math:`y\sim\mathrm{pop}`,
:math:`\epsilon\sim\mathcal N(0,I)`, :math:`t` the variance-exploding time. A network reads
:math:`(z, t)` and predicts one of three equivalent things (``target``):

=============  ====================================  =========================================
``target``     the network predicts                  regression target, error in terms of y
=============  ====================================  =========================================
``denoiser``   :math:`\hat y \approx E[y\mid z]`     :math:`\|y-\hat y\|^2`
``eps``        :math:`\hat\epsilon\approx E[\epsilon\mid z]`  :math:`\|\epsilon-\hat\epsilon\|^2 = \|y-\hat y\|^2/t`
``score``      :math:`\hat s\approx\nabla_z\ln p_t`  :math:`\|\tfrac{y-z}{t}-\hat s\|^2 = \|y-\hat y\|^2/t^2`
=============  ====================================  =========================================

with :math:`\hat y = z - \sqrt t\,\hat\epsilon = z + t\hat s` (McAllester 2023, §2; Tweedie's formula). So one
loss covers all three: a weighting :math:`w(t)` on the denoiser error,

.. math:: L = E_{t\sim p}\,E_{y,\epsilon}\; w(t)\,\|y - \hat y(z,t)\|^2,

computed for each target in its own residual, multiplied by the factor :math:`c(t) = 1, t, t^2`
that converts it (:func:`error_scale`). The named weightings (:data:`WEIGHTINGS`):

- ``"denoiser"``: :math:`w=1`, McAllester's regression of :math:`E[y\mid z]` (M5);
- ``"eps"``: :math:`w=1/t`, i.e. :math:`\|\epsilon-\hat\epsilon\|^2` (Ho et al. 2020, eq. 14, :math:`L_{\rm simple}`);
- ``"score"``: :math:`w=1/t^2`, i.e. :math:`\|\hat s - \tfrac{y-z}{t}\|^2` (Vincent 2011, eq. 5 with :math:`\sigma^2=t`);
- ``"vlb"``: :math:`w=1/(2t^2)`, the variational bound (McAllester M6/M7):
  :math:`\|y-\hat y\|^2/2t^2 = \|\epsilon-\hat\epsilon\|^2/2t`;
- :func:`edm_weighting` ``(sigma_data)``: :math:`w=(\sigma_d^2+t)/(\sigma_d^2 t)` (Karras et al. 2022,
  eq. 8 with :math:`\sigma^2=t`).

This is the course's only training loss: the 2-D MLP of notebook 07 and the image U-Net of
notebook 08 both train with :func:`make_loss_fn`. ``per_dim=True`` divides each term by the number
of coordinates (EDM reports its loss so: 1 for a fresh preconditioned net at every noise level).

The minimiser over all functions :math:`\hat y` is :math:`E[y\mid z(t)=z]` for every positive
weighting (M5), and the minimum is :math:`E_t\,w(t)\,E\,\mathrm{tr}\,\mathrm{Cov}(y\mid z(t))`
(:func:`irreducible_loss`). The weighting decides which noise levels the *finite* network
fits best. The time distribution :math:`p(t)` is :class:`LogUniform`, :class:`LogNormal`
(EDM's choice) or :class:`ScheduleUniform` (DDPM's uniform step index); ``integral=True`` divides by :math:`p(t)`, which turns the estimate into
:math:`\int w(t)\,E\|y-\hat y\|^2\,dt`: with ``"vlb"`` this is McAllester's entropy integral M7 in nats.

A model is called ``model(z, t)`` (or ``model(z, t, c)`` with a condition) on one sample and
returns its raw output, read per ``target``.
"""

import dataclasses
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from diffcourse import _boundary, _validate, elbo, schedules

TARGETS = ("denoiser", "eps", "score")

WEIGHTINGS = {
    "denoiser": lambda t: jnp.ones_like(t),
    "eps": lambda t: 1 / t,
    "score": lambda t: 1 / t**2,
    "vlb": elbo.vlb_weight,
}


def edm_weighting(sigma_data: float):
    r"""EDM's weighting :math:`\lambda(\sigma) = (\sigma^2+\sigma_d^2)/(\sigma\sigma_d)^2`
    (Karras et al. 2022, eq. 8 and Table 1) with :math:`\sigma^2 = t`:
    :math:`w(t) = (\sigma_d^2+t)/(\sigma_d^2 t) = 1/c_{\rm out}^2` of
    :func:`diffcourse.nets.precond.coefficients`. Returns a callable ``w(t)``."""
    _boundary.positive("sigma_data", sigma_data)
    return _edm_weighting(float(sigma_data))


@functools.lru_cache(maxsize=32)
def _edm_weighting(sigma_data: float):
    """One function object per ``sigma_data``, so equal loss settings are equal objects."""
    s2 = sigma_data**2
    return lambda t: (s2 + t) / (s2 * t)


# ---------------------------------------------------------------------------------------------
# distributions of t


def _check_draws(key, n):
    _boundary.key("key", key)
    return _validate.positive_int("n", n)


def _check_times(t):
    t = _boundary.data("t", t)
    _validate.positive("t", t)
    return t


@dataclasses.dataclass(frozen=True)
class LogUniform:
    r""":math:`\ln t\sim U(\ln t_{\min}, \ln t_{\max})`: density :math:`p(t) = 1/(t\ln(t_{\max}/t_{\min}))`."""

    t_min: float = 1e-3
    t_max: float = 1e2

    def __post_init__(self):
        for name in ("t_min", "t_max"):  # one float each (a float16 would overflow t_max/t_min)
            v = _validate.real(name, getattr(self, name), low=0.0, low_open=True)
            object.__setattr__(self, name, v)
        if not self.t_min < self.t_max:
            raise ValueError(f"t_min must be < t_max; got t_min={self.t_min}, t_max={self.t_max}")

    def sample(self, key, n: int, dtype=None):
        """``n`` draws, shape (n,)."""
        n = _check_draws(key, n)
        u = jax.random.uniform(key, (n,), dtype or jnp.result_type(float))
        return self.t_min * (self.t_max / self.t_min) ** u

    def log_prob(self, t):
        r""":math:`\ln p(t) = -\ln t - \ln\ln(t_{\max}/t_{\min})` on the support."""
        t = _check_times(t)
        return -jnp.log(t) - np.log(np.log(self.t_max / self.t_min))

    def quadrature(self, n: int = 32):
        r"""Nodes and weights with :math:`E_p f(t)\approx\sum_i w_i f(t_i)`: Gauss–Legendre in :math:`\ln t`."""
        x, w = np.polynomial.legendre.leggauss(_validate.positive_int("n", n))
        return self.t_min * (self.t_max / self.t_min) ** ((x + 1) / 2), w / 2

    def support(self):
        """The training range (t_min, t_max) a model trained with these times has seen."""
        return float(self.t_min), float(self.t_max)


@dataclasses.dataclass(frozen=True)
class LogNormal:
    r""":math:`\ln t\sim\mathcal N(\mathrm{mean}, \mathrm{std}^2)`.

    EDM (Karras et al. 2022, Table 1) draws :math:`\ln\sigma\sim\mathcal N(-1.2, 1.2^2)` for data of
    std 0.5; with :math:`t=\sigma^2` that is ``LogNormal(-2.4, 2.4)``, the default."""

    mean: float = -2.4
    std: float = 2.4

    def __post_init__(self):
        object.__setattr__(self, "std", _validate.real("std", self.std, low=0.0, low_open=True))
        object.__setattr__(self, "mean", _validate.real("mean", self.mean))

    def sample(self, key, n: int, dtype=None):
        """``n`` draws, shape (n,)."""
        n = _check_draws(key, n)
        g = jax.random.normal(key, (n,), dtype or jnp.result_type(float))
        return jnp.exp(self.mean + self.std * g)

    def log_prob(self, t):
        r""":math:`\ln p(t) = \ln\mathcal N(\ln t; \mathrm{mean}, \mathrm{std}^2) - \ln t`."""
        t = _check_times(t)
        u = (jnp.log(t) - self.mean) / self.std
        return -0.5 * u**2 - np.log(self.std * np.sqrt(2 * np.pi)) - jnp.log(t)

    def quadrature(self, n: int = 32):
        r"""Nodes and weights with :math:`E_p f(t)\approx\sum_i w_i f(t_i)`: Gauss–Hermite in :math:`\ln t`."""
        x, w = np.polynomial.hermite_e.hermegauss(_validate.positive_int("n", n))
        return np.exp(self.mean + self.std * x), w / w.sum()

    def support(self, q: float = 1e-3):
        r"""The training range: the :math:`q` and :math:`1-q` quantiles of :math:`t` (0.1%, 99.9%)."""
        z = float(scipy.stats.norm.ppf(1 - q))
        return float(np.exp(self.mean - z * self.std)), float(np.exp(self.mean + z * self.std))


@dataclasses.dataclass(frozen=True)
class ScheduleUniform:
    r"""DDPM's times: the step :math:`k` uniform on 1..T, :math:`t = (1-\bar\alpha_k)/\bar\alpha_k`
    (Ho et al. 2020, Alg. 1, read through the bridge). ``alphabars``: a tuple, (T,).
    A discrete law: it has no density, so ``integral=True`` is refused."""

    alphabars: tuple

    def __post_init__(self):
        ab = np.asarray(_boundary.data("alphabars", self.alphabars, min_size=0), np.float64)
        if ab.ndim != 1 or len(ab) < 1 or not np.all((ab > 0) & (ab < 1)):
            raise ValueError(f"alphabars must be a 1-D schedule in (0, 1); got shape {ab.shape}")
        object.__setattr__(self, "alphabars", tuple(float(a) for a in ab))

    def times(self):
        """The schedule's VE times, (T,)."""
        ab = np.asarray(self.alphabars)
        return (1.0 - ab) / ab  # schedules.ve_time, in numpy: the times are data, not traced

    def sample(self, key, n: int, dtype=None):
        """``n`` draws, shape (n,)."""
        n = _check_draws(key, n)
        t = jnp.asarray(self.times(), dtype or jnp.result_type(float))
        return t[jax.random.randint(key, (n,), 0, t.shape[0])]

    def log_prob(self, t):
        raise ValueError(
            "ScheduleUniform is discrete: it has no density (integral=True is refused)"
        )

    def quadrature(self, n: int = 0):
        """Every step with weight 1/T (``n`` is ignored: the law is discrete)."""
        t = self.times()
        return t, np.full(t.shape, 1.0 / len(t))

    def support(self):
        """The smallest and the largest time of the schedule."""
        t = self.times()
        return float(t.min()), float(t.max())


# ---------------------------------------------------------------------------------------------
# targets and weights


def _check_target(target):
    if not isinstance(target, str) or target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}; got {target!r}")
    return target


def weight_fn(weighting):
    """The callable ``w(t)`` for a name in :data:`WEIGHTINGS` or a callable (returned as is)."""
    if callable(weighting):
        return weighting
    if not isinstance(weighting, str) or weighting not in WEIGHTINGS:
        raise ValueError(
            f"weighting must be one of {tuple(WEIGHTINGS)} or a callable w(t); got {weighting!r}"
        )
    return WEIGHTINGS[weighting]


def error_scale(target: str, t):
    r""":math:`c(t)` with :math:`\|y-\hat y\|^2 = c(t)\times`(the target's squared residual): 1, :math:`t`, :math:`t^2`."""
    _check_target(target)
    t = _check_times(t)
    return {"denoiser": jnp.ones_like(t), "eps": t, "score": t**2}[target]


def to_denoiser(out, z, t, target: str):
    r"""Read a network output as :math:`\hat y`: ``out``, :math:`z-\sqrt t\,\hat\epsilon`, or :math:`z+t\hat s`."""
    _check_target(target)
    if _validate.is_concrete((out, z, t)):
        out, z = _boundary.data("out", out), _boundary.data("z", z)
        _boundary.broadcast(out=out, z=z)
        t = _check_times(t)
    if target == "eps":
        return schedules.eps_to_denoiser(out, z, t)
    if target == "score":
        return schedules.score_to_denoiser(out, z, t)
    return out


def as_denoiser(model, target: str = "denoiser"):
    r"""The function :math:`(z, t)\mapsto\hat y(z,t)` of a model trained with ``target``. One sample."""
    _check_target(target)
    _boundary.function("model", model)
    return lambda z, t: to_denoiser(model(z, t), z, t, target)


# ---------------------------------------------------------------------------------------------
# the loss


def _per_sample(a):
    """Broadcast a (n,) vector against a batch (n, ...)."""
    return lambda x: x.reshape(x.shape + (1,) * (a.ndim - 1))


def _check_batch(model, y):
    if _validate.is_concrete(y):
        y = _boundary.data("y", y, min_size=0)
    if np.ndim(y) < 2 or np.shape(y)[0] < 1:
        raise ValueError(f"y must be a batch of shape (n, ...) with n >= 1; got {np.shape(y)}")
    shape = getattr(model, "shape", None)
    if isinstance(shape, tuple) and tuple(np.shape(y)[1:]) != shape:
        want = ", ".join(str(a) for a in shape)
        raise ValueError(f"y must have shape (n, {want}) for this model; got {np.shape(y)}")


def dsm_terms(model, y, t, eps, *, target: str = "denoiser", weighting="vlb", c=None):
    r"""The per-sample terms :math:`w(t_i)\,c(t_i)\,\|r_i\|^2` of the DSM loss, shape (n,).

    ``y``: (n, ...) data; ``t``: (n,) times; ``eps``: like ``y``; :math:`z_i = y_i+\sqrt{t_i}\epsilon_i`.
    The residual :math:`r` is the target's own: :math:`y-\hat y`, :math:`\epsilon-\hat\epsilon` or
    :math:`(y-z)/t-\hat s`, and :math:`c(t)` (:func:`error_scale`) makes each term equal to
    :math:`w(t)\|y-\hat y\|^2` whatever the target. ``c``: None or one condition per sample.
    """
    _check_target(target)
    w = weight_fn(weighting)
    if _validate.is_concrete((y, t, eps)):
        _boundary.function("model", model)
        _check_batch(model, y)
        y = _boundary.data("y", y)
        t = _check_times(_boundary.data("t", t, shape=(np.shape(y)[0],)))
        eps = _boundary.data("eps", eps, shape=np.shape(y))
        y, t, eps = jnp.asarray(y), jnp.asarray(t), jnp.asarray(eps)
    return w(t) * _scaled_residual(model, y, t, eps, target, c)


@eqx.filter_jit
def _scaled_residual(model, y, t, eps, target, c):
    r""":math:`c(t)\,\|r\|^2` per sample: the target's residual converted to :math:`\|y-\hat y\|^2`."""
    b = _per_sample(y)
    z = y + b(jnp.sqrt(t)) * eps
    out = jax.vmap(model)(z, t) if c is None else jax.vmap(model)(z, t, c)
    native = {"denoiser": y, "eps": eps, "score": (y - z) / b(t)}[target]
    sq = jnp.sum((native - out).reshape(y.shape[0], -1) ** 2, axis=1)
    return error_scale(target, t) * sq


def dsm_loss(
    model,
    key,
    y,
    *,
    target: str = "denoiser",
    weighting="vlb",
    t_sampler=LogUniform(),
    integral: bool = False,
    per_dim: bool = False,
    c=None,
):
    r"""Monte Carlo estimate of the denoising score-matching loss on a batch ``y`` (n, ...).

    .. math:: L = \frac1n\sum_i w(t_i)\,\|y_i - \hat y(y_i + \sqrt{t_i}\epsilon_i, t_i)\|^2,
              \qquad t_i\sim p,\ \epsilon_i\sim\mathcal N(0,I)

    (each term computed in the ``target``'s own residual, :func:`dsm_terms`). With
    ``integral=True`` each term is divided by :math:`p(t_i)`, estimating
    :math:`\int w(t)\,E\|y-\hat y\|^2\,dt` over the support of ``t_sampler``; ``per_dim=True``
    divides by the number of coordinates of one sample; ``c``: one condition per sample (class
    labels), passed to ``model(z, t, c)``. Sources: McAllester 2023 (denoising as regression, the
    VLB as an integral over t), Vincent 2011, Ho et al. 2020 eq. 14, Karras et al. 2022 eq. 2 and 8.
    Scalar.
    """
    _check_batch(model, y)
    _boundary.key("key", key)
    _check_sampler(t_sampler)
    integral, per_dim = _validate.flag("integral", integral), _validate.flag("per_dim", per_dim)
    key_t, key_eps = jax.random.split(key)
    y = jnp.asarray(_boundary.data("y", y))
    t = t_sampler.sample(key_t, y.shape[0], y.dtype)
    eps = jax.random.normal(key_eps, y.shape, y.dtype)
    terms = dsm_terms(model, y, t, eps, target=target, weighting=weighting, c=c)
    if integral:
        terms = terms * jnp.exp(-t_sampler.log_prob(t))
    if per_dim:
        terms = terms / np.prod(y.shape[1:])
    return jnp.mean(terms)


def _check_sampler(t_sampler):
    if not all(hasattr(t_sampler, a) for a in ("sample", "log_prob", "support", "quadrature")):
        raise ValueError(
            f"t_sampler must be a LogUniform, LogNormal or ScheduleUniform; got {t_sampler!r}"
        )
    return t_sampler


def _check_pop(pop):
    if not all(hasattr(pop, a) for a in ("sample_pt", "posterior_cov", "posterior_mean")):
        raise _validate.fail("pop", "a FinitePop or a GaussianMixture", type(pop).__name__)
    return pop


def make_loss_fn(
    *, target="denoiser", weighting="vlb", t_sampler=LogUniform(), integral=False, per_dim=False
):
    """``loss_fn(model, key, batch)`` = :func:`dsm_loss` with these settings, for :func:`diffcourse.train.fit`.

    ``batch``: the data ``y`` (n, ...), or a pair ``(y, c)`` with one condition per sample.
    The settings are checked here, once, before any tracing. Equal (hashable) settings give the
    same function object, so ``train.fit`` reuses the step it compiled for them."""
    _check_target(target)
    weight_fn(weighting)
    _check_sampler(t_sampler)
    _validate.flag("integral", integral)
    _validate.flag("per_dim", per_dim)
    if integral and isinstance(t_sampler, ScheduleUniform):
        t_sampler.log_prob(None)  # raises: a discrete law has no density
    settings = (target, weighting, t_sampler, bool(integral), bool(per_dim))
    try:
        return _cached_loss_fn(*settings)
    except TypeError:  # an unhashable setting: a fresh function
        return _loss_fn(*settings)


def _loss_fn(target, weighting, t_sampler, integral, per_dim):
    def loss_fn(model, key, batch):
        y, c = batch if isinstance(batch, tuple) else (batch, None)
        return dsm_loss(
            model,
            key,
            y,
            target=target,
            weighting=weighting,
            t_sampler=t_sampler,
            integral=integral,
            per_dim=per_dim,
            c=c,
        )

    return loss_fn


_cached_loss_fn = functools.lru_cache(maxsize=32)(_loss_fn)


# ---------------------------------------------------------------------------------------------
# what the loss can reach, and how far a model is from it


def mmse(key, pop, t, n: int = 2048):
    r"""The denoising error of the exact denoiser, :math:`E\|y - E[y\mid z(t)]\|^2 = E_z\,\mathrm{tr}\,\mathrm{Cov}(y\mid z(t))`.

    Monte Carlo over ``n`` draws :math:`z\sim p_t` (``pop.sample_pt``), the trace in closed form
    (``pop.posterior_cov``). ``t``: scalar or (m,) array; returns the same shape.
    """
    n = _validate.positive_int("n", n)
    _boundary.key("key", key)
    _check_pop(pop)
    t = jnp.asarray(_check_times(t))
    return _mmse(key, pop, t.reshape(-1), n).reshape(t.shape)


@eqx.filter_jit
def _mmse(key, pop, t, n):
    def one(t):
        z = pop.sample_pt(key, n, t)
        return jnp.mean(jax.vmap(lambda z: jnp.trace(pop.posterior_cov(z, t)))(z))

    return jax.vmap(one)(t)


def irreducible_loss(
    key, pop, *, weighting="vlb", t_sampler=LogUniform(), integral=False, n_t=32, n_z=2048
):
    r"""The minimum of :func:`dsm_loss` over all denoisers, reached by :math:`\hat y = E[y\mid z]` (M5):

    .. math:: L^* = E_{t\sim p}\,w(t)\,E_z\,\mathrm{tr}\,\mathrm{Cov}(y\mid z(t))

    by the sampler's quadrature in :math:`t` (``n_t`` nodes) and :func:`mmse` (``n_z`` draws) at
    each node. ``integral=True`` as in :func:`dsm_loss`. Scalar."""
    _boundary.key("key", key)
    _check_pop(pop)
    _check_sampler(t_sampler)
    integral = _validate.flag("integral", integral)
    n_t, n_z = _validate.positive_int("n_t", n_t), _validate.positive_int("n_z", n_z)
    w = weight_fn(weighting)
    t, q = t_sampler.quadrature(n_t)
    t = jnp.asarray(t)
    f = w(t) * mmse(key, pop, t, n_z)
    if integral:
        f = f * jnp.exp(-t_sampler.log_prob(t))
    return jnp.sum(jnp.asarray(q) * f)


def loss_per_log_t(key, pop, t, *, weighting="vlb", t_sampler=None, n: int = 2048):
    r"""Where the minimal loss sits in :math:`\ln t`: the density, per unit :math:`\ln t`, of
    :math:`L^* = E_{t\sim p}\,w(t)\,\mathrm{mmse}(t)`,

    .. math:: \ell(\ln t) = p_{\ln t}(\ln t)\;w(t)\;\mathrm{mmse}(t),

    where :math:`p_{\ln t} = t\,p(t)` is the density of :math:`\ln t` under ``t_sampler``
    (None: :math:`\ln t` uniform, :math:`p_{\ln t}` = 1). Under :math:`\ln t` uniform EDM's
    weighting makes it flat for Gaussian data (:math:`w\,\mathrm{mmse} = d` when
    :math:`\sigma_d^2` is the data's second moment); plotting :math:`w\,t\,\mathrm{mmse}` instead
    would show the measure for :math:`t` uniform. ``t``: (m,) times. Returns (m,)."""
    _boundary.key("key", key)
    _check_pop(pop)
    if t_sampler is not None:
        _check_sampler(t_sampler)
    n = _validate.positive_int("n", n)
    t = jnp.asarray(_check_times(t))
    f = weight_fn(weighting)(t) * mmse(key, pop, t, n)
    if t_sampler is not None:
        f = f * t * jnp.exp(t_sampler.log_prob(t))
    return f


def mean_denoiser_error(key, model, pop, t_sampler, *, n_t: int = 12, n: int = 512):
    r""":math:`E_{t\sim p}\,E_{z\sim p_t}\|\hat y(z,t) - E[y\mid z]\|^2 = E_t\,t^2\|\hat s-\nabla\ln p_t\|^2`:
    :func:`denoiser_error` averaged over ``t_sampler`` by its ``n_t``-node quadrature. Scalar."""
    _boundary.key("key", key)
    _boundary.function("model", model)
    _check_pop(pop)
    _check_sampler(t_sampler)
    n_t, n = _validate.positive_int("n_t", n_t), _validate.positive_int("n", n)
    t, q = t_sampler.quadrature(n_t)
    dtype = jax.tree_util.tree_leaves(pop)[0].dtype
    return jnp.sum(jnp.asarray(q) * denoiser_error(key, model, pop, jnp.asarray(t, dtype), n=n))


def train_ring(
    key, *, steps=4000, weights=None, weighting=None, t_sampler=None, width=64, depth=3, n=4096
):
    r"""Notebook 07's model: the MLP behind EDM's preconditioning, trained by DSM on ``n`` draws
    of the 8-component ring (:func:`diffcourse.data.toys.ring_mixture`, component ``weights``).

    Default recipe (measured by tests/test_learning_2d.py): EDM's weighting with :math:`\sigma_d`
    the data's RMS, :math:`\ln t` uniform on [1e-3, 1e2], Adam at 3e-3 after 50 warm-up steps,
    batch 256, EMA 0.998, 4000 steps: 0.80 of its samples within 2 sigma of a component (data
    0.865). Returns ``(pop, model, result)``: the untrained ``model`` and, in ``result.ema_model``,
    the trained denoiser."""
    from diffcourse import train
    from diffcourse.data import toys
    from diffcourse.nets import MLP, Preconditioned, precond

    _boundary.key("key", key)
    steps = _validate.positive_int("steps", steps)
    width, depth = _validate.positive_int("width", width), _validate.positive_int("depth", depth)
    n = _validate.positive_int("n", n)
    if t_sampler is not None:
        _check_sampler(t_sampler)
    key_y, key_model, key_fit = jax.random.split(key, 3)
    pop = toys.ring_mixture(weights=weights)
    y = pop.sample(key_y, n)
    sd = precond.sigma_data(y)
    model = Preconditioned(MLP(key_model, 2, width=width, depth=depth), shape=(2,), sigma_data=sd)
    weighting = edm_weighting(sd) if weighting is None else weighting
    t_sampler = LogUniform(1e-3, 1e2) if t_sampler is None else t_sampler
    loss_fn = make_loss_fn(weighting=weighting, t_sampler=t_sampler)
    config = train.TrainConfig(steps=steps, batch_size=256, lr=3e-3, warmup=50, ema_decay=0.998)
    return pop, model, train.fit(key_fit, model, loss_fn, y, config, progress=False)


def denoiser_error(key, model, pop, t, *, target="denoiser", n: int = 1024):
    r""":math:`E_{z\sim p_t}\|\hat y(z,t) - E[y\mid z(t)=z]\|^2 = t^2\,E\|\hat s - \nabla\ln p_t\|^2`.

    How far a model is from the exact denoiser of ``pop`` at each time in ``t`` (scalar or (m,)),
    by Monte Carlo over ``n`` draws of :math:`z\sim p_t`. Returns the shape of ``t``.
    """
    n = _validate.positive_int("n", n)
    _boundary.key("key", key)
    _boundary.function("model", model)
    _check_pop(pop)
    t = _check_times(t)
    _check_target(target)
    t = jnp.asarray(t)
    return _denoiser_error(key, model, pop, t.reshape(-1), target, n).reshape(t.shape)


@eqx.filter_jit
def _denoiser_error(key, model, pop, t, target, n):
    denoise = as_denoiser(model, target)

    def one(t):
        z = pop.sample_pt(key, n, t)
        tt = jnp.full((n,), t, z.dtype)
        diff = jax.vmap(denoise)(z, tt) - jax.vmap(pop.posterior_mean, (0, None))(z, t)
        return jnp.mean(jnp.sum(diff**2, axis=-1))

    return jax.vmap(one)(t)
