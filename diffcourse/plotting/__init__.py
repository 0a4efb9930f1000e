"""The course's figure style, and the figures of each notebook.

Shared helpers live here; each notebook's figures live in a submodule named after the package
module they draw (``dc.plotting.heat``, ``dc.plotting.reverse``, ...). A submodule that writes
files into ``figures/`` defines ``make_figures(outdir) -> list[pathlib.Path]``; the command
``python -m diffcourse figures`` calls every one of them (see :data:`FIGURE_MODULES`).
"""

import importlib
import pathlib

import matplotlib

from diffcourse import _lazy

# Submodules with a ``make_figures(outdir)`` function, in course order.
FIGURE_MODULES = (
    "heat",
    "random_walk",
    "sde",
    "fokker_planck",
    "populations",
    "reverse",
    "elbo",
    "losses",
    "samplers",
    "guidance",
    "flow",
)

STYLE = {
    "figure.figsize": (6.0, 3.2),
    "figure.dpi": 72,
    "savefig.dpi": 90,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def setup():
    """Apply the course style to matplotlib (small PNGs, light grid). Call once per notebook."""
    matplotlib.rcParams.update(STYLE)


def savefig(fig, path) -> pathlib.Path:
    """Save ``fig`` as a small PNG at ``path`` (parents created), close it, return the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def image_grid(images, ncols: int | None = None, pad: int = 1, value_range=(-1.0, 1.0)):
    """Tile ``images`` of shape (n, H, W) into one (rows*(H+pad)-pad, cols*(W+pad)-pad) array in [0, 1]."""
    import numpy as np

    x = np.asarray(images, dtype=float)
    if x.ndim != 3:
        raise ValueError(f"images must have shape (n, H, W); got {x.shape}")
    n, h, w = x.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    lo, hi = value_range
    x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    grid = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad))
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = x[i]
    return grid


def make_all_figures(outdir="figures") -> list:
    """Regenerate every figure of the course into ``outdir``; return the written paths."""
    setup()
    matplotlib.use("Agg")
    written = []
    for name in FIGURE_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}":
                continue
            raise
        if hasattr(module, "make_figures"):
            written += list(module.make_figures(pathlib.Path(outdir)))
    return written


# the submodules (each one draws figures), imported on first use: ``dc.plotting.heat``
_lazy.attach(globals(), FIGURE_MODULES)
