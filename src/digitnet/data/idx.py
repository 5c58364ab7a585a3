"""Reading the IDX format, the file format MNIST is distributed in.

An IDX file is a tiny header followed by raw array data in C order::

    bytes 0-1   two zero bytes (the magic number's first half)
    byte  2     the data type; 0x08 means unsigned byte (uint8)
    byte  3     the number of dimensions, d
    4 * d bytes each dimension as a big-endian uint32
    the rest    prod(dims) values, here one byte each

MNIST's images are a 3-D file of shape (n, 28, 28) and its labels a 1-D file of
shape (n,). The files are usually gzip-compressed; we recognise that by the
gzip magic bytes (1f 8b) rather than by the file name, so a renamed file still
reads.

Every problem a user could fix (a missing, truncated or mismatched file)
raises `DataError` with a one-line message that names the file.
"""
from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from digitnet.data.files import read_bytes
from digitnet.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
MAX_BYTES = 1 << 30     # a larger declared IDX file is not MNIST-like (MNIST's largest holds 47 MB)
MAX_RATIO = 100         # gzip shrinks MNIST's files 2-6 fold; a header declaring 100 times more is forged

#: The IDX type codes, so an error can say what it found instead.
IDX_TYPES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "short",
    0x0C: "int",
    0x0D: "float",
    0x0E: "double",
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzip-compressed or not.

    Returns a new, writeable uint8 array whose shape is the dims in the
    header, e.g. (60000, 28, 28) for the training images. The header is read
    first, and no more is decompressed than it declares (and never more than
    MAX_BYTES): a small file cannot make the reader take gigabytes.
    """
    path = Path(path)
    stream, compressed = _open(path)
    head = _read(stream, 4, path)
    dims_bytes = _read(stream, 4 * head[3], path) if len(head) == 4 else b""
    dims = _parse_header(head + dims_bytes, path.name)
    expected = math.prod(dims)
    if expected > MAX_BYTES:
        raise DataError(f"{path.name}: the IDX header declares {dims} = {expected:,} bytes, more than any "
                        f"MNIST-like file (at most {MAX_BYTES:,}); the file is corrupt or not MNIST")
    if compressed is not None and expected > max(MAX_RATIO * compressed, 1 << 20):
        raise DataError(f"{path.name}: the IDX header declares {expected:,} bytes, but the gzip file holds only "
                        f"{compressed:,}: images do not compress {MAX_RATIO}-fold; the file is corrupt or forged")
    data = _read(stream, expected, path)
    found = len(data)
    if found < expected:
        raise DataError(
            f"{path.name}: truncated: expected {expected} bytes of data, found {found}; "
            "re-download the file"
        )
    extra = _count_rest(stream, path)
    if extra:
        raise DataError(
            f"{path.name}: {extra} unexpected trailing bytes after "
            f"{expected} bytes of data; the file is corrupt, re-download it"
        )
    return np.frombuffer(data, dtype=np.uint8, count=expected).reshape(dims).copy()


def read_idx_pair(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label files and check that they belong together.

    Returns ``(images, labels)``: uint8 arrays of shape (n, 28, 28) and (n,),
    where every label is a digit 0-9.
    """
    images_path, labels_path = Path(images_path), Path(labels_path)
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{images_path.name}: expected images of shape (n, 28, 28), found shape {images.shape}"
        )
    if labels.ndim != 1:
        raise DataError(f"{labels_path.name}: expected labels of shape (n,), found shape {labels.shape}")
    if len(images) == 0:
        raise DataError(f"{images_path.name}: holds no images (its header declares 0); the file is corrupt, "
                        "re-download it")
    if len(labels) != len(images):
        raise DataError(
            f"{labels_path.name}: {len(labels)} labels but {len(images)} images in {images_path.name}"
        )
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{labels_path.name}: label {labels[i]} at index {i} is not a digit 0-9")
    return images, labels


def _open(path: Path):
    """(a readable stream of the file's bytes, decompressed if it is gzip; its gzip size or None)."""
    raw = read_bytes(path)
    if raw.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=io.BytesIO(raw)), len(raw)
    return io.BytesIO(raw), None


def _read(stream, size: int, path: Path) -> bytes:
    """Up to `size` bytes of the stream (fewer if it ends first)."""
    try:
        return stream.read(size)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError):
        raise DataError(
            f"{path.name}: the gzip data is truncated or corrupt; delete the file and download it again"
        ) from None


def _count_rest(stream, path: Path, chunk: int = 1 << 20) -> int:
    """How many bytes the stream still holds, counted a chunk at a time (nothing kept)."""
    total = 0
    while block := _read(stream, chunk, path):
        total += len(block)
    return total


def _parse_header(data: bytes, name: str) -> tuple[int, ...]:
    """Check the IDX header; return its dims."""
    if len(data) < 4:
        raise DataError(f"{name}: truncated: only {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{name}: wrong magic number: starts with bytes {data[0]:02x} {data[1]:02x}, an IDX file "
            "starts with 00 00; is this really an MNIST file?"
        )
    dtype, ndim = data[2], data[3]
    if dtype != UBYTE:
        kind = IDX_TYPES.get(dtype, "unknown")
        raise DataError(
            f"{name}: IDX data type 0x{dtype:02x} ({kind}) is not supported; "
            "expected 0x08 (unsigned byte)"
        )
    if ndim == 0:
        raise DataError(f"{name}: IDX header declares 0 dimensions")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DataError(
            f"{name}: truncated: the header needs {offset} bytes for {ndim} dimensions, "
            f"the file has {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    return dims
