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

McAllester (arXiv 2301.11108) §2: the score is
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

from diffcourse import _boundary as _b
from diffcourse import _validate


def _check_t(t, *, allow_zero: bool = False):
    if allow_zero:
        return _b.nonnegative("t", t)
    return _b.positive("t", t)


def _check_z(z, d):
    """One sample ``z`` of shape (d,) (a batch is refused: vmap over it)."""
    return _b.data("z", z, shape=(d,))


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
        points = jnp.asarray(_b.data("points", points, shape=(None, None), finite=True))
        n = points.shape[0]
        if weights is None:
            weights = _default_weights(n, points.dtype)
        weights = jnp.asarray(_b.data("weights", weights), dtype=points.dtype)
        _validate.shape("weights", weights, (n,))
        _validate.probabilities("weights", weights)
        self.points = points
        self.weights = weights

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def sample(self, key, n: int):
        """n draws y ~ pop (indices chosen with the weights). Returns (n, d)."""
        _b.key("key", key)
        return self._sample(key, _validate.positive_int("n", n))

    @eqx.filter_jit
    def _sample(self, key, n: int):
        idx = jax.random.choice(key, self.points.shape[0], (n,), p=self.weights)
        return self.points[idx]

    def sample_pt(self, key, n: int, t):
        r"""n draws of :math:`z(t) = y + \sqrt t\,\epsilon` (M0). Returns (n, d)."""
        _b.key("key", key)
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
        z = _check_z(z, self.dim)
        return jax.nn.softmax(self._logits(z, t))

    def log_density(self, z, t):
        r""":math:`\ln p_t(z) = \mathrm{LSE}_i[\ln w_i - \|z-y_i\|^2/2t] - \tfrac d2 \ln 2\pi t`. Scalar."""
        _check_t(t)
        z = _check_z(z, self.dim)
        return logsumexp(self._logits(z, t)) - 0.5 * self.dim * jnp.log(2 * jnp.pi * t)

    def posterior_mean(self, z, t):
        r""":math:`E[y\mid z(t)=z] = \sum_i r_i(z)\,y_i` (McAllester's ideal denoiser). Shape (d,)."""
        z = _check_z(z, self.dim)
        return self.responsibilities(z, t) @ self.points

    def posterior_cov(self, z, t):
        r""":math:`\mathrm{Cov}(y\mid z(t)=z) = \sum_i r_i (y_i - \hat y)(y_i - \hat y)^\top`. Shape (d, d)."""
        z = _check_z(z, self.dim)
        r = self.responsibilities(z, t)
        dev = self.points - r @ self.points
        return (r[:, None] * dev).T @ dev

    def score(self, z, t):
        r""":math:`\nabla_z \ln p_t(z) = \sum_i r_i(z)\,(y_i - z)/t = (E[y\mid z] - z)/t` (M11). Shape (d,)."""
        z = _check_z(z, self.dim)
        return self.responsibilities(z, t) @ (self.points - z) / t

    def marginal_cdf(self, x, t, axis: int = 0):
        r"""CDF of coordinate ``axis`` of :math:`z(t)`: :math:`\sum_i w_i\,\Phi((x - y_{i,axis})/\sqrt t)`."""
        _check_t(t)
        axis = _b.axis("axis", axis, self.dim)
        x = _b.data("x", x, ndim=0)
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
        means = _b.data("means", means, shape=(None, None), finite=True)
        if _validate.is_concrete(means) and means.dtype == jnp.float16:
            means = means.astype(jnp.float32)  # eigh has no float16
        means = jnp.asarray(means)
        k, d = means.shape
        weights = jnp.asarray(_b.data("weights", weights), dtype=means.dtype)
        _validate.shape("weights", weights, (k,))
        _validate.probabilities("weights", weights)
        covs = jnp.asarray(_b.data("covs", covs, finite=True), dtype=means.dtype)
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
        _b.key("key", key)
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
        _b.key("key", key)
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
        z = _check_z(z, self.dim)
        return jax.nn.softmax(self._components(z, t)[0])

    def log_density(self, z, t):
        r""":math:`\ln p_t(z) = \mathrm{LSE}_k[\ln\pi_k + \ln\mathcal N(z;\mu_k, C_k+tI)]`. Scalar."""
        _check_t(t, allow_zero=True)
        z = _check_z(z, self.dim)
        return logsumexp(self._components(z, t)[0])

    def score(self, z, t):
        r""":math:`\nabla_z\ln p_t(z) = -\sum_k r_k(z)\,(C_k+tI)^{-1}(z-\mu_k)` (M11). Shape (d,)."""
        _check_t(t, allow_zero=True)
        z = _check_z(z, self.dim)
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
        z = _check_z(z, self.dim)
        r, m_k, _ = self._posterior_parts(z, t)
        return r @ m_k

    def posterior_cov(self, z, t):
        r""":math:`\mathrm{Cov}(y\mid z) = \sum_k r_k\,[tC_k(C_k+tI)^{-1} + (m_k-\hat y)(m_k-\hat y)^\top]`. (d, d)."""
        _check_t(t, allow_zero=True)
        z = _check_z(z, self.dim)
        r, m_k, cov_k = self._posterior_parts(z, t)
        dev = m_k - r @ m_k
        return jnp.einsum("k,kij->ij", r, cov_k) + (r[:, None] * dev).T @ dev

    def marginal_cdf(self, x, t, axis: int = 0):
        r"""CDF of coordinate ``axis`` of :math:`z(t)`: :math:`\sum_k\pi_k\Phi((x-\mu_{k,a})/\sqrt{C_{k,aa}+t})`."""
        _check_t(t, allow_zero=True)
        axis = _b.axis("axis", axis, self.dim)
        x = _b.data("x", x, ndim=0)
        sd = jnp.sqrt(self.covs[:, axis, axis] + t)
        return jnp.sum(self.weights * norm.cdf((x - self.means[:, axis]) / sd))


# --------------------------------------------------------------------------------------------
# Worked examples (McAllester 2023 uses a point set and a 1-D mixture like these), used by the notebooks, the figures and the tests.


def mcallester_d2() -> FinitePop:
    """The worked example ``D2``: points (0,0), (2,1), (-1.5,2.5), (1,-2) with weights .1, .4, .3, .2."""
    points = jnp.array([[0.0, 0.0], [2.0, 1.0], [-1.5, 2.5], [1.0, -2.0]])
    return FinitePop(points, jnp.array([0.1, 0.4, 0.3, 0.2]))


def mcallester_g1() -> GaussianMixture:
    """The worked example ``G1``: 1-D mixture, pi = (.3, .5, .2), mu = (-2, .5, 3), v = (.05, .3, .1)."""
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


def _check_mixture(pop):
    if not isinstance(pop, GaussianMixture):
        raise _validate.fail("pop", "a GaussianMixture", type(pop).__name__)
    return pop


def _check_pop(pop):
    if not isinstance(pop, (FinitePop, GaussianMixture)):
        raise _validate.fail("pop", "a FinitePop or a GaussianMixture", type(pop).__name__)
    return pop


def fraction_within(pop: GaussianMixture, y, k: float = 2.0):
    r"""The fraction of the samples ``y`` (n, d) within Mahalanobis distance ``k`` of their nearest
    component of ``pop``: :math:`\frac1n\sum_i 1[\min_j (y_i-\mu_j)^\top C_j^{-1}(y_i-\mu_j) < k^2]`.

    For exact draws of well-separated components it is :math:`P(\chi^2_d < k^2)` (0.865 for k = 2,
    d = 2); a sampler that smears mass between the components (a uniform ring) scores far lower,
    which a component-weight count cannot see. Scalar."""
    _check_mixture(pop)
    _b.positive("k", k)
    y = jnp.asarray(_b.data("y", y, shape=(None, pop.dim)))
    diff = y[:, None, :] - pop.means[None]
    m2 = jnp.einsum("nkd,kde,nke->nk", diff, jnp.linalg.inv(pop.covs), diff)
    return jnp.mean(jnp.min(m2, axis=1) < k**2)


# --------------------------------------------------------------------------------------------
# Independent checks of the denoiser and the score (notebook 04; appended for issue 12).


def posterior_mean_quadrature(y, pop_pdf, z, t):
    r""":math:`E[y\mid z(t)=z]` of a 1-D population by quadrature, independent of any closed form:

    .. math:: E[y\mid z] = \frac{\int y\,\mathrm{pop}(y)\,\mathcal N(z; y, t)\,dy}
                               {\int \mathrm{pop}(y)\,\mathcal N(z; y, t)\,dy}

    (Bayes), trapezoid rule on the grid ``y`` (m,) with the density values ``pop_pdf`` (m,);
    ``z`` (k,), ``t > 0``. Returns (k,). For a smooth, fast-decaying integrand the trapezoid rule
    converges faster than any power of the spacing."""
    _check_t(t)
    y = _b.data("y", y, ndim=1, min_size=2, finite=True)
    w = _b.data("pop_pdf", pop_pdf, shape=(np.shape(y)[0],))
    _validate.nonnegative("pop_pdf", w)
    z = _b.data("z", z, ndim=1)
    y, w, z = jnp.asarray(y), jnp.asarray(w), jnp.asarray(z)
    kern = jnp.exp(-((z[:, None] - y[None, :]) ** 2) / (2 * t)) * w[None, :]
    return jnp.trapezoid(kern * y[None, :], y, axis=1) / jnp.trapezoid(kern, y, axis=1)


def binned_mean(z, y, edges):
    r"""Monte Carlo regression of ``y`` on ``z``: the mean of the ``y`` whose ``z`` fall in each bin
    of ``edges`` (1-D samples (n,)), an estimate of :math:`E[y\mid z]` at the bin centres, with the
    bin counts. Returns (centres, means, counts), numpy arrays; empty bins give NaN."""
    z = np.asarray(_b.data("z", z, ndim=1, min_size=0))
    y = np.asarray(_b.data("y", y, shape=z.shape, min_size=0))
    _validate.monotone("edges", edges, increasing=True)
    z, y, edges = np.asarray(z), np.asarray(y), np.asarray(edges)
    idx = np.digitize(z, edges) - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    counts = np.bincount(idx[ok], minlength=edges.size - 1)
    sums = np.bincount(idx[ok], weights=y[ok], minlength=edges.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (edges[1:] + edges[:-1]), sums / counts, counts


def denoiser_mse(denoiser, y, z, t):
    r""":math:`E\|\hat y(z, t) - y\|^2` over paired samples ``y, z`` (n, d) of a denoiser
    ``denoiser(z, t)`` for one sample. The ideal denoiser :math:`E[y\mid z]` minimises it
    (McAllester 2023; the regression target of notebook 07), and for any other
    :math:`\hat y = E[y\mid z] + \delta(z)` the excess is exactly :math:`E\|\delta(z)\|^2`
    (Pythagoras: :math:`y - E[y\mid z]` is orthogonal to every function of :math:`z`)."""
    _b.function("denoiser", denoiser)
    _check_t(t)
    y = _b.data("y", y, ndim=2)
    z = _b.data("z", z, shape=np.shape(y))
    pred = jax.vmap(denoiser, (0, None))(jnp.asarray(z), t)
    return float(jnp.mean(jnp.sum((pred - jnp.asarray(y)) ** 2, axis=-1)))


def tweedie_residual(pop, z, t):
    r"""Relative error :math:`\|(E[y\mid z] - z)/t - \nabla_z\ln p_t(z)\| / \|\nabla_z\ln p_t(z)\|` of
    Tweedie's formula (Robbins 1956; Efron 2011, eq. 2.8; McAllester 2023, "the score is the
    denoising direction over t"), the gradient by autodiff of ``pop.log_density``. ``z`` (n, d),
    ``t`` (n,). Returns (n,)."""
    _check_pop(pop)
    z = _b.data("z", z, shape=(None, pop.dim))
    t = _b.data("t", t, shape=(np.shape(z)[0],))
    _validate.positive("t", t)
    return _tweedie_residual(pop, jnp.asarray(z), jnp.asarray(t))


@eqx.filter_jit
def _tweedie_residual(pop, z, t):
    def one(z, t):
        autodiff = jax.grad(pop.log_density)(z, t)
        gap = (pop.posterior_mean(z, t) - z) / t - autodiff
        return jnp.linalg.norm(gap) / jnp.linalg.norm(autodiff)

    return jax.vmap(one)(z, t)


def heat_residual(pop, z, t):
    r"""Residual of the heat equation in log form,
    :math:`|\partial_t\ln p - \tfrac12(\Delta\ln p + \|\nabla\ln p\|^2)|`, relative to
    :math:`\tfrac12\|\nabla\ln p\|^2 + \tfrac12|\Delta \ln p|` (a scale that does not vanish), every
    derivative by autodiff of ``pop.log_density``. ``z`` (n, d), ``t`` a scalar. Returns (n,)."""
    _check_pop(pop)
    _check_t(t)
    z = _b.data("z", z, shape=(None, pop.dim))
    return _heat_residual(pop, jnp.asarray(z), jnp.asarray(t, jnp.result_type(float)))


@eqx.filter_jit
def _heat_residual(pop, z, t):
    def one(z):
        dt = jax.grad(pop.log_density, argnums=1)(z, t)
        lap = jnp.trace(jax.hessian(pop.log_density)(z, t))
        sq = jnp.sum(pop.score(z, t) ** 2)
        return jnp.abs(dt - 0.5 * (lap + sq)) / (0.5 * sq + 0.5 * jnp.abs(lap))

    return jax.vmap(one)(z)


def nearest_component(pop: GaussianMixture, y):
    """The index of the component whose mean is nearest to each sample ``y`` (n, d): shape (n,)."""
    _check_mixture(pop)
    y = jnp.asarray(_b.data("y", y, shape=(None, pop.dim)))
    return jnp.argmin(jnp.sum((y[:, None, :] - pop.means[None]) ** 2, axis=-1), axis=1)


def goodness_of_fit(pop, z, t):
    r"""Two tests of samples ``z`` (n, d) against the exact law :math:`p_t` of a ``pop``:

    - the Kolmogorov–Smirnov p-value of each coordinate against the exact marginal CDF
      (``pop.marginal_cdf``), shape (d,);
    - the mixture-weight z-scores :math:`(\overline{r_k} - \pi_k)/\mathrm{SE}`, shape (K,): for
      :math:`z\sim p_t` the responsibilities average to the weights, :math:`E[r_k(z)] = \pi_k`
      exactly, so these look like standard normals (a Gaussian mixture only; None otherwise).

    Returns ``(ks_pvalues, weight_zscores)``."""
    import scipy.stats

    _check_pop(pop)
    _check_t(t, allow_zero=True)
    z = jnp.asarray(_b.data("z", z, ndim=2))
    if z.ndim != 2 or z.shape[1] != pop.dim or z.shape[0] < 2:
        raise ValueError(f"z must have shape (n, {pop.dim}) with n >= 2; got {z.shape}")

    def pvalue(a):
        cdf = jax.jit(jax.vmap(lambda x: pop.marginal_cdf(x, t, a)))
        return scipy.stats.kstest(np.asarray(z[:, a]), lambda x: np.asarray(cdf(x))).pvalue

    ps = np.array([pvalue(a) for a in range(pop.dim)])
    if not isinstance(pop, GaussianMixture):
        return ps, None
    r = jax.vmap(pop.responsibilities, (0, None))(z, t)
    se = r.std(0) / np.sqrt(z.shape[0])
    return ps, np.asarray((r.mean(0) - pop.weights) / se)
