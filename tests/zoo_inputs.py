"""The bad inputs of test_zoo.py, made on demand: damaged IDX, CSV and model files, images,
checkpoint folders, and paths no one can write to. Each takes the test's temporary folder."""
import gzip
import json
import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import MNIST_FILES
from digitnet import MLP, save_model

ROOT = Path(__file__).resolve().parents[1]
SEVEN = ROOT / "docs" / "examples" / "seven-transparent.png"


def idx(dims, data=None, dtype=0x08, magic=b"\x00\x00"):
    """An IDX file of `dims`, holding `data` or random bytes (which gzip cannot shrink)."""
    header = magic + bytes([dtype, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return header + (np.random.default_rng(0).integers(0, 10, int(np.prod(dims)), np.uint8).tobytes()
                     if data is None else data)


def gz(data):
    return gzip.compress(data)


def mnist_dir_with(tmp, mnist_dir, name, content):
    """A data folder of the real MNIST files, one of them replaced by `content` (bytes, or a folder)."""
    folder = tmp / "data"
    folder.mkdir()
    for file in MNIST_FILES:
        if file != name:
            (folder / file).symlink_to(mnist_dir / file)
    if content == "folder":
        (folder / name).mkdir()
    else:
        (folder / name).write_bytes(content)
    return folder


def csv_dir(tmp, train=None, test=None):
    folder = tmp / "csv"
    folder.mkdir()
    header = b"label," + b",".join(f"p{i}".encode() for i in range(784)) + b"\n"
    good = header + b"7," + b",".join([b"0"] * 784) + b"\n"
    (folder / "mnist_train.csv").write_bytes(good if train is None else train)
    (folder / "mnist_test.csv").write_bytes(good if test is None else test)
    return folder


def model_file(tmp, change=None, sizes=(784, 8, 10)):
    path = tmp / "model.npz"
    save_model(MLP(sizes=sizes), path)
    if change:
        with np.load(path) as npz:
            arrays = {name: npz[name] for name in npz.files}
        change(arrays)
        np.savez(path, **arrays)
    return path


def image(tmp, name, content):
    path = tmp / name
    if isinstance(content, Image.Image):
        content.save(path)
    else:
        path.write_bytes(content)
    return path


def big_png(tmp):
    """A 100-megapixel PNG: a few hundred kilobytes on disk, 100 MB once decoded."""
    path = tmp / "huge.png"
    Image.new("1", (10_000, 10_000)).save(path)
    return path


def checkpoint_folder(path, **command):
    """A folder as `digitnet train` leaves it, with its command.json (the defaults, or `command`) and
    a checkpoint (empty: these cases stop before reading it)."""
    path.mkdir()
    (path / "checkpoint.npz").write_bytes(b"")
    (path / "command.json").write_text(json.dumps({"settings": {}, "out": str(path.parent / "m.npz"), "data": None,
                                                   "temporary": False, **command}))
    return path


def before_first_checkpoint(path):
    """A checkpoint folder as a run killed before its first checkpoint leaves it: command.json alone."""
    checkpoint_folder(path)
    (path / "checkpoint.npz").unlink()
    return path


def without_data(path):
    """A checkpoint folder whose command.json lacks its "data" key."""
    checkpoint_folder(path)
    command = json.loads((path / "command.json").read_text())
    del command["data"]
    (path / "command.json").write_text(json.dumps(command))
    return path


def fifo(path):
    os.mkfifo(path)
    return path


def folder(path):
    path.mkdir()
    return path


def object_npz(tmp):
    """An .npz whose array is a pickled Python object."""
    np.savez(tmp / "obj.npz", metadata=np.array([{}], dtype=object))
    return tmp / "obj.npz"


def inside_a_file(tmp, name="m.npz"):
    """An --out path below a file: no one can write there."""
    (tmp / "file").write_text("x")
    return tmp / "file" / name


def forged_npz(tmp, shape):
    """A model file whose first array's header says `shape` (8 bytes, as long as the real one)."""
    path = model_file(tmp)
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    np.savez(path, **arrays)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"(784, 8)")
    raw[at:at + 8] = shape                               # same length: the zip stays readable
    path.write_bytes(bytes(raw))
    return path
