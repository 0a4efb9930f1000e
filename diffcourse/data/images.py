"""Images for notebook 08: scikit-learn's digits (embedded) and MNIST-style IDX files (by path).

Every loader returns pixels scaled to ``[-1, 1]`` (the scale a DDPM's ``x_0`` lives on) as
``float32`` arrays of shape ``(n, H, W)`` and integer labels of shape ``(n,)``.
"""

import gzip
import pathlib
import zlib

import numpy as np

from diffcourse import _validate

# The fixed held-out split of the digits: a permutation drawn once with this seed.
SPLIT_SEED = 0
N_HELDOUT = 297  # 1797 = 1500 train + 297 held out


def to_unit_range(pixels, max_value: float):
    r"""Scale pixel intensities in :math:`[0, m]` to :math:`x = 2\,p/m - 1 \in [-1, 1]`.

    Checked: ``max_value`` a finite real > 0; ``pixels`` a non-empty array of numbers (integer
    arrays are converted), every entry finite and in ``[0, max_value]``.
    """
    m = _validate.real("max_value", max_value, low=0.0, low_open=True)
    p = _validate.array("pixels", pixels, dtype=np.float64)
    if p.min() < 0 or p.max() > m:
        raise _validate.fail("pixels", f"intensities in [0, {m:g}]", _validate._describe(p))
    return (2.0 * p.astype(np.float32) / np.float32(m) - 1.0).astype(np.float32)


def load_digits(split: str = "train"):
    """The 1797 scikit-learn digits (8x8, intensities 0..16), scaled to [-1, 1].

    ``split``: ``"train"`` (1500 images), ``"heldout"`` (297 images, never trained on) or
    ``"all"`` (1797, in scikit-learn's order). The split is a fixed permutation (seed 0), so every
    notebook, test and checkpoint sees the same training set.
    Returns ``(images, labels)`` with shapes ``(n, 8, 8)`` float32 and ``(n,)`` int32.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if split not in ("train", "heldout", "all"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all'; got {split!r}")
    digits = _sk_load_digits()
    images = to_unit_range(digits.images, 16.0)
    labels = digits.target.astype(np.int32)
    if split == "all":
        return images, labels
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(images))
    idx = perm[N_HELDOUT:] if split == "train" else perm[:N_HELDOUT]
    idx = np.sort(idx)
    return images[idx], labels[idx]


# IDX type codes (LeCun et al., "THE MNIST DATABASE", file format section).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


MAX_IDX_BYTES = 1 << 31  # 2 GiB of data: MNIST's training images are 47 MB
_IDX_DIMS = 255


def _open(path: pathlib.Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _read_exact(f, n: int, path: pathlib.Path) -> bytes:
    """``n`` bytes of ``f`` (a plain or gzip file); a corrupt gzip stream is a ``ValueError``."""
    try:
        return f.read(n)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path.name}: corrupt or truncated gzip stream ({err})") from None


def read_idx(path):
    """Read one IDX file (MNIST / Fashion-MNIST format), plain or gzipped, into a numpy array.

    Layout: two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions ``k``,
    then ``k`` big-endian uint32 sizes, then the data in C order. A wrong magic number, an unknown
    type code, a corrupt gzip stream, a size that does not match the payload, or a declared size
    over :data:`MAX_IDX_BYTES` (checked before reading the data: no gzip bomb) raises
    ``ValueError``.
    """
    path = _validate.existing_file("path", path)
    with _open(path) as f:
        head = _read_exact(f, 4, path)
        if len(head) < 4 or head[0] != 0 or head[1] != 0:
            raise ValueError(
                f"{path.name}: not an IDX file (the magic number must start with 0x0000)"
            )
        code, ndim = head[2], head[3]
        if code not in _IDX_DTYPES:
            raise ValueError(f"{path.name}: unknown IDX type code {code:#04x}")
        raw_dims = _read_exact(f, 4 * ndim, path)
        if ndim < 1 or len(raw_dims) < 4 * ndim:
            raise ValueError(f"{path.name}: truncated IDX header ({ndim} dimensions declared)")
        dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
        dtype = _IDX_DTYPES[code]
        expected = dtype.itemsize
        for d in dims:  # Python integers: no overflow
            expected *= d
        if expected > MAX_IDX_BYTES:
            raise ValueError(
                f"{path.name}: IDX header declares shape {dims} ({expected} bytes of data), "
                f"more than the limit of {MAX_IDX_BYTES} bytes: corrupt or not an image set"
            )
        data = _read_exact(f, expected + 1, path)
    if len(data) != expected:
        raise ValueError(
            f"{path.name}: IDX header declares shape {dims} ({expected} bytes of data) "
            f"but the file holds {len(data) if len(data) <= expected else 'more'} bytes: "
            "truncated or corrupt"
        )
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def load_idx_images(images_path, labels_path=None):
    """MNIST / Fashion-MNIST from IDX files the user downloaded (e.g. ``train-images-idx3-ubyte.gz``).

    Images (uint8, shape ``(n, 28, 28)``) are scaled to [-1, 1]. Returns ``(images, labels)``;
    ``labels`` is ``None`` without ``labels_path``. Mismatched counts raise ``ValueError``.
    """
    _validate.existing_file("images_path", images_path)
    if labels_path is not None:
        _validate.existing_file("labels_path", labels_path)
    raw = read_idx(images_path)
    if raw.ndim != 3 or raw.dtype != np.uint8 or 0 in raw.shape:
        raise ValueError(
            "images_path must hold uint8 images of shape (n, H, W) with n, H, W >= 1; "
            f"got {raw.dtype} {raw.shape}"
        )
    images = to_unit_range(raw, 255.0)
    if labels_path is None:
        return images, None
    labels = read_idx(labels_path)
    if labels.shape != (len(images),):
        raise ValueError(
            f"labels_path must hold {len(images)} labels to match the images; got shape {labels.shape}"
        )
    return images, labels.astype(np.int32)


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``); the inverse of :func:`read_idx`.

    Checked: a dtype IDX can hold (uint8, int8, int16, int32, float32, float64), 1 to 255 axes,
    each size below 2**32, and a ``path`` in an existing folder. The write is atomic.
    """
    from diffcourse import checkpoint

    path = _validate.writable_file("path", path)
    array = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise _validate.fail(
            "array", "of an IDX dtype (uint8, int8, int16, int32, float32, float64)", array.dtype
        )
    if not 1 <= array.ndim <= _IDX_DIMS or max(array.shape) >= 2**32:
        raise _validate.fail("array", "an array of 1 to 255 axes, each below 2**32", array.shape)
    if array.size * array.itemsize > MAX_IDX_BYTES:
        raise _validate.fail("array", f"at most {MAX_IDX_BYTES} bytes", array.size * array.itemsize)
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = header + array.astype(_IDX_DTYPES[code]).tobytes()
    return checkpoint.write_atomic(
        path, gzip.compress(body, mtime=0) if path.suffix == ".gz" else body
    )
