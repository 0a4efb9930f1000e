"""Figures of notebook 07: DSM weightings, learned against exact score fields, error by t.

Each ``plot_*`` function draws into axes it is given, so the notebook and :func:`make_figures`
share them. :func:`make_figures` trains a small model (fixed keys, a few seconds) and writes
``figures/losses_weightings.png`` and ``figures/losses_learned_vs_exact.png``.
"""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import losses, plotting

WEIGHTING_NAMES = ("denoiser", "eps", "score", "vlb")


def plot_weightings(ax, pop, key, t=None, weightings=WEIGHTING_NAMES, n=2048):
    r"""Where each weighting puts the loss: :math:`w(t)\,t\,\mathrm{mmse}(t)` against :math:`t` (log axis).

    This is the density, per unit of :math:`\ln t`, of :math:`\int w(t)\,E\|y-E[y\mid z]\|^2\,dt`,
    normalised to peak 1 for each weighting. ``weightings``: names or ``{label: callable}``."""
    t = np.geomspace(1e-3, 1e2, 32) if t is None else np.asarray(t)
    m = np.asarray(losses.mmse(key, pop, jnp.asarray(t), n))
    items = weightings.items() if isinstance(weightings, dict) else [(w, w) for w in weightings]
    for label, w in items:
        f = np.asarray(losses.weight_fn(w)(t)) * t * m
        ax.plot(t, f / f.max(), label=str(label))
    ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$w(t)\,t\,$mmse$(t)$ / max")
    ax.legend()
    return ax


def _field(score_fn, t, lim, n_grid):
    g = np.linspace(-lim, lim, n_grid)
    zz = jnp.asarray(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2), jnp.result_type(float))
    s = jax.vmap(score_fn, (0, None))(zz, jnp.asarray(t, zz.dtype))
    return np.asarray(zz), np.asarray(s) * t  # t * score = E[y|z] - z: a length on the data scale


def plot_score_fields(axes, score_fns: dict, ts, lim=3.0, n_grid=15):
    r"""Quiver plots of :math:`t\,s(z,t) = E[y\mid z]-z` on a grid: one row per entry of ``score_fns``
    (``{label: score_fn(z, t)}``), one column per time in ``ts``. ``axes``: shape (rows, cols)."""
    for row, (label, fn) in zip(axes, score_fns.items(), strict=True):
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


def train_ring(key, steps=800, weighting=None, width=64, depth=3, n=4096, progress=False):
    """Train the MLP on the 8-component ring (the notebook's setting); return (pop, s2, model, result)."""
    import diffcourse as dc
    from diffcourse.data import toys

    key_y, key_model, key_fit = jax.random.split(key, 3)
    pop = toys.ring_mixture()
    y = pop.sample(key_y, n)
    s2 = float(jnp.var(y))
    model = dc.nets.MLP(key_model, 2, width=width, depth=depth, s2=s2)
    weighting = losses.edm_weighting(s2) if weighting is None else weighting
    loss_fn = losses.make_loss_fn(weighting=weighting, t_sampler=losses.LogUniform(1e-3, 1e2))
    config = dc.train.TrainConfig(steps=steps, batch_size=256, lr=1e-2, warmup=50, ema_decay=0.99)
    init = jax.tree.map(lambda a: a.copy() if isinstance(a, jax.Array) else a, model)
    result = dc.train.fit(key_fit, model, loss_fn, y, config, progress=progress)
    return pop, s2, init, result


def make_figures(outdir) -> list:
    """Write the weighting figure and the learned-vs-exact figure into ``outdir``; return the paths."""
    import matplotlib.pyplot as plt

    plotting.setup()
    outdir = pathlib.Path(outdir)
    key = jax.random.PRNGKey(0)
    pop, _, _, result = train_ring(key)
    written = []

    fig, ax = plt.subplots(figsize=(5, 3))
    plot_weightings(ax, pop, key)
    written.append(plotting.savefig(fig, outdir / "losses_weightings.png"))

    ts = (0.05, 0.5, 3.0)
    fig = plt.figure(figsize=(9, 6.5))
    axes = np.array([[fig.add_subplot(3, 3, 1 + 3 * r + c) for c in range(3)] for r in range(2)])
    fns = {"exact": pop.score, "learned": losses.as_score(result.ema_model)}
    plot_score_fields(axes, fns, ts)
    t = np.geomspace(1e-2, 1e1, 13)
    err = losses.denoiser_error(key, result.ema_model, pop, jnp.asarray(t))
    ax = fig.add_subplot(3, 1, 3)
    plot_error_by_t(ax, t, {"learned": np.asarray(err)}, floor=np.asarray(losses.mmse(key, pop, t)))
    fig.tight_layout()
    written.append(plotting.savefig(fig, outdir / "losses_learned_vs_exact.png"))
    return written
