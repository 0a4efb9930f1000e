"""Figures of notebook 01 (the heat equation). Each ``plot_*`` draws into a given ``ax``."""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from diffcourse import heat


def plot_kernel_spreading(ax, D=1.0, ts=(0.02, 0.1, 0.5, 2.0), half_width=5.0):
    """The 1-D kernel at several times, with its standard deviation sqrt(2 D t) marked."""
    x = jnp.linspace(-half_width, half_width, 401)
    for t in ts:
        u = jax.vmap(heat.kernel, (0, None, None))(x, t, D)
        (line,) = ax.plot(x, u, label=f"t = {t:g}")
        s = np.sqrt(2 * D * t)
        ax.plot([-s, s], [heat.kernel(s, t, D)] * 2, "o", color=line.get_color(), ms=3)
    ax.set(xlabel="x", ylabel="u(x, t)", title=f"heat kernel, D = {D:g}: width sqrt(2Dt)")
    ax.set_ylim(0, 2.0)
    ax.legend()
    return ax


def plot_profiles(ax, x, profiles, labels, title=""):
    """Several solution profiles ``u(x)`` on one axis."""
    for u, label in zip(profiles, labels, strict=True):
        ax.plot(x, u, label=label)
    ax.set(xlabel="x", ylabel="u", title=title)
    ax.legend()
    return ax


def plot_orders(ax, hs, errs, label, xlabel="step"):
    """Errors against step size on log-log axes, with the fitted slope in the legend."""
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    ax.loglog(hs, errs, "o-", label=f"{label}: slope {order:.2f}")
    ax.set(xlabel=xlabel, ylabel="max error")
    ax.legend()
    return order


def plot_field(ax, c, half_width, title=""):
    """A 2-D field ``c[ix, iy]`` on the square [-half_width, half_width]^2."""
    extent = (-half_width, half_width, -half_width, half_width)
    im = ax.imshow(np.asarray(c).T, origin="lower", extent=extent)
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.grid(False)
    return im


def ftcs_stability_demo(r_values=(0.48, 0.52), n=41, steps=400, D=1.0):
    """FTCS on a hat-shaped initial profile for ratios ``r = D dt / dx^2`` around 1/2.

    Returns ``x`` and a list of final profiles, one per ``r``.
    """
    x = jnp.linspace(0.0, 1.0, n)
    dx = float(x[1] - x[0])
    u0 = jnp.maximum(0.0, 1.0 - 4.0 * jnp.abs(x - 0.5))
    out = []
    for r in r_values:
        dt = r * dx**2 / D
        out.append(heat.solve_ftcs(u0, dx, dt, steps, D, "dirichlet", check_stability=False))
    return x, u0, out


def plume_demo(n=81, half_width=4.0, D=0.05, wind=(0.9, 0.3), t=4.0, stack=(-2.5, -0.5)):
    """A chimney at ``stack`` (a Gaussian source of width 0.2 and unit emission rate) in a
    steady wind, solved by :func:`heat.solve_plume` up to time ``t``. Returns ``c`` ``(n, n)``."""
    g = jnp.linspace(-half_width, half_width, n)
    dx = float(g[1] - g[0])
    X, Y = jnp.meshgrid(g, g, indexing="ij")
    r2 = (X - stack[0]) ** 2 + (Y - stack[1]) ** 2
    source = jnp.exp(-r2 / (2 * 0.2**2)) / (2 * np.pi * 0.2**2)
    dt = 0.9 / (4 * D / dx**2 + (abs(wind[0]) + abs(wind[1])) / dx)
    steps = int(np.ceil(t / dt))
    return heat.solve_plume(jnp.zeros((n, n)), dx, t / steps, steps, D, wind=wind, source=source)


def convergence_demo(ns=(41, 81, 161, 321), D=1.0, t_end=0.5):
    """Max errors of FTCS (dt = 0.4 dx^2/D) and Crank-Nicolson (dt = dx/4) against the
    convolution solution, from the N(0, 0.25) bump on [-8, 8]. Returns two (len(ns), 3) arrays
    of rows (dx, dt, error)."""
    rows = {"ftcs": [], "cn": []}
    for n in ns:
        x = jnp.linspace(-8.0, 8.0, n)
        dx = float(x[1] - x[0])
        u0 = jax.vmap(heat.kernel, (0, None, None))(x, 0.125 / D, D)
        for name, dt in (("ftcs", 0.4 * dx**2 / D), ("cn", dx / 4)):
            solve = heat.solve_ftcs if name == "ftcs" else heat.solve_crank_nicolson
            steps = round(t_end / dt)
            u = solve(u0, dx, dt, steps, D, "dirichlet")
            err = jnp.max(jnp.abs(u - heat.convolve(u0, x, steps * dt, D)))
            rows[name].append((dx, dt, float(err)))
    return np.array(rows["ftcs"]), np.array(rows["cn"])


def make_figures(outdir) -> list:
    """Write the heat-equation figures into ``outdir``."""
    from diffcourse.plotting import savefig, setup

    setup()
    outdir = pathlib.Path(outdir)
    written = []

    fig, ax = plt.subplots()
    plot_kernel_spreading(ax)
    written.append(savefig(fig, outdir / "heat_kernel_spreading.png"))

    x, u0, (stable, unstable) = ftcs_stability_demo()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    plot_profiles(axes[0], x, [u0, stable], ["u0", "400 steps"], "FTCS, D dt/dx^2 = 0.48")
    plot_profiles(axes[1], x, [u0, unstable], ["u0", "400 steps"], "FTCS, D dt/dx^2 = 0.52")
    written.append(savefig(fig, outdir / "heat_ftcs_stability.png"))

    ftcs, cn = convergence_demo()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    plot_orders(ax, ftcs[:, 1], ftcs[:, 2], "FTCS vs dt")
    plot_orders(ax, cn[:, 0], cn[:, 2], "Crank-Nicolson vs dx", xlabel="dt (FTCS), dx (CN)")
    ax.set_title("measured convergence orders")
    written.append(savefig(fig, outdir / "heat_convergence.png"))

    fig, ax = plt.subplots(figsize=(4, 3.6))
    plot_field(ax, plume_demo(), 4.0, "pollutant plume: source in a wind")
    written.append(savefig(fig, outdir / "heat_plume.png"))
    return written
