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


def plot_field(ax, c, half_width, title="", wind=None, colorbar=True):
    """A 2-D field ``c[ix, iy]`` on the square [-half_width, half_width]^2, with a colourbar and,
    if ``wind`` is given, an arrow showing its direction."""
    extent = (-half_width, half_width, -half_width, half_width)
    im = ax.imshow(np.asarray(c).T, origin="lower", extent=extent)
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8, label="concentration")
    if wind is not None:
        v = np.asarray(wind, float) / np.linalg.norm(wind) * 0.25 * half_width
        x0 = -0.85 * half_width
        ax.annotate(
            "",
            (x0 + v[0], 0.8 * half_width + v[1]),
            (x0, 0.8 * half_width),
            arrowprops=dict(arrowstyle="->", color="w", lw=1.5),
        )
        ax.text(x0, 0.88 * half_width, "wind", color="w", fontsize=8)
    return im


def plot_large_step(ax, x, profiles, r):
    """Profiles of :func:`diffcourse.heat.large_step_demo` (dict name -> u) after a few steps at a
    large ratio ``r``: the exact (semi-discrete) solution in black."""
    styles = {
        "exact": ("k", 2.0, "exact e^{tDA} u0"),
        "cn": ("C3", 1.0, "Crank-Nicolson"),
        "rannacher": ("C0", 1.0, "CN + 2 backward-Euler start-up steps"),
        "backward_euler": ("C2", 1.0, "backward Euler"),
    }
    for name, u in profiles.items():
        color, lw, label = styles[name]
        ax.plot(x, u, color=color, lw=lw, marker="." if name != "exact" else None, label=label)
    ax.set(xlabel="x", ylabel="u", title=f"20 steps at r = D dt/dx^2 = {r:g}")
    ax.legend(fontsize=7)
    return ax


def plot_amplification(ax, r, schemes=("crank_nicolson", "backward_euler", "exact")):
    """Amplification factor g(s) of each scheme at ratio ``r`` against s = sin(kappa dx / 2)."""
    s = np.linspace(0.0, 1.0, 200)
    for name in schemes:
        ax.plot(s, heat.amplification_factor(name, r, s), label=name.replace("_", " "))
    ax.axhline(-1.0, color="k", lw=0.5, ls=":")
    ax.set(xlabel="s = sin(kappa dx / 2)", ylabel="g per step", title=f"r = {r:g}")
    ax.legend(fontsize=7)
    return ax


def make_figures(outdir) -> list:
    """Write the heat-equation figures into ``outdir``."""
    from diffcourse.plotting import savefig, setup

    setup()
    outdir = pathlib.Path(outdir)
    written = []

    fig, ax = plt.subplots()
    plot_kernel_spreading(ax)
    written.append(savefig(fig, outdir / "heat_kernel_spreading.png"))

    x, u0, (stable, unstable) = heat.ftcs_stability_demo()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    plot_profiles(axes[0], x, [u0, stable], ["u0", "400 steps"], "FTCS, D dt/dx^2 = 0.48")
    plot_profiles(axes[1], x, [u0, unstable], ["u0", "400 steps"], "FTCS, D dt/dx^2 = 0.52")
    written.append(savefig(fig, outdir / "heat_ftcs_stability.png"))

    # float64, as in notebook 01: in float32 the smallest time errors (about 1e-5) are mostly
    # rounding, and the fitted orders would say 0.95 and 1.81 instead of 1 and 2
    with jax.enable_x64(True):
        x = jnp.linspace(-8.0, 8.0, 161)
        u0 = heat.kernel_gaussian(x, 0.25)
        times = [
            heat.time_errors(solver, u0, float(x[1] - x[0]), 0.5, 1.0, "dirichlet", steps)
            for solver, steps in (
                (heat.solve_ftcs, (200, 400, 800, 1600)),
                (heat.solve_crank_nicolson, (5, 10, 20, 40)),
            )
        ]
        ftcs, cn = heat.convergence_demo()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for name, (dts, errs) in zip(("FTCS", "Crank-Nicolson"), times, strict=True):
        plot_orders(axes[0], dts, errs, name, xlabel="dt (fixed grid, dx = 0.1)")
    axes[0].set_title("time error against exp(tDA) u0")
    plot_orders(axes[1], ftcs[:, 0], ftcs[:, 2], "FTCS, r = 0.4")
    plot_orders(axes[1], cn[:, 0], cn[:, 2], "CN, dt = dx/4", xlabel="dx (dt refined with dx)")
    axes[1].set_title("combined error against the exact solution")
    written.append(savefig(fig, outdir / "heat_convergence.png"))

    x, profiles = heat.large_step_demo()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    plot_large_step(axes[0], x, profiles, 50.0)
    plot_amplification(axes[1], 50.0)
    written.append(savefig(fig, outdir / "heat_large_step.png"))

    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    wind = (0.9, 0.3)
    plot_field(ax, heat.plume_demo(wind=wind), 4.0, "pollutant plume: source in a wind", wind)
    written.append(savefig(fig, outdir / "heat_plume.png"))
    return written
