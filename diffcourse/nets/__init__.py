"""Networks: an MLP for low-dimensional data (notebook 07) and a U-Net for images (notebook 08).

Both are ``equinox.Module``s that take one sample ``(x, t)`` and are ``jax.vmap``-ed over a batch,
read as denoisers by one wrapper, :class:`Preconditioned` (EDM's preconditioning);
``t`` is the variance-exploding time of the course's notation (``z(t) = y + sqrt(t) eps``), which
enters through :func:`time_embedding`.
"""

from diffcourse.nets import precond
from diffcourse.nets.embedding import time_embedding
from diffcourse.nets.mlp import MLP
from diffcourse.nets.precond import Preconditioned
from diffcourse.nets.unet import UNet

__all__ = ["time_embedding", "precond", "Preconditioned", "MLP", "UNet"]
