r"""Flow matching and rectified flow: the linear interpolant as one more bridge to :math:`z(t)`.

Flow matching (Lipman et al. 2023, eq. 20-23 with :math:`\sigma_{\min}=0`), rectified flow (Liu
et al. 2023, eq. 1) and the linear stochastic interpolant (Albergo & Vanden-Eijnden 2023, §2) all
train on the straight line between a data point and a noise draw,

.. math:: x_\tau = (1-\tau)\,y + \tau\,\epsilon,\qquad \tau\in[0,1],\qquad
          \frac{dx_\tau}{d\tau} = \epsilon - y =: v,

and sample by integrating :math:`dx/d\tau = \hat v(x,\tau)` from :math:`\tau=1` down to 0. **Convention**: :math:`\tau = 0` at the data and
:math:`v = \epsilon - y`, as in Esser et al. 2024 (Stable Diffusion 3, eq. 1-3) and in the
course's VE time (noise grows with :math:`\tau` as with :math:`t`). Lipman et al. 2023, Liu et al.
2023 and Meta's flow-matching guide (Lipman et al. 2024) run time the other way, :math:`x_s = s\,y +
(1-s)\,\epsilon` with :math:`s = 1-\tau` at the data, so their velocity is :math:`y - \epsilon = -v`;
their equations are cited here read through :math:`s = 1 - \tau`. Divided
by :math:`1-\tau` it is the course's variance-exploding process:

.. math:: z = \frac{x_\tau}{1-\tau} = y + \frac{\tau}{1-\tau}\,\epsilon,\qquad
          \sqrt t = \sigma = \frac{\tau}{1-\tau},\qquad \tau = \frac{\sigma}{1+\sigma},

the same bridge as DDPM's :math:`z = x_t/\sqrt{\bar\alpha}` with :math:`\sqrt{\bar\alpha} = 1-\tau`
(``schedules``). The best velocity is a denoiser read another way: from :math:`x - y = \tau(\epsilon-y)`,

.. math:: v^*(x,\tau) = E[\epsilon - y\mid x_\tau = x] = \frac{x - E[y\mid z(t)=z]}{\tau}.

So a velocity model *is* a denoiser (:class:`VelocityModel`: EDM's preconditioning with
:math:`c_{\rm in} = c_{\rm skip} = 1/(1+\sigma)`, :math:`c_{\rm out} = -\sigma/(1+\sigma)`), its
loss is the DSM loss with the weighting :math:`w = 1/\tau^2` (:func:`fm_weighting`; the
flow-matching loss as a weighted denoising loss is Kingma & Gao 2023, *Understanding diffusion
objectives as the ELBO with simple data augmentation*, §2 and Appendix D) under
:math:`\tau`-uniform (:class:`TauUniform`) or logit-normal (:class:`LogitNormal`, Esser et al. 2024
eq. 19) times, and it samples through the course's one sampler (:func:`sample`):

- **Euler in** :math:`\tau` **is** ``samplers.ddim`` with :math:`\lambda=0` on the grid
  :math:`t_k = (\tau_k/(1-\tau_k))^2`, exactly: both are exact when :math:`\hat y` is constant;
- **Heun in** :math:`\tau` is **not** ``samplers.heun`` (Heun in :math:`\sigma`). Both start
  from the same predictor (the DDIM step) and add a multiple of :math:`D_2 - D_1`, the change of
  the denoiser between the two ends (:math:`D_1 = D(z_t,t)`, :math:`D_2 = D(\tilde z_s, s)`):

  .. math:: z_s^{\rm Heun,\sigma} = z_s^{\rm DDIM} + \frac{\sigma_t-\sigma_s}{2\sigma_s}(D_2-D_1),\qquad
            z_s^{\rm Heun,\tau} = z_s^{\rm DDIM} + \frac{\sigma_t-\sigma_s}{2\sigma_s}\,
            \frac{1+\sigma_s}{1+\sigma_t}\,(D_2-D_1).

  The correction in :math:`\tau` is smaller by :math:`(1+\sigma_s)/(1+\sigma_t)`; both are order 2
  and converge to the same path. :func:`ode_tau` integrates the ODE in :math:`\tau` with either
  rule (in :math:`x`), for that comparison.

Rectified flow's reflow (Liu et al. 2023, §2.2) retrains on pairs :math:`(y, \epsilon)` coupled by a
trained model's ODE (:func:`reflow_pairs`, :func:`make_reflow_loss_fn`); :func:`straightness` measures
how far the sampling paths are from the straight chords between their ends.
Every function of a state is written for one sample (``x`` (d,) or (H, W, C), scalar ``tau``);
the conversions broadcast.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from diffcourse import _validate, losses, samplers, schedules

# ------------------------------------------------------------------------------- the bridge


def _check_tau(tau, *, zero=True, one=True):
    r"""``tau`` in [0, 1], with 0 (``zero``) and 1 (``one``) allowed or not; traced values pass."""
    if not _validate.is_concrete(tau):
        return tau
    a = _validate._floats("tau", tau, "in [0, 1]")
    left, right = "[" if zero else "(", "]" if one else ")"
    ok = np.all(np.isfinite(a)) & np.all(a >= 0) & np.all(a <= 1)
    ok = ok and (zero or np.all(a > 0)) and (one or np.all(a < 1))
    if not ok:
        why = "" if np.all((a >= 0) & (a <= 1)) else " (tau is the interpolant's time in [0, 1])"
        raise _validate.fail("tau", f"in {left}0, 1{right}{why}", _validate._describe(tau))
    return tau


def t_of_tau(tau):
    r"""The VE time of the interpolant's :math:`\tau`: :math:`t = (\tau/(1-\tau))^2`, :math:`\tau\in[0,1)`."""
    _check_tau(tau, one=False)
    tau = jnp.asarray(tau)
    return (tau / (1 - tau)) ** 2


def tau_of_t(t):
    r"""Inverse of :func:`t_of_tau`: :math:`\tau = \sqrt t/(1+\sqrt t)`, ``t >= 0``."""
    _validate.nonnegative("t", t)
    return _tau(jnp.asarray(t))


def _tau(t):
    sigma = jnp.sqrt(t)
    return sigma / (1 + sigma)


def x_to_z(x, tau):
    r""":math:`z = x_\tau/(1-\tau)`: the interpolant's state in the course's VE coordinates."""
    _check_tau(tau, one=False)
    return x / (1 - jnp.asarray(tau))


def z_to_x(z, t):
    r""":math:`x_\tau = z/(1+\sqrt t) = (1-\tau)\,z`: a VE state at time ``t`` on the interpolant."""
    _validate.nonnegative("t", t)
    return z / (1 + jnp.sqrt(jnp.asarray(t)))


def grid_to_t(taus):
    r"""A :math:`\tau` grid (strictly decreasing, in [0, 1)) as the VE grid :math:`t_k = (\tau_k/(1-\tau_k))^2`
    the one sampler runs on (numpy, float64). The last :math:`\tau` may be 0 (then :math:`t = 0`)."""
    taus = np.asarray(taus, dtype=np.float64)
    if taus.ndim != 1 or len(taus) < 2:
        raise ValueError(f"taus must be a 1-D grid of at least 2 times; got shape {taus.shape}")
    _check_tau(taus, one=False)
    if not np.all(np.diff(taus) < 0):
        raise ValueError(f"taus must be strictly decreasing; got {taus[:4]}...")
    return (taus / (1 - taus)) ** 2


def tau_grid(n_steps: int, tau_max: float = 0.999, tau_min: float = 0.0):
    r"""``n_steps + 1`` evenly spaced :math:`\tau` from ``tau_max`` down to ``tau_min`` (the grid of
    rectified flow's Euler sampler, Liu et al. 2023 §2.1). ``tau_max < 1``: :math:`\tau = 1` is
    :math:`t = \infty`. Returns numpy, decreasing."""
    n_steps = _validate.positive_int("n_steps", n_steps)
    _check_tau(tau_max, zero=False, one=False)
    _check_tau(tau_min, one=False)
    if not tau_max > tau_min:
        raise ValueError(f"tau_max must exceed tau_min={tau_min}; got {tau_max}")
    return np.linspace(tau_max, tau_min, n_steps + 1)


def _vp_to_ve(x, alphabar):
    return schedules.x_to_z(x, alphabar), schedules.ve_time(alphabar)


def _ve_to_vp(z, t):
    alphabar = schedules.alphabar_from_ve_time(t)
    return schedules.z_to_x(z, alphabar), alphabar


def _linear_to_ve(x, tau):
    return x_to_z(x, tau), t_of_tau(tau)


def _ve_to_linear(z, t):
    return z_to_x(z, t), tau_of_t(t)


# name: (to VE, from VE, the bridge's own time variable)
BRIDGES = {
    "vp": (_vp_to_ve, _ve_to_vp, "alphabar"),
    "linear": (_linear_to_ve, _ve_to_linear, "tau"),
}


def _bridge(name):
    if not isinstance(name, str) or name not in BRIDGES:
        raise ValueError(f"bridge must be one of {tuple(BRIDGES)}; got {name!r}")
    return BRIDGES[name]


def to_ve(x, time, bridge: str = "linear"):
    r"""A state ``x`` at the bridge's own time in the course's VE coordinates; returns ``(z, t)``.

    ``"vp"``: time :math:`\bar\alpha`, DDPM's :math:`x = \sqrt{\bar\alpha}\,y+\sqrt{1-\bar\alpha}\,\epsilon`;
    ``"linear"``: time :math:`\tau`, the interpolant :math:`x = (1-\tau)y + \tau\epsilon`. Both rows
    are :math:`z = x/a`, :math:`\sqrt t = b/a` for :math:`x = a\,y + b\,\epsilon`."""
    return _bridge(bridge)[0](x, time)


def from_ve(z, t, bridge: str = "linear"):
    """Inverse of :func:`to_ve`: ``(x, time)`` on the named bridge from the VE ``(z, t)``."""
    return _bridge(bridge)[1](z, t)


# -------------------------------------------------------------------------------- conversions


def _check_pair(name, a, x, other="x"):
    if np.shape(a) != np.shape(x):
        raise ValueError(
            f"{name} must have the shape of {other} {tuple(np.shape(x))}; got {tuple(np.shape(a))}"
        )


def velocity_to_denoiser(v, x, tau):
    r""":math:`\hat y = E[y\mid x_\tau] = x - \tau\,\hat v` (from :math:`x - y = \tau(\epsilon - y)`); :math:`\tau\in[0,1]`."""
    _check_pair("v", v, x)
    _check_tau(tau)
    return x - tau * v


def denoiser_to_velocity(yhat, x, tau):
    r""":math:`\hat v = (x - \hat y)/\tau`, :math:`\tau\in(0,1]` (at :math:`\tau=0` it is 0/0)."""
    _check_pair("yhat", yhat, x)
    _check_tau(tau, zero=False)
    return (x - yhat) / tau


def velocity_to_eps(v, x, tau):
    r""":math:`\hat\epsilon = E[\epsilon\mid x_\tau] = x + (1-\tau)\,\hat v` (:math:`x = (1-\tau)y+\tau\epsilon`, :math:`v = \epsilon - y`)."""
    _check_pair("v", v, x)
    _check_tau(tau)
    return x + (1 - tau) * v


def eps_to_velocity(eps, x, tau):
    r""":math:`\hat v = (\hat\epsilon - x)/(1-\tau)`, :math:`\tau\in[0,1)`."""
    _check_pair("eps", eps, x)
    _check_tau(tau, one=False)
    return (eps - x) / (1 - tau)


def velocity_to_score(v, x, tau):
    r"""The course's score :math:`\nabla_z\ln p_t(z)` at :math:`z = x/(1-\tau)`, :math:`t = (\tau/(1-\tau))^2`:

    .. math:: \nabla_z\ln p_t = \frac{\hat y - z}{t} = -\frac{(1-\tau)\,(x + (1-\tau)\hat v)}{\tau}
              = -\frac{(1-\tau)\,\hat\epsilon}{\tau},

    Tweedie's formula (McAllester's form) through the bridge; the score of :math:`x_\tau` itself is this divided
    by :math:`1-\tau`. :math:`\tau\in(0,1)`."""
    _check_pair("v", v, x)
    _check_tau(tau, zero=False, one=False)
    return -(1 - tau) * (x + (1 - tau) * v) / tau


def score_to_velocity(score, x, tau):
    r"""Inverse of :func:`velocity_to_score`: :math:`\hat y = z + t\,s` (Tweedie), :math:`\hat v = (x-\hat y)/\tau`."""
    _check_pair("score", score, x)
    _check_tau(tau, zero=False, one=False)
    z, t = x / (1 - tau), (tau / (1 - tau)) ** 2
    return (x - (z + t * score)) / tau


def velocity_field(denoiser):
    r"""The velocity :math:`v(x,\tau) = (x - D(x/(1-\tau), t(\tau)))/\tau` of a denoiser ``D(z, t)``
    (one sample; :math:`\tau\in(0,1)`). With the exact :math:`E[y\mid z]` it is flow matching's
    marginal velocity :math:`E[\epsilon - y\mid x_\tau = x]` (Lipman et al. 2023, eq. 8)."""

    def v(x, tau):
        return (x - denoiser(x / (1 - tau), (tau / (1 - tau)) ** 2)) / tau

    return v


class VelocityModel(eqx.Module):
    r"""A velocity network ``net(x, tau)`` :math:`\approx E[\epsilon-y\mid x_\tau=x]` read as the
    course's denoiser: ``model(z, t)`` :math:`= x - \tau\,\mathrm{net}(x,\tau)` with
    :math:`\sigma=\sqrt t`, :math:`\tau = \sigma/(1+\sigma)`, :math:`x = z/(1+\sigma)`.

    In EDM's form (Karras et al. 2022, eq. 7) this is :math:`c_{\rm in} = c_{\rm skip} = 1/(1+\sigma)`,
    :math:`c_{\rm out} = -\sigma/(1+\sigma)`, the network reading :math:`\tau` for its time (a
    monotone function of :math:`t`). ``shape``: one sample's shape; ``tau_range``: the
    :math:`\tau` interval trained on (``t_range`` is the same in VE time, as the samplers read it).
    """

    net: eqx.Module
    shape: tuple = eqx.field(static=True)
    t_range: tuple | None = eqx.field(static=True)
    conditional: bool = eqx.field(static=True)

    def __init__(self, net, *, shape, tau_range=None):
        self.net = net
        self.shape = tuple(int(s) for s in shape)
        if tau_range is not None:
            lo, hi = (float(a) for a in tau_range)
            _check_tau(np.array([lo, hi]), zero=False, one=False)
            if not lo < hi:
                raise ValueError(
                    f"tau_range must be (tau_min, tau_max) increasing; got {tau_range}"
                )
            tau_range = (float(t_of_tau(lo)), float(t_of_tau(hi)))
        self.t_range, self.conditional = tau_range, False

    def velocity(self, x, tau):
        """The network's velocity at :math:`(x, \\tau)`, one sample."""
        return self.net(x, tau).astype(x.dtype)

    def __call__(self, z, t):
        t = jnp.asarray(t, z.dtype)
        sigma = jnp.sqrt(t)
        tau, x = sigma / (1 + sigma), z / (1 + sigma)
        return x - tau * self.velocity(x, tau)


# ------------------------------------------------------------------------------- the loss


def fm_weighting(t):
    r"""Flow matching's weighting on the denoiser error, :math:`w(t) = 1/\tau^2 = (1+\sqrt t)^2/t`:

    .. math:: \|v - \hat v\|^2 = \Big\|\frac{x-y}{\tau} - \frac{x-\hat y}{\tau}\Big\|^2
              = \frac{\|y-\hat y\|^2}{\tau^2}.

    Against the ``eps`` weighting :math:`1/t`, the factor :math:`(1+\sigma)^2` weights high noise more."""
    return (1 + jnp.sqrt(t)) ** 2 / t


def _dt_dtau_log(tau):
    r""":math:`\ln\,dt/d\tau = \ln(2\tau/(1-\tau)^3)`."""
    return jnp.log(2 * tau) - 3 * jnp.log1p(-tau)


@dataclasses.dataclass(frozen=True)
class TauUniform:
    r""":math:`\tau\sim U(\tau_{\min},\tau_{\max})` mapped to VE time :math:`t = (\tau/(1-\tau))^2`
    (rectified flow, Liu et al. 2023 eq. 1; Lipman et al. 2023 eq. 23): a ``t_sampler`` for
    :func:`diffcourse.losses.dsm_loss`, density :math:`p(t) = (d\tau/dt)/(\tau_{\max}-\tau_{\min})`.
    The ends stay inside (0, 1): :math:`\tau = 1` is :math:`t=\infty`."""

    tau_min: float = 1e-3
    tau_max: float = 0.999

    def __post_init__(self):
        _check_tau(np.array([self.tau_min, self.tau_max]), zero=False, one=False)
        if not self.tau_min < self.tau_max:
            raise ValueError(f"tau_min must be < tau_max; got {self.tau_min}, {self.tau_max}")

    def sample_tau(self, key, n: int, dtype=None):
        """``n`` draws of :math:`\\tau`, shape (n,)."""
        u = jax.random.uniform(key, (n,), dtype or jnp.result_type(float))
        return self.tau_min + (self.tau_max - self.tau_min) * u

    def sample(self, key, n: int, dtype=None):
        """``n`` draws of :math:`t`, shape (n,) (the same draws as :meth:`sample_tau`, mapped)."""
        tau = self.sample_tau(key, n, dtype)
        return (tau / (1 - tau)) ** 2

    def log_prob(self, t):
        r""":math:`\ln p(t) = -\ln(\tau_{\max}-\tau_{\min}) - \ln\,dt/d\tau` on the support."""
        return -np.log(self.tau_max - self.tau_min) - _dt_dtau_log(_tau(t))

    def quadrature(self, n: int = 32):
        r"""Gauss–Legendre in :math:`\tau`: :math:`E f(t)\approx\sum_i w_i f(t(\tau_i))`."""
        x, w = np.polynomial.legendre.leggauss(_validate.positive_int("n", n))
        tau = self.tau_min + (self.tau_max - self.tau_min) * (x + 1) / 2
        return (tau / (1 - tau)) ** 2, w / 2

    def support(self):
        """The VE training range (t(tau_min), t(tau_max))."""
        return tuple(float((a / (1 - a)) ** 2) for a in (self.tau_min, self.tau_max))


@dataclasses.dataclass(frozen=True)
class LogitNormal:
    r""":math:`\mathrm{logit}\,\tau\sim\mathcal N(m, s^2)` (Esser et al. 2024, eq. 19; their default
    :math:`m=0, s=1`), a ``t_sampler`` in VE time. Since :math:`\mathrm{logit}\,\tau = \ln\sigma =
    \tfrac12\ln t`, this is EDM's log-normal :math:`\sigma` (Karras et al. 2022, Table 1) with
    :math:`P_{\rm mean}=m`, :math:`P_{\rm std}=s`: ``losses.LogNormal(2m, 2s)`` in :math:`t`."""

    mean: float = 0.0
    std: float = 1.0

    def __post_init__(self):
        _validate.positive("std", self.std)
        _validate.real("mean", self.mean)

    def sample_tau(self, key, n: int, dtype=None):
        """``n`` draws of :math:`\\tau`, shape (n,)."""
        g = jax.random.normal(key, (n,), dtype or jnp.result_type(float))
        return jax.nn.sigmoid(self.mean + self.std * g)

    def sample(self, key, n: int, dtype=None):
        """``n`` draws of :math:`t` (the draws of :meth:`sample_tau`, mapped), shape (n,)."""
        g = jax.random.normal(key, (n,), dtype or jnp.result_type(float))
        return jnp.exp(2 * (self.mean + self.std * g))  # (tau/(1-tau))^2 = exp(2 logit tau)

    def log_prob(self, t):
        r""":math:`\ln p(t) = \ln\mathcal N(\mathrm{logit}\,\tau; m, s^2) - \ln(\tau(1-\tau)) - \ln\,dt/d\tau`."""
        tau = _tau(t)
        u = (jnp.log(tau) - jnp.log1p(-tau) - self.mean) / self.std
        log_p_tau = -0.5 * u**2 - np.log(self.std * np.sqrt(2 * np.pi))
        return log_p_tau - jnp.log(tau) - jnp.log1p(-tau) - _dt_dtau_log(tau)

    def quadrature(self, n: int = 32):
        r"""Gauss–Hermite in :math:`\mathrm{logit}\,\tau`: :math:`E f(t)\approx\sum_i w_i f(t_i)`."""
        x, w = np.polynomial.hermite_e.hermegauss(_validate.positive_int("n", n))
        return np.exp(2 * (self.mean + self.std * x)), w / w.sum()

    def support(self, q: float = 1e-3):
        r"""The :math:`q` and :math:`1-q` quantiles of :math:`t`."""
        z = float(scipy.stats.norm.ppf(1 - q))
        return tuple(float(np.exp(2 * (self.mean + s * z * self.std))) for s in (-1, 1))


def make_loss_fn(*, tau_sampler=TauUniform(), per_dim=False):
    r"""Flow matching's loss as the course's DSM loss: ``losses.make_loss_fn`` with
    ``target="denoiser"``, ``weighting=fm_weighting`` and a :math:`\tau` sampler, for a
    :class:`VelocityModel` (or any denoiser). Equal to :func:`fm_loss` draw for draw."""
    return losses.make_loss_fn(
        target="denoiser", weighting=fm_weighting, t_sampler=tau_sampler, per_dim=per_dim
    )


def fm_terms(velocity, y, tau, eps):
    r"""The per-sample terms :math:`\|\hat v((1-\tau_i)y_i+\tau_i\epsilon_i, \tau_i) - (\epsilon_i - y_i)\|^2`,
    shape (n,): ``y``, ``eps`` (n, ...), ``tau`` (n,); ``velocity(x, tau)`` for one sample."""
    _check_pair("eps", eps, y, "y")
    if np.shape(tau) != np.shape(y)[:1]:
        raise ValueError(f"tau must have shape ({np.shape(y)[0]},); got {np.shape(tau)}")
    return _fm_terms(velocity, jnp.asarray(y), jnp.asarray(tau), jnp.asarray(eps))


@eqx.filter_jit
def _fm_terms(velocity, y, tau, eps):
    b = tau.reshape(-1, *([1] * (y.ndim - 1)))
    x = (1 - b) * y + b * eps
    v = jax.vmap(velocity)(x, tau)
    return jnp.sum((v - (eps - y)).reshape(y.shape[0], -1) ** 2, axis=1)


def fm_loss(velocity, key, y, *, tau_sampler=TauUniform(), eps=None):
    r"""The conditional flow-matching loss written in its own variables (Lipman et al. 2023, eq. 23;
    Liu et al. 2023, eq. 1): with :math:`\tau_i\sim p`, :math:`\epsilon_i\sim\mathcal N(0,I)`,

    .. math:: L = \frac1n\sum_i\|\hat v((1-\tau_i)y_i+\tau_i\epsilon_i,\ \tau_i) - (\epsilon_i - y_i)\|^2

    (:func:`fm_terms`). ``velocity(x, tau)`` for one sample; ``y`` (n, ...). The draws are those of
    :func:`diffcourse.losses.dsm_loss` with the same ``key`` (``eps`` given: paired noise, as in
    reflow). Scalar."""
    y = jnp.asarray(y)
    if y.ndim < 2:
        raise ValueError(f"y must be a batch of shape (n, ...); got {y.shape}")
    key_t, key_eps = jax.random.split(key)
    tau = tau_sampler.sample_tau(key_t, y.shape[0], y.dtype)
    if eps is None:
        eps = jax.random.normal(key_eps, y.shape, y.dtype)
    return jnp.mean(fm_terms(velocity, y, tau, eps))


def make_reflow_loss_fn(*, tau_sampler=TauUniform(), per_dim=False):
    r"""Reflow's loss (Liu et al. 2023, §2.2): the flow-matching terms on coupled pairs. ``batch`` =
    ``(y, eps)`` from :func:`reflow_pairs`, so :math:`\epsilon` is the pair's noise, not a fresh
    draw; each term is ``losses.dsm_terms`` with :func:`fm_weighting`. For :func:`diffcourse.train.fit`."""

    def loss_fn(model, key, batch):
        y, eps = batch
        t = tau_sampler.sample(key, y.shape[0], y.dtype)
        terms = losses.dsm_terms(model, y, t, eps, target="denoiser", weighting=fm_weighting)
        return jnp.mean(terms / (np.prod(y.shape[1:]) if per_dim else 1))

    return loss_fn


# ----------------------------------------------------------------------------------- sampling


def sample(key, denoiser, x_start, taus, *, step=samplers.ddim, return_path=False):
    r"""Integrate the flow from :math:`x_{\tau_0}` = ``x_start`` (n, ...) down the :math:`\tau` grid
    ``taus`` with the course's one sampler (:func:`diffcourse.samplers.sample`, :math:`\lambda = 0`)
    on the VE grid :func:`grid_to_t`, starting at :math:`z = x/(1-\tau_0)`.

    ``denoiser``: a :class:`VelocityModel` or any ``D(z, t)``. ``step=samplers.ddim`` is Euler in
    :math:`\tau` (exactly), ``samplers.heun`` is Heun in :math:`\sigma` (module docstring). Flow
    matching starts at :math:`\tau=1` with :math:`x = \epsilon`; here :math:`\tau_0<1`, and
    ``x_start = eps`` misses :math:`x_{\tau_0}` by :math:`(1-\tau_0)y`. Returns :math:`x` at the last
    :math:`\tau` (n, ...), or the path of :math:`x_{\tau_k}` (len(taus), n, ...)."""
    ts = grid_to_t(taus)
    x_start = jnp.asarray(x_start)
    z = samplers.sample(
        key, denoiser, x_start / (1 - taus[0]), ts, step=step, return_path=return_path
    )
    if not return_path:
        return z * (1 - taus[-1])
    scale = jnp.asarray(1 - np.asarray(taus), z.dtype).reshape(-1, *([1] * (z.ndim - 1)))
    return z * scale


def _tau_step(method):
    def euler(v, x, tau, s):
        return x + (s - tau) * v(x, tau)

    def heun(v, x, tau, s):  # Heun in tau; the last step (s = 0) is Euler, as in Karras Alg. 1
        d = v(x, tau)
        x_euler = x + (s - tau) * d
        x_heun = x + (s - tau) * 0.5 * (d + v(x_euler, jnp.where(s > 0, s, tau)))
        return jnp.where(s > 0, x_heun, x_euler)

    return {"euler": euler, "heun": heun}[method]


@eqx.filter_jit
def _ode_tau(velocity, x, taus, method):
    step = _tau_step(method)

    def one(x):
        def body(x, ts):
            x = step(velocity, x, ts[0], ts[1])
            return x, x

        _, path = jax.lax.scan(body, x, (taus[:-1], taus[1:]))
        return jnp.concatenate([x[None], path])

    return jnp.moveaxis(jax.vmap(one)(x), 1, 0)


def ode_tau(velocity, x_start, taus, *, method="euler", return_path=False):
    r"""Flow matching's ODE :math:`dx/d\tau = v(x,\tau)` in its own variables, Euler or Heun in
    :math:`\tau` (Liu et al. 2023 §2.1; Lipman et al. 2023 §6), down the grid ``taus`` (decreasing,
    in [0, 1]; the last may be 0). ``velocity(x, tau)`` for one sample, e.g. :func:`velocity_field`
    of a denoiser or ``VelocityModel.velocity``. A reference for :func:`sample`, which runs the same
    ODE through the one sampler. Returns (n, ...) or the path (len(taus), n, ...)."""
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun'; got {method!r}")
    taus = np.asarray(taus, dtype=np.float64)
    _check_tau(taus)
    if taus.ndim != 1 or len(taus) < 2 or not np.all(np.diff(taus) < 0):
        raise ValueError(f"taus must be a strictly decreasing 1-D grid; got {taus[:4]}...")
    x_start = jnp.asarray(x_start)
    path = _ode_tau(velocity, x_start, jnp.asarray(taus, x_start.dtype), method)
    return path if return_path else path[-1]


# ------------------------------------------------------------------------------------- reflow


def straightness(path, taus):
    r"""Mean squared deviation of paths from the straight chords between their ends:

    .. math:: S = \frac1{nK}\sum_{i,k}\big\|x^i_{\tau_k} - \ell^i(\tau_k)\big\|^2,\qquad
              \ell^i(\tau) = x^i_{\rm end} + \frac{\tau-\tau_{\rm end}}{\tau_0-\tau_{\rm end}}
              (x^i_{\tau_0} - x^i_{\rm end}),

    0 for straight paths traversed at constant speed (rectified flow's goal, Liu et al. 2023 §2.2).
    ``path``: (K, n, ...) the states at ``taus`` (K,) (from :func:`sample` or :func:`ode_tau` with
    ``return_path=True``). Scalar (float)."""
    path = np.asarray(path, dtype=np.float64)
    taus = np.asarray(taus, dtype=np.float64)
    if path.ndim < 3 or path.shape[0] != taus.shape[0]:
        raise ValueError(f"path must have shape (len(taus)={len(taus)}, n, ...); got {path.shape}")
    a = ((taus - taus[-1]) / (taus[0] - taus[-1])).reshape(-1, *([1] * (path.ndim - 1)))
    chord = path[-1] + a * (path[0] - path[-1])
    return float(np.mean(np.sum((path - chord).reshape(*path.shape[:2], -1) ** 2, axis=-1)))


def reflow_pairs(key, denoiser, n: int, taus, *, step=samplers.heun):
    r"""``n`` coupled pairs :math:`(y, \epsilon)`: :math:`\epsilon\sim\mathcal N(0,I)` and
    :math:`y` the trained flow's ODE solution from :math:`x_{\tau_0} = \epsilon` (:func:`sample`),
    the data of reflow (Liu et al. 2023, Alg. 1, "2-rectified flow"). Returns ``(y, eps)``."""
    n = _validate.positive_int("n", n)
    shape = getattr(denoiser, "shape", None)
    if not isinstance(shape, tuple):
        raise ValueError("denoiser must record the shape of one sample (a VelocityModel does)")
    eps = jax.random.normal(key, (n, *shape), jnp.result_type(float))
    y = sample(jax.random.key(0), denoiser, eps, taus, step=step)
    return y, eps
