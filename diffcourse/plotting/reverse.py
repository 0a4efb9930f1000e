"""Figures of notebook 05 (reversing diffusion). Each ``plot_*`` draws into a given ``ax``."""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from diffcourse import samplers
from diffcourse.populations import FinitePop, mcallester_g1, mixture_2d


def plot_trajectories(ax, ts, path, color=None, label=None):
    """Paths z(t) of 1-D samples, ``path`` (len(ts), n, 1) from ``samplers.sample(..., return_path=True)``,
    against t on a log axis (inverted: reverse time runs left to right)."""
    lines = ax.semilogx(ts, np.asarray(path)[:, :, 0], color=color, lw=0.8, alpha=0.8)
    if label is not None:
        lines[0].set_label(label)
    ax.set(xlabel="t (log axis, inverted: reverse time runs left to right)", ylabel="z(t)")
    ax.invert_xaxis()
    return ax


def plot_histogram(ax, pop, z, t, bins=80, title=""):
    """Histogram of 1-D samples ``z`` (n, 1) against the exact density p_t."""
    ax.hist(np.asarray(z[:, 0]), bins=bins, density=True, alpha=0.5, label="samples")
    grid = jnp.linspace(float(z.min()) - 0.5, float(z.max()) + 0.5, 400)[:, None]
    ax.plot(
        grid[:, 0], jnp.exp(jax.vmap(pop.log_density, (0, None))(grid, t)), "k", lw=1, label="p_t"
    )
    ax.set(xlabel="z", title=title)
    return ax


def plot_memorisation(ax, train, samples, fresh=None):
    """Training points, samples from the exact empirical score and (optionally) fresh population draws."""
    if fresh is not None:
        ax.plot(fresh[:, 0], fresh[:, 1], ".", ms=2, color="0.6", label="fresh draws from pop")
    ax.plot(samples[:, 0], samples[:, 1], ".", ms=4, color="C0", label="samples, exact denoiser")
    ax.plot(train[:, 0], train[:, 1], "r+", ms=8, label="training points")
    ax.set(aspect="equal", xlabel="z_1", ylabel="z_2")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def make_figures(outdir) -> list:
    """reverse_trajectories.png, reverse_histograms.png and reverse_memorisation.png."""
    from diffcourse.plotting import savefig, setup

    setup()
    outdir = pathlib.Path(outdir)
    pop, key = mcallester_g1(), jax.random.PRNGKey(0)
    ts = samplers.geometric_grid(20.0, 1e-3, 200)
    z_T = pop.sample_pt(jax.random.PRNGKey(1), 6, 20.0)
    lams = [0.0, 0.5, 1.0, 2.0]
    run = lambda D, z_T, ts, lam, **kw: samplers.sample(
        key, D, z_T, ts, step=samplers.euler, lam=lam, **kw
    )
    fig, axes = plt.subplots(1, 4, figsize=(11.0, 3.0), sharey=True)
    for ax, lam in zip(axes, lams, strict=True):
        plot_trajectories(ax, ts, run(pop.posterior_mean, z_T, ts, lam, return_path=True))
        ax.set_title(f"lam = {lam:g}")
    written = [savefig(fig, outdir / "reverse_trajectories.png")]

    z_T = pop.sample_pt(jax.random.PRNGKey(2), 4000, 20.0)
    fig, axes = plt.subplots(1, 4, figsize=(11.0, 2.8), sharey=True)
    for ax, lam in zip(axes, lams, strict=True):
        z = run(pop.posterior_mean, z_T, samplers.geometric_grid(20.0, 1e-3, 300), lam)
        plot_histogram(ax, pop, z, 1e-3, title=f"lam = {lam:g}")
    written.append(savefig(fig, outdir / "reverse_histograms.png"))

    data = mixture_2d()
    train = FinitePop(data.sample(jax.random.PRNGKey(7), 20))
    z_T = train.sample_pt(jax.random.PRNGKey(8), 1000, 40.0)
    z = run(train.posterior_mean, z_T, samplers.geometric_grid(40.0, 1e-4, 300), 1.0)
    fig, ax = plt.subplots(figsize=(4.5, 4.0))
    plot_memorisation(ax, train.points, z, data.sample(jax.random.PRNGKey(10), 1000))
    ax.set_title("exact empirical score: samples = training points")
    written.append(savefig(fig, outdir / "reverse_memorisation.png"))
    return written
