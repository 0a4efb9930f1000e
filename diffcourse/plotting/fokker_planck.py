"""Figures of notebook 03, second half: Fokker–Planck solutions beside particles and closed forms."""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from diffcourse import fokker_planck as FP
from diffcourse import plotting
from diffcourse import sde as S
from diffcourse.data import toys


def plot_density(ax, x, p, *, samples=None, exact=None, label="Fokker–Planck", bins=60):
    """The solver's density (line), a histogram of particles and the closed form (dashed)."""
    if samples is not None:
        ax.hist(
            np.asarray(samples),
            bins=bins,
            density=True,
            histtype="stepfilled",
            alpha=0.3,
            label="particles (EM)",
        )
    ax.plot(np.asarray(x), np.asarray(p), lw=1.5, label=label)
    if exact is not None:
        ax.plot(np.asarray(x), np.asarray(exact), "k--", lw=1, label="closed form")
    ax.set_xlabel("x")
    ax.legend()
    return ax


def plot_evolution(ax, x, P, ts, *, prior=None):
    """Densities P (len(ts), n) at the times ts, coloured from early to late, with the prior."""
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(ts)))
    for p, t, c in zip(np.asarray(P), np.asarray(ts), colors, strict=True):
        ax.plot(np.asarray(x), p, color=c, lw=1.2, label=f"t = {t:g}")
    if prior is not None:
        ax.plot(np.asarray(x), np.asarray(prior), "k--", lw=1, label="prior N(0, 1)")
    ax.set_xlabel("x")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax


def vs_particles_figure(key, *, n: int = 4000):
    """OU from the bimodal start at t = 0.1, 0.5, 2: solver, particles, closed form."""
    ou = S.OrnsteinUhlenbeck(theta=1.0, mu=0.0, sigma=1.0)
    x = FP.grid(-5.0, 5.0, 200)
    ts = jnp.array([0.0, 0.1, 0.5, 2.0])
    pop = toys.bimodal_1d()
    P = FP.solve(ou, S.mixture_marginal_pdf(ou, x, 0.0, pop), x, ts)
    k1, k2 = jax.random.split(key)
    y = pop.sample(k1, n)
    paths = S.euler_maruyama_many(k2, ou, y, jnp.linspace(0.0, 2.0, 401), return_path=True)
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 2.8), sharey=True)
    for ax, i, t in zip(axes, (1, 2, 3), (0.1, 0.5, 2.0), strict=True):
        z = paths[:, int(round(t / 0.005)), 0]
        plot_density(ax, x, P[i], samples=z, exact=S.mixture_marginal_pdf(ou, x, t, pop))
        ax.set_title(f"OU, t = {t:g}")
        if i > 1:
            ax.get_legend().remove()
    fig.tight_layout()
    return fig


def to_prior_figure():
    """The VP process (Song et al. 2021, beta from 0.1 to 20) carries the bimodal density to N(0, 1)."""
    vp = S.VPProcess(0.1, 20.0)
    x = FP.grid(-5.0, 5.0, 200)
    ts = jnp.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0])
    P = FP.solve(vp, S.mixture_marginal_pdf(vp, x, 0.0, toys.bimodal_1d()), x, ts)
    fig, ax = plt.subplots()
    plot_evolution(ax, x, P, ts, prior=stats.norm.pdf(np.asarray(x)))
    ax.set_title("Fokker–Planck of the VP SDE: a density diffusing toward the prior")
    return fig


def make_figures(outdir) -> list:
    """Write figures/fokker_planck_vs_particles.png and figures/fokker_planck_density_to_prior.png."""
    outdir = pathlib.Path(outdir)
    plotting.setup()
    return [
        plotting.savefig(
            vs_particles_figure(jax.random.key(0)), outdir / "fokker_planck_vs_particles.png"
        ),
        plotting.savefig(to_prior_figure(), outdir / "fokker_planck_density_to_prior.png"),
    ]
