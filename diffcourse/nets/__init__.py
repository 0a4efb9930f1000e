"""Networks: an MLP for low-dimensional data (notebook 07) and a U-Net for images (notebook 08).

Both are ``equinox.Module``s that take one sample ``(x, t)`` and are ``jax.vmap``-ed over a batch;
``t`` is the variance-exploding time of the course's notation (``z(t) = y + sqrt(t) eps``), which
enters through :func:`time_embedding`.
"""

from diffcourse.nets.embedding import time_embedding

__all__ = ["time_embedding", "MLP", "UNet"]


def __getattr__(name):
    if name == "MLP":
        from diffcourse.nets.mlp import MLP

        return MLP
    if name == "UNet":
        from diffcourse.nets.unet import UNet

        return UNet
    raise AttributeError(f"module 'diffcourse.nets' has no attribute {name!r}")
