r"""One preconditioning for every network of the course: a raw net :math:`F` read as a denoiser.

Karras et al. 2022 ("EDM", eq. 7 and Table 1) write every diffusion model's denoiser as

.. math:: D(z, t, c) = c_{\rm skip}(t)\,z + c_{\rm out}(t)\,F\big(c_{\rm in}(t)\,z,\ t,\ c\big),
          \qquad \sigma^2 = t,

and Table 1's rows differ only in the three coefficients (:func:`coefficients`):

==========  ==========================================  ==========================================
``kind``    coefficients                                what :math:`F` predicts
==========  ==========================================  ==========================================
``"edm"``   :math:`c_{\rm in} = 1/\sqrt{t+\sigma_d^2}`,  a unit-variance correction to the best
            :math:`c_{\rm skip} = \sigma_d^2/(t+\sigma_d^2)`,  linear denoiser (EDM)
            :math:`c_{\rm out} = \sqrt{t\sigma_d^2/(t+\sigma_d^2)}`
``"eps"``   :math:`c_{\rm in} = 1/\sqrt{1+t}`,           :math:`-\hat\epsilon` read on the DDPM scale
            :math:`c_{\rm skip} = 1`,                    :math:`x_t = z/\sqrt{1+t}` (Ho et al. 2020,
            :math:`c_{\rm out} = -\sqrt t`               EDM Table 1 "VP"): :math:`D = z - \sqrt t\,\hat\epsilon`
``"none"``  :math:`c_{\rm in} = 1,\ c_{\rm skip} = 0,\ c_{\rm out} = 1`  :math:`\hat y` itself
==========  ==========================================  ==========================================

Which statistic is :math:`\sigma_d`. The skip form has no mean term, so the target of :math:`F`,
:math:`(y - c_{\rm skip} z)/c_{\rm out}`, has unit second moment at every :math:`t`, and
:math:`c_{\rm in} z` has unit second moment, exactly when :math:`\sigma_d^2 = E[y_i^2]`, the data's
*second moment per coordinate* (its root mean square), not its variance: with
:math:`z = y+\sigma\epsilon`, :math:`E(y - c z)^2 = (1-c)^2 E y^2 + c^2\sigma^2 = c_{\rm out}^2`
for :math:`c = c_{\rm skip}` iff :math:`\sigma_d^2 = E y^2`. For the digits scaled to [-1, 1]
(mean -0.39, std 0.75) that is :math:`\sigma_d = 0.845`, not EDM's 0.5 for centred CIFAR
(:func:`sigma_data`). A network whose last layer starts at zero then has EDM loss 1 at
initialisation, at every noise level.
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from diffcourse import _boundary, _validate

KINDS = ("edm", "eps", "none")


def sigma_data(y) -> float:
    r""":math:`\sigma_d = \sqrt{E[y_i^2]}`, the root mean square over every coordinate of the data ``y``
    (n, ...): the statistic that makes EDM's preconditioning unit-scale (module docstring)."""
    y = np.asarray(_boundary.data("y", y, min_size=0), dtype=np.float64)
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be a non-empty finite array; got shape {y.shape}")
    return float(np.sqrt(np.mean(y**2)))


def coefficients(kind: str, t, sigma_data: float = 1.0):
    r""":math:`(c_{\rm in}, c_{\rm skip}, c_{\rm out})` at VE time ``t`` for one row of EDM's Table 1
    (module docstring); ``t > 0`` scalar or array."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    if _validate.is_concrete(t):
        t = _boundary.data("t", t)
        _validate.positive("t", t)
    _boundary.positive("sigma_data", sigma_data)
    if kind == "edm":
        s2 = sigma_data**2
        return 1 / jnp.sqrt(t + s2), s2 / (t + s2), jnp.sqrt(t * s2 / (t + s2))
    if kind == "eps":
        return 1 / jnp.sqrt(1 + t), jnp.ones_like(t), -jnp.sqrt(t)
    if kind == "none":
        return jnp.ones_like(t), jnp.zeros_like(t), jnp.ones_like(t)
    raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")


class Preconditioned(eqx.Module):
    r"""A raw network ``net(x, t[, c])`` read as the denoiser :math:`D(z,t,c)\approx E[y\mid z(t)=z, c]`.

    ``__call__(z, t, c=None)`` on one sample; ``c = None`` for unconditional models (a condition
    given to a net built without one is an error). ``shape``: the shape of one sample, and
    ``t_range``: the (t_min, t_max) the net was trained on, recorded so that samplers can keep
    to it (None when unknown).
    """

    net: eqx.Module
    kind: str = eqx.field(static=True)
    sigma_data: float = eqx.field(static=True)
    shape: tuple = eqx.field(static=True)
    t_range: tuple | None = eqx.field(static=True)
    conditional: bool = eqx.field(static=True)

    def __init__(self, net, *, shape, kind="edm", sigma_data=1.0, t_range=None, conditional=False):
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        _boundary.function("net", net)
        _boundary.positive("sigma_data", sigma_data)
        shape = _validate.ints("shape", shape, minimum=1, max_len=8)
        conditional = _validate.flag("conditional", conditional)
        if t_range is not None:
            if not (hasattr(t_range, "__len__") and len(t_range) == 2):
                raise _validate.fail("t_range", "a pair (t_min, t_max)", repr(t_range))
            lo, hi = (float(_boundary.real("t_range", a)) for a in t_range)
            if not 0 < lo < hi < np.inf:
                raise ValueError(
                    f"t_range must be (t_min, t_max) with 0 < t_min < t_max; got {t_range}"
                )
            t_range = (lo, hi)
        self.net, self.kind, self.sigma_data = net, kind, float(sigma_data)
        self.shape = tuple(int(s) for s in shape)
        self.t_range, self.conditional = t_range, bool(conditional)

    def __call__(self, z, t, c=None):
        z = jnp.asarray(_boundary.data("z", z, shape=self.shape))  # an int image becomes floats
        _boundary.positive("t", t)
        if c is not None and not self.conditional:
            raise ValueError(
                "c was given but the denoiser is unconditional (it takes D(z, t) only)"
            )
        t = jnp.asarray(t, z.dtype)
        c_in, c_skip, c_out = coefficients(self.kind, t, self.sigma_data)
        x = c_in * z
        f = self.net(x, t) if c is None else self.net(x, t, c)
        return c_skip * z + c_out * f.astype(z.dtype)
