"""The MNIST dataset as the trainer sees it: float pixels, integer labels, three splits.

`load_mnist` goes from files on disk to ready-to-train arrays:

1. find the data: four IDX files (gzip or raw) or two Kaggle CSV files in a
   directory, or the user cache, downloading there when it is empty;
2. decode them to uint8 arrays, or read those from a cache of .npy files
   (decoding gzip or CSV takes a second or more, reading .npy milliseconds);
3. carve a validation set out of the training set with a seeded permutation;
4. flatten each 28x28 image to 784 values and scale 0-255 to 0.0-1.0.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from digitnet.data.csv import read_csv
from digitnet.data.download import download_mnist
from digitnet.data.idx import read_idx_pair
from digitnet.atomic import atomic_write
from digitnet.checks import whole
from digitnet.errors import DataError

#: The IDX file stems; each may end in .gz or not, and ".idx" may replace "-idx".
IDX_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CSV_NAMES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
SCALE = np.float32(1 / 255)


@dataclass(frozen=True, eq=False)
class MNIST:
    """The three splits. Images are float32 (n, 784) in [0, 1]; labels int64 (n,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __repr__(self) -> str:
        return (f"MNIST(train={len(self.y_train)}, val={len(self.y_val)}, "
                f"test={len(self.y_test)}, pixels={self.x_train.shape[1]})")


@dataclass(frozen=True)
class Source:
    """Where the raw data lives: `kind` is "idx" or "csv"; `paths` maps role to file.

    The roles are train_images, train_labels, test_images, test_labels for IDX
    and train, test for CSV.
    """

    kind: str
    paths: dict[str, Path]


def default_data_dir() -> Path:
    """$DIGITNET_DATA if set, else the user's cache directory for digitnet."""
    env = os.environ.get("DIGITNET_DATA")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("digitnet"))


def find_source(data_dir: str | Path) -> Source:
    """Find MNIST in `data_dir`: the four IDX files, else the two CSV files."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        what = "is not a directory" if data_dir.exists() else "directory not found"
        raise DataError(f"{data_dir}: {what}; pass --data DIR with the MNIST files, or run `digitnet download`")
    idx = {role: _find_idx_file(data_dir, stem) for role, stem in IDX_STEMS.items()}
    if all(idx.values()):
        return Source("idx", idx)
    csv = {role: data_dir / name for role, name in CSV_NAMES.items()}
    if all(p.is_file() for p in csv.values()):
        return Source("csv", csv)
    looked_for = ", ".join(f"{stem}[.gz]" for stem in IDX_STEMS.values())
    found = [p.name for p in idx.values() if p]
    problem = f"incomplete MNIST data (found only {', '.join(found)})" if found else "no MNIST data found"
    raise DataError(
        f"{data_dir}: {problem}; expected {looked_for} or {' and '.join(CSV_NAMES.values())}"
    )


def load_mnist(
    data_dir: str | Path | None = None,
    *,
    validation_size: int = 5000,
    seed: int = 0,
    download: bool = True,
    progress: bool = True,
) -> MNIST:
    """Load MNIST ready for training.

    `data_dir=None` uses `default_data_dir()`, downloading the files there
    first if needed (unless `download=False`). The validation set is
    `validation_size` training images chosen by a permutation seeded with
    `seed`; the remaining training images keep their original order.
    """
    if not whole(validation_size, 0):
        raise DataError(f"validation size {validation_size!r} must be a whole number from 0, e.g. 5000")
    if seed is not None and not whole(seed, 0):
        raise DataError(f"seed {seed!r} must be None (a fresh split) or a whole number from 0, e.g. 0")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise DataError(f"data_dir {data_dir!r}: give the folder of the MNIST files, or None for the download cache")
    source = _locate(data_dir, download, progress)
    raw = _decoded(source)
    x, y = raw["x_train"], raw["y_train"]
    if validation_size >= len(y):
        raise DataError(
            f"validation size {validation_size} must be less than the {len(y)} training images: hold out fewer"
        )
    val_idx, train_idx = _split(len(y), int(validation_size), seed)
    return MNIST(
        x_train=_scaled(x, train_idx), y_train=_labels(y, train_idx),
        x_val=_scaled(x, val_idx), y_val=_labels(y, val_idx),
        x_test=_scaled(raw["x_test"]), y_test=_labels(raw["y_test"]),
    )


def _find_idx_file(data_dir: Path, stem: str) -> Path | None:
    """The first existing spelling of one IDX file, or None."""
    dotted = stem.replace("-idx", ".idx")           # train-images.idx3-ubyte
    for name in (stem + ".gz", stem, dotted, dotted + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
        if (data_dir / name).is_dir():
            raise DataError(f"{data_dir / name}: a directory where the MNIST file {name} should be")
    return None


def _locate(data_dir, download: bool, progress: bool) -> Source:
    """The source for `data_dir`, downloading into the cache dir if allowed."""
    if data_dir is not None:
        return find_source(data_dir)
    cache = default_data_dir()
    try:
        return find_source(cache)
    except DataError:
        if cache.exists() and not cache.is_dir():
            raise DataError(f"{cache}: the data folder is a file; set $DIGITNET_DATA to a folder, or pass "
                            f"--data DIR") from None
        if not download:
            raise DataError(
                f"{cache}: MNIST is not downloaded yet; run `digitnet download` or pass --data DIR"
            ) from None
    return find_source(download_mnist(cache, progress=progress))


def _decoded(source: Source) -> dict[str, np.ndarray]:
    """The four uint8 arrays, from the .npy cache if it is there, else decoded and cached."""
    cache_dir = default_data_dir() / "decoded" / _cache_key(source)
    arrays = _read_cache(cache_dir)
    if arrays is None:
        if source.kind == "idx":
            p = source.paths
            x_train, y_train = read_idx_pair(p["train_images"], p["train_labels"])
            x_test, y_test = read_idx_pair(p["test_images"], p["test_labels"])
        else:
            x_train, y_train = read_csv(source.paths["train"])
            x_test, y_test = read_csv(source.paths["test"])
        arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        _write_cache(cache_dir, arrays)
    return arrays


def _cache_key(source: Source) -> str:
    """A short hash that changes when any source file is moved, resized or touched."""
    parts = []
    for role, path in sorted(source.paths.items()):
        stat = path.stat()
        parts.append(f"{role}={path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _read_cache(cache_dir: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays (read-only memory maps), or None if any is missing or looks wrong."""
    try:
        arrays = {k: np.load(cache_dir / f"{k}.npy", mmap_mode="r", allow_pickle=False) for k in ARRAYS}
    except (OSError, ValueError, EOFError):
        return None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or y.dtype != np.uint8 or x.shape[1:] != (28, 28) or x.shape[:1] != y.shape:
            return None
        if len(y) == 0 or int(y.max()) >= 10:          # a damaged cache: decoded again from the files
            return None
    return arrays


def _write_cache(cache_dir: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save each array atomically; a cache that cannot be written is simply skipped."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for key, array in arrays.items():
            with atomic_write(cache_dir / f"{key}.npy") as f:
                np.save(f, array, allow_pickle=False)
    except OSError:
        pass


def _split(n: int, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (validation, train): a seeded random sample, and the rest in order."""
    val_idx = np.random.default_rng(seed).permutation(n)[:validation_size]
    keep = np.ones(n, dtype=bool)
    keep[val_idx] = False
    return val_idx, np.flatnonzero(keep)


def _scaled(images: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (len(idx), 784) in [0, 1], with no float64 detour."""
    flat = images.reshape(len(images), -1)
    if idx is not None:
        flat = flat[idx]                            # a uint8 copy: a quarter of the float size
    out = np.empty(flat.shape, dtype=np.float32)
    np.multiply(flat, SCALE, out=out, dtype=np.float32)     # computed in float32, in place
    return out


def _labels(labels: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
    """uint8 (n,) -> int64 (len(idx),)."""
    if idx is not None:
        labels = labels[idx]
    return labels.astype(np.int64)
