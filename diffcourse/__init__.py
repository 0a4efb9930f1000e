"""diffcourse: the helper package of a notebook course on the mathematics of diffusion.

The modules are the table of contents of the course, one mathematical object each:

=================  ==========================================================  ========
module             object                                                      notebook
=================  ==========================================================  ========
``heat``           the heat equation, its Gaussian kernel and two solvers      01
``random_walk``    lattice walks and Brownian paths                            02
``sde``            Itô SDEs, Euler–Maruyama, OU, VP, GBM                       03
``fokker_planck``  the Fokker–Planck equation in 1-D                           03
``schedules``      DDPM beta schedules and the VP/VE bridge                    03, 06
``populations``    finite and Gaussian-mixture pops with exact p_t, E[y|z]     04
``reverse``        the lam family's mathematics (drift coefficient, variance)  05
``samplers``       the one sampler: step rules, VE time grids, settings table  05, 07, 08
``elbo``           McAllester's VAE view, the DDPM ELBO, ODE likelihood        06
``losses``         denoising score matching and its weightings                 07
``nets``           an MLP, a U-Net, and one (EDM) preconditioning for both     07, 08
``train``          the training loop: optax, EMA, sharding, checkpoints        07, 08
``checkpoint``     the checkpoint file: SHA-256 over the whole file, rotation  07, 08
``data``           2-D toys, scikit-learn digits, MNIST IDX files              07, 08
``ddpm``           the image DDPM as glue: U-Net, preconditioning, loss, grid  08
``guidance``       classifier-free and classifier guidance, inpainting         09
``flow``           flow matching: the linear interpolant as one more bridge    10
``metrics``        digit classifier, Fréchet distance, memorisation            08
``plotting``       shared figure style and the figures of each notebook        all
``exercises``      the checks behind each notebook's exercises                 all
=================  ==========================================================  ========

Docstrings cite McAllester's results as M0–M13: the numbered table in the README.

Modules are imported on first use (``dc.heat`` imports :mod:`diffcourse.heat`), so
``import diffcourse as dc`` is cheap and a notebook pays only for what it touches.
"""

import os

from diffcourse import _lazy

__version__ = "0.1.0"

# XLA:CPU (jaxlib 0.10.2) sends convolutions to its YNNPACK library, whose convolutions are about
# 2x slower than XLA's own (Eigen) ones on the course's U-Net on 2-core AMD Zen 4 and Intel Xeon
# CPUs (guided sampling of the shipped digits model: 1.8x faster without them, alternating runs,
# same numbers to 4 decimals). XLA reads XLA_FLAGS when its CPU backend starts, at the first
# computation, so setting the flag here works after ``import jax`` too; it does nothing once a
# computation has run, and a user's own XLA_FLAGS that name the YNNPACK fusions are left alone.
# Only for the jaxlib the course pins: XLA refuses to start on a flag it does not know.
CONV_FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"


def _set_conv_flag():
    from importlib import metadata

    try:
        pinned = metadata.version("jaxlib").startswith("0.10.")
    except metadata.PackageNotFoundError:
        pinned = False
    flags = os.environ.get("XLA_FLAGS", "")
    if pinned and "ynn_fusion_type" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {CONV_FLAG}".strip()


_set_conv_flag()

_MODULES = (
    "heat",
    "random_walk",
    "sde",
    "fokker_planck",
    "schedules",
    "populations",
    "reverse",
    "elbo",
    "losses",
    "nets",
    "train",
    "checkpoint",
    "data",
    "ddpm",
    "samplers",
    "guidance",
    "flow",
    "metrics",
    "plotting",
    "exercises",
)

__all__ = list(_MODULES)


_lazy.attach(globals(), _MODULES)
