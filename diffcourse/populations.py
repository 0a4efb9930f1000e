r"""Populations whose diffused densities are exact: a finite set and a Gaussian mixture.

The forward process of the course is :math:`z(t) = y + \sqrt t\,\epsilon` with :math:`y\sim\mathrm{pop}`,
so the density of :math:`z(t)` is the population convolved with the heat kernel,
:math:`p_t = \mathrm{pop} * \mathcal N(0, tI)`. For the two populations here everything is closed form:

- ``FinitePop``: :math:`\mathrm{pop} = \sum_i w_i\,\delta_{y_i}` (a training set). Then
  :math:`\ln p_t(z) = \mathrm{LSE}_i[\ln w_i - \|z-y_i\|^2/2t] - \tfrac d2\ln 2\pi t` and
  :math:`E[y\mid z(t)=z] = \sum_i r_i(z)\,y_i` with :math:`r = \mathrm{softmax}_i(\ln w_i - \|z-y_i\|^2/2t)`.
- ``GaussianMixture``: :math:`\mathrm{pop} = \sum_k \pi_k\,\mathcal N(\mu_k, C_k)`. Then
  :math:`p_t = \sum_k \pi_k\,\mathcal N(\mu_k, C_k + tI)` and, per component,
  :math:`E[y\mid z, k] = z - t\,(C_k+tI)^{-1}(z-\mu_k)`.

McAllester (arXiv 2301.11108) §2 and MCALLESTER.md M11: the score is
:math:`\nabla_z\ln p_t(z) = (E[y\mid z(t)=z] - z)/t` (Tweedie), and
:math:`\nabla_z E[y\mid z] = \mathrm{Cov}(y\mid z)/t`.

Every method is written for one sample, ``z`` of shape ``(d,)`` and a scalar ``t``; batches use
``jax.vmap``. Log-sum-exp keeps the densities finite down to small ``t`` and in high dimension.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

from diffcourse import _validate


def _check_t(t, *, allow_zero: bool = False):
    if allow_zero:
        return _validate.nonnegative("t", t)
    return _validate.positive("t", t)


def _default_weights(n, dtype):
    return jnp.full((n,), 1.0 / n, dtype=dtype)


@eqx.filter_jit
def _sample_pt(pop, key, n, t):
    r""":math:`z(t) = y + \sqrt t\,\epsilon`, :math:`y \sim` pop, n draws (M0); compiled once per pop type and n."""
    key_y, key_eps = jax.random.split(key)
    y = pop._sample(key_y, n)
    return y + jnp.sqrt(t) * jax.random.normal(key_eps, y.shape, y.dtype)


class FinitePop(eqx.Module):
    r"""The uniform (or weighted) distribution over a finite set of points: a training set.

    ``points``: (n, d); ``weights``: (n,) non-negative, summing to 1 (uniform when ``None``).
    :math:`p_t(z) = \sum_i w_i\,\mathcal N(z; y_i, tI)`, defined for ``t > 0``.
    """

    points: jax.Array
    weights: jax.Array

    def __init__(self, points, weights=None):
        points = jnp.asarray(points)
        if points.ndim != 2:
            raise ValueError(f"points must have shape (n, d); got {tuple(points.shape)}")
        if _validate.is_concrete(points) and not np.all(np.isfinite(np.asarray(points))):
            raise ValueError("points must be finite")
        n = points.shape[0]
        if weights is None:
            weights = _default_weights(n, points.dtype)
        weights = jnp.asarray(weights, dtype=points.dtype)
        _validate.shape("weights", weights, (n,))
        _validate.probabilities("weights", weights)
        self.points = points
        self.weights = weights

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def sample(self, key, n: int):
        """n draws y ~ pop (indices chosen with the weights). Returns (n, d)."""
        return self._sample(key, _validate.positive_int("n", n))

    @eqx.filter_jit
    def _sample(self, key, n: int):
        idx = jax.random.choice(key, self.points.shape[0], (n,), p=self.weights)
        return self.points[idx]

    def sample_pt(self, key, n: int, t):
        r"""n draws of :math:`z(t) = y + \sqrt t\,\epsilon` (M0). Returns (n, d)."""
        _check_t(t)
        return _sample_pt(
            self, key, _validate.positive_int("n", n), jnp.asarray(t, self.points.dtype)
        )

    def _logits(self, z, t):
        r""":math:`\ln w_i - \|z - y_i\|^2 / 2t`, shape (n,)."""
        return jnp.log(self.weights) - jnp.sum((z - self.points) ** 2, axis=-1) / (2 * t)

    def responsibilities(self, z, t):
        r""":math:`r_i(z) = P(y = y_i \mid z(t) = z)`, the softmax of the logits. Shape (n,)."""
        _check_t(t)
        return jax.nn.softmax(self._logits(z, t))

    def log_density(self, z, t):
        r""":math:`\ln p_t(z) = \mathrm{LSE}_i[\ln w_i - \|z-y_i\|^2/2t] - \tfrac d2 \ln 2\pi t`. Scalar."""
        _check_t(t)
        return logsumexp(self._logits(z, t)) - 0.5 * self.dim * jnp.log(2 * jnp.pi * t)

    def posterior_mean(self, z, t):
        r""":math:`E[y\mid z(t)=z] = \sum_i r_i(z)\,y_i` (McAllester's ideal denoiser). Shape (d,)."""
        return self.responsibilities(z, t) @ self.points

    def posterior_cov(self, z, t):
        r""":math:`\mathrm{Cov}(y\mid z(t)=z) = \sum_i r_i (y_i - \hat y)(y_i - \hat y)^\top`. Shape (d, d)."""
        r = self.responsibilities(z, t)
        dev = self.points - r @ self.points
        return (r[:, None] * dev).T @ dev

    def score(self, z, t):
        r""":math:`\nabla_z \ln p_t(z) = \sum_i r_i(z)\,(y_i - z)/t = (E[y\mid z] - z)/t` (M11). Shape (d,)."""
        return self.responsibilities(z, t) @ (self.points - z) / t

    def marginal_cdf(self, x, t, axis: int = 0):
        r"""CDF of coordinate ``axis`` of :math:`z(t)`: :math:`\sum_i w_i\,\Phi((x - y_{i,axis})/\sqrt t)`."""
        _check_t(t)
        return jnp.sum(self.weights * norm.cdf((x - self.points[:, axis]) / jnp.sqrt(t)))


class GaussianMixture(eqx.Module):
    r"""A mixture of Gaussians :math:`\sum_k \pi_k\,\mathcal N(\mu_k, C_k)`.

    ``weights``: (K,); ``means``: (K, d); ``covs``: (K, d) diagonal variances or (K, d, d) full,
    positive definite. Stored full, with the eigendecomposition :math:`C_k = U_k\,\mathrm{diag}(e_k)\,U_k^\top`
    so that :math:`(C_k + tI)^{-1} = U_k\,\mathrm{diag}(1/(e_k+t))\,U_k^\top` costs two matrix products
    at every t (no factorisation per call). A single Gaussian is
    ``GaussianMixture(jnp.ones(1), mean[None], cov[None])``. Defined for ``t >= 0``.
    """

    weights: jax.Array
    means: jax.Array
    covs: jax.Array
    eigvals: jax.Array
    eigvecs: jax.Array

    def __init__(self, weights, means, covs):
        means = jnp.asarray(means)
        if means.ndim != 2:
            raise ValueError(f"means must have shape (K, d); got {tuple(means.shape)}")
        k, d = means.shape
        weights = jnp.asarray(weights, dtype=means.dtype)
        _validate.shape("weights", weights, (k,))
        _validate.probabilities("weights", weights)
        covs = jnp.asarray(covs, dtype=means.dtype)
        if covs.shape == (k, d):
            _validate.positive("covs", covs)
            covs = jax.vmap(jnp.diag)(covs)
        elif covs.shape == (k, d, d):
            c = np.asarray(covs) if _validate.is_concrete(covs) else np.eye(d)[None]
            if not np.allclose(c, np.swapaxes(c, 1, 2)) or np.any(np.linalg.eigvalsh(c) <= 0):
                raise ValueError("covs must be symmetric positive definite matrices")
        else:
            raise ValueError(
                f"covs must have shape ({k}, {d}) or ({k}, {d}, {d}); got {covs.shape}"
            )
        self.weights, self.means, self.covs = weights, means, covs
        self.eigvals, self.eigvecs = jnp.linalg.eigh(covs)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, key, n: int):
        r"""n draws :math:`y = \mu_k + L_k\epsilon`, :math:`k\sim\pi`, :math:`L_kL_k^\top = C_k`. Returns (n, d)."""
        return self._sample(key, _validate.positive_int("n", n))

    @eqx.filter_jit
    def _sample(self, key, n: int):
        key_k, key_eps = jax.random.split(key)
        k = jax.random.choice(key_k, self.weights.shape[0], (n,), p=self.weights)
        eps = jax.random.normal(key_eps, (n, self.dim), self.means.dtype)
        chol = jnp.linalg.cholesky(self.covs)
        return self.means[k] + jnp.einsum("nij,nj->ni", chol[k], eps)

    def sample_pt(self, key, n: int, t):
        r"""n draws of :math:`z(t) = y + \sqrt t\,\epsilon` (M0). Returns (n, d)."""
        _check_t(t, allow_zero=True)
        return _sample_pt(
            self, key, _validate.positive_int("n", n), jnp.asarray(t, self.means.dtype)
        )

    def _components(self, z, t):
        r"""Per component: :math:`\ln\pi_k + \ln\mathcal N(z;\mu_k, S_k)` and :math:`-S_k^{-1}(z-\mu_k)`, :math:`S_k = C_k + tI`."""
        e = self.eigvals + t  # eigenvalues of S_k, (K, d)
        u = jnp.einsum("kji,kj->ki", self.eigvecs, z - self.means)  # U_k^T (z - mu_k)
        logn = -0.5 * jnp.sum(u**2 / e + jnp.log(2 * jnp.pi * e), axis=-1)
        score_k = -jnp.einsum("kij,kj->ki", self.eigvecs, u / e)
        return jnp.log(self.weights) + logn, score_k

    def responsibilities(self, z, t):
        r""":math:`r_k(z) = P(k\mid z(t)=z) \propto \pi_k\,\mathcal N(z;\mu_k,C_k+tI)`. Shape (K,)."""
        _check_t(t, allow_zero=True)
        return jax.nn.softmax(self._components(z, t)[0])

    def log_density(self, z, t):
        r""":math:`\ln p_t(z) = \mathrm{LSE}_k[\ln\pi_k + \ln\mathcal N(z;\mu_k, C_k+tI)]`. Scalar."""
        _check_t(t, allow_zero=True)
        return logsumexp(self._components(z, t)[0])

    def score(self, z, t):
        r""":math:`\nabla_z\ln p_t(z) = -\sum_k r_k(z)\,(C_k+tI)^{-1}(z-\mu_k)` (M11). Shape (d,)."""
        _check_t(t, allow_zero=True)
        logits, score_k = self._components(z, t)
        return jax.nn.softmax(logits) @ score_k

    def _posterior_parts(self, z, t):
        """Responsibilities, per-component posterior means (K, d) and covariances (K, d, d)."""
        logits, score_k = self._components(z, t)
        m_k = z + t * score_k  # Tweedie for each Gaussian component
        shrink = t * self.eigvals / (self.eigvals + t)  # eigenvalues of t C_k (C_k + tI)^{-1}
        cov_k = jnp.einsum("kij,kj,klj->kil", self.eigvecs, shrink, self.eigvecs)
        return jax.nn.softmax(logits), m_k, cov_k

    def posterior_mean(self, z, t):
        r""":math:`E[y\mid z(t)=z] = \sum_k r_k\,[z - t(C_k+tI)^{-1}(z-\mu_k)]`. Shape (d,)."""
        _check_t(t, allow_zero=True)
        r, m_k, _ = self._posterior_parts(z, t)
        return r @ m_k

    def posterior_cov(self, z, t):
        r""":math:`\mathrm{Cov}(y\mid z) = \sum_k r_k\,[tC_k(C_k+tI)^{-1} + (m_k-\hat y)(m_k-\hat y)^\top]`. (d, d)."""
        _check_t(t, allow_zero=True)
        r, m_k, cov_k = self._posterior_parts(z, t)
        dev = m_k - r @ m_k
        return jnp.einsum("k,kij->ij", r, cov_k) + (r[:, None] * dev).T @ dev

    def marginal_cdf(self, x, t, axis: int = 0):
        r"""CDF of coordinate ``axis`` of :math:`z(t)`: :math:`\sum_k\pi_k\Phi((x-\mu_{k,a})/\sqrt{C_{k,aa}+t})`."""
        _check_t(t, allow_zero=True)
        sd = jnp.sqrt(self.covs[:, axis, axis] + t)
        return jnp.sum(self.weights * norm.cdf((x - self.means[:, axis]) / sd))


# --------------------------------------------------------------------------------------------
# The worked examples of MCALLESTER.md, used by the notebooks, the figures and the tests.


def mcallester_d2() -> FinitePop:
    """MCALLESTER.md's ``D2``: points (0,0), (2,1), (-1.5,2.5), (1,-2) with weights .1, .4, .3, .2."""
    points = jnp.array([[0.0, 0.0], [2.0, 1.0], [-1.5, 2.5], [1.0, -2.0]])
    return FinitePop(points, jnp.array([0.1, 0.4, 0.3, 0.2]))


def mcallester_g1() -> GaussianMixture:
    """MCALLESTER.md's ``G1``: 1-D mixture, pi = (.3, .5, .2), mu = (-2, .5, 3), v = (.05, .3, .1)."""
    return GaussianMixture(
        jnp.array([0.3, 0.5, 0.2]),
        jnp.array([[-2.0], [0.5], [3.0]]),
        jnp.array([[0.05], [0.3], [0.1]]),
    )


def mixture_2d() -> GaussianMixture:
    """The course's 2-D mixture of notebook 05: three components with full covariances,
    pi = (.25, .45, .3), means (-2, 0), (1, 1.5), (1.5, -1.5)."""
    covs = jnp.array(
        [[[0.2, 0.1], [0.1, 0.3]], [[0.1, 0.0], [0.0, 0.4]], [[0.3, -0.15], [-0.15, 0.2]]]
    )
    means = jnp.array([[-2.0, 0.0], [1.0, 1.5], [1.5, -1.5]])
    return GaussianMixture(jnp.array([0.25, 0.45, 0.3]), means, covs)


def fraction_within(pop: GaussianMixture, y, k: float = 2.0):
    r"""The fraction of the samples ``y`` (n, d) within Mahalanobis distance ``k`` of their nearest
    component of ``pop``: :math:`\frac1n\sum_i 1[\min_j (y_i-\mu_j)^\top C_j^{-1}(y_i-\mu_j) < k^2]`.

    For exact draws of well-separated components it is :math:`P(\chi^2_d < k^2)` (0.865 for k = 2,
    d = 2); a sampler that smears mass between the components (a uniform ring) scores far lower,
    which a component-weight count cannot see. Scalar."""
    _validate.positive("k", k)
    y = jnp.asarray(y)
    if y.ndim != 2 or y.shape[1] != pop.dim:
        raise ValueError(f"y must have shape (n, {pop.dim}); got {y.shape}")
    diff = y[:, None, :] - pop.means[None]
    m2 = jnp.einsum("nkd,kde,nke->nk", diff, jnp.linalg.inv(pop.covs), diff)
    return jnp.mean(jnp.min(m2, axis=1) < k**2)
