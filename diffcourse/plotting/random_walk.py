"""Figures of notebook 02 (random walks). Each ``plot_*`` draws into a given ``ax``."""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from diffcourse import heat
from diffcourse import random_walk as rw


def plot_paths(ax, ts, paths, D, n_show=20):
    """A few 1-D paths with the envelope :math:`\\pm 2\\sqrt{2Dt}` of the heat kernel."""
    ts = np.asarray(ts)
    ax.plot(ts, np.asarray(paths[:n_show]).T, lw=0.7, alpha=0.7)
    env = 2 * np.sqrt(2 * D * ts)
    ax.plot(ts, env, "k--", lw=1, label="±2 sqrt(2Dt)")
    ax.plot(ts, -env, "k--", lw=1)
    ax.set(xlabel="t", ylabel="x(t)")
    ax.legend()
    return ax


def plot_histogram_vs_kernel(ax, positions, t, D, bins=41, label=None):
    """Histogram of walker positions at time ``t`` against the kernel N(0, 2Dt)."""
    x = np.asarray(positions)
    ax.hist(x, bins=bins, density=True, alpha=0.5, label=label)
    g = jnp.linspace(x.min() - 0.5, x.max() + 0.5, 300)
    ax.plot(g, jax.vmap(heat.kernel, (0, None, None))(g, t, D), "k", lw=1)
    ax.set(xlabel="x", ylabel="density")
    return ax


def lattice_bins(k, dx, half_width, sites_per_bin=2):
    r"""Histogram edges for lattice positions after ``k`` steps: those lie on
    :math:`dx\,(k \bmod 2 + 2\mathbb Z)`, so the edges sit halfway between sites and every bin
    holds ``sites_per_bin`` of them."""
    m = 2 * int(np.ceil(half_width / (2 * dx))) + 1  # odd
    return dx * (np.arange(-m - 2, m + 3, 2 * sites_per_bin) + k % 2)


def plot_cloud(ax, points, t, D):
    """2-D walker positions with the circle of radius sqrt(2 * 2Dt) (the rms distance)."""
    p = np.asarray(points)
    ax.plot(p[:, 0], p[:, 1], ".", ms=1, alpha=0.4)
    a = np.linspace(0, 2 * np.pi, 200)
    r = np.sqrt(4 * D * t)
    ax.plot(r * np.cos(a), r * np.sin(a), "k--", lw=1, label="rms radius sqrt(4Dt)")
    ax.set(xlabel="x", ylabel="y", aspect="equal")
    ax.legend()
    return ax


def plot_first_passage(ax, ts, tau, a, D=0.5):
    """Empirical CDF of first-passage times against the reflection principle."""
    ts = np.asarray(ts)
    ecdf = np.mean(np.asarray(tau)[None, :] <= ts[:, None], axis=1)
    ax.step(ts, ecdf, where="post", label="walkers")
    ax.plot(ts, rw.first_passage_cdf(ts, a, D), "k--", label="erfc(a / sqrt(4Dt))")
    ax.set(xlabel="t", ylabel=f"P(tau_a <= t), a = {a:g}")
    ax.legend()
    return ax


def plot_survivors(ax, survivors, n_total, t, a, D=0.5, bins=40, lo=-3.0):
    """Histogram of the survivors' positions, normalised by *all* ``n_total`` walkers (so its
    area is the surviving fraction), against the image solution G(x) - G(x - 2a)."""
    width = (a - lo) / bins
    s = np.asarray(survivors)
    ax.hist(
        s,
        bins=bins,
        range=(lo, a),
        weights=np.full(s.size, 1 / (n_total * width)),
        alpha=0.5,
        label="survivors",
    )
    xs = np.linspace(lo, a, 200)
    ax.plot(xs, rw.absorbed_density(xs, t, a, D), "k", label="G(x) - G(x - 2a)")
    ax.set(
        xlabel="x",
        ylabel="density",
        title=f"Brownian particles with an absorbing wall at a = {a:g}",
    )
    ax.legend()
    return ax


def make_figures(outdir) -> list:
    """Write the random-walk figures into ``outdir``."""
    from diffcourse.plotting import savefig, setup

    setup()
    outdir = pathlib.Path(outdir)
    written = []
    dx, dt = 0.1, 0.005  # D = dx^2 / (2 dt) = 1
    D = rw.diffusion_constant(dx, dt)
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)

    paths = rw.lattice_walk(k1, 4000, 400, dx, dt)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    plot_paths(axes[0], dt * np.arange(401), paths, D)
    axes[0].set_title(f"lattice walks, D = dx^2/2dt = {D:g}")
    for k in (50, 150, 400):
        bins = lattice_bins(k, dx, float(np.abs(paths[:, k]).max()))
        plot_histogram_vs_kernel(axes[1], paths[:, k], k * dt, D, bins, label=f"t = {k * dt:g}")
    axes[1].set_title("walkers against the heat kernel")
    axes[1].legend()
    written.append(savefig(fig, outdir / "random_walk_vs_kernel.png"))

    fig, ax = plt.subplots(figsize=(4, 4))
    cloud = rw.lattice_walk(k2, 3000, 200, dx, dt, dim=2)[:, -1]
    plot_cloud(ax, cloud, 200 * dt, D)
    ax.set_title("2-D walkers at t = 1")
    written.append(savefig(fig, outdir / "random_walk_2d.png"))

    ts = jnp.linspace(0.0, 2.0, 401)
    tau = rw.first_passage_times(rw.brownian_paths(k3, 4000, ts), ts, 1.0)
    fig, ax = plt.subplots()
    plot_first_passage(ax, ts, tau, 1.0)
    ax.set_title("first passage of Brownian motion (D = 1/2) through a = 1")
    written.append(savefig(fig, outdir / "random_walk_first_passage.png"))
    return written
