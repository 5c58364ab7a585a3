"""Model files: one .npz holding the weights and a JSON description.

    layers.0.W  float32 (784, 256)     one W and one b per Dense layer,
    layers.0.b  float32 (256,)         numbered by position in the layer list
    ...
    metadata    a JSON string: {"format": "digitnet-model", "version": 1,
                "model": {"layers": [...], "loss": "ce"}, "training": {...},
                "metrics": {...}, "history": {...}}

Reading never unpickles (`allow_pickle=False`), and everything is checked
before a network is built: names, shapes, dtypes, finiteness. A file that is
not a model file is described in our own words (NumPy's would suggest loading
it unsafely). Writing goes through a temp file, so a model file is always whole.
"""
import json
import math
import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import platformdirs

from .atomic import atomic_write, write_problem
from .backend import to_numpy
from .checks import check_live, real
from .errors import DigitnetError, ModelFileError
from .layers import LAYER_TYPES
from .losses import LOSSES
from .network import MLP

FORMAT, VERSION = "digitnet-model", 1


def default_model_path():
    """Where `train` saves and `evaluate` looks when no model is named: $DIGITNET_HOME (~ expanded, as
    in $DIGITNET_DATA) or the user data dir."""
    home = os.environ.get("DIGITNET_HOME") or platformdirs.user_data_dir("digitnet")
    return Path(home).expanduser() / "model.npz"


def save_model(model, path, **metadata):
    """Write `model` (and extra JSON-able metadata such as training, metrics, history) to `path`
    (~ expanded; missing folders are made), its weights as float32 whatever their dtype in memory.
    Returns the path written."""
    path = _file_path(path)
    check_live(model)
    if not np.isfinite(to_numpy(model.params)).all():
        raise ModelFileError("refusing to save a model whose weights contain NaN or infinity")
    own = sorted({"format", "version"} & metadata.keys())                # ("model" is this function's own)
    if own:
        raise ModelFileError(f"metadata {own[0]!r} is the model file's own entry: give yours another name")
    meta = model_metadata(model, **metadata)
    try:
        text = json.dumps(meta)
    except (TypeError, ValueError) as e:              # e.g. a NumPy number or array
        raise ModelFileError(f"metadata must be plain JSON values (numbers, text, lists, dicts): {e}") from None
    problem = _section_problem(meta)                   # what load_model would refuse is never written
    if problem:
        raise ModelFileError(f"refusing to save metadata that cannot be read back: {problem}")
    arrays = {f"layers.{i}.{name}": to_numpy(getattr(layer, name)).astype(np.float32, copy=False)
              for i, layer in enumerate(model.layers) for name in layer.param_names}
    try:
        with atomic_write(path) as f:
            np.savez(f, metadata=np.array(text), **arrays)
    except OSError as e:                               # named by the user's path, not atomic_write's temp file
        raise ModelFileError(f"cannot save the model to {path}: {write_problem(Path(path).parent, e)}; choose a "
                             "path in a folder you can write to") from None
    return Path(path)


def model_metadata(model, **metadata):
    """The JSON metadata a model file holds: format, version, the layer list, plus `metadata`."""
    return {"format": FORMAT, "version": VERSION, "model": model.config(), **metadata}


def write_json(path, obj):
    """Write `obj` as indented JSON, atomically."""
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def load_model(path, device="cpu"):
    """The MLP in a model file, on `device` ("cpu" or "gpu"); ModelFileError naming the problem
    otherwise. What the file says besides the weights (training settings, metrics, history) is
    `model.metadata`."""
    path = _file_path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file: name the model file in it, or "
                             f"train one with `digitnet train --out {path / 'model.npz'}`")
    if path.exists() and not path.is_file():           # a pipe, `<(cat m.npz)`: a model file is read by seeking
        raise ModelFileError(f"{path} is a pipe or device, not a file: save the model to a file first")
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file; train one with `digitnet train --out {path}`")
    arrays = _read_arrays(path)
    meta = _read_metadata(path, arrays.pop("metadata", None))
    model = _build(path, meta, arrays).to(device)
    model.metadata = meta
    return model


def _file_path(path):
    """`path` (a str or os.PathLike, ~ expanded) as a Path; ModelFileError for anything else."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ModelFileError(f"a model file is named by a path (a str or pathlib.Path), not {path!r}")
    return Path(path).expanduser()


MODEL_FILE = "a digitnet model file is the .npz that `digitnet train --out FILE` writes"
SIGNATURES = [(b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
              (b"BM", "a BMP image"), (b"\x1f\x8b", "gzip-compressed data"), (b"%PDF", "a PDF document"),
              (b"\x93NUMPY", "a single NumPy array (.npy), not an .npz"),
              (b"\x80", "a Python pickle, which digitnet never loads"),
              (b"PK", "a zip archive but not a readable .npz (cut short, damaged, or another kind of zip)")]


def _read_arrays(path):
    """{name: array} of an .npz, never unpickling; what the file is instead, if it is not one.

    Each array's header (shape, dtype) is read before its data, so that a file
    declaring more data than it holds, or Python objects, is refused before
    anything is allocated for it."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        npz = None
    if not isinstance(npz, np.lib.npyio.NpzFile):               # not loadable, or a single .npy array
        raise ModelFileError(f"{path}: not a digitnet model file: it is {_what_file(path)}; {MODEL_FILE}")
    with npz:
        if not all(member.endswith(".npy") for member in npz.zip.namelist()):
            raise ModelFileError(f"{path}: not a digitnet model file: it is a zip archive of other files (a PyTorch "
                                 f"or Keras model, say), not an .npz of arrays; {MODEL_FILE}")
        try:
            for name in npz.files:
                _check_header(path, npz.zip, name)
            return {name: npz[name] for name in npz.files}
        except (OSError, EOFError, ValueError, SyntaxError, zipfile.BadZipFile, zlib.error):   # (a bad header)
            raise ModelFileError(f"{path}: a damaged .npz (cut short or corrupted); {MODEL_FILE}") from None


MAX_ARRAY_BYTES = 1 << 30          # more than any MLP digitnet trains; a larger declared array is forged


def _check_header(path, archive, name):
    """Refuse the array `name` of an .npz, from its header alone, if it holds Python objects or declares
    more data than the archive member holds (or than MAX_ARRAY_BYTES)."""
    info = archive.getinfo(f"{name}.npy")
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = header(f)
    except Exception:                          # NumPy's parser of a forged header raises all sorts
        raise ModelFileError(f"{path}: a damaged .npz (the header of {name!r} is unreadable); "
                             f"{MODEL_FILE}") from None
    if dtype.hasobject:
        raise ModelFileError(f"{path}: not a digitnet model file: an .npz of Python objects, which digitnet never "
                             f"unpickles; {MODEL_FILE}")
    size = math.prod(shape) * dtype.itemsize
    if size > MAX_ARRAY_BYTES or size > info.file_size or size > 1100 * info.compress_size + 4096:
        raise ModelFileError(f"{path}: array {name!r} declares {size:,} bytes of data, more than the file holds; "
                             f"the file is damaged or forged; {MODEL_FILE}")


def _what_file(path):
    """A few words on what `path` holds, from its first bytes: an image, text, a zip, ..."""
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        return "empty"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:                              # a character cut at byte 512 is still text
        text = head[:e.start].decode("utf-8") if e.start > len(head) - 4 else None
    if text is not None and all(c.isprintable() or c in "\t\r\n" for c in text):
        return "a text file"
    return "binary data of a kind digitnet does not know"


def _read_metadata(path, raw):
    if raw is None or raw.dtype.kind != "U" or raw.ndim != 0:
        raise ModelFileError(f"{path}: no metadata in this .npz: not a digitnet model file")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a digitnet model file (format {meta.get('format')!r})"
                             if isinstance(meta, dict) else f"{path}: metadata is not a JSON object")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{path}: model file format version {meta.get('version')!r} is not supported "
                             f"(this digitnet reads version {VERSION}); retrain the model")
    problem = _section_problem(meta)
    if problem:
        raise ModelFileError(f"{path}: damaged metadata: {problem}; retrain the model")
    return meta


# the values `info`, `report` and `serve` format as numbers; any other key may hold anything JSON does
NUMBER_VALUES = {"training": {"lr", "l2", "dropout", "input_dropout", "max_norm", "seconds", "rotate", "shear",
                              "scale", "elastic_sigma", "elastic_alpha", "epochs", "batch_size", "seed",
                              "validation_size", "patience", "shift", "time_budget"},
                 "metrics": {"test_accuracy", "train_accuracy", "val_accuracy", "test_n"}}
HISTORY_LISTS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


def _section_problem(meta):
    """What makes the metadata's "training", "metrics" or "history" unusable where digitnet shows it, or
    None: each is optional but an object; a value shown as a number (NUMBER_VALUES) is null or a finite
    number; a history list holds finite numbers (val_loss and val_accuracy also nulls: no validation set)."""
    def number(v):
        return real(v) and abs(v) <= sys.float_info.max                   # finite: not NaN, not infinite

    for part in ("training", "metrics", "history"):
        if meta.get(part) is not None and not isinstance(meta[part], dict):
            return f"{part!r} is not a JSON object"
    for part in ("training", "metrics"):
        for key, v in (meta.get(part) or {}).items():
            if key in NUMBER_VALUES[part] and v is not None and not number(v):
                return f"{part} {key!r} is {json.dumps(v)[:40]}, not a number"
    for key in HISTORY_LISTS:
        v = (meta.get("history") or {}).get(key, [])
        if not isinstance(v, list) or not all(number(n) or n is None and key.startswith("val_") for n in v):
            return f"history {key!r} is not a list of numbers"
    return None


def _build(path, meta, arrays):
    spec = meta.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list) or not spec["layers"]:
        raise ModelFileError(f"{path}: metadata has no layer list")
    if not isinstance(spec.get("loss"), str) or spec["loss"] not in LOSSES:
        raise ModelFileError(f"{path}: unknown loss {spec.get('loss')!r}")
    layers, used = [], set()
    for i, conf in enumerate(spec["layers"]):
        kind = conf.get("type") if isinstance(conf, dict) else None
        if kind not in LAYER_TYPES:
            raise ModelFileError(f"{path}: layer {i} has unknown type {kind!r}")
        settings = {k: v for k, v in conf.items() if k != "type"}
        # check the arrays before building the layer: a forged size must not allocate anything
        params = {name: _array(path, arrays, f"layers.{i}.{name}", shape)
                  for name, shape in _param_shapes(path, i, kind, settings).items()}
        used.update(f"layers.{i}.{name}" for name in params)
        try:
            layer = LAYER_TYPES[kind](**settings)
        except (TypeError, ValueError, DigitnetError) as e:
            raise ModelFileError(f"{path}: layer {i} ({kind}) has bad settings: {e}") from None
        for name, value in params.items():
            setattr(layer, name, value)
        layers.append(layer)
    extra = sorted(set(arrays) - used)
    if extra:
        raise ModelFileError(f"{path}: unexpected array {extra[0]!r}: a model file holds its layers' W and b "
                             f"and the metadata, nothing else")
    try:
        return MLP(layers=layers, loss=spec["loss"])
    except Exception as e:                     # e.g. sizes that do not chain
        raise ModelFileError(f"{path}: {e}") from None


def _param_shapes(path, i, kind, settings):
    """The shapes the file must hold for layer i: only Dense has parameters."""
    if kind != "Dense":
        return {}
    n_in, n_out = settings.get("n_in"), settings.get("n_out")
    if not all(type(n) is int and n > 0 for n in (n_in, n_out)):           # JSON's true is no size
        raise ModelFileError(f"{path}: layer {i} (Dense) needs positive integer n_in and n_out")
    return {"W": (n_in, n_out), "b": (n_out,)}


def _array(path, arrays, name, shape):
    if name not in arrays:
        raise ModelFileError(f"{path}: missing array {name!r}")
    a = arrays[name]
    if a.shape != shape:
        raise ModelFileError(f"{path}: array {name!r} has shape {a.shape}, expected {shape}")
    if a.dtype.kind != "f":
        raise ModelFileError(f"{path}: array {name!r} has dtype {a.dtype}, expected float32")
    with np.errstate(over="ignore"):
        a = a.astype(np.float32)                  # checked after the cast: 1e300 in a float64 file turns infinite
    if not np.isfinite(a).all():
        raise ModelFileError(f"{path}: array {name!r} contains NaN or infinite values (or values beyond float32's "
                             f"range); the file is damaged: train the model again")
    return a
