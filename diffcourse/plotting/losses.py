"""Figures of notebook 07: DSM weightings, learned against exact score fields, error by t.

Each ``plot_*`` function draws into axes it is given, so the notebook and :func:`make_figures`
share them. :func:`make_figures` trains the ring model (:func:`diffcourse.losses.train_ring`) and writes
``figures/losses_weightings.png`` and ``figures/losses_learned_vs_exact.png``.
"""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import losses, plotting
from diffcourse.nets import precond


def plot_weightings(ax, t, curves: dict, log_normal=None):
    r"""Where each training loss puts its weight in :math:`\ln t`: ``curves`` maps a label to
    :func:`diffcourse.losses.loss_per_log_t` on the grid ``t``, each normalised to peak 1.
    ``log_normal``: a :class:`~diffcourse.losses.LogNormal` whose density of :math:`\ln t` is
    overlaid (dashed), EDM's choice of where to sample."""
    for label, f in curves.items():
        f = np.asarray(f)
        ax.plot(t, f / f.max(), label=str(label))
    if log_normal is not None:
        u = (np.log(t) - log_normal.mean) / log_normal.std
        ax.plot(t, np.exp(-0.5 * u**2), "k--", lw=1, label="EDM's p(ln t), peak 1")
    ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("loss per unit ln t / max")
    ax.legend(fontsize=7)
    return ax


def _field(denoiser, t, lim, n_grid):
    g = np.linspace(-lim, lim, n_grid)
    zz = jnp.asarray(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2), jnp.result_type(float))
    yhat = jax.vmap(denoiser, (0, None))(zz, jnp.asarray(t, zz.dtype))
    return np.asarray(zz), np.asarray(yhat - zz)  # = t * score: a length on the data scale


def plot_score_fields(axes, denoisers: dict, ts, lim=3.0, n_grid=15):
    r"""Quiver plots of :math:`E[y\mid z]-z = t\,\nabla\ln p_t(z)` on a grid: one row per entry of
    ``denoisers`` (``{label: D(z, t)}``), one column per time in ``ts``. ``axes``: (rows, cols)."""
    for row, (label, fn) in zip(axes, denoisers.items(), strict=True):
        for ax, t in zip(row, ts, strict=True):
            z, v = _field(fn, float(t), lim, n_grid)
            ax.quiver(z[:, 0], z[:, 1], v[:, 0], v[:, 1], angles="xy", scale_units="xy", scale=1)
            ax.set_title(f"{label}, t = {t:g}")
            ax.set_aspect("equal")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
    return axes


def plot_error_by_t(ax, t, errors: dict, floor=None):
    r"""Denoiser errors :math:`E\|\hat y - E[y\mid z]\|^2` against :math:`t`; ``floor``: the mmse(t)
    (the error of predicting :math:`y` itself), drawn dashed for scale."""
    for label, e in errors.items():
        ax.loglog(t, e, "o-", ms=3, label=label)
    if floor is not None:
        ax.loglog(t, floor, "k--", lw=1, label="mmse(t)")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$E\|\hat y - E[y|z]\|^2$")
    ax.legend()
    return ax


def make_figures(outdir) -> list:
    """Write the weighting figure and the learned-vs-exact figure into ``outdir``; return the paths."""
    import matplotlib.pyplot as plt

    plotting.setup()
    outdir = pathlib.Path(outdir)
    key = jax.random.PRNGKey(0)
    pop, _, result = losses.train_ring(key)
    written = []

    fig, ax = plt.subplots(figsize=(5, 3))
    t = np.geomspace(1e-3, 1e2, 32)
    sd = precond.sigma_data(pop.sample(key, 4096))
    curves = {
        w: losses.loss_per_log_t(key, pop, t, weighting=w) for w in ("denoiser", "eps", "vlb")
    }
    curves["EDM weighting"] = losses.loss_per_log_t(key, pop, t, weighting=losses.edm_weighting(sd))
    plot_weightings(ax, t, curves, log_normal=losses.LogNormal())
    written.append(plotting.savefig(fig, outdir / "losses_weightings.png"))

    ts = (0.05, 0.5, 3.0)
    fig = plt.figure(figsize=(9, 6.5))
    axes = np.array([[fig.add_subplot(3, 3, 1 + 3 * r + c) for c in range(3)] for r in range(2)])
    fns = {"exact": pop.posterior_mean, "learned": result.ema_model}
    plot_score_fields(axes, fns, ts)
    t = np.geomspace(1e-2, 1e1, 13)
    err = losses.denoiser_error(key, result.ema_model, pop, jnp.asarray(t))
    ax = fig.add_subplot(3, 1, 3)
    plot_error_by_t(ax, t, {"learned": np.asarray(err)}, floor=np.asarray(losses.mmse(key, pop, t)))
    fig.tight_layout()
    written.append(plotting.savefig(fig, outdir / "losses_learned_vs_exact.png"))
    return written


def loss_curve(ax, history, floor=None, *, ylim=None, label="loss"):
    r"""The training loss against the step from a :func:`diffcourse.train.fit` ``history`` (its
    ``"step"`` and ``"loss"`` arrays), thin and translucent so the Monte Carlo spread shows;
    ``floor``: the irreducible loss :math:`L^*`, drawn dashed. Draws only."""
    ax.plot(history["step"], history["loss"], lw=0.5, alpha=0.4, label=label)
    if floor is not None:
        ax.axhline(floor, color="k", ls="--", label="$L^*$")
    ax.set(xlabel="step")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend()
