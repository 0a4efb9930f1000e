r"""The image DDPM of notebook 08: a U-Net denoiser, its parameterisation, loss, and checkpoints.

The network is read as a *denoiser* :math:`D(z, t)\approx E[y\mid z(t)=z]` in the course's VE
coordinates (:math:`z = y + \sqrt t\,\epsilon`, :math:`\sigma = \sqrt t`). Two parameterisations:

``"edm"`` (default; Karras et al. 2022, "EDM", eq. 7 and Table 1):
  .. math:: D(z,t) = c_{\rm skip} z + c_{\rm out} F\big(c_{\rm in} z, t\big),\quad
            c_{\rm in} = \frac1{\sqrt{\sigma^2+\sigma_d^2}},\ c_{\rm skip} = \frac{\sigma_d^2}{\sigma^2+\sigma_d^2},\
            c_{\rm out} = \frac{\sigma\sigma_d}{\sqrt{\sigma^2+\sigma_d^2}},
  trained with EDM's weighting :math:`\lambda = 1/c_{\rm out}^2` and :math:`\ln\sigma\sim\mathcal N(P_{\rm mean}, P_{\rm std}^2)`,
  so the network's target :math:`(y - c_{\rm skip} z)/c_{\rm out}` has unit variance at every noise level.
``"eps"`` (Ho et al. 2020): the network reads :math:`x_t = z\sqrt{\bar\alpha}` and predicts
  :math:`\hat\epsilon`; :math:`D = z - \sqrt t\,\hat\epsilon`; loss :math:`\|\epsilon-\hat\epsilon\|^2` with
  the step drawn uniformly from the DDPM schedule (:math:`L_{\rm simple}`, eq. 14).

Either way the eps-, x0- and score-predictions follow exactly through :mod:`diffcourse.schedules`
(:func:`eps`, :func:`x0`, :func:`score`). Images are (H, W, C) channels last; data arrays are
(N, H, W, C).
"""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _validate, schedules
from diffcourse.nets.unet import UNet

ASSETS = pathlib.Path(__file__).parent / "assets"
SHIPPED = ASSETS / "digits" / "model.ckpt"

# The course's digits model: the quality benchmark (benchmarks/) chose it (no attention at 8x8).
DEFAULT_MODEL = {
    "channels": 32,
    "channel_mults": [1, 2],
    "blocks": 1,
    "attention": False,
    "groups": 8,
}
DEFAULT_LOSS = {
    "param": "edm",
    "sigma_data": 0.5,
    "p_mean": -1.2,
    "p_std": 1.2,
    "schedule": "cosine",
}


class Denoiser(eqx.Module):
    """A U-Net read as :math:`D(z,t)\\approx E[y\\mid z(t)=z]`; ``__call__(z, t)`` on one (H, W, C) image."""

    net: UNet
    param: str = eqx.field(static=True)
    sigma_data: float = eqx.field(static=True)

    def __call__(self, z, t):
        t = jnp.asarray(t, z.dtype)
        if self.param == "eps":
            eps_hat = self.net(z / jnp.sqrt(1.0 + t), t).astype(z.dtype)
            return schedules.eps_to_denoiser(eps_hat, z, t)
        s2 = self.sigma_data**2
        c_in = jax.lax.rsqrt(t + s2)
        c_skip = s2 / (t + s2)
        c_out = jnp.sqrt(t * s2 / (t + s2))
        return c_skip * z + c_out * self.net(c_in * z, t).astype(z.dtype)


def schedule(name: str = "cosine"):
    r""":math:`\bar\alpha_1..\bar\alpha_T` (T = 1000) of the named DDPM schedule, ``"cosine"`` or ``"linear"``."""
    if name == "cosine":
        return schedules.alphabars(schedules.cosine_betas(1000))
    if name == "linear":
        return schedules.alphabars(schedules.linear_betas(1000))
    raise ValueError(f"schedule must be 'cosine' or 'linear'; got {name!r}")


def eps(model, x_t, alphabar):
    r"""Predicted noise :math:`\hat\epsilon(x_t)` on the DDPM scale (bridge: :math:`z = x_t/\sqrt{\bar\alpha}`)."""
    z, t = schedules.x_to_z(x_t, alphabar), schedules.ve_time(alphabar)
    return schedules.denoiser_to_eps(model(z, t), z, t)


def x0(model, x_t, alphabar):
    r"""Predicted clean image :math:`\hat x_0 = E[y\mid z]` from :math:`x_t` (Ho et al. 2020 eq. 15)."""
    return model(schedules.x_to_z(x_t, alphabar), schedules.ve_time(alphabar))


def score(model, z, t):
    r"""Score :math:`\nabla_z\ln p_t(z) = (D(z,t) - z)/t` (McAllester's identity, M4)."""
    return schedules.denoiser_to_score(model(z, t), z, t)


def build(key, image_shape=(8, 8, 1), *, model=None, loss=None):
    """A fresh :class:`Denoiser` from keyword dicts (as stored in a checkpoint's meta).

    ``model``: U-Net keyword arguments (default :data:`DEFAULT_MODEL`); ``loss``: parameterisation
    settings (default :data:`DEFAULT_LOSS`); ``image_shape``: (H, W, C).
    """
    model = {**DEFAULT_MODEL, **(model or {})}
    loss = {**DEFAULT_LOSS, **(loss or {})}
    if loss["param"] not in ("edm", "eps"):
        raise ValueError(f"param must be 'edm' or 'eps'; got {loss['param']!r}")
    kwargs = {**model, "channel_mults": tuple(model["channel_mults"])}
    # Built under one compiled call: op-by-op initialisation of a U-Net costs seconds of dispatch.
    net = eqx.filter_jit(lambda k: UNet(k, in_channels=int(image_shape[-1]), **kwargs))(key)
    return Denoiser(net, loss["param"], float(loss["sigma_data"]))


def make_loss(model, loss=None):
    """``loss_fn(model, key, batch) -> scalar`` for :func:`diffcourse.train.fit`; batch (B, H, W, C).

    ``"edm"``: :math:`E\\,\\lambda(\\sigma)\\|D(y+\\sigma\\epsilon,\\sigma^2)-y\\|^2/\\dim` with
    :math:`\\lambda = 1/c_{\\rm out}^2` (EDM eq. 8 and Table 1); ``"eps"``: :math:`E\\|\\epsilon-\\hat\\epsilon\\|^2/\\dim`
    with the step uniform over the schedule (Ho et al. eq. 14). Mean over the batch.
    """
    loss = {**DEFAULT_LOSS, **(loss or {})}
    alphabars = schedule(loss["schedule"])

    def per_sample(model, y, key):
        k1, k2 = jax.random.split(key)
        if model.param == "edm":
            sigma = jnp.exp(loss["p_mean"] + loss["p_std"] * jax.random.normal(k1, (), y.dtype))
            weight = (sigma**2 + model.sigma_data**2) / (sigma * model.sigma_data) ** 2
        else:
            ab = jnp.asarray(alphabars, y.dtype)[jax.random.randint(k1, (), 0, len(alphabars))]
            sigma = jnp.sqrt(schedules.ve_time(ab))
            weight = 1.0 / sigma**2  # ||eps - eps_hat||^2 = ||y - D||^2 / t
        e = jax.random.normal(k2, y.shape, y.dtype)
        yhat = model(y + sigma * e, sigma**2)
        return weight * jnp.mean((yhat - y) ** 2)

    def loss_fn(model, key, batch):
        keys = jax.random.split(key, batch.shape[0])
        return jnp.mean(jax.vmap(per_sample, in_axes=(None, 0, 0))(model, batch, keys))

    return loss_fn


def meta_for(image_shape, model=None, loss=None, data="digits") -> dict:
    """The JSON-able meta stored with a checkpoint: enough to rebuild the skeleton with :func:`build`."""
    return {
        "image_shape": [int(s) for s in image_shape],
        "model": {**DEFAULT_MODEL, **(model or {})},
        "loss": {**DEFAULT_LOSS, **(loss or {})},
        "data": data,
    }


def from_meta(meta):
    """An untrained :class:`Denoiser` with the architecture described by ``meta`` (fixed key 0)."""
    return build(jax.random.key(0), meta["image_shape"], model=meta["model"], loss=meta["loss"])


def save(path, model, meta) -> pathlib.Path:
    """Write the (EMA) model alone: the small checkpoint that :func:`load` and the CLI read."""
    from diffcourse import train

    # float32 on disk whatever the trainer's arithmetic (its EMA can promote to float64 under x64)
    to32 = lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a
    return train.save_checkpoint(path, jax.tree.map(to32, model), meta)


def load(path=None):
    """Load a model written by :func:`save` (default: the shipped digits model). Returns ``(model, meta)``.

    ``path`` may be a file or a folder holding ``model.ckpt``. A missing, truncated or corrupt
    file raises ``ValueError`` (``diffcourse.train.CheckpointError``).
    """
    from diffcourse import train

    path = SHIPPED if path is None else pathlib.Path(path)
    if path.is_dir():
        path = path / "model.ckpt"
    meta = train.read_meta(path)
    return train.load_checkpoint(path, from_meta(meta))


def train_images(
    key,
    images,
    *,
    steps,
    out_dir=None,
    resume=False,
    model=None,
    loss=None,
    data="digits",
    progress=True,
    **config,
):
    """Train a DDPM on ``images`` (N, H, W) or (N, H, W, C) in [-1, 1] with :func:`diffcourse.train.fit`.

    ``config``: :class:`diffcourse.train.TrainConfig` fields (batch_size, lr, ema_decay, ...). With
    ``out_dir`` the full training state goes to ``out_dir/checkpoint.ckpt`` (for ``resume``) and the
    EMA model alone to ``out_dir/model.ckpt``. Returns ``(result, meta)``.
    """
    from diffcourse import train

    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    _validate.shape("images", images, (None, None, None, None))
    meta = meta_for(images.shape[1:], model, loss, data)
    k_init, k_train = jax.random.split(key)
    denoiser = build(k_init, images.shape[1:], model=meta["model"], loss=meta["loss"])
    cfg = train.TrainConfig(steps=steps, **config)
    result = train.fit(
        k_train,
        denoiser,
        make_loss(denoiser, meta["loss"]),
        images,
        cfg,
        out_dir=out_dir,
        resume=resume,
        progress=progress,
        meta=meta,
    )
    if out_dir is not None:
        save(
            pathlib.Path(out_dir) / "model.ckpt",
            result.ema_model,
            {**meta, "step": result.steps_done},
        )
    return result, meta


def sample(
    key,
    model,
    n: int,
    *,
    sampler="ddim",
    steps=50,
    eta=0.0,
    schedule_name="cosine",
    return_path=False,
    image_shape=None,
):
    """``n`` images from ``model`` (a :class:`Denoiser`), shape (n, H, W, C), on the data's [-1, 1] scale.

    ``sampler``: ``"ddim"`` (``steps`` evenly spaced steps, noise ``eta``), ``"ddpm"`` (ancestral,
    ``steps`` evenly spaced steps with eta = 1; ``steps=1000`` is Ho et al.'s sampler) or ``"ode"``
    (Heun on EDM's grid, ``steps`` steps, 2 steps - 1 denoiser calls). ``return_path``: every intermediate state (see :mod:`diffcourse.samplers`).
    """
    from diffcourse import samplers

    n = _validate.positive_int("n", n)
    if image_shape is None:
        image_shape = _image_shape(model)
    k_T, k_run = jax.random.split(key)
    x_T = jax.random.normal(k_T, (n, *image_shape), jnp.float32)
    ts = samplers.ve_grid(schedule(schedule_name), steps)
    if sampler == "ddim":
        return samplers.generalised(k_run, model, x_T, ts, eta=eta, return_path=return_path)
    if sampler == "ddpm":
        return samplers.generalised(k_run, model, x_T, ts, eta=1.0, return_path=return_path)
    if sampler == "ode":
        return samplers.ode(model, x_T, samplers.edm_grid(steps), return_path=return_path)
    raise ValueError(f"sampler must be 'ddim', 'ddpm' or 'ode'; got {sampler!r}")


def _image_shape(model):
    raise ValueError(
        "image_shape is needed: pass image_shape=(H, W, C) (a checkpoint's meta has it)"
    )
