"""Figures of notebook 06: noise schedules, and the ELBO as an integral of denoising errors."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from diffcourse import elbo, populations, schedules
from diffcourse.plotting import savefig, setup


def plot_schedules(ax_alphabar, ax_snr, T: int = 1000):
    r""":math:`\bar\alpha_t` and :math:`\mathrm{SNR}(t) = 1/t_{VE}` of the linear (Ho et al.) and cosine (Nichol & Dhariwal) schedules."""
    steps = jnp.arange(1, T + 1)
    for name, betas in [
        ("linear", schedules.linear_betas(T)),
        ("cosine", schedules.cosine_betas(T)),
    ]:
        ab = schedules.alphabars(betas)
        ax_alphabar.plot(steps, ab, label=name)
        ax_snr.semilogy(steps, schedules.snr(jnp.clip(ab, 1e-12, 1 - 1e-12)), label=name)
    ax_alphabar.set(xlabel="step t", ylabel=r"$\bar\alpha_t$", title=r"$\bar\alpha_t$")
    ax_snr.set(xlabel="step t", ylabel=r"SNR $= 1/t_{VE}$", title="signal-to-noise ratio")
    ax_alphabar.legend()


def plot_integrand(ax, ts, curves: dict, y=None):
    r"""Weighted denoising errors per unit :math:`\ln t`, :math:`t\cdot E_\epsilon\|y-\hat y\|^2/2t^2`,
    against :math:`t`: ``curves`` maps a label to its values on the grid ``ts`` (from
    :func:`diffcourse.elbo.denoising_errors` times ``ts * elbo.vlb_weight(ts)``)."""
    for name, values in curves.items():
        ax.semilogx(ts, values, label=name)
    title = "weighted denoising error" + ("" if y is None else f" at y = {float(y):g}")
    ax.set(xlabel="t", ylabel=r"$t\cdot E\|y-\hat y\|^2/2t^2$", title=title)
    ax.legend()


def plot_log_pop(ax, grid, exact, ys, formula):
    """ln pop(y) by McAllester's formula at the points ``ys`` (n,) against the exact curve on ``grid``."""
    ax.plot(grid, exact, label="exact")
    ax.plot(ys, formula, "o", label="McAllester's formula")
    ax.set(xlabel="y", ylabel="ln pop(y)", title="McAllester's ln pop(y)")
    ax.legend()


def make_figures(outdir) -> list:
    """Write figures/elbo_schedules.png and figures/elbo_integrand.png (float64); return their paths."""
    with jax.enable_x64(True):
        return _make_figures(pathlib.Path(outdir))


def _make_figures(outdir) -> list:
    setup()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    plot_schedules(*axes)
    written = [savefig(fig, outdir / "elbo_schedules.png")]
    pop = populations.mcallester_g1()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    ts = elbo.log_t_grid(1e-4, 1e3, 300)
    rule, y = elbo.eps_quadrature(60, 1), jnp.array([0.3])
    blurred = populations.GaussianMixture(pop.weights, pop.means, 2 * pop.covs)
    curves = {
        name: elbo.vlb_density_per_log_t(p.posterior_mean, y, ts, rule)
        for name, p in [("exact E[y|z]", pop), ("covariances x 2", blurred)]
    }
    plot_integrand(axes[0], ts, curves, y=0.3)
    ys, grid = jnp.linspace(-3.0, 4.0, 12)[:, None], jnp.linspace(-3.5, 4.5, 300)[:, None]
    exact = jax.vmap(pop.log_density, in_axes=(0, None))(grid, 0.0)
    T, rule = 200.0, elbo.eps_quadrature(80, 1)
    prior = eqx.Partial(pop.log_density, t=jnp.asarray(T))
    ts = elbo.log_t_grid(1e-8, T, 1001)
    formula = [elbo.log_pop(pop.posterior_mean, prior, y, ts, rule) for y in ys]
    plot_log_pop(axes[1], grid[:, 0], exact, ys[:, 0], formula)
    written.append(savefig(fig, outdir / "elbo_integrand.png"))
    return written
