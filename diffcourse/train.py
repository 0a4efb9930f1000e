"""The training loop shared by the 2-D score model (notebook 07) and the image DDPM (notebook 08).

One function, :func:`fit`, does what a diffusion trainer needs and nothing more:

* AdamW (Loshchilov & Hutter 2019) with a linear learning-rate warm-up and global-norm clipping,
  from optax;
* an exponential moving average (EMA) of the parameters, with the usual warm-up of its decay,
  :math:`\\beta_k = \\min(\\beta, (1 + k)/(10 + k))` (as in Karras et al. 2022's code and
  improved-diffusion), so short runs are not dominated by the initial weights;
* data parallelism over every visible device through ``jax.sharding``: one mesh axis ``"batch"``,
  the batch split across it, parameters and optimiser state replicated; XLA inserts the gradient
  all-reduce. The same code runs on one CPU, on ``n`` fake CPU devices, and on GPUs;
* data as any pytree of arrays with a common leading axis (an array, ``(images, labels)``, a
  dict); the batch of step ``k`` is ``jax.tree.map(lambda a: a[idx], data)``;
* reproducible batches: epoch ``e`` visits the data in the order
  ``numpy.random.default_rng([seed, e]).permutation(N)``, and step ``k`` draws its noise from
  ``jax.random.fold_in(key, k)``, so a run killed and resumed from a checkpoint gives the same
  parameters, and the same log, as an uninterrupted one;
* checkpoints in :mod:`diffcourse.checkpoint`'s format (atomic, SHA-256 over the whole file, no
  pickle). ``checkpoint.ckpt`` holds the training state; the one it replaces is kept as
  ``checkpoint.prev.ckpt`` (only a training state of the same run is ever rotated there);
* resume that never throws work away: it refuses, naming the fields, a checkpoint written with
  another config (lr, batch size, seed, ...), other data, or another ``meta`` (architecture), and
  refuses when nothing is loadable instead of starting over; ``restart=True`` starts over;
* a JSON-lines log (a partial last line, as a kill leaves, is trimmed) and a tqdm progress bar;
* the parameters as one flat vector (``jax.flatten_util.ravel_pytree``) in the training state,
  so AdamW, the EMA and the finite checks are a few operations on one array instead of a copy of
  each per parameter leaf: the compiled step has about a third of the HLO and compiles in about
  0.6x the time (9.6 s instead of 15.4 s for notebook 08's small U-Net on two cores);
* a non-finite loss, gradient or updated state freezes the parameters at their last good value
  inside the compiled step (no host round trip per step), stops the run at the next log or
  checkpoint point, and returns the last good model with ``stopped_early=True``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from diffcourse import _validate, checkpoint
from diffcourse.checkpoint import CheckpointError

CHECKPOINT = "checkpoint.ckpt"
PREVIOUS = "checkpoint.prev.ckpt"
LOG = "log.jsonl"
# TrainConfig fields a resumed run must share with the checkpoint (steps, log and checkpoint
# intervals may change: they do not change the parameters of step k).
RESUME_FIELDS = (
    "batch_size",
    "lr",
    "warmup",
    "lr_decay_steps",
    "weight_decay",
    "clip_norm",
    "ema_decay",
    "seed",
)


class ResumeError(ValueError):
    """``resume=True`` found nothing loadable, or a checkpoint of another run."""


def quick_mode() -> bool:
    """True when the environment asks for quick runs (``DIFFCOURSE_QUICK=1``, set by the tests)."""
    return os.environ.get("DIFFCOURSE_QUICK", "") == "1"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of :func:`fit`. ``checkpoint_every = 0`` writes a checkpoint only at the end.

    ``lr_decay_steps``: 0 keeps the learning rate at ``lr`` after the warm-up; N > ``warmup``
    decays it along a cosine to 0 at step N (:func:`lr_schedule`); the command line sets it to
    the run's ``steps``.

    Checked: ``steps``, ``batch_size``, ``log_every`` integers >= 1; ``warmup``,
    ``checkpoint_every``, ``seed``, ``lr_decay_steps`` integers >= 0 (Python or numpy; stored as
    given), ``lr_decay_steps`` 0 or above ``warmup``; ``lr``, ``clip_norm`` finite reals > 0;
    ``weight_decay`` finite real >= 0; ``ema_decay`` a real in [0, 1).
    """

    steps: int
    batch_size: int = 128
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.0
    clip_norm: float = 1.0
    ema_decay: float = 0.999
    log_every: int = 100
    checkpoint_every: int = 0
    seed: int = 0
    lr_decay_steps: int = 0

    def __post_init__(self):
        for name in ("steps", "batch_size", "log_every"):
            _validate.integer(name, getattr(self, name), minimum=1)
        for name in ("warmup", "checkpoint_every", "seed", "lr_decay_steps"):
            _validate.integer(name, getattr(self, name), minimum=0)
        if 0 < self.lr_decay_steps <= self.warmup:
            raise ValueError(
                "lr_decay_steps must be 0 (no decay) or more than warmup "
                f"({self.warmup}); got {self.lr_decay_steps}"
            )
        for name in ("lr", "clip_norm"):
            _validate.real(name, getattr(self, name), low=0.0, low_open=True)
        _validate.real("weight_decay", self.weight_decay, low=0.0)
        _validate.real("ema_decay", self.ema_decay, low=0.0, high=1.0, high_open=True)

    def to_json(self) -> dict:
        """The fields as plain Python numbers (numpy scalars converted), as stored in a checkpoint."""
        return checkpoint.encode_meta(dataclasses.asdict(self))


@dataclasses.dataclass
class TrainResult:
    """What :func:`fit` returns. ``history`` holds numpy arrays ``step`` and ``loss`` (every step)."""

    model: eqx.Module
    ema_model: eqx.Module
    history: dict
    steps_done: int
    stopped_early: bool = False
    message: str = ""


# --------------------------------------------------------------------------------------------
# optimiser, state and the compiled step


def lr_schedule(config: TrainConfig):
    r"""The learning rate at step :math:`k` (0-based; a float or an optax schedule). With
    :math:`W` = ``warmup``, :math:`N` = ``lr_decay_steps``, :math:`\eta` = ``lr``:

    .. math:: \eta_k = \eta\,\frac{k}{W}\ (k < W),\qquad
              \eta_k = \frac{\eta}{2}\Big(1 + \cos\frac{\pi (k - W)}{N - W}\Big)\ (W \le k \le N),
              \qquad \eta_k = 0\ (k > N),

    the linear warm-up of Goyal et al. (2017) and the cosine decay of Loshchilov & Hutter (2017,
    SGDR, eq. 5, one cycle, no restart); with :math:`N = 0` the rate stays at :math:`\eta` after
    the warm-up (a float when there is no warm-up either)."""
    _check_config(config)
    lr, warmup, n = float(config.lr), int(config.warmup), int(config.lr_decay_steps)
    if n > 0 and warmup > 0:
        return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, n)
    if n > 0:
        return optax.cosine_decay_schedule(lr, n)
    if warmup > 0:
        return optax.linear_schedule(0.0, lr, transition_steps=warmup)
    return lr


def optimizer(config: TrainConfig) -> optax.GradientTransformation:
    r"""Global-norm clipping then AdamW at the learning rate of :func:`lr_schedule` (a linear
    warm-up from 0 to ``lr`` over ``warmup`` steps, then constant or a cosine to 0)."""
    lr = lr_schedule(config)
    return optax.chain(
        optax.clip_by_global_norm(float(config.clip_norm)),
        optax.adamw(lr, weight_decay=float(config.weight_decay)),
    )


def _flat(model: eqx.Module):
    """``(flat, unravel, static)``: the floating-point arrays of ``model`` as one vector, the map
    back to their tree, and the rest of the module (``eqx.combine(unravel(flat), static)`` is
    ``model``)."""
    params, static = eqx.partition(model, eqx.is_inexact_array)
    if not jax.tree.leaves(params):
        raise _validate.fail(
            "model", "an equinox module holding floating-point arrays", type(model).__name__
        )
    flat, unravel = ravel_pytree(params)
    return flat, unravel, static


def unflatten(model: eqx.Module, flat) -> eqx.Module:
    """``model`` with its floating-point arrays replaced by the flat vector ``flat`` of a
    training state (``state["params"]`` or ``state["ema"]``)."""
    like, unravel, static = _flat(model)
    if not hasattr(flat, "shape") or tuple(flat.shape) != like.shape:
        got = f"shape {tuple(flat.shape)}" if hasattr(flat, "shape") else type(flat).__name__
        raise _validate.fail(
            "flat", f"an array of shape {like.shape} (the model's parameters)", got
        )
    return eqx.combine(unravel(flat), static)


def init_state(model: eqx.Module, opt: optax.GradientTransformation) -> dict:
    """The training state: parameters (one flat vector, see :func:`unflatten`), optimiser state,
    EMA, step counter, finite flag."""
    if not (hasattr(opt, "init") and hasattr(opt, "update")):
        raise _validate.fail("opt", "an optax GradientTransformation", type(opt).__name__)
    flat, _, _ = _flat(model)
    # Copies: the compiled step donates the state's buffers, and the caller keeps ``model``.
    return {
        "params": jnp.copy(flat),
        "opt_state": opt.init(flat),
        "ema": jnp.copy(flat),
        "step": jnp.zeros((), jnp.int32),
        "finite": jnp.ones((), bool),
    }


def data_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: every visible device) with axis name ``"batch"``."""
    devices = jax.devices() if devices is None else devices
    if isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__"):
        raise _validate.fail("devices", "a non-empty list of jax devices", repr(devices))
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise _validate.fail("devices", "a non-empty list of jax devices", devices)
    return Mesh(np.asarray(devices), ("batch",))


def _all_finite(tree):
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.ones((), bool)


def make_step(model: eqx.Module, loss_fn, opt, ema_decay: float, mesh: Mesh):
    """Compile one step ``step(state, batch, key) -> (state, (loss, grad_norm, ok))``.

    The batch is split over the mesh axis ``"batch"``; state and key are replicated. The noise of
    step ``k`` is ``fold_in(key, k)``. ``ok`` is False when the loss, the gradient, the updated
    parameters, optimiser state or EMA are not finite: the state is then returned unchanged except
    ``finite = False``, and every later step is a no-op.
    """
    _, unravel, static = _flat(model)
    ema_decay = _validate.real("ema_decay", ema_decay, low=0.0, high=1.0, high_open=True)
    _check_callable("loss_fn", loss_fn)
    if not isinstance(mesh, Mesh) or "batch" not in mesh.axis_names:
        raise _validate.fail("mesh", 'a jax Mesh with an axis "batch" (data_mesh())', repr(mesh))
    if not (hasattr(opt, "init") and hasattr(opt, "update")):
        raise _validate.fail("opt", "an optax GradientTransformation", type(opt).__name__)

    def step(state, batch, key):
        step_key = jax.random.fold_in(key, state["step"])

        def loss_of(params):
            return loss_fn(eqx.combine(unravel(params), static), step_key, batch)

        loss, grads = jax.value_and_grad(loss_of)(state["params"])
        grad_norm = optax.global_norm(grads)
        updates, opt_state = opt.update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        k = state["step"].astype(jnp.result_type(float))
        beta = jnp.minimum(ema_decay, (1.0 + k) / (10.0 + k))
        ema = (beta * state["ema"] + (1.0 - beta) * params).astype(params.dtype)
        ok = (
            state["finite"]
            & jnp.isfinite(loss)
            & jnp.isfinite(grad_norm)
            & _all_finite((params, opt_state, ema))
        )
        keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)
        new_state = {
            "params": keep(params, state["params"]),
            "opt_state": keep(opt_state, state["opt_state"]),
            "ema": keep(ema, state["ema"]),
            "step": state["step"] + ok.astype(jnp.int32),
            "finite": ok,
        }
        return new_state, (loss, grad_norm, ok)

    replicated = NamedSharding(mesh, P())
    return jax.jit(
        step,
        in_shardings=(replicated, NamedSharding(mesh, P("batch")), replicated),
        out_shardings=(replicated, replicated),
        donate_argnums=0,
    )


_STEPS: dict = {}  # compiled steps, newest last (at most _MAX_STEPS)
_MAX_STEPS = 8


def _step_for(model, loss_fn, config, mesh):
    """:func:`make_step` for this model structure, loss, optimiser and mesh, compiled once.

    Two ``fit`` calls with the same network structure (its static part: the tree and every
    non-array field), the same ``loss_fn`` object, the same optimiser fields and EMA decay
    share one jitted step, so the second call does not recompile (about 11 s for the course's
    small U-Net on two CPU cores). Anything unhashable falls back to a fresh step."""
    params, static = eqx.partition(model, eqx.is_inexact_array)
    leaves, treedef = jax.tree.flatten(static)
    shapes = tuple((p.shape, str(p.dtype)) for p in jax.tree.leaves(params))
    fields = (config.lr, config.warmup, config.lr_decay_steps, config.clip_norm)
    fields += (config.weight_decay, config.ema_decay)
    key = (treedef, tuple(leaves), shapes, loss_fn, tuple(float(f) for f in fields), mesh)
    try:
        hash(key)
    except TypeError:
        return make_step(model, loss_fn, optimizer(config), config.ema_decay, mesh)
    if key not in _STEPS:
        while len(_STEPS) >= _MAX_STEPS:
            _STEPS.pop(next(iter(_STEPS)))
        _STEPS[key] = make_step(model, loss_fn, optimizer(config), config.ema_decay, mesh)
    return _STEPS[key]


def batch_indices(n_data: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Indices of the batch of step ``step``: shuffled epochs, the last partial batch dropped.

    Epoch ``e = step // (n_data // batch_size)`` is ``default_rng([seed, e]).permutation(n_data)``.
    Checked: ``n_data``, ``batch_size`` integers >= 1 with ``batch_size <= n_data``; ``seed``,
    ``step`` integers >= 0.
    """
    n_data = _validate.integer("n_data", n_data, minimum=1)
    batch_size = _validate.integer("batch_size", batch_size, minimum=1, maximum=n_data)
    seed = _validate.integer("seed", seed, minimum=0)
    step = _validate.integer("step", step, minimum=0)
    return _EpochOrder(n_data, batch_size, seed).indices(step)


class _EpochOrder:
    """:func:`batch_indices` with the current epoch's permutation kept (one per epoch, not per step)."""

    def __init__(self, n_data, batch_size, seed):
        self.n, self.b, self.seed = n_data, batch_size, seed
        self.per_epoch = n_data // batch_size
        self.epoch, self.order = None, None

    def indices(self, step):
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self.epoch:
            self.epoch = epoch
            self.order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return self.order[i * self.b : (i + 1) * self.b]


# --------------------------------------------------------------------------------------------
# checkpoints: the file format is diffcourse.checkpoint; these names stay for ddpm.py's callers


def _resolve(path) -> pathlib.Path:
    path = _validate._as_path("path", path)
    return path / CHECKPOINT if path.is_dir() or path.suffix == "" else path


def save_checkpoint(path, tree, meta: dict | None = None) -> pathlib.Path:
    """:func:`diffcourse.checkpoint.save` (no rotation); a folder means ``folder/checkpoint.ckpt``."""
    return checkpoint.save(_resolve(path), tree, meta)


def read_meta(path) -> dict:
    """:func:`diffcourse.checkpoint.read_meta`; a folder means ``folder/checkpoint.ckpt``."""
    return checkpoint.read_meta(_resolve(path))


def load_checkpoint(path, like):
    """:func:`diffcourse.checkpoint.load`; a folder means ``folder/checkpoint.ckpt``."""
    return checkpoint.load(_resolve(path), like)


# --------------------------------------------------------------------------------------------
# checks, the stored meta, resume and the log


def _check_callable(name, f):
    if not callable(f):
        raise _validate.fail(name, "a function loss_fn(model, key, batch) -> scalar", repr(f))


def _check_config(config):
    if not isinstance(config, TrainConfig):
        raise _validate.fail("config", "a diffcourse.train.TrainConfig", type(config).__name__)


def _check_data(data, batch_size: int, n_devices: int):
    """``data`` as a pytree of numpy arrays sharing the leading axis N >= batch_size; return (data, N)."""
    leaves, treedef = jax.tree.flatten(data)
    if not leaves:
        raise _validate.fail("data", "an array or a pytree of arrays", type(data).__name__)
    arrays = []
    for a in leaves:
        a = np.asarray(a)
        if a.dtype.kind not in "biuf" or a.ndim < 1:
            raise _validate.fail(
                "data", "arrays of numbers of shape (N, ...)", f"{a.dtype} {a.shape}"
            )
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ValueError("data contains NaN or inf; data must be finite")
        arrays.append(a)
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        shapes = [a.shape for a in arrays]
        raise _validate.fail("data", "arrays with a common leading axis N", shapes)
    if n < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the data set ({n} items)")
    if batch_size % n_devices:
        raise ValueError(f"batch_size {batch_size} must be divisible by the {n_devices} devices")
    return jax.tree.unflatten(treedef, arrays), n


def _fingerprint(data, n) -> dict:
    """What a resumed run must share with the checkpoint's data: N, shapes, dtypes, SHA-256."""
    h = hashlib.sha256()
    leaves = jax.tree.leaves(data)
    for a in leaves:
        h.update(np.ascontiguousarray(a).tobytes())
    return {
        "n": int(n),
        "leaves": [[str(a.dtype), list(a.shape[1:])] for a in leaves],
        "sha256": h.hexdigest(),
    }


def _mismatch(stored: dict, given: dict) -> list[str]:
    """The names of the fields in which a checkpoint's meta differs from this run's."""
    names = []
    config_s, config_g = stored.get("config", {}), given["config"]
    # a field a checkpoint predates (lr_decay_steps) has the value it then had: the default
    default = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    names += [
        f"config.{f}"
        for f in RESUME_FIELDS
        if config_s.get(f, default[f]) != config_g.get(f, default[f])
    ]
    for k in sorted(set(given) | set(stored)):
        if k in ("config", "step", "pending") or stored.get(k) == given.get(k):
            continue
        names.append(k)
    return names


def _candidates(out_dir: pathlib.Path):
    """Checkpoints of the training state, newest first, each with its header or why it is unusable."""
    for name in (CHECKPOINT, PREVIOUS):
        path = out_dir / name
        if not path.exists():
            yield path, None, "missing"
            continue
        try:
            meta = checkpoint.read_meta(path)
        except CheckpointError as err:
            yield path, None, str(err)
            continue
        if "config" not in meta or "step" not in meta:
            yield path, None, f"{path} is not a training state (no config or step in its meta)"
            continue
        yield path, meta, ""


def check_resumable(out_dir, stored: dict) -> tuple[pathlib.Path, dict]:
    """The checkpoint in ``out_dir`` that a run with meta ``stored`` resumes from: ``(path, meta)``.

    The newest readable training state is used; a corrupt newest falls back to
    ``checkpoint.prev.ckpt`` with a warning. Raises :class:`ResumeError` when nothing is loadable,
    or when the checkpoint was written with another config, data or meta (naming the fields).
    """
    out_dir = _validate._as_path("out_dir", out_dir)
    if not isinstance(stored, dict) or not isinstance(stored.get("config"), dict):
        raise _validate.fail("stored", "a run's meta: a dict with a 'config' dict", repr(stored))
    reasons = []
    for path, meta, why in _candidates(out_dir):
        if meta is None:
            if why != "missing":
                warnings.warn(f"skipping unreadable checkpoint: {why}", RuntimeWarning, 3)
            reasons.append(f"{path.name}: {why}")
            continue
        fields = _mismatch(meta, stored)
        if fields:
            raise ResumeError(
                f"cannot resume from {path}: it was written with other settings "
                f"({', '.join(fields)}); resume with the same settings, or restart "
                "(--restart / restart=True) to start over"
            )
        return path, meta
    raise ResumeError(
        f"nothing to resume in {out_dir} ({'; '.join(reasons)}); start a fresh run with "
        "--restart / restart=True, or point --out elsewhere"
    )


def _prepare_out_dir(out_dir: pathlib.Path, resume: bool, restart: bool):
    """Refuse to mix two runs in ``out_dir``; ``restart`` deletes the old run's files."""
    files = [out_dir / n for n in (CHECKPOINT, PREVIOUS, CHECKPOINT + ".tmp", LOG)]
    if restart:
        for f in files:
            f.unlink(missing_ok=True)
    elif not resume and any(f.exists() for f in files[:2]):
        raise ValueError(
            f"out_dir {out_dir} already holds a training run ({CHECKPOINT}); pass resume=True "
            "(--resume) to continue it or restart=True (--restart) to start over"
        )
    if not resume:
        out_dir.mkdir(parents=True, exist_ok=True)


def _trim_log(log_path: pathlib.Path, last_step: int):
    """Drop log lines written after the checkpoint we resume from, and any unreadable line.

    The rewrite is atomic. A partial last line (a kill during a write) is dropped, not an error.
    """
    if not log_path.exists():
        return
    kept = []
    for line in log_path.read_bytes().decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            if record["step"] <= last_step:
                kept.append(line + "\n")
    checkpoint.write_atomic(log_path, "".join(kept).encode())


# --------------------------------------------------------------------------------------------
# the loop


def _start(out_dir, resume, restart, like, stored):
    """(tree, pending) to start from: a fresh ``like`` or the checkpoint ``resume`` finds."""
    if out_dir is None:
        return like, []
    _prepare_out_dir(out_dir, resume, restart)
    if not resume:
        (out_dir / LOG).write_bytes(b"")
        return like, []
    path, meta = check_resumable(out_dir, stored)
    try:
        tree, meta = checkpoint.load(path, like)
    except CheckpointError as err:
        raise ResumeError(f"cannot resume: {err}") from None
    _trim_log(out_dir / LOG, int(meta["step"]))
    stored_pending = meta.get("pending") or {"dtype": "float32", "values": []}
    as_dtype = np.dtype(stored_pending["dtype"]).type
    pending = [(as_dtype(a), as_dtype(b), True) for a, b in stored_pending["values"]]
    return tree, pending


def _device_batches(data, n, config, start, sharding):
    """The batches of steps ``start..steps-1`` on the devices, each put there one step ahead."""
    order = _EpochOrder(n, int(config.batch_size), int(config.seed))
    put = lambda k: jax.device_put(jax.tree.map(lambda a: a[order.indices(k)], data), sharding)
    nxt = put(start) if start < config.steps else None
    for k in range(start, int(config.steps)):
        batch, nxt = nxt, (put(k + 1) if k + 1 < config.steps else None)
        yield k, batch


class _Log:
    """Per-step losses and the log lines: a line every ``log_every`` steps (mean since the last)."""

    def __init__(self, out_dir, pending, t0):
        self.path = None if out_dir is None else out_dir / LOG
        self.pending, self.losses, self.t0 = list(pending), [], t0

    def add(self, step_out):
        self.pending.append(step_out)

    def fetch(self):
        """Bring pending values to the host; return the step offset of the first non-finite one."""
        got = jax.device_get(self.pending)
        self.pending = [(np.asarray(a)[()], np.asarray(b)[()], bool(c)) for a, b, c in got]
        bad = [i for i, p in enumerate(self.pending) if not p[2]]
        return bad[0] - len(self.pending) if bad else None

    def write(self, done):
        block = np.asarray([(a, b) for a, b, _ in self.pending])
        if self.path is not None:
            record = {
                "step": done,
                "loss": float(block[:, 0].mean()),
                "grad_norm": float(block[:, 1].mean()),
                "seconds": round(time.perf_counter() - self.t0, 3),
            }
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.pending = []
        return float(block[:, 0].mean())

    def pending_meta(self):
        vals = [[a.item(), b.item()] for a, b, _ in self.pending]
        dtype = str(self.pending[0][0].dtype) if self.pending else "float32"
        return {"dtype": dtype, "values": vals}


def _loop(step_fn, state, key_data, batches, config, out_dir, stored, log, bar):
    """Run the steps; return ``(state, stopped, message)``."""
    first = None
    for k, batch in batches:
        state, out = step_fn(state, batch, key_data)
        log.add(out)
        log.losses.append(out[0])
        first = k if first is None else first
        done = k + 1
        at_log = done % config.log_every == 0 or done == config.steps
        at_ckpt = out_dir is not None and (
            (config.checkpoint_every and done % config.checkpoint_every == 0)
            or done == config.steps
        )
        if not (at_log or at_ckpt):
            continue
        bad = log.fetch()
        if bad is not None:
            bad += done
            message = (
                f"training stopped: the loss, gradient or updated parameters were not finite at "
                f"step {bad + 1}; returning the parameters after step {bad} (the last good ones)"
            )
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            return state, True, message
        if at_log:
            bar.set_postfix(loss=f"{log.write(done):.4g}")
        bar.update(done - bar.n)
        if at_ckpt:
            meta = {**stored, "step": done, "pending": log.pending_meta()}
            checkpoint.save(
                out_dir / CHECKPOINT,
                {"state": state, "key": key_data},
                meta,
                previous=out_dir / PREVIOUS,
            )
    return state, False, ""


def fit(
    key,
    model: eqx.Module,
    loss_fn,
    data,
    config: TrainConfig,
    *,
    out_dir=None,
    resume: bool = False,
    restart: bool = False,
    progress: bool = True,
    meta: dict | None = None,
) -> TrainResult:
    """Train ``model`` to minimise ``loss_fn(model, key, batch)`` over batches of ``data``.

    ``key``: a PRNG key, the source of every step's noise (stored in the checkpoint; on resume the
    stored key is used). ``data``: an array ``(N, ...)`` or a pytree of arrays sharing the leading
    axis N (e.g. ``(images, labels)``); ``batch`` has the same structure. ``out_dir``: where
    ``checkpoint.ckpt`` and ``log.jsonl`` go (nothing is written when ``None``). ``resume=True``
    continues from the checkpoint in ``out_dir`` to ``config.steps`` steps in all, with the result
    of an uninterrupted run; it raises :class:`ResumeError` when nothing is loadable or the
    checkpoint's config, data or ``meta`` differ. ``restart=True`` deletes the run in ``out_dir``
    and starts over; without either, an ``out_dir`` holding a run is refused. ``meta`` (JSON
    values) is stored in the checkpoint beside the config.
    """
    from tqdm.auto import tqdm

    _check_config(config)
    key = _validate.key("key", key)
    _check_callable("loss_fn", loss_fn)
    resume, restart = _validate.flag("resume", resume), _validate.flag("restart", restart)
    if resume and restart:
        raise ValueError("resume and restart exclude each other; got both True")
    if (resume or restart) and out_dir is None:
        raise ValueError("resume=True needs out_dir, the folder holding the checkpoint")
    mesh = data_mesh()
    data, n = _check_data(data, int(config.batch_size), mesh.size)
    out_dir = None if out_dir is None else _validate._as_path("out_dir", out_dir)
    stored = {
        "config": config.to_json(),
        "data_fingerprint": _fingerprint(data, n),
        **checkpoint.encode_meta(meta),
    }

    opt = optimizer(config)
    is_key = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    like = {"state": init_state(model, opt), "key": jax.random.key_data(key) if is_key else key}
    tree, pending = _start(out_dir, resume, restart, like, stored)
    state, key_data = tree["state"], jnp.asarray(tree["key"])
    start = int(state["step"])

    replicated = NamedSharding(mesh, P())
    state = jax.device_put(state, replicated)
    step_fn = _step_for(model, loss_fn, config, mesh)
    batches = _device_batches(data, n, config, start, NamedSharding(mesh, P("batch")))
    log = _Log(out_dir, pending, time.perf_counter())
    with tqdm(total=config.steps, initial=start, disable=not progress, desc="train") as bar:
        state, stopped, message = _loop(
            step_fn, state, key_data, batches, config, out_dir, stored, log, bar
        )
    return _result(model, state, start, log.losses, stopped, message)


def _result(model, state, start, losses, stopped, message) -> TrainResult:
    losses = np.asarray(jax.device_get(losses))
    return TrainResult(
        model=unflatten(model, state["params"]),
        ema_model=unflatten(model, state["ema"]),
        history={"step": np.arange(start + 1, start + 1 + len(losses)), "loss": losses},
        steps_done=int(state["step"]),
        stopped_early=stopped,
        message=message,
    )
