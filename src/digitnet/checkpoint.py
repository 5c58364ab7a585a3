"""Checkpoints: everything a training run needs to go on exactly where it stopped.

A checkpoint is one file, DIR/checkpoint.npz, written atomically (temp file,
then rename), so that the last good one survives any crash:

    params            the network's flat parameter vector
    best_params       with early stopping: the weights of the best epoch so far
    optimizer.NAME    the optimizer's state arrays (Adam's m and v, SGD's velocity)
    metadata          JSON: the network's layers, the training settings, a
                      fingerprint of the training set, where training is (epoch,
                      batches done, that epoch's sums so far), the state of every
                      random generator, the optimizer's step count and the history
                      (CuPy's generators cannot be saved: on a GPU fit seeds the
                      dropout masks anew each epoch, MLP.seed_dropout)

`training.fit(..., checkpoint_dir=DIR)` writes one after every epoch (and every
`checkpoint_every` minutes, and when it is asked to stop); `fit(..., resume=DIR)`
reads it back, refuses it if it was made for another network, other data or
other settings, and continues: the weights come out bit-identical to an
unbroken run's. Reading never unpickles. While a run uses DIR it holds DIR/lock
(`claim`), so that a second run given the same folder stops at once instead of
writing its checkpoints over the first's.
"""
import contextlib
import hashlib
import json
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from .atomic import atomic_write
from .backend import to_device, to_numpy
from .errors import DigitnetError, TrainingDiverged
from .optimizers import OPTIMIZERS, Optimizer

FORMAT, VERSION, NAME = "digitnet-checkpoint", 1, "checkpoint.npz"
LOCK = "lock"                      # held by the run that uses the folder (claim)
UNRECORDED = "unrecorded"          # a setting an older checkpoint did not record: resumed with any value
ADDED = {"augment": {"kind": "none"}, "max_norm": None, "patience": None,     # settings newer than version 1
         "validation": UNRECORDED, "optimizer_settings": UNRECORDED}


class CheckpointError(DigitnetError):
    """A checkpoint that cannot be read, or does not belong to this training run."""


@dataclass
class Position:
    """Where a training run is: enough to go on from there exactly."""

    epoch: int = 1                    # the epoch under way, from 1
    batch: int = 0                    # how many of its batches are done
    shuffle_state: dict = None        # the shuffling generator before this epoch drew its order
    loss_sum: float = 0.0             # this epoch's loss, summed over its examples so far
    correct: int = 0                  # this epoch's examples classified right so far
    seconds: float = 0.0              # this epoch's time so far
    first_loss: float = None          # the untrained network's loss (the divergence guard's yardstick)
    best_epoch: int = None            # early stopping: the epoch of the lowest validation loss so far,
    best_loss: float = None           # and that loss (its weights are the array best_params)
    history: dict = field(default_factory=dict)


@contextlib.contextmanager
def claim(directory):
    """Hold DIR/lock (creating DIR) while the block runs; CheckpointError at once if another run holds it.

    The lock is the operating system's (filelock: flock on Unix), so it is let go when its process
    ends, however it ends: a killed run's folder can be resumed from. Claims of one folder by one
    thread nest (the CLI claims it, then fit does). `directory` None claims nothing."""
    if directory is None:
        yield
        return
    lock = FileLock(Path(directory) / LOCK, timeout=0, is_singleton=True)
    try:
        lock.acquire()
    except Timeout:
        raise CheckpointError(f"{directory}: another training run is using this checkpoint folder; wait for it "
                              f"to end, or give this run a folder of its own") from None
    try:
        yield
    finally:
        lock.release()


def fingerprint(x, y):
    """A short hash of a training set: its shape, its labels and every 97th row of its pixels."""
    digest = hashlib.sha256()
    digest.update(repr(tuple(x.shape)).encode())
    digest.update(np.ascontiguousarray(to_numpy(y)).tobytes())
    digest.update(np.ascontiguousarray(to_numpy(x[::97, ...])).tobytes())
    return digest.hexdigest()[:16]


def save(directory, model, opt, position, settings, extra=None):
    """Write DIR/checkpoint.npz (atomically), with the arrays in `extra` (e.g. early stopping's
    best_params) beside the weights; refuses weights that are not finite. Returns its path."""
    params = to_numpy(model.params)
    if not np.isfinite(params).all():
        raise CheckpointError("refusing to write a checkpoint of NaN or infinite weights")
    arrays = {"params": params, **(extra or {})}
    for name in opt.state_names:
        if getattr(opt, name, None) is not None:
            arrays[f"optimizer.{name}"] = to_numpy(getattr(opt, name))
    meta = {"format": FORMAT, "version": VERSION, "model": model.config(), "settings": settings,
            "position": asdict(position), "optimizer": _optimizer_meta(opt),
            "model_rng": model.rng.bit_generator.state}
    path = Path(directory) / NAME
    with atomic_write(path) as f:
        np.savez(f, metadata=np.array(json.dumps(meta)), **arrays)
    return path


def load(directory):
    """(arrays, metadata) of DIR/checkpoint.npz; CheckpointError naming what is wrong otherwise."""
    path = Path(directory) / NAME
    if not path.is_file():
        raise CheckpointError(f"{directory}: no checkpoint here ({NAME} is missing); train with "
                              f"--checkpoint-dir {directory} to write one")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(str(arrays.pop("metadata")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise CheckpointError(f"{path}: not a readable digitnet checkpoint (damaged?); delete it to start "
                              f"afresh") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: not a digitnet checkpoint of version {VERSION}")
    return arrays, meta


def restore(arrays, meta, model, opt, settings, directory):
    """Put the checkpoint's weights, optimizer state and generator states back; return its Position.

    Refused with one line if the checkpoint was made for another network,
    other training data or other settings (`settings`, as `save` got them)."""
    if meta["model"] != model.config():
        raise CheckpointError(f"{directory}: the checkpoint is of another network "
                              f"({_sizes(meta['model'])}, not {'-'.join(map(str, model.sizes))}); "
                              f"resume with the same layers, or start afresh")
    for key, value in settings.items():
        saved = meta["settings"].get(key, ADDED.get(key))
        if saved != value and saved != UNRECORDED:
            if key in ("data", "validation"):              # fingerprints (checkpoint.fingerprint) of the images
                what = f"other {'training' if key == 'data' else 'validation'} data (fingerprint {saved}, not {value})"
            else:
                what = f"{key.replace('_', ' ')} {saved!r}, not {value!r}"
            raise CheckpointError(f"{directory}: the checkpoint was made with {what}; resume with the same "
                                  f"settings, or start afresh")
    model.params[...] = to_device(arrays["params"], model.xp)
    for name in opt.state_names:
        if f"optimizer.{name}" in arrays:
            setattr(opt, name, to_device(arrays[f"optimizer.{name}"], model.xp))
    for key, value in meta["optimizer"].items():
        setattr(opt, key, value)
    model.rng.bit_generator.state = meta["model_rng"]
    return Position(**meta["position"])


def _check_optimizer(opt):
    """Checkpoints save the state of digitnet's own optimizers; refuse any other."""
    if not isinstance(opt, Optimizer):
        raise CheckpointError(f"checkpoints need one of digitnet's optimizers ({', '.join(OPTIMIZERS)})")


def optimizer_settings(opt):
    """What sets an optimizer apart beyond its class: its scalars except the rate (the schedule's) and
    the step count, e.g. SGD's momentum and nesterov; None for an optimizer of the user's own."""
    if not isinstance(opt, Optimizer):
        return None
    return {key: value for key, value in _optimizer_meta(opt).items() if key not in ("learning_rate", "t")}


def _optimizer_meta(opt):
    """The optimizer's scalars: its type, rate and step count (Adam's t)."""
    _check_optimizer(opt)
    return {key: value for key, value in vars(opt).items()
            if key not in opt.state_names and isinstance(value, (int, float, bool, str))}


def _sizes(config):
    dense = [layer for layer in config["layers"] if layer.get("type") == "Dense"]
    return "-".join(map(str, [dense[0]["n_in"]] + [d["n_out"] for d in dense])) if dense else "no Dense layer"


class Saver:
    """Writes the checkpoints of a run into `directory` (if any): when asked, and says when one is due."""

    def __init__(self, directory, every_minutes, model, opt, settings, best):
        if directory is not None:                      # found out before training, not after its first epoch
            _check_optimizer(opt)
            if Path(directory).exists() and not Path(directory).is_dir():
                raise CheckpointError(f"checkpoint_dir {directory} is a file, not a folder: name a folder")
        self.directory, self.every, self.settings = directory, every_minutes, settings
        self.model, self.opt = model, opt
        self.best = best                       # the early stopping's best weights go into the checkpoint too
        self.last, self.path = time.monotonic(), None          # when the last checkpoint was written, and where

    def due(self):
        """Whether `every_minutes` have passed since the last checkpoint."""
        if self.directory is None or self.every is None:
            return False
        return time.monotonic() - self.last >= 60 * self.every

    def save(self, position):
        """The checkpoint's path, or None without a directory. Weights that are no longer finite are
        not saved over the last good checkpoint: training has diverged."""
        if self.directory is None:
            return None
        if not bool(self.model.xp.all(self.model.xp.isfinite(self.model.params))):
            when = (f"epoch {position.epoch}, batch {position.batch}" if position.batch     # between epochs: the
                    else f"the end of epoch {position.epoch - 1}")                         # one that just ended
            raise TrainingDiverged(f"training diverged: the weights became NaN or infinite by {when}")
        self.last = time.monotonic()
        self.path = save(self.directory, self.model, self.opt, position, self.settings, self.best.arrays())
        return self.path
