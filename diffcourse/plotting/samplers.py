"""Figures of notebook 08: samples of the shipped digits model, the forward and backward processes."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import schedules
from diffcourse.plotting import image_grid, savefig


def _tile(rows, pad=1):
    """Tile a (r, c, H, W) array of images in [-1, 1] into one picture in [0, 1]."""
    r, c, h, w = rows.shape
    return image_grid(rows.reshape(r * c, h, w), ncols=c, pad=pad)


def process_grid(frames, ax, title=""):
    """Draw frames (k, n, H, W): one row per image, time running left to right."""
    ax.imshow(_tile(np.swapaxes(np.asarray(frames), 0, 1)), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title)
    return ax


def save_gif(frames, path, scale=4, ms=120):
    """Write frames (k, n, H, W) in [-1, 1] as an animated GIF, each frame one grid of the n images."""
    from PIL import Image

    pics = []
    for f in np.asarray(frames):
        g = np.kron(image_grid(np.clip(f, -1, 1)), np.ones((scale, scale)))
        pics.append(Image.fromarray((255 * g).astype(np.uint8)))
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pics[0].save(path, save_all=True, append_images=pics[1:] + [pics[-1]] * 5, duration=ms, loop=0)
    return path


def make_figures(outdir) -> list:
    """Samples of the shipped model (DDIM, 25 steps, key 0) and its denoising process; GIFs of the
    forward process on real digits and of the backward process (all deterministic)."""
    import matplotlib.pyplot as plt

    from diffcourse import ddpm
    from diffcourse.data import images as data

    outdir = pathlib.Path(outdir)
    model, _ = ddpm.load()
    path = ddpm.sample(jax.random.key(0), model, 64, setting="ddim", steps=25, return_path=True)
    path = np.clip(np.asarray(path)[..., 0], -1, 1)
    written = []
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(image_grid(path[-1]), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title("shipped digits model: 64 DDIM samples (25 steps)")
    written.append(savefig(fig, outdir / "samplers_digits_grid.png"))
    fig, ax = plt.subplots(figsize=(6, 4))
    process_grid(path[::3, :8], ax, "denoising: x_T (left) to x_0 (right), every 3rd DDIM step")
    written.append(savefig(fig, outdir / "samplers_denoising_process.png"))
    written.append(save_gif(path[:, :16], outdir / "samplers_backward.gif"))
    y = jnp.asarray(data.load_digits("train")[0][:16])
    ab = np.geomspace(1.0, 1e-3, 26)
    frames = jnp.stack([y] + [schedules.q_sample(jax.random.key(0), y, a) for a in ab[1:]])
    written.append(save_gif(frames, outdir / "samplers_forward.gif"))
    return written
