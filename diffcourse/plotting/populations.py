"""Figures of notebook 04 (the score and Tweedie's formula). Each ``plot_*`` draws into an ``ax``."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from diffcourse.populations import FinitePop, mcallester_d2, mcallester_g1

d2_pop, g1_mixture = mcallester_d2, mcallester_g1  # the examples, under their figure names


@eqx.filter_jit
def _on_grid(pop, zz, t):
    """Score and log-density of ``pop`` at every row of ``zz`` (one compilation per pop type)."""
    return jax.vmap(pop.score, (0, None))(zz, t), jax.vmap(pop.log_density, (0, None))(zz, t)


def plot_score_field(ax, pop, t, half_width=4.0, n=61, every=4, clim=(-1.5, 2.0)):
    """Arrows of the score of a 2-D pop at time t (normalised to show direction; colour = log10 of
    the length, on the fixed colour range ``clim`` so that panels at different t compare) on every
    ``every``-th point of an n x n grid, over light contours of ln p_t, with the population's points
    or means marked. Returns the quiver (for a shared colourbar)."""
    g = jnp.linspace(-half_width, half_width, n)
    zz = jnp.stack(jnp.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
    s, logp = (np.asarray(a).reshape(n, n, -1) for a in _on_grid(pop, zz, jnp.asarray(t)))
    logp = logp[..., 0]
    ax.contourf(g, g, np.maximum(logp, logp.max() - 12), levels=12, cmap="Greys", alpha=0.2)
    s, zq = (
        s[::every, ::every].reshape(-1, 2),
        np.asarray(zz).reshape(n, n, 2)[::every, ::every].reshape(-1, 2),
    )
    norm = np.linalg.norm(s, axis=1, keepdims=True)
    u = s / np.maximum(norm, 1e-12)
    q = ax.quiver(
        zq[:, 0], zq[:, 1], u[:, 0], u[:, 1], np.log10(norm[:, 0] + 1e-12), scale=25, width=0.006
    )
    q.set_clim(*clim)
    centres = pop.points if isinstance(pop, FinitePop) else pop.means
    ax.plot(centres[:, 0], centres[:, 1], "r*", ms=8)
    ax.set(title=f"score at t = {t:g}", aspect="equal", xlim=(-half_width, half_width))
    ax.grid(False)
    return q


@eqx.filter_jit
def _posterior_mean(pop, zz, t):
    return jax.vmap(pop.posterior_mean, (0, None))(zz, t)


def plot_posterior_mean_1d(ax, pop, ts, half_width=5.0):
    """E[y | z(t) = z] against z for a 1-D pop at several t, with the diagonal E = z."""
    z = jnp.linspace(-half_width, half_width, 401)[:, None]
    for t in ts:
        ax.plot(z[:, 0], _posterior_mean(pop, z, jnp.asarray(t))[:, 0], label=f"t = {t:g}")
    ax.plot(z[:, 0], z[:, 0], "k:", lw=0.8, label="E = z")
    ax.set(xlabel="z", ylabel="E[y | z(t) = z]", ylim=(-half_width, half_width))
    ax.legend()
    return ax


def plot_densities_1d(ax, pop, ts, half_width=5.0):
    """p_t(z) of a 1-D pop at several t: the population smoothed by the heat kernel."""
    z = jnp.linspace(-half_width, half_width, 401)[:, None]
    for t in ts:
        ax.plot(z[:, 0], jnp.exp(_on_grid(pop, z, jnp.asarray(t))[1]), label=f"t = {t:g}")
    ax.set(xlabel="z", ylabel="p_t(z)")
    ax.legend()
    return ax


def make_figures(outdir) -> list:
    """populations_score_fields.png (D2 at three t) and populations_posterior_mean.png (1-D)."""
    from diffcourse.plotting import savefig, setup

    setup()
    outdir = pathlib.Path(outdir)
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.2))
    for ax, t in zip(axes, [0.05, 0.5, 3.0], strict=True):
        q = plot_score_field(ax, d2_pop(), t)
    fig.colorbar(q, ax=axes, shrink=0.8, label="log10 |score|")
    written = [savefig(fig, outdir / "populations_score_fields.png")]
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.0))
    three = FinitePop(jnp.array([[-1.0], [0.5], [2.0]]), jnp.array([0.2, 0.5, 0.3]))
    plot_posterior_mean_1d(axes[0], three, [0.01, 0.1, 1.0])
    axes[0].set_title("three points")
    plot_posterior_mean_1d(axes[1], g1_mixture(), [0.01, 0.3, 3.0])
    axes[1].set_title("Gaussian mixture G1")
    written.append(savefig(fig, outdir / "populations_posterior_mean.png"))
    return written
