r"""The image DDPM of notebook 08, as glue: a U-Net, its preconditioning, the DSM loss, the sampler.

Every piece lives in the module of its mathematics; this module only joins them for images
(H, W, C) channels last, data (N, H, W, C) in [-1, 1]:

- the network: :class:`diffcourse.nets.unet.UNet` :math:`F`, read as the denoiser
  :math:`D(z,t,c) = c_{\rm skip}z + c_{\rm out}F(c_{\rm in}z, t, c)` by
  :class:`diffcourse.nets.precond.Preconditioned` (EDM's preconditioning, Karras et al. 2022
  Table 1, with :math:`\sigma_d` the data's root mean square; or DDPM's eps form);
- the loss: :func:`diffcourse.losses.make_loss_fn` with EDM's weighting and log-normal
  :math:`\sigma` (``kind="edm"``), or :math:`L_{\rm simple}` on the DDPM schedule (``kind="eps"``,
  Ho et al. 2020 eq. 14), both per coordinate;
- the sampler: :func:`diffcourse.samplers.sample` with a named setting of its table, on a grid
  kept inside the model's training noise range.

The bridge to DDPM's variables happens here and only here, through :mod:`diffcourse.schedules`:
:func:`eps` and :func:`x0` read a model at :math:`(x_t, \bar\alpha)`, and :func:`sample` returns
paths on the DDPM scale :math:`x = z\sqrt{\bar\alpha}`.
"""

import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _boundary, _validate, losses, samplers, schedules
from diffcourse.nets.precond import Preconditioned, sigma_data
from diffcourse.nets.unet import UNet

ASSETS = pathlib.Path(__file__).parent / "assets"
SHIPPED = ASSETS / "digits" / "model.ckpt"


@dataclasses.dataclass(frozen=True)
class Arch:
    """U-Net keyword arguments (:class:`diffcourse.nets.unet.UNet`); the course's digits model."""

    channels: int = 32
    channel_mults: tuple = (1, 2)
    blocks: int = 1
    attention: bool = False
    groups: int = 8
    n_classes: int = 0

    def __post_init__(self):
        mults = _validate.ints("channel_mults", self.channel_mults, minimum=1, max_len=8)
        object.__setattr__(self, "channel_mults", mults)
        for name in ("channels", "blocks", "groups"):
            _validate.positive_int(name, getattr(self, name))
        _validate.flag("attention", self.attention)
        _validate.nonnegative_int("n_classes", self.n_classes)
        if not self.channel_mults or min(self.channel_mults) < 1:
            raise ValueError(f"channel_mults must be positive integers; got {self.channel_mults}")
        if any(self.channels * m % self.groups for m in self.channel_mults):
            raise ValueError(
                f"groups must divide every level's width {self.channels} x {self.channel_mults};"
                f" got {self.groups}"
            )
        if int(self.n_classes) < 0:
            raise ValueError(f"n_classes must be >= 0; got {self.n_classes}")


@dataclasses.dataclass(frozen=True)
class Loss:
    r"""The parameterisation and its loss. ``kind="edm"``: :math:`\ln\sigma\sim N(P_{\rm mean},
    P_{\rm std}^2)` (EDM Table 1); ``kind="eps"``: the step uniform on the ``schedule``.
    ``sigma_data`` None: measured from the training data (:func:`diffcourse.nets.precond.sigma_data`)."""

    kind: str = "edm"
    sigma_data: float | None = None
    p_mean: float = -1.2
    p_std: float = 1.2
    schedule: str = "cosine"

    def __post_init__(self):
        if not isinstance(self.kind, str) or self.kind not in ("edm", "eps"):
            raise ValueError(f"kind must be 'edm' or 'eps'; got {self.kind!r}")
        if not isinstance(self.schedule, str) or self.schedule not in ("cosine", "linear"):
            raise ValueError(f"schedule must be 'cosine' or 'linear'; got {self.schedule!r}")
        if self.sigma_data is not None:
            _validate.positive("sigma_data", self.sigma_data)
        _validate.positive("p_std", self.p_std)
        _validate.real("p_mean", self.p_mean)

    def t_sampler(self):
        """The distribution of training times: EDM's log-normal (t = sigma^2) or DDPM's steps."""
        if self.kind == "eps":
            return losses.ScheduleUniform(tuple(np.asarray(schedule(self.schedule))))
        return losses.LogNormal(2 * self.p_mean, 2 * self.p_std)

    def loss_fn(self):
        """``loss_fn(model, key, batch)`` for :func:`diffcourse.train.fit` (per coordinate)."""
        weighting = "eps" if self.kind == "eps" else losses.edm_weighting(self.sigma_data)
        return losses.make_loss_fn(weighting=weighting, t_sampler=self.t_sampler(), per_dim=True)


def schedule(name: str = "cosine"):
    r""":math:`\bar\alpha_1..\bar\alpha_T` (T = 1000) of the named DDPM schedule, ``"cosine"`` or ``"linear"``."""
    if name == "cosine":
        return schedules.alphabars(schedules.cosine_betas(1000))
    if name == "linear":
        return schedules.alphabars(schedules.linear_betas(1000))
    raise ValueError(f"schedule must be 'cosine' or 'linear'; got {name!r}")


def _check_read(model, x_t, alphabar):
    """A model, one image x_t and a noise level alphabar in (0, 1) (alphabar = 1 is t = 0, where
    no model is defined)."""
    _boundary.function("model", model)
    shape = getattr(model, "shape", None)
    x_t = _boundary.data("x_t", x_t, shape=shape if isinstance(shape, tuple) else None)
    _boundary.unit("alphabar", alphabar)
    return x_t


def eps(model, x_t, alphabar):
    r"""Predicted noise :math:`\hat\epsilon(x_t)` on the DDPM scale (bridge: :math:`z = x_t/\sqrt{\bar\alpha}`)."""
    x_t = _check_read(model, x_t, alphabar)
    z, t = schedules.x_to_z(x_t, alphabar), schedules.ve_time(alphabar)
    return schedules.denoiser_to_eps(model(z, t), z, t)


def x0(model, x_t, alphabar):
    r"""Predicted clean image :math:`\hat x_0 = E[y\mid z]` from :math:`x_t` (Ho et al. 2020 eq. 15)."""
    x_t = _check_read(model, x_t, alphabar)
    return model(schedules.x_to_z(x_t, alphabar), schedules.ve_time(alphabar))


def _check_image_shape(image_shape):
    if isinstance(image_shape, (str, bytes)) or not hasattr(image_shape, "__len__"):
        raise _validate.fail("image_shape", "(H, W, C) with positive sizes", repr(image_shape))
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (H, W, C) with positive sizes; got {image_shape}")
    return _validate.ints("image_shape", image_shape, minimum=1, min_len=3, max_len=3)


def _check_arch_loss(arch, loss):
    if not isinstance(arch, Arch):
        raise _validate.fail("arch", "a ddpm.Arch", type(arch).__name__)
    if not isinstance(loss, Loss):
        raise _validate.fail("loss", "a ddpm.Loss", type(loss).__name__)


def build(key, image_shape, arch: Arch, loss: Loss) -> Preconditioned:
    """A fresh denoiser: a U-Net (numpy-initialised, nothing compiled) behind its preconditioning.

    ``loss.sigma_data`` must be set (see :func:`train_images`). The model records its image shape
    and the training range of its times (the 0.1%-99.9% quantiles of the t-sampler)."""
    _boundary.key("key", key)
    shape = _check_image_shape(image_shape)
    _check_arch_loss(arch, loss)
    if loss.sigma_data is None:
        raise ValueError("loss.sigma_data must be set (train_images measures it from the data)")
    net = UNet(key, in_channels=shape[-1], **dataclasses.asdict(arch))
    return Preconditioned(
        net,
        shape=shape,
        kind=loss.kind,
        sigma_data=loss.sigma_data,
        t_range=loss.t_sampler().support(),
        conditional=arch.n_classes > 0,
    )


def meta_for(image_shape, arch: Arch, loss: Loss, data="digits") -> dict:
    """The JSON-able meta stored with a checkpoint: enough to rebuild the skeleton (:func:`from_meta`)."""
    image_shape = _check_image_shape(image_shape)
    _check_arch_loss(arch, loss)
    if not isinstance(data, str):
        raise _validate.fail("data", "the name of the data set (a string)", repr(data))
    return {
        "image_shape": [int(s) for s in image_shape],
        "model": {**dataclasses.asdict(arch), "channel_mults": list(arch.channel_mults)},
        "loss": dataclasses.asdict(loss),
        "data": data,
    }


def from_meta(meta) -> Preconditioned:
    """An untrained denoiser with the architecture described by ``meta`` (fixed key 0)."""
    if not isinstance(meta, dict):
        raise _validate.fail("meta", "a dict with model, loss and image_shape", type(meta).__name__)
    try:
        arch, loss = Arch(**meta["model"]), Loss(**meta["loss"])
        shape = meta["image_shape"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"checkpoint meta does not describe a model: {err!r}") from None
    return build(jax.random.key(0), shape, arch, loss)


def save(path, model, meta) -> pathlib.Path:
    """Write the (EMA) model alone, float32: the small checkpoint :func:`load` and the CLI read."""
    from diffcourse import checkpoint

    _check_model(model)
    to32 = lambda a: (
        a.astype(jnp.float32) if isinstance(a, jax.Array) and a.dtype.kind == "f" else a
    )
    return checkpoint.save(path, jax.tree.map(to32, model), meta)


def load(path=None):
    """Load a model written by :func:`save` (default: the shipped digits model). Returns ``(model, meta)``.

    ``path``: a file or a folder holding ``model.ckpt``. A missing, truncated or corrupt file raises
    ``ValueError``. The model knows its image shape and training range (``model.shape``,
    ``model.t_range``), so :func:`sample` needs nothing else."""
    from diffcourse import checkpoint

    if path is not None and (not isinstance(path, (str, pathlib.PurePath)) or str(path) == ""):
        raise _validate.fail("path", "a file or folder path", repr(path))
    path = SHIPPED if path is None else pathlib.Path(path)
    if path.is_dir():
        path = path / "model.ckpt"
    return checkpoint.load_model(path, from_meta)


def train_images(
    key,
    images,
    *,
    steps,
    labels=None,
    out_dir=None,
    resume=False,
    arch=None,
    loss=None,
    data="digits",
    progress=True,
    **config,
):
    """Train a DDPM on ``images`` (N, H, W) or (N, H, W, C) in [-1, 1] with :func:`diffcourse.train.fit`.

    ``arch``: :class:`Arch` (default: the course's digits U-Net); ``loss``: :class:`Loss` (its
    ``sigma_data`` measured from ``images`` when None); ``labels`` (N,) integers for a
    class-conditional net; ``config``: :class:`diffcourse.train.TrainConfig` fields. With
    ``out_dir`` the full training state goes to ``out_dir/checkpoint.ckpt`` (for ``resume``) and
    the EMA model alone to ``out_dir/model.ckpt``. Returns ``(result, meta)``.
    """
    from diffcourse import train

    _boundary.key("key", key)
    unknown = sorted(set(config) - {f.name for f in dataclasses.fields(train.TrainConfig)})
    if unknown:
        raise _validate.fail(
            unknown[0], "a field of train.TrainConfig", f"an unknown keyword (all: {unknown})"
        )
    images = np.asarray(_boundary.data("images", images, finite=True), np.float32)
    if images.ndim == 3:
        images = images[..., None]
    _validate.shape("images", images, (None, None, None, None))
    if images.size == 0:
        raise _validate.fail("images", "a non-empty set of images", f"shape {images.shape}")
    if images.min() < -1.0 or images.max() > 1.0:
        raise _validate.fail("images", "scaled to [-1, 1]", _validate._describe(images))
    arch = Arch() if arch is None else arch
    loss = Loss() if loss is None else loss
    _check_arch_loss(arch, loss)
    _validate.flag("resume", resume)
    if loss.sigma_data is None:
        loss = dataclasses.replace(loss, sigma_data=round(sigma_data(images), 4))
    data_tree = images
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != images.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"labels must be integers of shape ({len(images)},); got {labels.shape}"
            )
        data_tree = (images, labels.astype(np.int32))
    meta = meta_for(images.shape[1:], arch, loss, data)
    k_init, k_train = jax.random.split(key)
    denoiser = build(k_init, images.shape[1:], arch, loss)
    cfg = train.TrainConfig(steps=steps, **config)
    result = train.fit(
        k_train,
        denoiser,
        loss.loss_fn(),
        data_tree,
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


def _check_model(model):
    """A denoiser for images that knows its shape, training range and data scale: a
    :class:`Preconditioned` from :func:`build` or :func:`load`, or a wrapper of one."""
    if not callable(model) or not all(
        hasattr(model, a) for a in ("shape", "t_range", "sigma_data")
    ):
        raise _validate.fail(
            "model", "a Preconditioned denoiser (ddpm.build or ddpm.load)", type(model).__name__
        )
    return model


def grid(model, setting: str, steps: int, *, strict=False):
    """The VE grid a named setting (:data:`diffcourse.samplers.SETTINGS`) is meant for, inside the
    model's training range. Returns ``(ts, note)``; ``note`` says what clipping did ("" if nothing);
    ``strict=True`` raises instead of clipping."""
    steps = _validate.positive_int("steps", steps)
    _check_model(model)
    strict = _validate.flag("strict", strict)
    ab = schedule("cosine")
    return samplers.settings_grid(
        setting, steps, alphabars=ab, t_range=model.t_range, strict=strict
    )


def sample(
    key,
    model,
    n: int,
    *,
    setting="ddim",
    steps=50,
    lam=None,
    c=None,
    return_path=False,
    strict=False,
):
    r"""``n`` images from ``model`` (a :class:`~diffcourse.nets.precond.Preconditioned`), (n, H, W, C).

    One call of the one sampler (:func:`diffcourse.samplers.sample`) with the named ``setting``
    on :func:`grid` (``steps`` steps; the ``ode`` setting makes 2 steps - 1 network calls).
    ``lam``: the noise level of settings that take one (``sde``, ``ddim-eta``; default 1).
    The start is :math:`z_T\sim N(0, (t_0+\sigma_d^2) I)`, the Gaussian with the data's scale
    at the grid's first time. Returns :math:`y` on the data's [-1, 1] scale, or with
    ``return_path`` the path (len(ts), n, H, W, C) on the DDPM scale :math:`x = z\sqrt{\bar\alpha(t)}`.
    ``strict=True``: refuse (ValueError) a setting whose grid would leave the training range,
    instead of keeping the grid inside it.
    """
    n = _validate.positive_int("n", n)
    _boundary.key("key", key)
    _check_model(model)
    if lam is not None:
        _boundary.nonnegative("lam", lam)
    if not isinstance(setting, str) or setting not in samplers.SETTINGS:
        raise ValueError(f"setting must be one of {tuple(samplers.SETTINGS)}; got {setting!r}")
    step, fixed_lam, _ = samplers.SETTINGS[setting]
    if fixed_lam is not None and lam is not None and float(lam) != fixed_lam:
        raise ValueError(f"setting {setting!r} has lam = {fixed_lam}; got lam={lam}")
    lam = fixed_lam if fixed_lam is not None else (1.0 if lam is None else lam)
    ts, _ = grid(model, setting, steps, strict=strict)
    k_T, k_run = jax.random.split(key)
    scale = np.sqrt(ts[0] + model.sigma_data**2)
    z_T = scale * jax.random.normal(k_T, (n, *model.shape), jnp.float32)
    out = samplers.sample(k_run, model, z_T, ts, step=step, lam=lam, c=c, return_path=return_path)
    if not return_path:
        return out
    ab = schedules.alphabar_from_ve_time(jnp.asarray(ts, out.dtype))
    return schedules.z_to_x(out, ab.reshape(-1, *([1] * (out.ndim - 1))))


# The samplers compared at equal cost (notebook 08): name -> (setting, lam, steps for c calls).
# DDPM ancestral and DDIM make one network call per step; Heun's ``ode`` setting makes
# 2 steps - 1 (its last step is an Euler step), so c calls buy (c + 1) // 2 steps.
EQUAL_COST = {
    "DDPM (lam = 1)": ("ddim-eta", 1.0, lambda c: c),
    "DDIM (lam = 0)": ("ddim", None, lambda c: c),
    "ODE (Heun)": ("ode", None, lambda c: (c + 1) // 2),
}


def calls_of(setting: str, steps: int) -> int:
    """Network calls of ``steps`` steps of a named setting: ``2 steps - 1`` for ``ode`` (Heun with
    a final Euler step, Karras et al. 2022, Alg. 1), ``steps`` for the others."""
    steps = _validate.positive_int("steps", steps)
    if not isinstance(setting, str) or setting not in samplers.SETTINGS:
        raise ValueError(f"setting must be one of {tuple(samplers.SETTINGS)}; got {setting!r}")
    return 2 * steps - 1 if setting == "ode" else steps


def fd_against_calls(model, calls, *, seeds=(0, 1, 2), n=297, progress=False):
    r"""Sample quality against cost: for each sampler of :data:`EQUAL_COST` and each number of
    network calls in ``calls``, :func:`diffcourse.metrics.score_over_seeds` of ``n`` samples
    (seed ``s`` samples with ``jax.random.key(s)``), each sampler on the grid its setting is meant
    for, inside the model's training range (:func:`grid`).

    Returns ``{sampler: {"calls": [...], "steps": [...], "fd": [(mean, sd), ...],
    "confidence": [...], "class_entropy": [...]}}``; ``calls`` are the calls actually made (Heun's
    ``2 steps - 1`` is ``c`` for odd ``c`` and ``c - 1`` for even ``c``)."""
    from tqdm.auto import tqdm

    from diffcourse import metrics

    _check_model(model)
    calls = _validate.ints("calls", calls, minimum=1)
    seeds = _validate.ints("seeds", seeds, minimum=0)
    n = _validate.positive_int("n", n)
    progress = _validate.flag("progress", progress)
    out = {}
    jobs = [(name, c) for name in EQUAL_COST for c in calls]
    bar = tqdm(jobs, desc="samplers x calls", disable=not progress)
    for name, c in bar:
        setting, lam, steps_for = EQUAL_COST[name]
        steps = steps_for(int(c))

        def make(seed, setting=setting, lam=lam, steps=steps):
            x = sample(jax.random.key(seed), model, n, setting=setting, steps=steps, lam=lam)
            return np.asarray(x)[..., 0]

        row = metrics.score_over_seeds(make, seeds)
        rec = out.setdefault(name, {"calls": [], "steps": []} | {k: [] for k in row})
        rec["calls"].append(calls_of(setting, steps))
        rec["steps"].append(steps)
        for k, v in row.items():
            rec[k].append(v)
    return out
