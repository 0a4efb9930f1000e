"""Formula mistakes that no other unit test catches, each caught here for a mathematical reason.

Each test checks the package's formula against a closed form, a convergence order or a
statistical test, and then shows that a local copy of the plausible mistake fails the same
criterion, so the test can tell the two apart. The mistakes, one a test:

1. heat: the exact amplification factor halved;
2. sde: Euler–Maruyama's drift evaluated at the right end of the step;
3. train: AdamW's weight decay coupled as an L2 term through Adam's normalisation;
4. train: gradient clipping after the optimiser instead of before it;
5. fokker_planck: the CDF's cell edges shifted by half a cell;
6. reverse: the variance recursion started at t_0 instead of s^2 + t_0;
7. samplers: Karras's rho applied to t = sigma^2 instead of to sigma;
8. guidance: the diversity averaged over self-pairs i = j too;
9. metrics: the pixel-Gaussian baseline made diagonal.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from diffcourse import fokker_planck, guidance, heat, metrics, reverse, samplers, train
from diffcourse import sde as S

# ------------------------------------------------------------------ 1. heat: the exact factor


def test_heat_exact_amplification_factor_is_one_step_of_the_semi_discrete_solution():
    """'exact' is e^{-4 r s^2}: on the grid mode sin(kappa x), one step dt of the semi-discrete
    solution e^{dt D A} u_0 (a matrix exponential, computed independently) multiplies the mode
    by it (1e-12). Two consequences checked as orders: FTCS's 1 - 4 r s^2 agrees with it to
    O(q^2), q = 4 r s^2 (consistency; fitted slope 2), and at fixed kappa, dt it tends to the
    continuum factor e^{-D kappa^2 dt} as dx -> 0 at second order (4 s^2/dx^2 = kappa^2 + O(dx^2)).
    A halved factor, e^{-2 r s^2} or e^{-4 r s^2}/2, fails all three: FTCS differs from it at
    first order (or zeroth), and it tends to e^{-D kappa^2 dt/2} (or half the continuum factor)."""
    D, k = 1.0, 4
    mistakes = {
        "exponent halved": lambda r, s: np.exp(-2 * r * s**2),
        "factor halved": lambda r, s: 0.5 * np.exp(-4 * r * s**2),
    }
    x = np.linspace(0.0, 1.0, 33)[:-1]  # the periodic ring of 32 points
    dx = x[1] - x[0]
    u0 = jnp.asarray(np.sin(2 * k * np.pi * x))
    s = np.sin(2 * k * np.pi * dx / 2)
    for r in (0.1, 0.4, 3.0):
        dt = r * dx**2 / D
        one_step = np.asarray(heat.semi_discrete_solution(u0, dx, dt, D, "periodic"))
        g = float(heat.amplification_factor("exact", r, s))
        np.testing.assert_allclose(one_step, g * np.asarray(u0), atol=1e-12)
        for wrong in mistakes.values():
            assert np.max(np.abs(one_step - wrong(r, s) * np.asarray(u0))) > 0.01
    # consistency: |g_FTCS - g_exact| = O(q^2)
    q = np.geomspace(1e-3, 1e-1, 5)  # q = 4 r s^2 with s = 1
    gap = lambda g: np.abs(np.asarray(heat.amplification_factor("ftcs", q / 4, 1.0)) - g)
    order = heat.fit_order(q, gap(np.asarray(heat.amplification_factor("exact", q / 4, 1.0))))
    wrong_orders = [heat.fit_order(q, gap(w(q / 4, 1.0))) for w in mistakes.values()]
    print(f"FTCS against exact: order {order:.3f}; against the halved ones {wrong_orders}")
    assert order == pytest.approx(2.0, abs=0.05)
    assert all(o < 1.05 for o in wrong_orders)
    # the continuum: kappa = 2 pi k, dt fixed, dx -> 0
    kappa, dt = 2 * np.pi * k, 1e-3
    dxs = 1.0 / np.array([32, 64, 128, 256])
    r, s = D * dt / dxs**2, np.sin(kappa * dxs / 2)
    continuum = np.exp(-D * kappa**2 * dt)
    err = np.abs(np.asarray(heat.amplification_factor("exact", r, s)) - continuum)
    assert heat.fit_order(dxs, err) == pytest.approx(2.0, abs=0.05) and err[-1] < 1e-3
    for wrong in mistakes.values():
        assert np.abs(wrong(r, s)[-1] - continuum) > 0.1  # does not converge to it


# --------------------------------------------------- 2. sde: Euler–Maruyama's left-end drift


class TimeDrift(eqx.Module):
    """dx = 3 t^2 dt, no noise: x(T) = x0 + T^3. Euler–Maruyama on the uniform grid t_n = n h is
    the left Riemann sum, x_N = x0 + 3 h^3 sum_{n<N} n^2 = x0 + h^3 (N - 1) N (2N - 1)/2; the
    drift at the right end would give x0 + h^3 N (N + 1)(2N + 1)/2."""

    def drift(self, x, t):
        return 3.0 * t**2 * jnp.ones_like(x)

    def diffusion(self, x, t):
        return jnp.zeros((), jnp.result_type(x))

    def exact(self, x0, t, w):
        return x0 + t**3

    def gaussian_marginal(self, m0, v0, t):
        return m0 + t**3, v0


def _left_sum(h, N):
    return h**3 * (N - 1) * N * (2 * N - 1) / 2


def _right_sum(h, N):  # the mistake: drift at t_{n+1}
    return h**3 * N * (N + 1) * (2 * N + 1) / 2


def test_euler_maruyama_takes_the_drift_at_the_left_end_of_each_step():
    """Itô's scheme evaluates f(x_n, t_n): with the time-dependent drift 3 t^2 and no noise every
    EM entry point (one path with given increments or a key, many paths, and the EM inside
    strong_errors and weak_errors) returns the left Riemann sum's closed form (1e-12); the
    right-end sum is 3 T^2 h away at leading order (and |error| of the two differs by T h^2).
    With OU's state-dependent drift, one step from x0 is exactly
    x0 + theta (mu - x0) dt + sigma dW, not the implicit (x0 + theta mu dt + sigma dW)/(1 + theta dt)."""
    proc, x0, T, N = TimeDrift(), 0.5, 1.0, 8
    ts = jnp.linspace(0.0, T, N + 1)
    h = T / N
    left, right = x0 + _left_sum(h, N), x0 + _right_sum(h, N)
    assert abs(right - left) > 0.3  # the mistake is far outside the tolerance below
    got = [
        S.euler_maruyama_increments(proc, jnp.full(1, x0), ts, jnp.zeros((N, 1)))[-1, 0],
        S.euler_maruyama(jax.random.key(0), proc, jnp.full(1, x0), ts, return_path=False)[0],
        S.euler_maruyama_many(jax.random.key(0), proc, jnp.full((3, 1), x0), ts)[:, 0],
    ]
    for x in got:
        np.testing.assert_allclose(np.asarray(x), left, rtol=1e-12)
    # strong_errors: |x_EM - (x0 + T^3)| at h = T R / n_fine
    factors = (2, 4, 8)
    dts, errs = S.strong_errors(jax.random.key(1), proc, x0, T, 32, factors, 3)
    exact_err = [abs(_left_sum(T * R / 32, 32 // R) - T**3) for R in factors]
    wrong_err = [abs(_right_sum(T * R / 32, 32 // R) - T**3) for R in factors]
    np.testing.assert_allclose(errs, exact_err, rtol=1e-12)
    assert np.min(np.abs(np.array(wrong_err) / exact_err - 1)) > 0.01
    # weak_errors: |E[x_EM] - E[x]| (no noise: the standard error is 0)
    steps = (4, 8, 16)
    dts, errs, ses = S.weak_errors(jax.random.key(2), proc, x0, T, steps, 3)
    exact_err = [abs(_left_sum(T / n, n) - T**3) for n in steps]
    wrong_err = [abs(_right_sum(T / n, n) - T**3) for n in steps]
    np.testing.assert_allclose(errs, exact_err, rtol=1e-12)
    assert np.all(ses < 1e-12) and np.min(np.abs(np.array(wrong_err) / exact_err - 1)) > 0.01
    # OU: the state at the left end too (one step, given dW)
    ou, dt, dw = S.OrnsteinUhlenbeck(theta=2.0, mu=1.0, sigma=0.7), 0.2, 0.3
    one = S.euler_maruyama_increments(
        ou, jnp.array([3.0]), jnp.array([0.0, dt]), jnp.full((1, 1), dw)
    )
    explicit = 3.0 + 2.0 * (1.0 - 3.0) * dt + 0.7 * dw
    implicit = (3.0 + 2.0 * 1.0 * dt + 0.7 * dw) / (1 + 2.0 * dt)
    np.testing.assert_allclose(float(one[-1, 0]), explicit, rtol=1e-14)
    assert abs(implicit - explicit) > 0.1


# -------------------------------------------------------------- 3. and 4. train: the optimiser


def _adam_by_hand(grads, lr, wd, p, b1=0.9, b2=0.999, eps=1e-8):
    """AdamW (Loshchilov & Hutter 2019, Alg. 2; optax's constants) on a list of gradient arrays:
    m, v with bias correction, update -lr (m_hat/(sqrt(v_hat) + eps) + wd p). Returns the
    updates and the parameters after each step."""
    m = v = 0.0
    updates = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        u = -lr * ((m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps) + wd * p)
        p = p + u
        updates.append(u)
    return updates, p


def _run(opt, grads, p):
    """The optax transformation ``opt`` on the gradients ``grads`` (arrays like ``p``)."""
    params = {"w": jnp.asarray(p)}
    state = opt.init(params)
    updates = []
    for g in grads:
        u, state = opt.update({"w": jnp.asarray(g)}, state, params)
        params = optax.apply_updates(params, u)
        updates.append(np.asarray(u["w"]))
    return updates, np.asarray(params["w"])


def test_adamw_weight_decay_is_decoupled_from_the_adam_normalisation():
    """Decoupled weight decay (Loshchilov & Hutter 2019, eq. 9 / Alg. 2, line 12): with a zero
    gradient Adam's moments stay 0 and each step multiplies the weights by exactly
    1 - lr wd, so after 5 steps p (1 - lr wd)^5 (1e-12). Coupled as L2 (wd p added to the
    gradient before Adam) the decay is normalised by sqrt(v_hat): the first step moves every
    weight by about -lr sign(p), whatever its size, and fails the same closed form."""
    lr, wd = 0.1, 0.01
    cfg = train.TrainConfig(steps=5, lr=lr, warmup=0, weight_decay=wd)
    p0 = np.array([2.0, -0.5, 1e-3])
    zeros = [np.zeros(3)] * 5
    _, p = _run(train.optimizer(cfg), zeros, p0)
    np.testing.assert_allclose(p, p0 * (1 - lr * wd) ** 5, rtol=1e-12)
    coupled = optax.chain(
        optax.clip_by_global_norm(cfg.clip_norm), optax.add_decayed_weights(wd), optax.adam(lr)
    )
    (first, *_), p_coupled = _run(coupled, zeros, p0)
    np.testing.assert_allclose(first, -lr * np.sign(p0), rtol=1e-2)  # not -lr wd p0
    assert np.max(np.abs(p_coupled / (p0 * (1 - lr * wd) ** 5) - 1)) > 0.1


def test_gradient_clipping_comes_before_adam():
    """Clip then Adam (train.optimizer): the moments see the clipped gradient. Adam is scale
    invariant on one gradient, so the first update is -lr sign(g) either way; the second is not.
    A huge g_1 = 100 (60, 80) clipped to (0.6, 0.8), then g_2 = -0.95 (0.6, 0.8) (norm 0.95,
    not clipped): m_2 = 0.9 * 0.1 * g_1c + 0.1 g_2 = -0.005 (0.6, 0.8), so the second update is
    positive and equals Adam by hand on the clipped gradients (1e-10). Clipping the update after
    Adam (which never triggers: |update| ~ lr) lets the raw g_1 dominate m_2: the second update
    is negative."""
    lr = 0.1
    cfg = train.TrainConfig(steps=2, lr=lr, warmup=0, clip_norm=1.0)
    unit = np.array([0.6, 0.8])
    grads = [100.0 * unit, -0.95 * unit]
    clipped = [unit, -0.95 * unit]
    updates, _ = _run(train.optimizer(cfg), grads, np.zeros(2))
    by_hand, _ = _adam_by_hand(clipped, lr, 0.0, np.zeros(2))
    np.testing.assert_allclose(updates, by_hand, rtol=1e-10)
    assert np.all(updates[1] > 0)
    after = optax.chain(optax.adamw(lr, weight_decay=0.0), optax.clip_by_global_norm(1.0))
    wrong, _ = _run(after, grads, np.zeros(2))
    np.testing.assert_allclose(wrong[0], updates[0], rtol=1e-6)  # step 1 cannot tell them apart
    assert np.all(wrong[1] < 0)  # step 2 can


# ------------------------------------------------------------- 5. fokker_planck: the CDF edges


def test_fokker_planck_cdf_is_second_order_at_the_cell_edges():
    """fokker_planck.cdf integrates the cell values of N(0, 1) between the edges x_i -/+ h/2:
    the midpoint rule, so the CDF at any point (linear between edges) is within O(h^2) of
    Phi(z). Fitted order over n = 40..320 cells on [-8, 8]: 2 (accepted [1.9, 2.1]). Edges
    shifted by half a cell put every CDF value h/2 off: error phi(z) h/2, order 1."""
    z = np.linspace(-2.5, 2.5, 41)
    hs, errs, wrong_errs = [], [], []
    for n in (40, 80, 160, 320):
        x = fokker_planck.grid(-8.0, 8.0, n)
        h = float(x[1] - x[0])
        p = stats.norm.pdf(np.asarray(x))
        F = np.asarray(fokker_planck.cdf(jnp.asarray(p), x, jnp.asarray(z)))
        edges = np.concatenate([[x[0] - h / 2], np.asarray(x) + h / 2])
        c = np.concatenate([[0.0], np.cumsum(p) * h])
        shifted = np.interp(z, edges + h / 2, c / c[-1])  # the mistake
        hs.append(h)
        errs.append(np.max(np.abs(F - stats.norm.cdf(z))))
        wrong_errs.append(np.max(np.abs(shifted - stats.norm.cdf(z))))
    order, wrong_order = heat.fit_order(hs, errs), heat.fit_order(hs, wrong_errs)
    print(
        f"CDF errors {np.array(errs)}, order {order:.3f}; half-cell shift: order {wrong_order:.3f}"
    )
    assert 1.9 <= order <= 2.1 and errs[-1] < 1e-4
    assert not 1.9 <= wrong_order <= 2.1 and wrong_errs[-1] > 100 * errs[-1]


# ------------------------------------------------------------- 6. reverse: the variance's start


def test_reverse_gaussian_variance_starts_at_s2_plus_t0():
    """pop = N(mu, s^2) diffused to t_0 has variance s^2 + t_0, where the chain starts. One step
    t_0 -> t_1 = t_0 - h: V = (1 - c h/(s^2 + t_0))^2 (s^2 + t_0) + lam^2 h (closed form, 1e-14).
    The reverse family is exact in continuous time, so on finer grids from t_0 = 1 to 0 the
    final variance tends to s^2 at first order (Euler), for every lam (fitted orders in
    [0.9, 1.1]). Started at t_0 instead, the chain forgets the missing s^2 only by the factor
    (s^2/(s^2 + t_0))^{2c}: at s^2 = t_0 = 1 its error stays 1/2 (lam = 0) or 1/4 (lam = 1)."""
    s2, t0, t1 = 1.0, 1.0, 0.6
    for lam in (0.0, 0.5, 1.0, 2.0):
        c = float(reverse.drift_coefficient(lam))
        one = (1 - c * (t0 - t1) / (s2 + t0)) ** 2 * (s2 + t0) + lam**2 * (t0 - t1)
        assert reverse.gaussian_variance(c, lam, s2, np.array([t0, t1])) == pytest.approx(
            one, rel=1e-14
        )
    for lam in (0.0, 1.0):
        c = float(reverse.drift_coefficient(lam))
        hs, errs, wrong = [], [], []
        for n in (50, 100, 200, 400):
            ts = np.linspace(t0, 0.0, n + 1)
            hs.append(t0 / n)
            errs.append(abs(reverse.gaussian_variance(c, lam, s2, ts) - s2))
            v = t0  # the mistake: started without s^2
            for t, s in zip(ts[:-1], ts[1:], strict=True):
                v = (1 - c * (t - s) / (s2 + t)) ** 2 * v + lam**2 * (t - s)
            wrong.append(abs(v - s2))
        order = heat.fit_order(hs, errs)
        print(f"lam {lam}: |V - s^2| {np.array(errs)}, order {order:.3f}; started at t0: {wrong}")
        assert 0.9 <= order <= 1.1 and errs[-1] < 0.01
        assert min(wrong) > 0.2 and heat.fit_order(hs, wrong) < 0.1


# ------------------------------------------------------------------ 7. samplers: Karras's rho


def test_karras_grid_is_equally_spaced_in_sigma_to_the_one_over_rho():
    """Karras et al. 2022, eq. 5: sigma_i = (sigma_max^{1/rho} + i/(N-1) (sigma_min^{1/rho} -
    sigma_max^{1/rho}))^rho, t_i = sigma_i^2, then t_N = 0: computed here in sigma and compared
    to the grid (1e-12), and sqrt(t_i)^{1/rho} has equal steps. rho applied to t instead
    (t^{1/rho} equally spaced) keeps both ends, so an endpoint test cannot tell, but its interior
    is off by a factor of up to 39 in t at N = 18 (sigma_1 = 65.4 against 57.6) and
    sigma^{1/rho} is not equally spaced."""
    sigma_min, sigma_max, rho, N = 0.002, 80.0, 7.0, 18
    ts = samplers.karras_grid(N, t_min=sigma_min**2, t_max=sigma_max**2, rho=rho)
    i = np.arange(N)
    sigma = (
        sigma_max ** (1 / rho) + i / (N - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    ) ** rho
    np.testing.assert_allclose(ts, np.append(sigma**2, 0.0), rtol=1e-12)
    steps = np.diff(np.sqrt(ts[:-1]) ** (1 / rho))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-10)
    a, b = (sigma_max**2) ** (1 / rho), (sigma_min**2) ** (1 / rho)
    wrong = (a + i / (N - 1) * (b - a)) ** rho  # the mistake: rho in t
    np.testing.assert_allclose(wrong[[0, -1]], ts[[0, -2]], rtol=1e-12)
    assert np.max(np.abs(wrong / sigma**2 - 1)) > 1
    wrong_steps = np.diff(np.sqrt(wrong) ** (1 / rho))
    assert np.max(np.abs(wrong_steps / wrong_steps[0] - 1)) > 1


# ------------------------------------------------------------ 8. guidance: diversity, i != j


def test_guidance_diversity_averages_over_distinct_pairs():
    """Diversity = the mean over labels of the mean distance over pairs i != j of that label. By
    hand: label 0 has two images 5 apart (a 3-4-5 triangle in two pixels): 5; label 1 has three
    images with distances 3, 4, 5: 4; diversity (5 + 4)/2 = 4.5. Counting the n self-pairs
    (distance 0) divides by n^2: (10/4 + 24/9)/2 = 2.58. For i.i.d. images the i != j mean is
    unbiased for E|y - y'| (a U-statistic); with self-pairs it is low by (n - 1)/n."""
    img = np.zeros((5, 8, 8))
    img[1, 0, 0], img[1, 0, 1] = 3.0, 4.0  # label 0: |img0 - img1| = 5
    img[3, 2, 2] = 3.0  # label 1: img2 = 0, img3, img4: distances 3, 4, 5
    img[4, 3, 3] = 4.0
    labels = np.array([0, 0, 1, 1, 1])
    _, diversity = guidance.agreement_and_diversity(img, labels)
    assert diversity == pytest.approx(4.5, rel=1e-12)

    def with_self_pairs(x, labels):  # the mistake
        x = x.reshape(len(x), -1)
        div = []
        for c in np.unique(labels):
            a = x[labels == c]
            div.append(np.linalg.norm(a[:, None] - a[None], axis=-1).mean())
        return np.mean(div)

    assert with_self_pairs(img, labels) == pytest.approx((10 / 4 + 24 / 9) / 2, rel=1e-12)
    assert abs(with_self_pairs(img, labels) - 4.5) > 1.0


# ---------------------------------------------------- 9. metrics: the full-covariance Gaussian


def test_pixel_gaussian_baseline_reproduces_the_full_covariance():
    """gaussian_baseline draws N(ybar, Sigma_hat) with the data's full covariance: on 3 x 3
    "images" with pixel correlations 0.9^|i-j|, the sample covariance of 20000 draws matches
    Sigma_hat entry by entry within 5 standard errors, sqrt((S_ii S_jj + S_ij^2)/n) (Wishart).
    A diagonal Gaussian leaves the off-diagonal entries at 0, some 90 standard errors off."""
    rng = np.random.default_rng(0)
    d, n = 9, 20000
    idx = np.arange(d)
    cov = 0.9 ** np.abs(idx[:, None] - idx[None])
    train_imgs = rng.multivariate_normal(np.linspace(-0.5, 0.5, d), cov, size=400)
    fitted = np.cov(train_imgs, rowvar=False)
    se = np.sqrt((np.outer(np.diag(fitted), np.diag(fitted)) + fitted**2) / n)

    def z_scores(draws):
        return np.abs(np.cov(draws.reshape(n, d), rowvar=False) - fitted) / se

    draws = metrics.gaussian_baseline(train_imgs.reshape(-1, 3, 3), n, seed=1)
    assert draws.shape == (n, 3, 3)
    z = z_scores(np.asarray(draws, np.float64))
    print(f"full covariance: max z {z.max():.2f}")
    assert z.max() < 5
    mean = train_imgs.astype(np.float32).astype(np.float64).mean(0)
    diagonal = mean + np.sqrt(np.diag(fitted)) * rng.standard_normal((n, d))  # the mistake
    assert z_scores(diagonal).max() > 50
