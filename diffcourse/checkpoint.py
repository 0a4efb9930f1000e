"""The checkpoint file: a pytree of arrays and a JSON ``meta``, written atomically, checked whole.

Format 2 (written by :func:`save`)::

    b"DIFFCOURSE-CKPT2\\n"                      magic line
    <8-byte little-endian header length>
    <JSON header: {"format": 2, "meta": ..., "payload_bytes": n}>
    <payload: equinox.tree_serialise_leaves, one numpy .npy record per leaf>
    <32 bytes: SHA-256 of every byte above>

The SHA-256 covers the magic, the header (so the ``meta`` that rebuilds a model) and the payload:
flipping any byte of the file is detected before anything in it is trusted. Format 1 (the shipped
digits model, ``b"DIFFCOURSE-CKPT\\n"``) kept the hash in the header and covered the payload only;
it is still read.

Safety: no pickle anywhere. Each leaf's ``.npy`` header is read and compared with the skeleton's
shape and dtype *before* its data is allocated, so a crafted file cannot make the loader allocate
more than the model it is loaded into; the JSON header is bounded by :data:`MAX_HEADER_BYTES`.
Writes go to ``path.tmp``, are fsynced, renamed over ``path`` and the folder is fsynced, so a
reader sees the old file or the new one, never half of one. :func:`save` keeps the replaced file
only when asked (``previous=``): the trainer rotates its training state, nothing else does.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import struct

import numpy as np

from diffcourse import _validate

MAGIC = b"DIFFCOURSE-CKPT2\n"
MAGIC_V1 = b"DIFFCOURSE-CKPT\n"
FORMAT = 2
MAX_HEADER_BYTES = 1 << 20  # 1 MiB of JSON: a meta is a few hundred bytes
_DIGEST = 32


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, or does not fit the model."""


def _jsonable(x):
    """``json.dumps`` default: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (tuple, set, frozenset)):
        return list(x)
    raise TypeError(f"meta must hold JSON values (numbers, strings, lists, dicts); got {x!r}")


def encode_meta(meta) -> dict:
    """``meta`` as plain JSON values (numpy scalars converted); ``ValueError`` if it cannot be."""
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise ValueError(f"meta must be a dict of JSON values; got {type(meta).__name__}")
    try:
        return json.loads(json.dumps(meta, default=_jsonable, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(f"meta must be a dict of JSON values; got {err}") from None


def _fsync_dir(folder: pathlib.Path):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, data: bytes) -> pathlib.Path:
    """Write ``data`` to ``path`` through ``path.tmp``: write, fsync, rename, fsync the folder."""
    path = _validate.writable_file("path", path)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _validate.fail("data", "bytes", type(data).__name__)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def encode(tree, meta=None) -> bytes:
    """The bytes of a format-2 checkpoint of ``tree`` (a pytree of arrays) and ``meta``."""
    import equinox as eqx

    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    payload = buffer.getvalue()
    header = {"format": FORMAT, "meta": encode_meta(meta), "payload_bytes": len(payload)}
    head = json.dumps(header, sort_keys=True).encode()
    body = MAGIC + struct.pack("<Q", len(head)) + head + payload
    return body + hashlib.sha256(body).digest()


def save(path, tree, meta=None, *, previous=None) -> pathlib.Path:
    """Write ``tree`` and ``meta`` (JSON values; numpy scalars are converted) to ``path`` atomically.

    ``previous``: a path (same folder) to keep the file being replaced, if it verifies; a corrupt
    file is never rotated over a good one. Without it the old file is simply replaced.
    Returns ``path``.
    """
    path = _validate._as_path("path", path)
    data = encode(tree, meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    if previous is not None:
        previous = _validate._as_path("previous", previous)
        if previous.absolute().parent != path.absolute().parent or previous.name == path.name:
            raise _validate.fail("previous", f"another file in {path.parent}", str(previous))
    if previous is not None and path.is_file():
        try:
            verify(path)
        except CheckpointError:
            pass  # keep the good previous file; the corrupt newest is overwritten below
        else:
            os.replace(path, previous)
    return write_atomic(path, data)


def _read(path) -> tuple[dict, bytes]:
    """Header and payload of the file at ``path`` after every check of the file on its own."""
    path = _validate._as_path("path", path)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}: expected a file written by diffcourse.checkpoint.save"
        )
    raw = path.read_bytes()
    if raw.startswith(MAGIC):
        if len(raw) < len(MAGIC) + 8 + _DIGEST:
            raise CheckpointError(f"{path} is truncated: {len(raw)} bytes")
        body, digest = raw[:-_DIGEST], raw[-_DIGEST:]
        if hashlib.sha256(body).digest() != digest:
            raise CheckpointError(
                f"{path} is corrupt or truncated: its SHA-256 does not match its contents"
            )
        header, payload = _split(path, body, len(MAGIC), version=2)
    elif raw.startswith(MAGIC_V1):
        header, payload = _split(path, raw, len(MAGIC_V1), version=1)
        if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
            raise CheckpointError(
                f"{path} is corrupt: the payload's SHA-256 does not match its header"
            )
    else:
        raise CheckpointError(f"{path} is not a diffcourse checkpoint (wrong magic bytes)")
    return header, payload


def _split(path, raw: bytes, n: int, version: int) -> tuple[dict, bytes]:
    if len(raw) < n + 8:
        raise CheckpointError(f"{path} is truncated: {len(raw)} bytes")
    (head_len,) = struct.unpack("<Q", raw[n : n + 8])
    if head_len > min(MAX_HEADER_BYTES, len(raw) - n - 8):
        raise CheckpointError(
            f"{path} is corrupt: its header declares {head_len} bytes (at most "
            f"{MAX_HEADER_BYTES} and the file's size)"
        )
    try:
        header = json.loads(raw[n + 8 : n + 8 + head_len])
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is corrupt: its header is not valid JSON ({err})") from None
    keys = {"format", "meta", "payload_bytes"} | ({"sha256"} if version == 1 else set())
    if not isinstance(header, dict) or not keys <= set(header) or header["format"] != version:
        raise CheckpointError(
            f"{path} is corrupt: its header must be a JSON object with {sorted(keys)} and "
            f"format {version}"
        )
    if not isinstance(header["meta"], dict):
        raise CheckpointError(f"{path} is corrupt: its meta must be a JSON object")
    payload = raw[n + 8 + head_len :]
    if len(payload) != header["payload_bytes"]:
        raise CheckpointError(
            f"{path} is truncated or corrupt: expected {header['payload_bytes']} payload "
            f"bytes, found {len(payload)}"
        )
    return header, payload


def verify(path) -> dict:
    """Check the whole file at ``path`` (magic, sizes, SHA-256, header); return its header."""
    return _read(path)[0]


def read_meta(path) -> dict:
    """The ``meta`` dict stored with a checkpoint, after the whole file is checked."""
    return _read(path)[0]["meta"]


class _Leaves:
    """An equinox ``filter_spec`` that reads each ``.npy`` leaf only after checking its header."""

    def __init__(self, path):
        self.path, self.error = path, None

    def __call__(self, f, x):
        import jax
        import jax.numpy as jnp

        if not (isinstance(x, (jax.Array, jax.ShapeDtypeStruct, np.ndarray, np.generic))):
            if isinstance(x, (bool, int, float, complex)):
                return type(x)(self._read(f, np.shape(x), np.asarray(x).dtype).item())
            return x
        want = np.dtype(x.dtype)
        a = self._read(f, tuple(x.shape), want)
        if isinstance(x, np.generic):
            return type(x)(a.item())
        return a if isinstance(x, np.ndarray) else jnp.asarray(a)

    def _read(self, f, shape, dtype):
        try:
            return self._read_checked(f, shape, dtype)
        except CheckpointError as err:
            self.error = err  # equinox re-wraps errors raised inside its tree map
            raise

    def _read_checked(self, f, shape, dtype):
        try:
            version = np.lib.format.read_magic(f)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }[version]
            got_shape, fortran, got_dtype = read_header(f)
        except (ValueError, KeyError, OSError) as err:
            msg = f"{self.path} is corrupt: a leaf's record is unreadable ({err})"
            raise CheckpointError(msg) from None
        if got_shape != shape or got_dtype != dtype or got_dtype.hasobject:
            raise CheckpointError(
                f"{self.path} does not fit the model it is loaded into: a leaf is "
                f"{got_dtype}{list(got_shape)} where the model has {dtype}{list(shape)}"
            )
        size = int(np.prod(shape, dtype=object)) * dtype.itemsize
        data = f.read(size)
        if len(data) != size:
            raise CheckpointError(f"{self.path} is truncated: a leaf's data is short")
        return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").copy()


def load(path, like):
    """Load the pytree saved at ``path`` into the structure of ``like``; return ``(tree, meta)``.

    Raises :class:`CheckpointError` (a ``ValueError``) naming the file for a missing, truncated or
    corrupt file, or one whose arrays do not fit ``like`` (another model size or dtype).
    """
    import equinox as eqx

    header, payload = _read(path)
    f, leaves = io.BytesIO(payload), _Leaves(path)
    try:
        tree = eqx.tree_deserialise_leaves(f, like, filter_spec=leaves)
    except Exception as err:  # equinox raises several types for a mismatched tree
        if leaves.error is not None:
            raise leaves.error from None
        raise CheckpointError(f"{path} does not fit the model it is loaded into: {err}") from None
    if f.tell() != len(payload):
        raise CheckpointError(
            f"{path} does not fit the model it is loaded into: {len(payload) - f.tell()} "
            "payload bytes are left over (the file holds more leaves than the model)"
        )
    return tree, header["meta"]


def load_model(path, build):
    """``(model, meta)`` from the file at ``path``: ``build(meta)`` makes the skeleton, then :func:`load`.

    Any error of ``build`` on the stored meta (a missing key, a bad value) becomes a
    :class:`CheckpointError` naming the file, as does every error of :func:`load`.
    """
    if not callable(build):
        raise _validate.fail("build", "a function meta -> model skeleton", repr(build))
    meta = read_meta(path)
    try:
        like = build(meta)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError) as err:
        raise CheckpointError(
            f"{path}: its meta does not describe a model this version can build (corrupt, or "
            f"written by another version; {type(err).__name__}: {err})"
        ) from None
    return load(path, like)
