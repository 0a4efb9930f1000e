"""The heat equation: the kernel solves it, the solvers converge to it at their orders."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse import heat

L = 8.0  # the grid is [-L, L]
S2 = 0.25  # variance of the initial Gaussian bump
D = 1.0


# the kernel at many 1-D points (validation is skipped under jit: tests below pass good input)
kernel_at = jax.jit(jax.vmap(heat.kernel, (0, None, None)))


def bump(x):
    """Initial condition: the N(0, S2) density, i.e. the kernel at time S2 / (2 D)."""
    return kernel_at(x, S2 / (2 * D), D)


@jax.jit
@jax.vmap
def residual(x, t, D):
    """u_t - D Laplacian u of the kernel, by autodiff."""
    u_t = jax.grad(heat.kernel, argnums=1)(x, t, D)
    lap = jnp.trace(jax.hessian(heat.kernel)(x, t, D))
    return u_t - D * lap


# --------------------------------------------------------------------------- the kernel
@pytest.mark.parametrize("n", [1, 3])
def test_kernel_solves_heat_equation(n):
    kx, kt, kd = jax.random.split(jax.random.key(0), 3)
    xs = 2.0 * jax.random.normal(kx, (20, n))
    ts = jax.random.uniform(kt, (20,), minval=0.1, maxval=3.0)
    Ds = jax.random.uniform(kd, (20,), minval=0.2, maxval=2.0)
    res = residual(xs, ts, Ds)
    scale = jax.vmap(heat.kernel)(xs, ts, Ds) / ts  # size of u_t itself
    assert np.max(np.abs(res)) < 1e-10
    assert np.max(np.abs(scale)) > 1e-4  # the points are not all in the tails


def test_kernel_scalar_equals_1d_vector():
    assert heat.kernel(0.7, 0.3, 1.5) == pytest.approx(
        float(heat.kernel(jnp.array([0.7]), 0.3, 1.5))
    )


@pytest.mark.parametrize("t, D_", [(0.05, 1.0), (1.0, 0.5), (2.0, 3.0)])
def test_kernel_mass_one_and_variance_2Dt_in_1d(t, D_):
    x = jnp.linspace(-60, 60, 24001)
    u = kernel_at(x, t, D_)
    dx = x[1] - x[0]
    assert float(jnp.sum(u) * dx) == pytest.approx(1.0, abs=1e-10)
    assert float(jnp.sum(x**2 * u) * dx) == pytest.approx(2 * D_ * t, rel=1e-9)


def test_kernel_mass_and_covariance_in_2d():
    t, D_ = 0.7, 0.8
    g = jnp.linspace(-10, 10, 401)
    X, Y = jnp.meshgrid(g, g, indexing="ij")
    pts = jnp.stack([X.ravel(), Y.ravel()], axis=1)
    u = jax.vmap(lambda p: heat.kernel(p, t, D_))(pts)
    w = (g[1] - g[0]) ** 2
    assert float(jnp.sum(u) * w) == pytest.approx(1.0, abs=1e-10)
    cov = (pts * u[:, None]).T @ pts * w
    np.testing.assert_allclose(cov, 2 * D_ * t * np.eye(2), atol=1e-10)


def test_kernel_flux_is_fick_first_law():
    x, t = jnp.linspace(-3, 3, 13), 0.4
    J = jax.vmap(heat.kernel_flux, (0, None, None))(x, t, D)
    dudx = jax.jit(jax.vmap(jax.grad(heat.kernel), (0, None, None)))(x, t, D)
    np.testing.assert_allclose(J, -D * dudx, rtol=1e-13, atol=1e-15)


def exact(x, t):
    """The convolution solution from the bump, in closed form: the N(0, S2 + 2 D t) density
    (test_convolution_matches_closed_form checks heat.convolve against it to 1e-12)."""
    v = S2 + 2 * D * t
    return np.exp(-(np.asarray(x) ** 2) / (2 * v)) / np.sqrt(2 * np.pi * v)


def test_grid_flux_is_second_order():
    errs = []
    hs = []
    for n in (41, 81, 161, 321):
        x = np.linspace(-L, L, n)
        J = heat.flux(exact(x, 0.0), x[1] - x[0], D)
        fick = -D * (-x / S2) * exact(x, 0.0)  # -D du/dx of the bump
        errs.append(float(np.max(np.abs(J - fick))))
        hs.append(x[1] - x[0])
    assert np.polyfit(np.log(hs), np.log(errs), 1)[0] == pytest.approx(2.0, abs=0.15)


def test_convolution_matches_closed_form():
    # N(0, S2) convolved with the kernel at time t is N(0, S2 + 2 D t).
    x, t = jnp.linspace(-L, L, 161), 0.5
    u = heat.convolve(bump(x), x, t, D)
    exact = kernel_at(x, S2 / (2 * D) + t, D)
    assert float(jnp.max(jnp.abs(u - exact))) < 1e-12


# --------------------------------------------------------------------------- convergence
def errors(solver, ns, dt_of_dx, t=0.5):
    """Max error against the convolution solution (closed form) on grids of n points over [-L, L]."""
    hs, errs = [], []
    for n in ns:
        x = jnp.linspace(-L, L, n)
        dx = float(x[1] - x[0])
        dt = dt_of_dx(dx)
        steps = int(round(t / dt))
        u = solver(exact(x, 0.0), dx, dt, steps, D, "dirichlet")
        ref = exact(x, steps * dt)
        hs.append((dx, dt))
        errs.append(float(jnp.max(jnp.abs(u - ref))))
    return np.array(hs), np.array(errs)


def test_ftcs_first_order_in_time():
    # dt = 0.4 dx^2 / D, so the error O(dt) + O(dx^2) is O(dt): slope 1 against dt.
    hs, errs = errors(heat.solve_ftcs, (41, 81, 161, 321), lambda dx: 0.4 * dx**2 / D)
    order = np.polyfit(np.log(hs[:, 1]), np.log(errs), 1)[0]
    assert order == pytest.approx(1.0, abs=0.1)  # measured 0.999
    assert errs[-1] < 2e-4


def test_crank_nicolson_second_order_in_space():
    # dt = dx / 4: the error O(dt^2) + O(dx^2) is O(dx^2): slope 2 against dx.
    hs, errs = errors(heat.solve_crank_nicolson, (41, 81, 161, 321), lambda dx: dx / 4)
    order = np.polyfit(np.log(hs[:, 0]), np.log(errs), 1)[0]
    assert order == pytest.approx(2.0, abs=0.15)  # measured 2.03
    assert errs[-1] < 1e-4


@pytest.mark.parametrize("boundary", ["periodic", "dirichlet"])
def test_fourier_mode_decays_by_the_amplification_factor(boundary):
    # u0 = sin(k pi x / len) on the grid is an eigenvector of the discrete Laplacian;
    # one step multiplies it by g = 1 - 4 r s^2 (FTCS) or (1 - 2 r s^2)/(1 + 2 r s^2) (CN).
    n, k, steps = 33, 4, 25
    x = jnp.linspace(0.0, 1.0, n)
    dx = float(x[1] - x[0])
    u0 = jnp.sin(k * jnp.pi * x)  # zero at both ends; also periodic on the ring of n - 1 points
    if boundary == "periodic":
        x, u0, n = x[:-1], u0[:-1], n - 1
    dt = 0.3 * dx**2 / D
    r, s2 = D * dt / dx**2, np.sin(k * np.pi * dx / 2) ** 2
    ftcs = heat.solve_ftcs(u0, dx, dt, steps, D, boundary)
    cn = heat.solve_crank_nicolson(u0, dx, dt, steps, D, boundary)
    np.testing.assert_allclose(ftcs, (1 - 4 * r * s2) ** steps * u0, atol=1e-13)
    np.testing.assert_allclose(cn, ((1 - 2 * r * s2) / (1 + 2 * r * s2)) ** steps * u0, atol=1e-13)


# --------------------------------------------------------------------------- stability, mass
def test_ftcs_blows_up_above_limit_and_is_bounded_below():
    u0 = jax.random.uniform(jax.random.key(1), (64,), minval=-1.0, maxval=1.0)
    dx = 1.0 / 63
    for r, bounded in [(0.45, True), (0.5, True), (0.55, False)]:
        u = heat.solve_ftcs(u0, dx, r * dx**2 / D, 2000, D, "periodic", check_stability=False)
        big = float(jnp.max(jnp.abs(u)))
        if bounded:  # maximum principle
            assert big <= float(jnp.max(jnp.abs(u0)))
        else:
            assert not big < 1e6


def test_crank_nicolson_bounded_far_above_ftcs_limit():
    u0 = jax.random.uniform(jax.random.key(1), (64,), minval=-1.0, maxval=1.0)
    dx = 1.0 / 63
    u = heat.solve_crank_nicolson(u0, dx, 50 * dx**2 / D, 2000, D, "periodic")
    assert float(jnp.max(jnp.abs(u))) <= float(jnp.max(jnp.abs(u0)))


@pytest.mark.parametrize("boundary", ["neumann", "periodic"])
@pytest.mark.parametrize("solver", ["ftcs", "cn"])
def test_mass_conserved(boundary, solver):
    x = jnp.linspace(0.0, 1.0, 41)
    dx = float(x[1] - x[0])
    u0 = jnp.where(x < 0.3, 1.0, 0.0) + x**2  # rough, not symmetric, nonzero at the ends
    solve = heat.solve_ftcs if solver == "ftcs" else heat.solve_crank_nicolson
    u = solve(u0, dx, 0.4 * dx**2, 3000, D, boundary)
    m0 = float(heat.mass(u0, dx, boundary))
    assert float(heat.mass(u, dx, boundary)) == pytest.approx(m0, rel=1e-12)
    if boundary == "neumann":  # relaxed to the constant with the same mass
        np.testing.assert_allclose(u, m0, rtol=1e-3)


def test_dirichlet_rod_relaxes_to_linear_profile():
    x = jnp.linspace(0.0, 1.0, 21)
    u0 = jnp.zeros(21).at[0].set(1.0).at[-1].set(3.0)
    u = heat.solve_crank_nicolson(u0, x[1] - x[0], 0.01, 500, D, "dirichlet")
    np.testing.assert_allclose(u, 1.0 + 2.0 * x, atol=1e-10)


# --------------------------------------------------------------------------- the plume
def puff(g, s2):
    X, Y = jnp.meshgrid(g, g, indexing="ij")
    return jnp.exp(-(X**2 + Y**2) / (2 * s2)) / (2 * np.pi * s2), X, Y


@pytest.mark.parametrize("wind", [(0.0, 0.0), (1.0, -0.5)])
def test_plume_moves_with_wind_and_spreads_2Dt(wind):
    g = jnp.linspace(-4.0, 4.0, 81)
    dx = float(g[1] - g[0])
    c0, X, Y = puff(g, 0.1)
    dt, steps, D_ = 0.002, 250, 0.2
    c = heat.solve_plume(c0, dx, dt, steps, D_, wind=wind)
    t, w = dt * steps, dx**2
    m = float(jnp.sum(c) * w)
    mx, my = float(jnp.sum(X * c) * w / m), float(jnp.sum(Y * c) * w / m)
    assert m == pytest.approx(1.0, abs=1e-6)
    assert (mx, my) == pytest.approx((wind[0] * t, wind[1] * t), abs=1e-6)
    var_x = float(jnp.sum((X - mx) ** 2 * c) * w / m)
    # upwind adds the numerical diffusion |v| dx (1 - |v| dt / dx) / 2
    D_num = abs(wind[0]) * dx * (1 - abs(wind[0]) * dt / dx) / 2
    assert var_x == pytest.approx(0.1 + 2 * (D_ + D_num) * t, rel=2e-3)


def test_plume_source_adds_mass_at_its_rate():
    g = jnp.linspace(-2.0, 2.0, 41)
    dx = float(g[1] - g[0])
    source = jnp.zeros((41, 41)).at[20, 20].set(1.0 / dx**2)  # unit emission rate
    c = heat.solve_plume(jnp.zeros((41, 41)), dx, 0.001, 100, 0.05, wind=(0.3, 0.0), source=source)
    assert float(jnp.sum(c) * dx**2) == pytest.approx(0.1, rel=1e-6)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: heat.kernel(0.1, 1.0, 0.0), "D must be positive"),
        (lambda: heat.kernel(0.1, 1.0, -1.0), "D must be positive"),
        (lambda: heat.kernel(0.1, 0.0, 1.0), "t must be positive"),
        (lambda: heat.kernel(jnp.ones((3, 2)), 1.0, 1.0), "x must be one point"),
        (lambda: heat.solve_ftcs(jnp.ones(2), 0.1, 0.001, 5, 1.0, "neumann"), "u0 must be"),
        (lambda: heat.solve_ftcs(jnp.ones((4, 4)), 0.1, 0.001, 5, 1.0, "neumann"), "u0 must"),
        (
            lambda: heat.solve_ftcs(jnp.ones(9), 0.1, 0.0051, 5, 1.0, "neumann"),
            "dt must be at most",
        ),
        (lambda: heat.solve_ftcs(jnp.ones(9), 0.1, 0.001, 5, -1.0, "neumann"), "D must be"),
        (lambda: heat.solve_ftcs(jnp.ones(9), 0.1, 0.001, 0, 1.0, "neumann"), "steps must be"),
        (lambda: heat.solve_crank_nicolson(jnp.ones(9), 0.1, 0.1, 5, 1.0, "free"), "boundary"),
        (lambda: heat.solve_crank_nicolson(jnp.ones(9), 0.0, 0.1, 5, 1.0, "periodic"), "dx must"),
        (lambda: heat.convolve(jnp.ones(5), jnp.linspace(0, 1, 6), 1.0, 1.0), "u0 must have shape"),
        (lambda: heat.convolve(jnp.ones(5), jnp.linspace(0, 1, 5), -1.0, 1.0), "t must be"),
        (lambda: heat.solve_plume(jnp.ones((9, 9)), 0.1, 0.01, 5, 1.0), "dt must be at most"),
        (lambda: heat.solve_plume(jnp.ones((9, 9)), 0.1, 1e-3, 5, 1.0, wind=(1.0,)), "wind must"),
        (
            lambda: heat.solve_plume(jnp.ones((9, 9)), 0.1, 1e-3, 5, 1.0, source=jnp.ones((9, 8))),
            "source must have shape",
        ),
        (lambda: heat.solve_plume(jnp.ones(9), 0.1, 1e-3, 5, 1.0), "c0 must be"),
    ],
)
def test_bad_input_is_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_stability_check_can_be_switched_off():
    u = heat.solve_ftcs(jnp.ones(9), 0.1, 0.0051, 5, 1.0, "neumann", check_stability=False)
    np.testing.assert_allclose(u, 1.0)
