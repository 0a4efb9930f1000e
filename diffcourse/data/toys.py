r"""Two-dimensional toy data sets as finite samples (notebook 07).

- :func:`ring_mixture` / :func:`gaussian_mixture8`: Gaussian components on a circle. The
  population is a :class:`diffcourse.populations.GaussianMixture`, so its diffused density
  :math:`p_t`, the denoiser :math:`E[y\mid z(t)=z]` and the score are exact: the reference a
  learned score is measured against.
- :func:`two_moons` and :func:`spirals`: classic shapes with no closed-form score.

Every generator takes the PRNG key first and returns an array of shape ``(n, 2)``, centred near 0
with a variance per coordinate of order 1 (the scale the MLP's preconditioning expects).
"""

import jax
import jax.numpy as jnp

from diffcourse import _validate
from diffcourse.populations import GaussianMixture


def ring_mixture(k: int = 8, radius: float = 2.0, std: float = 0.2, weights=None):
    r"""The mixture :math:`\sum_{j<k} \pi_j\,\mathcal N(\mu_j, \mathrm{std}^2 I)` with means on a circle,
    :math:`\mu_j = r(\cos 2\pi j/k, \sin 2\pi j/k)`. ``weights``: (k,) or ``None`` (uniform).

    Its variance per coordinate is :math:`r^2/2 + \mathrm{std}^2` for uniform weights and
    :math:`k \ge 3`. Returns a :class:`~diffcourse.populations.GaussianMixture`.
    """
    k = _validate.positive_int("k", k)
    _validate.positive("radius", radius)
    _validate.positive("std", std)
    angle = 2 * jnp.pi * jnp.arange(k) / k
    means = radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    weights = jnp.full((k,), 1.0 / k) if weights is None else jnp.asarray(weights, means.dtype)
    covs = jnp.full((k, 2), std**2, means.dtype)
    return GaussianMixture(weights, means, covs)


def gaussian_mixture8(key, n: int, *, radius: float = 2.0, std: float = 0.2, weights=None):
    """``n`` draws from the 8-component ring :func:`ring_mixture` ``(8, radius, std, weights)``. (n, 2)."""
    n = _validate.positive_int("n", n)
    return ring_mixture(8, radius, std, weights).sample(key, n)


def two_moons(key, n: int, *, noise: float = 0.1):
    r"""Two interleaved half circles (as scikit-learn's ``make_moons``), centred at 0.

    Upper moon :math:`(\cos\theta, \sin\theta)`, lower moon :math:`(1-\cos\theta, \tfrac12-\sin\theta)`,
    :math:`\theta\sim U(0,\pi)`, each point with probability 1/2, shifted by :math:`(-\tfrac12, -\tfrac14)`
    and blurred by :math:`\mathcal N(0, \mathrm{noise}^2 I)`. Returns (n, 2).
    """
    n = _validate.positive_int("n", n)
    _validate.nonnegative("noise", noise)
    key_theta, key_side, key_eps = jax.random.split(key, 3)
    theta = jax.random.uniform(key_theta, (n,), maxval=jnp.pi)
    upper = jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)
    lower = jnp.stack([1 - jnp.cos(theta), 0.5 - jnp.sin(theta)], axis=1)
    side = jax.random.bernoulli(key_side, 0.5, (n, 1))
    y = jnp.where(side, upper, lower) - jnp.array([0.5, 0.25])
    return y + noise * jax.random.normal(key_eps, (n, 2))


def spirals(key, n: int, *, turns: float = 1.5, radius: float = 2.0, noise: float = 0.05):
    r"""Two interleaved spiral arms of ``turns`` turns each, out to ``radius``.

    Arm :math:`a\in\{0,1\}` (probability 1/2 each), :math:`u\sim U(0,1)`:
    :math:`\theta = 2\pi\,\mathrm{turns}\,\sqrt u`, :math:`\rho = \mathrm{radius}\sqrt u`,
    :math:`y = \rho(\cos(\theta + \pi a), \sin(\theta + \pi a)) + \mathrm{noise}\,\epsilon`
    (the :math:`\sqrt u` makes the density along the arms roughly uniform in area). Returns (n, 2).
    """
    n = _validate.positive_int("n", n)
    _validate.positive("turns", turns)
    _validate.positive("radius", radius)
    _validate.nonnegative("noise", noise)
    key_u, key_arm, key_eps = jax.random.split(key, 3)
    u = jnp.sqrt(jax.random.uniform(key_u, (n,)))
    arm = jax.random.bernoulli(key_arm, 0.5, (n,))
    theta = 2 * jnp.pi * turns * u + jnp.pi * arm
    y = radius * u[:, None] * jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)
    return y + noise * jax.random.normal(key_eps, (n, 2))


def bimodal_1d():
    r"""The bimodal 1-D start of notebook 03, :math:`0.4\,\mathcal N(-1.5, 0.05) + 0.6\,\mathcal N(1.5, 0.1)`,
    as a :class:`~diffcourse.populations.GaussianMixture` (``.sample``, ``.log_density``, ``.score``
    and ``.marginal_cdf`` are exact; :func:`diffcourse.sde.mixture_marginal_pdf` moves it along a
    linear SDE)."""
    return GaussianMixture(
        jnp.array([0.4, 0.6]), jnp.array([[-1.5], [1.5]]), jnp.array([[0.05], [0.1]])
    )
