"""The checkpoint file: round trip, every byte covered by the SHA-256, crafted headers refused
with a message naming the file, leaf sizes bounded before allocation, the old format still read."""

import hashlib
import io
import json
import pathlib
import struct

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse import checkpoint, train
from diffcourse.checkpoint import CheckpointError

TREE = {"a": jnp.arange(3.0), "b": jnp.ones((2, 2), jnp.float32), "n": jnp.int32(7)}


def same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_round_trip_and_numpy_meta(tmp_path):
    meta = {"lr": np.float32(0.5), "steps": np.int64(6), "shape": (8, 8, 1), "ok": np.bool_(True)}
    path = checkpoint.save(tmp_path / "c.ckpt", TREE, meta)
    tree, got = checkpoint.load(path, TREE)
    same(tree, TREE)
    assert got == {"lr": 0.5, "steps": 6, "shape": [8, 8, 1], "ok": True}
    assert path.read_bytes().startswith(checkpoint.MAGIC)
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, renamed


def test_flipping_any_byte_is_detected(tmp_path):
    """The SHA-256 covers magic, header (meta) and payload: every single-byte change is refused."""
    path = checkpoint.save(tmp_path / "c.ckpt", {"w": jnp.arange(2.0)}, {"sigma_data": 0.5})
    raw = path.read_bytes()
    print(f"checkpoint of {len(raw)} bytes: flipping each byte in turn")
    bad = tmp_path / "bad.ckpt"
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0x01 if i % 2 else 0xFF
        bad.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match="bad.ckpt"):
            checkpoint.load(bad, {"w": jnp.arange(2.0)})
    for cut in range(0, len(raw), 7):  # and every truncation
        bad.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match="bad.ckpt"):
            checkpoint.read_meta(bad)


def _v2(header: bytes, payload: bytes) -> bytes:
    body = checkpoint.MAGIC + struct.pack("<Q", len(header)) + header + payload
    return body + hashlib.sha256(body).digest()


@pytest.mark.parametrize(
    "header, match",
    [
        (b"[1, 2]", "must be a JSON object"),
        (b'{"format": 2, "payload_bytes": 0}', "must be a JSON object"),
        (b'{"format": 2, "meta": [], "payload_bytes": 0}', "meta must be a JSON object"),
        (b'{"format": 3, "meta": {}, "payload_bytes": 0}', "format 2"),
        (b'{"format": 2, "meta": {}, "payload_bytes": 5}', "truncated or corrupt"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_crafted_headers_with_a_valid_hash_are_clear_errors(tmp_path, header, match):
    path = tmp_path / "crafted.ckpt"
    path.write_bytes(_v2(header, b""))
    with pytest.raises(CheckpointError, match=match) as err:
        checkpoint.read_meta(path)
    assert "crafted.ckpt" in str(err.value)


def test_header_length_and_leaf_shapes_are_bounded_before_allocation(tmp_path):
    path = tmp_path / "huge.ckpt"
    body = checkpoint.MAGIC + struct.pack("<Q", 2**63) + b"{}"
    path.write_bytes(body + hashlib.sha256(body).digest())
    with pytest.raises(CheckpointError, match="header declares"):
        checkpoint.read_meta(path)
    # a leaf whose .npy header declares 2**40 float64 (8 TiB), with a valid file hash
    record = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        record, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
    )
    payload = record.getvalue()
    head = json.dumps({"format": 2, "meta": {}, "payload_bytes": len(payload)}).encode()
    path.write_bytes(_v2(head, payload))
    with pytest.raises(CheckpointError, match=r"does not fit.*float64\[1099511627776\]"):
        checkpoint.load(path, {"w": jnp.zeros(3)})


def test_meta_that_builds_no_model_names_the_file(tmp_path):
    path = checkpoint.save(tmp_path / "m.ckpt", TREE, {"image_shape": [8, 8]})
    with pytest.raises(CheckpointError, match=r"m.ckpt: its meta does not describe a model"):
        checkpoint.load_model(path, lambda meta: meta["model"])


def test_rotation_keeps_only_a_good_previous_file(tmp_path):
    path, prev = tmp_path / "checkpoint.ckpt", tmp_path / "checkpoint.prev.ckpt"
    checkpoint.save(path, TREE, {"step": 1}, previous=prev)
    assert not prev.exists()
    checkpoint.save(path, TREE, {"step": 2}, previous=prev)
    assert checkpoint.read_meta(prev)["step"] == 1
    path.write_bytes(path.read_bytes()[:-5])  # the newest is corrupt: it must not displace prev
    checkpoint.save(path, TREE, {"step": 3}, previous=prev)
    assert checkpoint.read_meta(prev)["step"] == 1 and checkpoint.read_meta(path)["step"] == 3
    # the model file (train.save_checkpoint, as ddpm.save uses it) never rotates anything
    train.save_checkpoint(tmp_path / "model.ckpt", TREE, {"step": 3})
    train.save_checkpoint(tmp_path / "model.ckpt", TREE, {"step": 4})
    assert checkpoint.read_meta(prev)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint.ckpt",
        "checkpoint.prev.ckpt",
        "model.ckpt",
    ]


def _v1(tree, meta) -> bytes:
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    payload = buffer.getvalue()
    header = {
        "format": 1,
        "meta": meta,
        "payload_bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    head = json.dumps(header, sort_keys=True).encode()
    return checkpoint.MAGIC_V1 + struct.pack("<Q", len(head)) + head + payload


def test_format_1_is_still_read(tmp_path):
    path = tmp_path / "old.ckpt"
    path.write_bytes(_v1(TREE, {"step": 5}))
    tree, meta = checkpoint.load(path, TREE)
    same(tree, TREE)
    assert meta == {"step": 5}
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="SHA-256"):
        checkpoint.load(path, TREE)
    # the shipped digits model is format 1
    shipped = pathlib.Path(checkpoint.__file__).parent / "assets" / "digits" / "model.ckpt"
    meta = checkpoint.read_meta(shipped)
    assert meta["image_shape"] == [8, 8, 1] and "model" in meta


def test_missing_garbage_and_mismatched_files(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        checkpoint.load(tmp_path / "none.ckpt", TREE)
    (tmp_path / "g.ckpt").write_bytes(b"PK\x03\x04 something else")
    with pytest.raises(CheckpointError, match="not a diffcourse checkpoint"):
        checkpoint.load(tmp_path / "g.ckpt", TREE)
    path = checkpoint.save(tmp_path / "c.ckpt", TREE)
    with pytest.raises(CheckpointError, match="does not fit"):
        checkpoint.load(path, {**TREE, "a": jnp.arange(4.0)})
    with pytest.raises(CheckpointError, match="does not fit"):
        checkpoint.load(path, {**TREE, "b": jnp.ones((2, 2), jnp.float64)})
    with pytest.raises(CheckpointError, match="left over"):
        checkpoint.load(path, {"a": TREE["a"]})
    with pytest.raises(ValueError, match="meta must be a dict of JSON values"):
        checkpoint.save(tmp_path / "x.ckpt", TREE, {"f": object()})
