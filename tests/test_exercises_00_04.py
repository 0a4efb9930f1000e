"""Every exercise check of notebooks 00-04: the worked answer passes, and typical mistakes fail
with a message that says what was expected."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse import heat
from diffcourse.exercises import ExerciseError, nb01


def fails(check, *args, match="expected"):
    """``check(*args)`` must raise ExerciseError whose message says what was expected."""
    with pytest.raises(ExerciseError, match=match):
        check(*args)


# --------------------------------------------------------------------------- notebook 01
def test_nb01_closed_form_checks(capsys):
    nb01.check_variance(2 * 2.0 * 0.3)
    nb01.check_ftcs_limit(0.01**2 / (2 * 0.5))
    nb01.check_spreading_time(0.01**2 / (2 * 5e-10))
    assert capsys.readouterr().out.count("Correct") == 3
    fails(nb01.check_variance, 2.0 * 0.3)  # D t: the variance is 2 D t
    fails(nb01.check_variance, 4 * 2.0 * 0.3)  # 2 x too big
    fails(nb01.check_ftcs_limit, 0.01**2 / 0.5)  # dx^2 / D: forgot the 2
    fails(nb01.check_ftcs_limit, 0.01 / (2 * 0.5))  # dx instead of dx^2
    fails(nb01.check_spreading_time, 0.01**2 / 5e-10)  # width^2 / D
    fails(nb01.check_spreading_time, 0.01**2 / (2 * 5e-10) / 86400)  # days, not seconds


def test_nb01_rod_decay_rate_from_the_solver():
    x = jnp.linspace(0.0, 2.0, 201)
    u1 = heat.solve_crank_nicolson(jnp.sin(jnp.pi * x / 2), 0.01, 0.01, 100, 0.3, "dirichlet")
    nb01.check_rod_decay_rate(-np.log(float(u1[100])))  # the worked answer
    fails(nb01.check_rod_decay_rate, 0.3 * np.pi**2 / 2.0)  # L instead of L^2
    fails(nb01.check_rod_decay_rate, -np.log(float(u1[100])) / 2)  # amplitude^2 confusion


def be_step(u, dx, dt, D):  # the worked answer of exercise 5
    n = u.shape[0]
    A = (
        np.diag(-2.0 * np.ones(n)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    ) / dx**2
    A[0, :] = A[-1, :] = 0.0
    return np.linalg.solve(np.eye(n) - D * dt * A, u)


def test_nb01_backward_euler_step(capsys):
    nb01.check_backward_euler_step(be_step)
    assert "Correct" in capsys.readouterr().out

    def explicit(u, dx, dt, D):  # forward Euler instead of backward
        return u + D * dt * (np.r_[0, u[:-2] - 2 * u[1:-1] + u[2:], 0]) / dx**2

    def sign_error(u, dx, dt, D):  # (I + D dt A) u_new = u
        return be_step(u, dx, -dt, D)

    def periodic(u, dx, dt, D):  # the ends are not held
        n = u.shape[0]
        A = np.roll(np.eye(n), 1, 0) + np.roll(np.eye(n), -1, 0) - 2 * np.eye(n)
        return np.linalg.solve(np.eye(n) - D * dt / dx**2 * A, u)

    for wrong in (explicit, sign_error, periodic):
        fails(nb01.check_backward_euler_step, wrong, match="expected .* within rtol")


def test_nb01_reference_step_is_the_package_solver():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, 17)
    ref = nb01._backward_euler_reference(u, 1 / 16, 0.01, 0.7)
    np.testing.assert_allclose(
        ref, heat.solve_backward_euler(u, 1 / 16, 0.01, 1, 0.7, "dirichlet"), rtol=1e-12
    )


# --------------------------------------------------------------------------- notebook 03
def test_nb03_closed_form_checks(capsys):
    from diffcourse import sde as S
    from diffcourse.exercises import nb03

    nb03.check_ou_stationary_variance(0.6**2 / (2 * 3.0))
    fails(nb03.check_ou_stationary_variance, 0.6**2 / 3.0)  # forgot the 2
    fails(nb03.check_ou_stationary_variance, 0.6 / (2 * 3.0))  # sigma, not sigma^2
    nb03.check_ddpm_theta(-0.5 * np.log(0.98))
    fails(nb03.check_ddpm_theta, 0.01)  # first-order answer beta/2, not exact
    fails(nb03.check_ddpm_theta, -np.log(0.98))  # forgot the 1/2
    nb03.check_heat_cfl(0.05**2)
    fails(nb03.check_heat_cfl, 0.05**2 / 2)  # the D = 1 limit h^2/(2D) with D = g^2
    fails(nb03.check_heat_cfl, 0.05)  # h, not h^2
    call = float(S.black_scholes_call(100.0, 105.0, 0.05, 0.2, 1.0))
    nb03.check_put_price(call - 100 + 105 * np.exp(-0.05))
    fails(nb03.check_put_price, call)  # the call price
    fails(nb03.check_put_price, call - 100 + 105)  # strike not discounted
    assert capsys.readouterr().out.count("Correct") == 4


def test_nb03_em_step(capsys):
    from diffcourse.exercises import nb03

    nb03.check_em_step(lambda x, dw, dt, theta, mu, sigma: x + theta * (mu - x) * dt + sigma * dw)
    assert "EM theory 0.5556" in capsys.readouterr().out
    sqrt_dt = lambda x, dw, dt, theta, mu, sigma: (
        x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * dw
    )
    sign = lambda x, dw, dt, theta, mu, sigma: x + theta * (x - mu) * dt + sigma * dw
    no_noise = lambda x, dw, dt, theta, mu, sigma: x + theta * (mu - x) * dt
    for wrong in (sqrt_dt, sign, no_noise):
        fails(nb03.check_em_step, wrong, match="expected .* within rtol")


# --------------------------------------------------------------------------- notebook 02
def test_nb02_checks(capsys):
    from scipy.special import erfcinv

    from diffcourse import random_walk as rw
    from diffcourse.exercises import nb02

    nb02.check_diffusion_constant((0.2e-9) ** 2 / (2 * 10e-12))
    fails(nb02.check_diffusion_constant, 0.2**2 / (2 * 10))  # nm^2/ps, not SI
    fails(nb02.check_diffusion_constant, (0.2e-9) ** 2 / 10e-12)  # forgot the 2
    paths = rw.lattice_walk(jax.random.key(2024), 4000, 400, 0.1, 0.01)
    nb02.check_tail_fraction(float(jnp.mean(jnp.abs(paths[:, -1]) > 2 * np.sqrt(4.0))))
    fails(nb02.check_tail_fraction, float(jnp.mean(jnp.abs(paths[:, -1]) > np.sqrt(4.0))))  # 1 sd
    fails(nb02.check_tail_fraction, 0.9598)  # the inside fraction
    nb02.check_median_passage(1.0 / (4 * 0.5 * erfcinv(0.5) ** 2))
    fails(nb02.check_median_passage, 1.0 / (2 * 0.5 * erfcinv(0.5) ** 2))  # 2D t, not 4D t
    fails(nb02.check_median_passage, 2.25)  # a Monte Carlo median, a few per cent off
    assert capsys.readouterr().out.count("Correct") == 3


def test_nb02_drift_and_D(capsys):
    from diffcourse.exercises import nb02

    def estimate(paths, ts):
        return paths[:, -1].mean() / ts[-1], paths[:, -1].var() / (2 * ts[-1])

    nb02.check_drift_and_D(estimate)
    assert capsys.readouterr().out.count("Correct") == 4
    msd = lambda paths, ts: (estimate(paths, ts)[0], np.mean(paths[:, -1] ** 2) / (2 * ts[-1]))
    no_T = lambda paths, ts: (paths[:, -1].mean(), estimate(paths, ts)[1])
    no_2 = lambda paths, ts: (estimate(paths, ts)[0], paths[:, -1].var() / ts[-1])
    for wrong in (msd, no_T, no_2):
        fails(nb02.check_drift_and_D, wrong)


# --------------------------------------------------------------------------- notebook 04
def test_nb04_checks(capsys):
    from scipy.special import softmax
    from scipy.stats import norm

    from diffcourse.exercises import nb04

    r = softmax(np.log(nb04.WEIGHTS) - (1.0 - nb04.POINTS) ** 2 / (2 * 0.5))
    nb04.check_posterior_mean(r @ nb04.POINTS)
    fails(nb04.check_posterior_mean, nb04.WEIGHTS @ nb04.POINTS)  # the prior mean
    fails(nb04.check_posterior_mean, softmax(-((1.0 - nb04.POINTS) ** 2)) @ nb04.POINTS)  # no w, t
    nb04.check_score((r @ nb04.POINTS - 1.0) / 0.5)
    fails(nb04.check_score, (1.0 - r @ nb04.POINTS) / 0.5)  # sign
    fails(nb04.check_score, r @ nb04.POINTS - 1.0)  # forgot / t
    nb04.check_gaussian_score(lambda z, t: -(z - 0.3) / (0.8 + t))
    fails(nb04.check_gaussian_score, lambda z, t: -(z - 0.3) / 0.8)  # the t = 0 score
    fails(nb04.check_gaussian_score, lambda z, t: -(z - 0.3) / (0.8 + t) ** 0.5)  # sd, not var
    s = np.sqrt(0.5)
    nb04.check_heat_convolution(0.5 * (norm.cdf(1 / s) - norm.cdf(-1 / s)))
    fails(nb04.check_heat_convolution, 0.5)  # pop(0), not diffused
    fails(nb04.check_heat_convolution, norm.cdf(1 / s) - norm.cdf(-1 / s))  # density 1, not 1/2

    def uniform_score(z, t):
        s = np.sqrt(t)
        a, b = (-1 - z) / s, (1 - z) / s
        return (s * (norm.pdf(a) - norm.pdf(b)) / (norm.cdf(b) - norm.cdf(a))) / t

    nb04.check_uniform_score(uniform_score)
    assert capsys.readouterr().out.count("Correct") == 5
    fails(nb04.check_uniform_score, lambda z, t: -z / (1 / 3 + t))  # Gaussian with the same var
    fails(nb04.check_uniform_score, lambda z, t: uniform_score(z, t) * t)  # E[y|z] - z, no / t
    fails(nb04.check_uniform_score, lambda z, t: uniform_score(z, 2 * t))  # D = 1 convention


# --------------------------------------------------------------------------- notebook 00
def test_nb00_checks(capsys):
    from diffcourse.exercises import nb00

    x0 = jnp.array(nb00.X0)
    nb00.check_derivative(jax.grad(jax.scipy.special.logsumexp)(x0))
    fails(nb00.check_derivative, jnp.exp(x0))  # not normalised
    fails(nb00.check_derivative, 14.0)  # a typed number of the wrong shape
    nb00.check_row_norms(jax.vmap(lambda r: jnp.sum(r**2)))
    fails(nb00.check_row_norms, jax.vmap(jnp.linalg.norm))  # the norm, not its square
    fails(nb00.check_row_norms, lambda xs: jnp.sum(xs**2, axis=0))  # columns, not rows
    nb00.check_second_moment(lambda key, n: jnp.mean(jax.random.normal(key, (n,)) ** 2))
    assert capsys.readouterr().out.count("Correct") == 4
    fails(nb00.check_second_moment, lambda key, n: 1.0, match="expected different estimates")
    fails(nb00.check_second_moment, lambda key, n: jnp.mean(jax.random.normal(key, (n,))))  # E eps
    fails(  # ignores n: 10 samples
        nb00.check_second_moment, lambda key, n: jnp.mean(jax.random.normal(key, (10,)) ** 2)
    )
