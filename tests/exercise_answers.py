"""The course's solution of every exercise, written as a student would (in ``jax.numpy`` where
the notebook computes in JAX, so that the same code runs in float32 and float64), and wrong
answers beyond the checks' own named mistakes. ``tests/test_exercises.py`` iterates over these
with the registry ``dc.exercises.registry()``; an exercise missing here fails the suite."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm as jnorm

from diffcourse import heat, losses


# ------------------------------------------------------------------------------------- 00
def grad_logsumexp(x):
    return jax.grad(jax.scipy.special.logsumexp)(jnp.asarray(x))


row_norms = jax.vmap(lambda r: jnp.sum(r**2))


def second_moment(key, n):
    return jnp.mean(jax.random.normal(key, (n,)) ** 2)


# ------------------------------------------------------------------------------------- 01
def _kernel(x, t, D):
    return jnp.exp(-(x**2) / (4 * D * t)) / jnp.sqrt(4 * jnp.pi * D * t)


def kernel_variance(t, D):
    x = jnp.linspace(-20.0, 20.0, 8001) * jnp.sqrt(2 * D * t)
    return jnp.sum(x**2 * _kernel(x, t, D)) * (x[1] - x[0])


def ftcs_limit(dx, D):
    return dx**2 / (2 * D)


def spreading_time(width, D):
    return width**2 / (2 * D)


def cn_decay_rate(D, L, n, dt, steps=10):
    x = jnp.linspace(0.0, L, n)
    u = heat.solve_crank_nicolson(jnp.sin(jnp.pi * x / L), x[1] - x[0], dt, steps, D, "dirichlet")
    mid = n // 2
    return -jnp.log(u[mid] / jnp.sin(jnp.pi * x[mid] / L)) / (steps * dt)


def be_step(u, dx, dt, D):
    n = u.shape[0]
    A = jnp.diag(-2.0 * jnp.ones(n)) + jnp.diag(jnp.ones(n - 1), 1) + jnp.diag(jnp.ones(n - 1), -1)
    A = A.at[0, :].set(0.0).at[-1, :].set(0.0) / dx**2
    return jnp.linalg.solve(jnp.eye(n) - D * dt * A, u)


# ------------------------------------------------------------------------------------- 02
def diffusion_constant(dx, dt):
    return dx**2 / (2 * dt)


def lattice_tail(n, c):
    from scipy import stats

    k = np.arange(n + 1)
    return stats.binom.pmf(k[np.abs(2 * k - n) > c * np.sqrt(n) + 1e-9], n, 0.5).sum()


def median_passage_time(a, D):
    from scipy.special import erfcinv

    return a**2 / (4 * D * erfcinv(0.5) ** 2)


def estimate(paths, ts):
    x_T, T = paths[:, -1], ts[-1]
    return jnp.mean(x_T) / T, jnp.var(x_T) / (2 * T)


# ------------------------------------------------------------------------------------- 03
def ou_stationary_variance(theta, sigma):
    return sigma**2 / (2 * theta)


def em_step(x, dw, dt, theta, mu, sigma):
    return x + theta * (mu - x) * dt + sigma * dw


def fp_stable_dt(h, g):
    return h**2 / g**2


def put_price(S0, K, r, sigma, T):
    from diffcourse.sde import black_scholes_call

    return black_scholes_call(S0, K, r, sigma, T) - S0 + K * jnp.exp(-r * T)


# ------------------------------------------------------------------------------------- 04
def posterior_mean(points, weights, z, t):
    logits = jnp.log(weights) - (z - points) ** 2 / (2 * t)
    return jax.nn.softmax(logits) @ points


def score(points, weights, z, t):
    return (posterior_mean(points, weights, z, t) - z) / t


def gaussian_score(z, t):
    return -(z - 0.3) / (0.8 + t)


def uniform_score(z, t):
    s = jnp.sqrt(t)
    a, b = (-1 - z) / s, (1 - z) / s
    mean = z + s * (jnorm.pdf(a) - jnorm.pdf(b)) / (jnorm.cdf(b) - jnorm.cdf(a))
    return (mean - z) / t


# ------------------------------------------------------------------------------------- 05
def c(lam):
    return (1 + lam**2) / 2


def reverse_step(score, z, t, dt, lam, eps):
    return z + c(lam) * score(z, t) * dt + lam * jnp.sqrt(dt) * eps


def heun_step(D, z, t, s):
    d = (z - D(z, t)) / jnp.sqrt(t)
    z_euler = z + (jnp.sqrt(s) - jnp.sqrt(t)) * d
    if s == 0:
        return z_euler
    return z + (jnp.sqrt(s) - jnp.sqrt(t)) * 0.5 * (d + (z_euler - D(z_euler, s)) / jnp.sqrt(s))


# ------------------------------------------------------------------------------------- 06
def ve_time(alphabar):
    return (1 - alphabar) / alphabar


def bits_per_dim(nll, d, bin_width):
    return (nll - d * jnp.log(bin_width)) / (d * jnp.log(2.0))


def mutual_information(mmse, t0, T, n=4001):
    u = jnp.linspace(jnp.log(t0), jnp.log(T), n)
    t = jnp.exp(u)
    return jnp.trapezoid(mmse(t) / (2 * t**2) * t, u)


# ------------------------------------------------------------------------------------- 07
def irreducible(pop, t_lo, t_hi):
    t_q, q_q = losses.LogUniform(t_lo, t_hi).quadrature(32)
    mmse = losses.mmse(jax.random.PRNGKey(0), pop, jnp.asarray(t_q))
    return jnp.sum(jnp.asarray(q_q) / jnp.asarray(t_q) * mmse)


def vlb_gaussian(s2, d, t0, t1):
    return d / 2 * jnp.log((1 + s2 / t0) / (1 + s2 / t1))


def edm_coefficients(t, sigma_data):
    s2 = sigma_data**2
    return 1 / jnp.sqrt(t + s2), s2 / (t + s2), jnp.sqrt(t * s2 / (t + s2))


# ------------------------------------------------------------------------------------- 08
def x0_from_eps(x_t, eps, alphabar):
    return (x_t - jnp.sqrt(1 - alphabar) * eps) / jnp.sqrt(alphabar)


def ddim_step(z, yhat, t, s):
    return yhat + jnp.sqrt(s / t) * (z - yhat)


def fd_1d(mu_a, s_a, mu_b, s_b):
    return (mu_a - mu_b) ** 2 + s_a**2 + s_b**2 - 2 * s_a * s_b


def ddim_eta_step(z, yhat, t, s, eta, xi):
    v = eta**2 * s * (t - s) / t
    return yhat + jnp.sqrt(s - v) * (z - yhat) / jnp.sqrt(t) + jnp.sqrt(v) * xi


# ------------------------------------------------------------------------------------- 09
def guided(yhat_c, yhat_u, w):
    return (1 + w) * yhat_c - w * yhat_u


def classifier_guided(yhat_u, grad_log_p_c, t, w):
    return yhat_u + (1 + w) * t * grad_log_p_c


def gaussian_conditional(mean, cov, y, mask):
    k, u = mask == 1, mask == 0
    A = np.linalg.solve(cov[np.ix_(k, k)], cov[np.ix_(k, u)]).T
    return mean[u] + A @ (y[k] - mean[k]), cov[np.ix_(u, u)] - A @ cov[np.ix_(k, u)]


def tilted_mean(key, mix, c, w, n):
    y = mix.class_population(c).sample(key, n)
    log_pc = jax.vmap(lambda y: mix.log_prob_class(y, 0.0, c))(y)
    weights = jax.nn.softmax(w * log_pc)
    return weights @ y


# ------------------------------------------------------------------------------------- 10
def velocity_to_score(v, x, tau):
    return -(1 - tau) * (x + (1 - tau) * v) / tau


def fm_weighting(t):
    return (1 + jnp.sqrt(t)) ** 2 / t


def fm_euler(v, x, taus):
    for tau, tau_next in zip(taus[:-1], taus[1:], strict=True):
        x = x + (tau_next - tau) * v(x, tau)
    return x


def lognormal_in_t(m, s):
    return 2 * m, 2 * s


# ------------------------------------------------------------------------------------- wrong
def _be_A_over_dx(u, dx, dt, D):  # the second difference divided by dx, not dx^2
    return be_step(u, dx, dt * dx, D)


SOLUTIONS = {
    ("00", 1): grad_logsumexp,
    ("00", 2): row_norms,
    ("00", 3): second_moment,
    ("01", 1): kernel_variance,
    ("01", 2): ftcs_limit,
    ("01", 3): spreading_time,
    ("01", 4): cn_decay_rate,
    ("01", 5): be_step,
    ("02", 1): diffusion_constant,
    ("02", 2): lattice_tail,
    ("02", 3): median_passage_time,
    ("02", 4): estimate,
    ("03", 1): ou_stationary_variance,
    ("03", 2): em_step,
    ("03", 3): fp_stable_dt,
    ("03", 4): put_price,
    ("04", 1): posterior_mean,
    ("04", 2): score,
    ("04", 3): gaussian_score,
    ("04", 4): uniform_score,
    ("05", 1): c,
    ("05", 2): reverse_step,
    ("05", 3): heun_step,
    ("06", 1): ve_time,
    ("06", 2): bits_per_dim,
    ("06", 3): mutual_information,
    ("07", 1): irreducible,
    ("07", 2): vlb_gaussian,
    ("07", 3): edm_coefficients,
    ("08", 1): x0_from_eps,
    ("08", 2): ddim_step,
    ("08", 3): fd_1d,
    ("08", 4): ddim_eta_step,
    ("09", 1): guided,
    ("09", 2): classifier_guided,
    ("09", 3): gaussian_conditional,
    ("09", 4): tilted_mean,
    ("10", 1): velocity_to_score,
    ("10", 2): fm_weighting,
    ("10", 3): fm_euler,
    ("10", 4): lognormal_in_t,
}

# Wrong answers beyond each check's named mistakes (name -> answer): each must fail.
EXTRA_WRONG = {
    ("01", 5): {"A / dx": _be_A_over_dx},
    ("04", 1): {"the prior mean": lambda points, weights, z, t: weights @ points},
    ("08", 3): {"no squares": lambda mu_a, s_a, mu_b, s_b: abs(mu_a - mu_b) + abs(s_a - s_b)},
}

# A call of the package's own implementation, as a student would write it, for every exercise
# whose registry entry names one: the grader must report it.
PACKAGE_SHORTCUTS = {
    ("00", 1): "grad_logsumexp = jax.nn.softmax",
    ("02", 1): "diffusion_constant = rw.diffusion_constant",
    ("02", 2): "lattice_tail = lambda n, c: 1 - rw.lattice_inside_probability(n, c)",
    ("03", 1): "ou_stationary_variance = lambda theta, sigma: S.OU(theta, 0.0, sigma).stationary()",
    (
        "03",
        3,
    ): "fp_stable_dt = lambda h, g: FP.stable_dt(S.BrownianMotion(), FP.grid(0, 1, 10), 0.0)",
    (
        "04",
        1,
    ): "posterior_mean = lambda p, w, z, t: dc.populations.Discrete(p, w).posterior_mean(z, t)",
    ("04", 2): "score = lambda p, w, z, t: pop.score(z, t)",
    ("04", 3): "gaussian_score = lambda z, t: pop.score(z, t)",
    ("05", 2): "from diffcourse.samplers import euler",
    ("05", 3): "heun_step = lambda D, z, t, s: dc.samplers.heun(D, z, t, s, 0.0, None)",
    ("06", 1): "ve_time = sch.ve_time",
    ("06", 2): "bits_per_dim = elbo.bits_per_dim",
    ("07", 1): "irreducible = lambda pop, lo, hi: losses.irreducible_loss(key, pop)",
    ("08", 1): "x0_from_eps = dc.schedules.x0_from_eps",
    (
        "08",
        2,
    ): "ddim_step = lambda z, yhat, t, s: dc.samplers.ddim(lambda z, t: yhat, z, t, s, 0.0, None)",
    ("08", 3): "fd_1d = lambda *a: dc.metrics.frechet_distance(*a)",
    ("08", 4): "from diffcourse import samplers\nddim_eta_step = samplers.ddim",
    ("09", 1): "from diffcourse.guidance import combine as guided",
    ("09", 3): "from diffcourse.guidance import gaussian_conditional",
    ("10", 1): "velocity_to_score = dc.flow.velocity_to_score",
    ("10", 2): "fm_weighting = dc.flow.fm_weighting",
    ("10", 3): "fm_euler = lambda v, x, taus: dc.flow.ode_tau(v, x, taus)",
}
