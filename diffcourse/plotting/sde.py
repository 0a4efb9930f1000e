"""Figures of notebook 03, first half: Euler–Maruyama paths and its measured orders."""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from diffcourse import plotting
from diffcourse import sde as S


def plot_orders(ax, dts, errors, *, label: str, order: float, marker: str = "o"):
    """Errors against dt on log-log axes, with a reference line of slope ``order``
    through the last point and the fitted slope in the legend."""
    fitted = S.fit_order(dts, errors)
    (line,) = ax.loglog(dts, errors, marker, label=f"{label}: fitted slope {fitted:.2f}")
    ref = errors[-1] * (np.asarray(dts) / dts[-1]) ** order
    ax.loglog(dts, ref, "--", color=line.get_color(), alpha=0.5, label=f"slope {order:g}")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(r"$\Delta t$")
    ax.set_ylabel("error")
    ax.legend()
    return ax


def plot_paths(ax, ts, paths, *, n_show: int = 20, mean=None, sd=None):
    """A few sample paths (n, len(ts)) over t, with an optional mean +- 2 sd band."""
    ts = np.asarray(ts)
    ax.plot(ts, np.asarray(paths)[:n_show].T, lw=0.6, alpha=0.6)
    if mean is not None:
        mean, sd = np.broadcast_to(mean, ts.shape), np.broadcast_to(sd, ts.shape)
        ax.plot(ts, mean, "k", lw=1.5, label="closed-form mean")
        ax.fill_between(ts, mean - 2 * sd, mean + 2 * sd, color="k", alpha=0.1, label=r"$\pm 2$ sd")
        ax.legend()
    ax.set_xlabel("t")
    return ax


def orders_figure(key, *, n_paths_strong: int = 2000, n_paths_weak: int = 50_000):
    """Strong order (GBM: 1/2; OU, additive noise: 1; same Brownian paths) and weak order
    (OU second moment from x0 = 0) side by side."""
    k1, k2, k3 = jax.random.split(key, 3)
    gbm = S.GeometricBrownian(mu=1.0, sigma=1.0)
    ou = S.OrnsteinUhlenbeck(theta=2.0, mu=1.0, sigma=1.0)
    sd, se = S.strong_errors(k1, gbm, 1.0, 1.0, 256, (2, 4, 8, 16, 32), n_paths_strong)
    od, oe = S.strong_errors(k3, ou, 1.0, 1.0, 256, (2, 4, 8, 16, 32), n_paths_strong)
    wd, we, _ = S.weak_errors(k2, ou, 0.0, 1.0, (4, 8, 16, 32), n_paths_weak, power=2)
    fig, (a, b) = plt.subplots(1, 2, figsize=(7.0, 3.0))
    plot_orders(a, sd, se, label="strong, GBM", order=0.5)
    plot_orders(a, od, oe, label="strong, OU", order=1.0, marker="^")
    plot_orders(b, wd, we, label="weak, OU E[x^2]", order=1.0, marker="s")
    a.set_title(r"$E|x_{EM}(T) - x(T)|$")
    b.set_title(r"$|E\,x_{EM}(T)^2 - E\,x(T)^2|$")
    fig.tight_layout()
    return fig


def ou_paths_figure(key, *, n: int = 2000):
    """OU paths started at 3 relaxing to the stationary band N(mu, sigma^2/(2 theta))."""
    ou = S.OrnsteinUhlenbeck(theta=1.0, mu=0.0, sigma=1.0)
    ts = jnp.linspace(0.0, 4.0, 201)
    paths = S.euler_maruyama_many(key, ou, jnp.full((n, 1), 3.0), ts, return_path=True)[..., 0]
    mean, var = ou.gaussian_marginal(3.0, 0.0, ts)
    fig, ax = plt.subplots()
    plot_paths(ax, ts, paths, mean=mean, sd=jnp.sqrt(var))
    ax.set_title(r"Ornstein–Uhlenbeck $dx = -x\,dt + dW$ from $x_0 = 3$")
    return fig


def make_figures(outdir) -> list:
    """Write figures/sde_em_orders.png and figures/sde_ou_paths.png."""
    outdir = pathlib.Path(outdir)
    plotting.setup()
    k1, k2 = jax.random.split(jax.random.key(0))
    return [
        plotting.savefig(orders_figure(k1), outdir / "sde_em_orders.png"),
        plotting.savefig(ou_paths_figure(k2), outdir / "sde_ou_paths.png"),
    ]
