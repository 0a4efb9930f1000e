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
* reproducible batches: epoch ``e`` visits the data in the order
  ``numpy.random.default_rng([seed, e]).permutation(N)``, and step ``k`` draws its noise from
  ``jax.random.fold_in(key, k)``, so a run killed and resumed from a checkpoint gives the same
  parameters as an uninterrupted one;
* atomic checkpoints (write to a temporary file, fsync, rename) in a safe format: a JSON header
  with a SHA-256 of the payload, then equinox's leaf serialisation (``numpy.save`` per leaf, loaded
  with ``allow_pickle=False``); the previous checkpoint is kept as ``checkpoint.prev.ckpt``;
* a JSON-lines log and a tqdm progress bar;
* a non-finite loss freezes the parameters at their last good value inside the compiled step
  (no host round trip per step), stops the run at the next log point, and returns the last good
  model with ``stopped_early=True``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pathlib
import struct
import time
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from diffcourse import _validate

CHECKPOINT = "checkpoint.ckpt"
PREVIOUS = "checkpoint.prev.ckpt"
LOG = "log.jsonl"
_MAGIC = b"DIFFCOURSE-CKPT\n"


def quick_mode() -> bool:
    """True when the environment asks for quick runs (``DIFFCOURSE_QUICK=1``, set by the tests)."""
    return os.environ.get("DIFFCOURSE_QUICK", "") == "1"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of :func:`fit`. ``checkpoint_every = 0`` writes a checkpoint only at the end."""

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

    def __post_init__(self):
        _validate.positive_int("steps", self.steps)
        _validate.positive_int("batch_size", self.batch_size)
        _validate.positive_int("log_every", self.log_every)
        _validate.positive("lr", self.lr)
        _validate.positive("clip_norm", self.clip_norm)
        _validate.nonnegative("weight_decay", self.weight_decay)
        for name in ("warmup", "checkpoint_every", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1); got {self.ema_decay!r}")


@dataclasses.dataclass
class TrainResult:
    """What :func:`fit` returns. ``history`` holds numpy arrays ``step`` and ``loss`` (every step)."""

    model: eqx.Module
    ema_model: eqx.Module
    history: dict
    steps_done: int
    stopped_early: bool = False
    message: str = ""


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, or does not fit the model."""


# --------------------------------------------------------------------------------------------
# optimiser, state and the compiled step


def optimizer(config: TrainConfig) -> optax.GradientTransformation:
    r"""Global-norm clipping then AdamW with a linear warm-up from 0 to ``lr`` over ``warmup`` steps."""
    if config.warmup > 0:
        lr = optax.linear_schedule(0.0, config.lr, transition_steps=config.warmup)
    else:
        lr = config.lr
    return optax.chain(
        optax.clip_by_global_norm(config.clip_norm),
        optax.adamw(lr, weight_decay=config.weight_decay),
    )


def init_state(model: eqx.Module, opt: optax.GradientTransformation) -> dict:
    """The training state: parameters, optimiser state, EMA, step counter, finite flag."""
    params, _ = eqx.partition(model, eqx.is_inexact_array)
    # Copies: the compiled step donates the state's buffers, and the caller keeps ``model``.
    params = jax.tree.map(jnp.copy, params)
    return {
        "params": params,
        "opt_state": opt.init(params),
        "ema": jax.tree.map(jnp.copy, params),
        "step": jnp.zeros((), jnp.int32),
        "finite": jnp.ones((), bool),
    }


def data_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: every visible device) with axis name ``"batch"``."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("batch",))


def make_step(model: eqx.Module, loss_fn, opt, ema_decay: float, mesh: Mesh):
    """Compile one training step ``step(state, batch, key) -> (state, (loss, grad_norm))``.

    The batch is split over the mesh axis ``"batch"``; state and key are replicated. The noise of
    step ``k`` is ``fold_in(key, k)``. If the loss is not finite the state is returned unchanged
    except ``finite = False``, and every later step is a no-op.
    """
    _, static = eqx.partition(model, eqx.is_inexact_array)

    def step(state, batch, key):
        step_key = jax.random.fold_in(key, state["step"])

        def loss_of(params):
            return loss_fn(eqx.combine(params, static), step_key, batch)

        loss, grads = jax.value_and_grad(loss_of)(state["params"])
        updates, opt_state = opt.update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        k = state["step"].astype(jnp.result_type(float))
        beta = jnp.minimum(ema_decay, (1.0 + k) / (10.0 + k))
        ema = jax.tree.map(
            lambda e, p: (beta * e + (1.0 - beta) * p).astype(e.dtype), state["ema"], params
        )
        ok = state["finite"] & jnp.isfinite(loss)
        keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)
        new_state = {
            "params": keep(params, state["params"]),
            "opt_state": keep(opt_state, state["opt_state"]),
            "ema": keep(ema, state["ema"]),
            "step": state["step"] + ok.astype(jnp.int32),
            "finite": ok,
        }
        return new_state, (loss, optax.global_norm(grads))

    replicated = NamedSharding(mesh, P())
    return jax.jit(
        step,
        in_shardings=(replicated, NamedSharding(mesh, P("batch")), replicated),
        out_shardings=(replicated, replicated),
        donate_argnums=0,
    )


def batch_indices(n_data: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Indices of the batch of step ``step``: shuffled epochs, the last partial batch dropped."""
    per_epoch = n_data // batch_size
    epoch, i = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n_data)
    return order[i * batch_size : (i + 1) * batch_size]


# --------------------------------------------------------------------------------------------
# checkpoints


def _resolve(path) -> pathlib.Path:
    path = pathlib.Path(path)
    return path / CHECKPOINT if path.is_dir() else path


def save_checkpoint(path, tree, meta: dict | None = None) -> pathlib.Path:
    """Write ``tree`` (a pytree of arrays) and a JSON-able ``meta`` to ``path`` atomically.

    Layout: magic line, 8-byte little-endian header length, JSON header (``meta``, payload size,
    SHA-256), payload (``equinox.tree_serialise_leaves``). The file is written to a temporary name,
    fsynced and renamed, so a reader sees either the old file or the new one, never half of one.
    An existing file at ``path`` is kept as ``checkpoint.prev.ckpt`` beside it.
    """
    path = pathlib.Path(path)
    if path.is_dir() or path.suffix == "":
        path = path / CHECKPOINT
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    payload = buffer.getvalue()
    header = {
        "format": 1,
        "meta": meta or {},
        "payload_bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    head = json.dumps(header, sort_keys=True).encode()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(_MAGIC + struct.pack("<Q", len(head)) + head + payload)
        f.flush()
        os.fsync(f.fileno())
    if path.exists():
        os.replace(path, path.with_name(PREVIOUS))
    os.replace(tmp, path)
    return path


def _read(path) -> tuple[dict, bytes]:
    path = _resolve(path)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}: expected a file written by save_checkpoint"
        )
    raw = path.read_bytes()
    n = len(_MAGIC)
    if raw[:n] != _MAGIC or len(raw) < n + 8:
        raise CheckpointError(f"{path} is not a diffcourse checkpoint (wrong magic bytes)")
    (head_len,) = struct.unpack("<Q", raw[n : n + 8])
    try:
        header = json.loads(raw[n + 8 : n + 8 + head_len])
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is corrupt: its header is not valid JSON ({err})") from None
    payload = raw[n + 8 + head_len :]
    if len(payload) != header.get("payload_bytes"):
        raise CheckpointError(
            f"{path} is truncated or corrupt: expected {header.get('payload_bytes')} payload "
            f"bytes, found {len(payload)}"
        )
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CheckpointError(f"{path} is corrupt: the payload's SHA-256 does not match its header")
    return header, payload


def read_meta(path) -> dict:
    """The ``meta`` dict stored with a checkpoint (e.g. the model's keyword arguments)."""
    return _read(path)[0]["meta"]


def load_checkpoint(path, like):
    """Load the pytree saved at ``path`` into the structure of ``like``; return ``(tree, meta)``.

    Raises :class:`CheckpointError` (a ``ValueError``) for a missing, truncated or corrupt file,
    or one whose arrays do not fit ``like`` (another model size).
    """
    header, payload = _read(path)
    try:
        tree = eqx.tree_deserialise_leaves(io.BytesIO(payload), like)
    except Exception as err:  # equinox raises several types for a mismatched tree
        raise CheckpointError(
            f"{_resolve(path)} does not fit the model it is loaded into: {err}"
        ) from None
    return tree, header["meta"]


# --------------------------------------------------------------------------------------------
# the loop


def _resume(out_dir: pathlib.Path, like):
    """Load the newest readable checkpoint in ``out_dir``, falling back to the previous one."""
    for name in (CHECKPOINT, PREVIOUS):
        if not (out_dir / name).exists():
            continue
        try:
            return load_checkpoint(out_dir / name, like)
        except CheckpointError as err:
            warnings.warn(f"skipping unreadable checkpoint: {err}", RuntimeWarning, stacklevel=3)
    return None


def _trim_log(log_path: pathlib.Path, last_step: int):
    """Drop log lines written after the checkpoint we resume from."""
    if not log_path.exists():
        return
    lines = [ln for ln in log_path.read_text().splitlines() if ln.strip()]
    kept = [ln for ln in lines if json.loads(ln).get("step", 0) <= last_step]
    log_path.write_text("".join(ln + "\n" for ln in kept))


def fit(
    key,
    model: eqx.Module,
    loss_fn,
    data,
    config: TrainConfig,
    *,
    out_dir=None,
    resume: bool = False,
    progress: bool = True,
    meta: dict | None = None,
) -> TrainResult:
    """Train ``model`` to minimise ``loss_fn(model, key, batch)`` over batches of ``data``.

    ``key``: a PRNG key, the source of every step's noise (stored in the checkpoint and reused on
    resume). ``data``: an array ``(N, ...)`` in memory. ``out_dir``: where ``checkpoint.ckpt`` and
    ``log.jsonl`` go (nothing is written when ``None``). ``resume=True`` continues from the
    checkpoint in ``out_dir`` if there is one, to ``config.steps`` steps in all; the result equals
    that of an uninterrupted run. ``meta`` is stored in the checkpoint beside the config.
    """
    from tqdm.auto import tqdm

    data = np.asarray(data)
    if data.ndim < 2:
        raise ValueError(f"data must have shape (N, ...) with a feature axis; got {data.shape}")
    if data.shape[0] < config.batch_size:
        raise ValueError(
            f"batch_size {config.batch_size} is larger than the data set ({data.shape[0]} items)"
        )
    if not np.all(np.isfinite(data)):
        raise ValueError("data contains NaN or inf")
    mesh = data_mesh()
    if config.batch_size % mesh.size:
        raise ValueError(
            f"batch_size {config.batch_size} must be divisible by the {mesh.size} devices"
        )
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir, the folder holding the checkpoint")

    opt = optimizer(config)
    state = init_state(model, opt)
    key_data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    out_dir = None if out_dir is None else pathlib.Path(out_dir)
    stored_meta = {"config": dataclasses.asdict(config), **(meta or {})}
    if resume:
        loaded = _resume(out_dir, {"state": state, "key": key_data})
        if loaded is not None:
            state, key_data = loaded[0]["state"], loaded[0]["key"]
            _trim_log(out_dir / LOG, int(state["step"]))
    key_data = jnp.asarray(key_data)
    start = int(state["step"])

    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P("batch"))
    state = jax.device_put(state, replicated)
    step_fn = make_step(model, loss_fn, opt, config.ema_decay, mesh)

    losses, pending, stopped, message = [], [], False, ""
    log_file = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(out_dir / LOG, "a")
    bar = tqdm(total=config.steps, initial=start, disable=not progress, desc="train")
    t0 = time.perf_counter()
    try:
        for k in range(start, config.steps):
            idx = batch_indices(len(data), config.batch_size, config.seed, k)
            batch = jax.device_put(data[idx], batch_sharding)
            state, (loss, grad_norm) = step_fn(state, batch, key_data)
            pending.append((loss, grad_norm))
            done = k + 1
            at_log = done % config.log_every == 0 or done == config.steps
            at_ckpt = config.checkpoint_every and done % config.checkpoint_every == 0
            if not (at_log or at_ckpt):
                continue
            block = np.asarray(jax.device_get(pending))
            pending = []
            losses.extend(block[:, 0].tolist())
            if not bool(state["finite"]):
                bad = done - len(block) + int(np.argmin(np.isfinite(block[:, 0])))
                message = (
                    f"training stopped: the loss was not finite at step {bad + 1}; "
                    f"returning the parameters after step {bad} (the last good ones)"
                )
                stopped = True
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                break
            bar.update(len(block))
            bar.set_postfix(loss=f"{block[:, 0].mean():.4g}")
            if log_file is not None and at_log:
                record = {
                    "step": done,
                    "loss": float(block[:, 0].mean()),
                    "grad_norm": float(block[:, 1].mean()),
                    "seconds": round(time.perf_counter() - t0, 3),
                }
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
            if out_dir is not None and (at_ckpt or done == config.steps):
                tree = {"state": state, "key": key_data}
                save_checkpoint(out_dir / CHECKPOINT, tree, {**stored_meta, "step": done})
    finally:
        bar.close()
        if log_file is not None:
            log_file.close()

    _, static = eqx.partition(model, eqx.is_inexact_array)
    steps_done = int(state["step"])
    history = {
        "step": np.arange(start + 1, start + 1 + len(losses)),
        "loss": np.asarray(losses),
    }
    return TrainResult(
        model=eqx.combine(state["params"], static),
        ema_model=eqx.combine(state["ema"], static),
        history=history,
        steps_done=steps_done,
        stopped_early=stopped,
        message=message,
    )
