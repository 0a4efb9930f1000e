"""Image data: the digits split and the IDX reader, on IDX files the tests write themselves."""

import gzip

import numpy as np
import pytest

from diffcourse.data import images


def test_digits_scaled_and_split():
    train, ytrain = images.load_digits("train")
    held, yheld = images.load_digits("heldout")
    every, _ = images.load_digits("all")
    assert train.shape == (1500, 8, 8) and held.shape == (297, 8, 8)
    assert train.dtype == np.float32 and ytrain.shape == (1500,)
    assert train.min() == -1.0 and train.max() == 1.0
    # intensities 0..16 map to the 17 levels -1, -1 + 1/8, ..., 1
    np.testing.assert_allclose(np.unique(every), -1 + np.arange(17) / 8, atol=1e-6)
    # disjoint, and together they are the whole set (compare as rows)
    rows = lambda a: {r.tobytes() for r in a.reshape(len(a), -1)}
    assert len(rows(train) & rows(held)) <= 5  # sklearn's digits hold a few exact duplicates
    assert len(train) + len(held) == len(every)
    # every class is present in both splits, roughly balanced
    assert np.bincount(ytrain).min() > 120 and np.bincount(yheld).min() > 20
    # fixed: a second call returns the same arrays
    np.testing.assert_array_equal(images.load_digits("train")[0], train)


def test_digits_bad_split():
    with pytest.raises(ValueError, match="split must be"):
        images.load_digits("test")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    pix = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    lab = rng.integers(0, 10, size=5).astype(np.uint8)
    ip = images.write_idx(tmp_path / f"img-idx3-ubyte{suffix}", pix)
    lp = images.write_idx(tmp_path / f"lab-idx1-ubyte{suffix}", lab)
    np.testing.assert_array_equal(images.read_idx(ip), pix)
    x, y = images.load_idx_images(ip, lp)
    assert x.shape == (5, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x, pix / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y, lab)
    # the header bytes are the published MNIST layout: magic 0x00000803, then big-endian sizes
    raw = ip.read_bytes() if suffix == "" else gzip.decompress(ip.read_bytes())
    assert raw[:16] == bytes.fromhex("00000803") + bytes.fromhex("00000005 0000001c 0000001c")


def test_idx_float_types_round_trip(tmp_path):
    a = np.linspace(-1, 1, 12).reshape(3, 4)
    np.testing.assert_array_equal(images.read_idx(images.write_idx(tmp_path / "f.idx", a)), a)


def test_idx_truncated_and_corrupt_files(tmp_path):
    pix = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    good = images.write_idx(tmp_path / "good", pix).read_bytes()
    (tmp_path / "short").write_bytes(good[:-3])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        images.read_idx(tmp_path / "short")
    (tmp_path / "header").write_bytes(good[:9])
    with pytest.raises(ValueError, match="truncated IDX header"):
        images.read_idx(tmp_path / "header")
    (tmp_path / "magic").write_bytes(b"\x01\x02" + good[2:])
    with pytest.raises(ValueError, match="not an IDX file"):
        images.read_idx(tmp_path / "magic")
    (tmp_path / "code").write_bytes(good[:2] + b"\x07" + good[3:])
    with pytest.raises(ValueError, match="unknown IDX type code"):
        images.read_idx(tmp_path / "code")
    gz = gzip.compress(good)
    (tmp_path / "cut.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(ValueError, match="gzip"):
        images.read_idx(tmp_path / "cut.gz")
    with pytest.raises(ValueError, match="path must be an existing file"):
        images.read_idx(tmp_path / "missing")


def test_idx_labels_must_match(tmp_path):
    ip = images.write_idx(tmp_path / "i", np.zeros((3, 2, 2), np.uint8))
    lp = images.write_idx(tmp_path / "l", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="labels_path must hold 3 labels"):
        images.load_idx_images(ip, lp)
    with pytest.raises(ValueError, match="images_path must hold uint8 images"):
        images.load_idx_images(lp)
