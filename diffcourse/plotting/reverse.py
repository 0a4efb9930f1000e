"""Figures of notebook 05 (reversing diffusion). Each ``plot_*`` draws into a given ``ax``."""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from diffcourse import reverse
from diffcourse.plotting.populations import g1_mixture
from diffcourse.populations import FinitePop, GaussianMixture


def g2_mixture():
    """A 2-D mixture with full covariances (the one tests/test_reverse.py uses)."""
    covs = jnp.array(
        [[[0.2, 0.1], [0.1, 0.3]], [[0.1, 0.0], [0.0, 0.4]], [[0.3, -0.15], [-0.15, 0.2]]]
    )
    means = jnp.array([[-2.0, 0.0], [1.0, 1.5], [1.5, -1.5]])
    return GaussianMixture(jnp.array([0.25, 0.45, 0.3]), means, covs)


def plot_trajectories(ax, key, pop, z_T, ts, lam, color=None, label=None):
    """Paths z(t) of a 1-D pop from the starts ``z_T`` (n, 1) down the grid ``ts`` for one lam,
    against t on a log axis."""
    path = reverse.sample(key, pop.score, z_T, ts, lam, return_path=True)
    lines = ax.semilogx(ts, path[:, :, 0], color=color, lw=0.8, alpha=0.8)
    if label is not None:
        lines[0].set_label(label)
    ax.set(xlabel="t (reverse time runs right to left)", ylabel="z(t)")
    ax.invert_xaxis()
    return path


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
    ax.plot(samples[:, 0], samples[:, 1], ".", ms=4, color="C0", label="samples, exact score")
    ax.plot(train[:, 0], train[:, 1], "r+", ms=8, label="training points")
    ax.set(aspect="equal", xlabel="z_1", ylabel="z_2")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def make_figures(outdir) -> list:
    """reverse_trajectories.png, reverse_histograms.png and reverse_memorisation.png."""
    from diffcourse.plotting import savefig, setup

    setup()
    outdir = pathlib.Path(outdir)
    pop, key = g1_mixture(), jax.random.PRNGKey(0)
    ts = reverse.time_grid(20.0, 1e-3, 200)
    z_T = pop.sample_pt(jax.random.PRNGKey(1), 6, 20.0)
    lams = [0.0, 0.5, 1.0, 2.0]
    fig, axes = plt.subplots(1, 4, figsize=(11.0, 3.0), sharey=True)
    for ax, lam in zip(axes, lams, strict=True):
        plot_trajectories(ax, key, pop, z_T, ts, lam)
        ax.set_title(f"lam = {lam:g}")
    written = [savefig(fig, outdir / "reverse_trajectories.png")]

    z_T = pop.sample_pt(jax.random.PRNGKey(2), 4000, 20.0)
    fig, axes = plt.subplots(1, 4, figsize=(11.0, 2.8), sharey=True)
    for ax, lam in zip(axes, lams, strict=True):
        z = reverse.sample(key, pop.score, z_T, reverse.time_grid(20.0, 1e-3, 300), lam)
        plot_histogram(ax, pop, z, 1e-3, title=f"lam = {lam:g}")
    written.append(savefig(fig, outdir / "reverse_histograms.png"))

    data = g2_mixture()
    train = FinitePop(data.sample(jax.random.PRNGKey(7), 20))
    z_T = train.sample_pt(jax.random.PRNGKey(8), 1000, 40.0)
    z = reverse.sample(
        jax.random.PRNGKey(9), train.score, z_T, reverse.time_grid(40.0, 1e-4, 300), 1.0
    )
    fig, ax = plt.subplots(figsize=(4.5, 4.0))
    plot_memorisation(ax, train.points, z, data.sample(jax.random.PRNGKey(10), 1000))
    ax.set_title("exact empirical score: samples = training points")
    written.append(savefig(fig, outdir / "reverse_memorisation.png"))
    return written
