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


def fixed_grid():
    x = jnp.linspace(-L, L, 161)
    return x, float(x[1] - x[0]), heat.kernel_gaussian(x, S2)


@pytest.mark.parametrize(
    "solver, steps, order",
    [
        (heat.solve_ftcs, (200, 400, 800, 1600), 1.0),  # measured 1.000
        (heat.solve_backward_euler, (5, 10, 20, 40), 1.0),  # measured 1.001
        (heat.solve_crank_nicolson, (5, 10, 20, 40), 2.0),  # measured 2.000
    ],
)
def test_time_order_on_a_fixed_grid(solver, steps, order):
    # The time error alone: against exp(t D A) u0 on one grid, dx fixed, only dt refined.
    x, dx, u0 = fixed_grid()
    dts, errs = heat.time_errors(solver, u0, dx, 0.5, D, "dirichlet", steps)
    measured = heat.fit_order(dts, errs)
    assert measured == pytest.approx(order, abs=0.05)
    wrong = 3.0 - order  # the other order (1 <-> 2) is rejected by the same tolerance
    assert measured != pytest.approx(wrong, abs=0.05)


def test_fixed_r_slope_is_not_the_time_order():
    # At fixed r = D dt/dx^2, dt is proportional to dx^2: the slope against dt is 1 for r = 0.4
    # (error O(dx^2) = O(dt)) although FTCS is first order in time, and 2 at r = 1/6, where the
    # leading truncation terms cancel (error O(dt^2) = O(dx^4)). So it cannot measure the time order.
    slopes = {}
    for r in (0.4, 1 / 6):
        ftcs, _ = heat.convergence_demo(ns=(41, 81, 161), r=r)
        slopes[r] = heat.fit_order(ftcs[:, 1], ftcs[:, 2])
    assert slopes[0.4] == pytest.approx(1.0, abs=0.05)  # measured 0.999
    assert slopes[1 / 6] == pytest.approx(2.0, abs=0.3)  # measured 2.0 (three grids: 2.1)


def test_crank_nicolson_combined_order_is_two():
    # dt = dx / 4: O(dt^2 + dx^2) = O(dx^2), against the closed form N(0, S2 + 2Dt).
    _, cn = heat.convergence_demo()
    assert heat.fit_order(cn[:, 0], cn[:, 2]) == pytest.approx(2.0, abs=0.1)  # measured 2.03
    assert cn[-1, 2] < 1e-4


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
    be = heat.solve_backward_euler(u0, dx, dt, steps, D, boundary)
    np.testing.assert_allclose(ftcs, (1 - 4 * r * s2) ** steps * u0, atol=1e-13)
    np.testing.assert_allclose(cn, ((1 - 2 * r * s2) / (1 + 2 * r * s2)) ** steps * u0, atol=1e-13)
    np.testing.assert_allclose(be, (1 / (1 + 4 * r * s2)) ** steps * u0, atol=1e-13)
    s = np.sqrt(s2)
    for name, u in (("ftcs", ftcs), ("crank_nicolson", cn), ("backward_euler", be)):
        g = heat.amplification_factor(name, r, s)
        np.testing.assert_allclose(u, g**steps * u0, atol=1e-13)


def test_amplification_factor_limits():
    # r s^2 -> infinity: CN tends to -1 (A-stable, not L-stable), backward Euler to 0.
    assert float(heat.amplification_factor("crank_nicolson", 1e6, 1.0)) == pytest.approx(
        -1, abs=1e-5
    )
    assert float(heat.amplification_factor("backward_euler", 1e6, 1.0)) == pytest.approx(
        0, abs=1e-5
    )
    assert float(heat.amplification_factor("ftcs", 0.5, 1.0)) == pytest.approx(-1.0)
    assert float(heat.amplification_factor("exact", 1e6, 1.0)) == 0.0
    with pytest.raises(ValueError, match="scheme must be one of"):
        heat.amplification_factor("leapfrog", 1.0, 1.0)


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


def test_crank_nicolson_at_r_50_is_bounded_but_wrong_and_rannacher_cures_it():
    # The hat at r = 50, 20 steps: CN stays bounded but its short modes flip sign each step
    # (g -> -1): the error is about 30 times the solution. Two backward-Euler start-up steps
    # (Rannacher) or backward Euler damp them.
    x, P = heat.large_step_demo(r=50.0, steps=20)
    size = float(jnp.max(jnp.abs(P["exact"])))  # 9.98e-4
    err = {k: float(jnp.max(jnp.abs(u - P["exact"]))) for k, u in P.items()}
    sign_changes = int(np.sum(np.diff(np.sign(np.asarray(P["cn"])[1:-1])) != 0))
    assert size == pytest.approx(9.98e-4, rel=1e-3)
    assert float(jnp.max(jnp.abs(P["cn"]))) <= 1.0  # bounded, the old (blind) test
    assert err["cn"] > 20 * size and sign_changes >= 10  # measured 3.0e-2 and 12
    assert err["rannacher"] < 2e-3 * size  # measured 1.4e-6
    assert err["backward_euler"] < 1.5 * size  # first order: 1.2e-3, but no oscillation
    assert np.all(np.asarray(P["backward_euler"]) >= -1e-12)  # monotone: no sign change
    # the cure at moderate r is also accurate for the smooth bump (second order kept)
    x, dx, u0 = fixed_grid()
    dts, errs = heat.time_errors(
        lambda *a: heat.solve_crank_nicolson(*a, startup=1),
        u0,
        dx,
        0.5,
        D,
        "dirichlet",
        (5, 10, 20, 40),
    )
    assert heat.fit_order(dts, errs) == pytest.approx(2.0, abs=0.1)


def test_crank_nicolson_startup_is_validated():
    with pytest.raises(ValueError, match="startup must be"):
        heat.solve_crank_nicolson(jnp.ones(9), 0.1, 0.1, 3, 1.0, "dirichlet", startup=4)
    u = heat.solve_crank_nicolson(jnp.ones(9), 0.1, 0.1, 3, 1.0, "neumann", startup=3)
    np.testing.assert_allclose(u, 1.0, atol=1e-12)


@pytest.mark.parametrize("edge, order", [(1.0, 1.0), (0.5, 2.0)])
def test_block_quadrature_order_depends_on_the_jump_value(edge, order):
    # Jumps on grid nodes: the value 1 there gives first order, the mean value 1/2 second order.
    from scipy.special import erf

    errs, hs = [], []
    for n in (201, 401, 801):
        x = jnp.linspace(-5.0, 5.0, n)
        u = heat.convolve(heat.block_start(x, edge=edge), x, 0.1, 1.0)
        ex = 0.5 * (erf((1 - x) / np.sqrt(0.4)) + erf((1 + x) / np.sqrt(0.4)))
        errs.append(float(jnp.max(jnp.abs(u - ex))))
        hs.append(float(x[1] - x[0]))
    assert heat.fit_order(hs, errs) == pytest.approx(order, abs=0.05)
    if edge == 0.5:
        assert errs[0] < 3e-4  # measured 2.56e-4, against 2.23e-2 with edge = 1


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
    # upwind adds the numerical diffusion |v| dx (1 - |v| dt / dx) / 2: exactly (1.2e-7 relative)
    D_num = heat.upwind_diffusion(wind[0], dx, dt)
    assert var_x == pytest.approx(0.1 + 2 * (D_ + D_num) * t, rel=1e-6)
    m2, (mx2, my2), (vx2, _) = heat.moments(c, X, Y)
    assert (float(m2), float(mx2), float(my2), float(vx2)) == pytest.approx((m, mx, my, var_x))
    if wind[0]:  # without the numerical diffusion the check fails
        assert var_x != pytest.approx(0.1 + 2 * D_ * t, rel=1e-3)


def test_steady_plume_width_grows_like_2Dd_over_v():
    # sigma_y^2 grows linearly with the distance d downwind, slope 2 D / |v| (slender plume).
    D_, v = 0.05, 0.9
    c = heat.plume_demo(wind=(v, 0.0), stack=(-2.5, 0.0), t=8.0, D=D_)
    g = np.linspace(-4.0, 4.0, 81)
    var = [heat.crosswind_sd(c, g, -2.5 + d) ** 2 for d in (1.0, 2.0, 3.0)]
    slope = np.polyfit([1.0, 2.0, 3.0], var, 1)[0]
    assert slope == pytest.approx(2 * D_ / v, rel=5e-3)  # measured 0.1111 against 0.1111
    assert slope != pytest.approx(D_ / v, rel=0.1)  # the D-vs-2D slip is rejected


def test_demos_have_the_stated_shapes():
    x, u0, (stable, unstable) = heat.ftcs_stability_demo()
    assert x.shape == u0.shape == stable.shape == (41,)
    assert float(jnp.max(jnp.abs(stable))) <= 1.0 and float(jnp.max(jnp.abs(unstable))) > 1e6
    c = heat.plume_demo(n=41, t=1.0)
    assert c.shape == (41, 41) and float(c.min()) >= -1e-12


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
