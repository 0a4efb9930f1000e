"""Figures of notebook 09: guided samples on the labelled mixture, the w sweep, inpainting.

Drawing functions take arrays and an axis and return the axis; :func:`make_figures` computes
the arrays with :mod:`diffcourse.guidance` (fixed keys) and writes ``figures/guidance_*.png``."""

import pathlib

import numpy as np

from diffcourse.plotting import image_grid, savefig


def density(ax, logp, extent, *, levels=8, color="0.4"):
    """Contours of a density from its log on a grid ``logp`` (ny, nx) over ``extent`` (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = extent
    ny, nx = np.shape(logp)
    xs, ys = np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)
    p = np.exp(np.asarray(logp) - np.max(logp))
    ax.contour(xs, ys, p, levels=np.linspace(0.05, 0.95, levels), colors=color, linewidths=0.6)
    ax.set_xlim(x0, x1), ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    return ax


def samples(ax, y, *, title="", color="C0", n_max=1500, label=None):
    """Scatter of 2-D samples ``y`` (n, 2) (the first ``n_max``)."""
    y = np.asarray(y)[:n_max]
    ax.scatter(y[:, 0], y[:, 1], s=2, alpha=0.4, color=color, label=label, rasterized=True)
    ax.set_title(title)
    return ax


def sweep_grid(ax, images, ws, *, per_w=10):
    """Guided digits ``images`` (len(ws), n, H, W): one row per ``w``, the first ``per_w`` each."""
    x = np.asarray(images)[:, :per_w]
    k, n, h, w = x.shape
    ax.imshow(image_grid(x.reshape(k * n, h, w), ncols=n), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([(h + 1) * i + h / 2 for i in range(k)], [f"w={v:g}" for v in ws])
    ax.set_xticks([])
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)
    return ax


def agreement_diversity(ax, ws, agreement, diversity):
    """Agreement with the requested label (left axis) and within-class diversity (right) against w."""
    ax.plot(ws, agreement, "o-", color="C0", label="agreement")
    ax.set_xlabel("guidance weight w (Ho & Salimans)")
    ax.set_ylabel("classifier agrees with label", color="C0")
    ax.set_ylim(0, 1.02)
    right = ax.twinx()
    right.plot(ws, diversity, "s--", color="C3")
    right.set_ylabel("mean pairwise distance in a class", color="C3")
    right.grid(False)
    return ax


def inpaint_rows(ax, rows, names):
    """Rows of images ``rows`` (k, n, H, W) (original, masked, filled, ...), labelled by ``names``."""
    x = np.asarray(rows)
    k, n, h, w = x.shape
    ax.imshow(image_grid(x.reshape(k * n, h, w), ncols=n), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([(h + 1) * i + h / 2 for i in range(k)], names)
    ax.set_xticks([])
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)
    return ax


def mixture_figure(mix, runs, tilted, ws, c, extent=(-4.0, 3.0, -3.0, 3.5)):
    """One panel per ``w``: the tilted density's contours, its exact draws, and the guided
    (ancestral) samples. ``runs[w]``, ``tilted[w]``: (n, 2). Returns the figure."""
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt

    xs, ys = np.linspace(*extent[:2], 120), np.linspace(*extent[2:], 120)
    grid = jnp.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    lp_c = jax.jit(jax.vmap(lambda y: mix.log_density(y, 0.0, c)))(grid)
    lp = jax.jit(jax.vmap(lambda y: mix.log_density(y, 0.0)))(grid)
    fig, axes = plt.subplots(1, len(ws), figsize=(3.0 * len(ws), 3.0), sharey=True)
    for ax, w in zip(np.atleast_1d(axes), ws, strict=True):
        logp = np.asarray((1 + w) * lp_c - w * lp).reshape(120, 120)
        samples(ax, tilted[w], color="0.6", label="tilted (exact)")
        samples(ax, runs[w], color="C0", label="guided sampler", title=f"w = {w:g}")
        density(ax, logp, extent)
    np.atleast_1d(axes)[0].legend(loc="lower left", markerscale=4)
    return fig


def make_figures(outdir) -> list:
    """Guided samples against the tilted density (exact mixture), the w sweep of the shipped
    conditional digits model, and a half-erased digit filled by RePaint. Deterministic keys."""
    import jax
    import matplotlib.pyplot as plt

    from diffcourse import guidance, samplers
    from diffcourse.data import images as data

    outdir, written = pathlib.Path(outdir), []
    with jax.enable_x64(True):
        mix, ws, n, c = guidance.labelled_mixture(), (0.0, 1.0, 3.0), 2000, 0
        ts = np.append(samplers.geometric_grid(1e6, 1e-4, 150), 0.0)
        z_T = mix.pop.sample_pt(jax.random.key(1), n, ts[0])
        labels = np.full(n, c)
        runs = {
            w: guidance.sample(jax.random.key(2), mix, z_T, ts, labels, w=w, lam=1.0) for w in ws
        }
        tilted = {w: mix.sample_tilted(jax.random.key(3), c, w, n)[0] for w in ws}
        fig = mixture_figure(mix, runs, tilted, ws, c)
    written.append(savefig(fig, outdir / "guidance_mixture.png"))

    model, _ = guidance.load_shipped()
    sweep_ws = (0.0, 0.5, 1.0, 2.0, 4.0)
    labels = np.tile(np.arange(10), 4)
    images, agree, div = guidance.sweep(jax.random.key(0), model, sweep_ws, labels)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6), width_ratios=(1.4, 1))
    sweep_grid(a, images, sweep_ws)
    a.set_title("guided digits 0-9 at each w (same noise)")
    agreement_diversity(b, sweep_ws, agree, div)
    written.append(savefig(fig, outdir / "guidance_sweep.png"))

    x, _ = data.load_digits("heldout")
    x = x[:10]
    mask = guidance.half_mask((8, 8, 1), "top")
    filled = guidance.inpaint_digits(jax.random.key(0), model, x, mask)
    noise = guidance.noise_fill(jax.random.key(1), x, mask)
    masked = np.where(mask[..., 0] > 0, x, -1.0)
    fig, ax = plt.subplots(figsize=(6, 3))
    inpaint_rows(ax, [x, masked, filled, noise], ["original", "known half", "RePaint", "noise"])
    ax.set_title("inpainting the bottom half of held-out digits")
    written.append(savefig(fig, outdir / "guidance_inpaint.png"))
    return written
