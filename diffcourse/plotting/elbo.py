"""Figures of notebook 06: noise schedules, and the ELBO as an integral of denoising errors."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from diffcourse import elbo, populations, schedules
from diffcourse.plotting import savefig, setup


def g1():
    """The 1-D mixture G1 of MCALLESTER.md: weights (.3, .5, .2), means (-2, .5, 3), variances (.05, .3, .1)."""
    return populations.GaussianMixture(
        jnp.array([0.3, 0.5, 0.2]),
        jnp.array([[-2.0], [0.5], [3.0]]),
        jnp.array([[0.05], [0.3], [0.1]]),
    )


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


@eqx.filter_jit
def _errors(denoiser, y, ts, rule):
    return jax.vmap(lambda t: elbo.denoising_error(denoiser, y, t, rule))(ts)


def plot_integrand(ax, pop, y, blur: float = 1.0):
    r"""The weighted denoising error per unit :math:`\ln t`, :math:`t\cdot\frac{E_\epsilon\|y-\hat y\|^2}{2t^2}`,
    at one point ``y`` (d,), for the exact denoiser of the mixture ``pop`` and for the exact denoiser
    of the same mixture with covariances times ``1 + blur`` (a model that learned a blurred pop)."""
    ts = elbo.log_t_grid(1e-4, 1e3, 300)
    rule = elbo.eps_quadrature(60, pop.dim)
    bad = populations.GaussianMixture(pop.weights, pop.means, pop.covs * (1 + blur)).posterior_mean
    for name, den in [("exact E[y|z]", pop.posterior_mean), (f"covariances x {1 + blur:g}", bad)]:
        err = _errors(den, y, ts, rule)
        ax.semilogx(ts, ts * elbo.vlb_weight(ts) * err, label=name)
    ax.set(
        xlabel="t",
        ylabel=r"$t\cdot E\|y-\hat y\|^2/2t^2$",
        title=f"weighted denoising error at y = {float(y[0]):g}",
    )
    ax.legend()


def plot_log_pop(ax, pop, ys, T: float = 200.0):
    """ln pop(y) by McAllester's formula (M8) at the points ``ys`` (n, 1) against the exact curve."""
    grid = jnp.linspace(ys.min() - 0.5, ys.max() + 0.5, 300)[:, None]
    ax.plot(grid[:, 0], jax.vmap(pop.log_density, in_axes=(0, None))(grid, 0.0), label="exact")
    ts, rule = elbo.log_t_grid(1e-8, T, 1001), elbo.eps_quadrature(80, pop.dim)
    prior = eqx.Partial(pop.log_density, t=jnp.asarray(T))
    m8 = [elbo.log_pop(pop.posterior_mean, prior, y, ts, rule) for y in ys]
    ax.plot(ys[:, 0], m8, "o", label="M8 formula")
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
    pop = g1()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    plot_integrand(axes[0], pop, jnp.array([0.3]))
    plot_log_pop(axes[1], pop, jnp.linspace(-3.0, 4.0, 12)[:, None])
    written.append(savefig(fig, outdir / "elbo_integrand.png"))
    return written
