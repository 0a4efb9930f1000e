"""Images for notebook 08: scikit-learn's digits (embedded) and MNIST-style IDX files (by path).

Every loader returns pixels scaled to ``[-1, 1]`` (the scale a DDPM's ``x_0`` lives on) as
``float32`` arrays of shape ``(n, H, W)`` and integer labels of shape ``(n,)``.
"""

import gzip
import pathlib

import numpy as np

# The fixed held-out split of the digits: a permutation drawn once with this seed.
SPLIT_SEED = 0
N_HELDOUT = 297  # 1797 = 1500 train + 297 held out


def to_unit_range(pixels, max_value: float):
    r"""Scale pixel intensities in :math:`[0, m]` to :math:`x = 2\,p/m - 1 \in [-1, 1]`."""
    return (2.0 * np.asarray(pixels, dtype=np.float32) / max_value - 1.0).astype(np.float32)


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


def _read_bytes(path: pathlib.Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as err:
        raise ValueError(f"{path.name}: corrupt or truncated gzip stream ({err})") from err


def read_idx(path):
    """Read one IDX file (MNIST / Fashion-MNIST format), plain or gzipped, into a numpy array.

    Layout: two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions ``k``,
    then ``k`` big-endian uint32 sizes, then the data in C order. A wrong magic number, an unknown
    type code or a size that does not match the payload raises ``ValueError``.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing IDX file; got {str(path)!r}")
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path.name}: not an IDX file (the magic number must start with 0x0000)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path.name}: unknown IDX type code {code:#04x}")
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path.name}: truncated IDX header ({ndim} dimensions declared)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims)) * dtype.itemsize
    payload = len(raw) - 4 - 4 * ndim
    if payload != expected:
        raise ValueError(
            f"{path.name}: IDX header declares shape {dims} ({expected} bytes of data) "
            f"but the file holds {payload} bytes: truncated or corrupt"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def load_idx_images(images_path, labels_path=None):
    """MNIST / Fashion-MNIST from IDX files the user downloaded (e.g. ``train-images-idx3-ubyte.gz``).

    Images (uint8, shape ``(n, 28, 28)``) are scaled to [-1, 1]. Returns ``(images, labels)``;
    ``labels`` is ``None`` without ``labels_path``. Mismatched counts raise ``ValueError``.
    """
    raw = read_idx(images_path)
    if raw.ndim != 3 or raw.dtype != np.uint8:
        raise ValueError(
            f"images_path must hold uint8 images of shape (n, H, W); got {raw.dtype} {raw.shape}"
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
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``); the inverse of :func:`read_idx`."""
    array = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"array dtype must be one of the IDX types; got {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = header + array.astype(_IDX_DTYPES[code]).tobytes()
    path = pathlib.Path(path)
    path.write_bytes(gzip.compress(body, mtime=0) if path.suffix == ".gz" else body)
    return path
