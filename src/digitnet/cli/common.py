"""Pieces several commands share: the --data option, model paths, output folders, number formatting."""
import argparse
import contextlib
import os
import sys
from pathlib import Path

from .. import atomic
from ..augment import KINDS, USED, Augment
from ..backend import DEVICES
from ..errors import DigitnetError
from ..io import default_model_path, load_model

NAME_MAX = 255                      # bytes in one file or folder name, on every common file system


def nonempty_path(text):
    """A file or folder path (an argparse type), ~ expanded once here, so that every file made from it
    (a model, its history, its checkpoint) goes to one place; an empty one is refused, not taken as
    "not given"."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: name a file or folder")
    return Path(text).expanduser() if text.startswith("~") else Path(text)       # ./~ stays a folder named ~


def add_data_argument(parser):
    parser.add_argument("--data", metavar="DIR", type=nonempty_path,
                        help="a directory of MNIST files (IDX, gzipped or raw, or mnist_train.csv and "
                             "mnist_test.csv); default: the download cache, filled on first use")


def layer_sizes(text):
    """'784,10,10' -> [784, 10, 10] (an argparse type: a bad value is argparse's one-line error)."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected layer sizes separated by commas, e.g. 784,10,10")
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least two sizes, each at least 1")
    return sizes


def seed(text):
    """A random seed: a whole number from 0 (an argparse type: a bad value is argparse's one-line error)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a seed is a whole number from 0, e.g. 0")
    return int(text)


def add_device_argument(parser, what):
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help=f"where to {what}: cpu (NumPy, default) or gpu (CuPy on an NVIDIA GPU, "
                             "installed with pip install 'digitnet[gpu]')")


MODEL_HELP = ("model file (default: where `train` saves without --out or --preset: model.npz in $DIGITNET_HOME, "
              "else in your user data folder)")


def model_path(path):
    """The model the user named, or the default location `train` saves to."""
    return Path(path) if path else default_model_path()


def load_digit_model(path, device="cpu"):
    """load_model, refusing a network that does not read MNIST digits: 784 pixels in, 10 digits out."""
    model = load_model(path, device=device)
    if (model.sizes[0], model.sizes[-1]) != (784, 10):
        raise DigitnetError(f"{path}: a network of {model.sizes[0]} inputs and {model.sizes[-1]} outputs; "
                            f"digitnet's commands need one of 784 pixels in and 10 digits out, as `digitnet "
                            f"train` makes")
    return model


def check_writable(folder, what):
    """Find out at the start, not after the work, that files can be written in `folder` (which need not
    exist yet); `what` names the argument in the message, e.g. "--out m.npz"."""
    try:
        atomic.check_writable(folder)
    except NotADirectoryError as e:
        raise DigitnetError(f"{what}: {e.filename} is a file, not a folder; choose a folder you can write "
                            f"to") from None
    except OSError as e:
        existing = atomic.nearest_existing(folder)             # the folder that refused: `folder` may not exist yet
        making = "" if existing == Path(folder).absolute() else f", to make {folder}"
        raise DigitnetError(f"{what}: cannot write into {existing}{making} ({e.strerror or e}); choose a folder "
                            f"you can write to") from None


def warn(text):
    """Print `text` on stderr, unless stderr has gone (the terminal closed: SIGHUP): the work it tells of
    is done, and saying so must not turn into an error of its own."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr, flush=True)


def check_name_length(path, what):
    """Refuse now a name longer than file systems take (255 bytes), which would fail after the work."""
    size = len(os.fsencode(Path(path).name))
    if size > NAME_MAX:
        raise DigitnetError(f"{what}: its name is {size} bytes long, and file systems take at most {NAME_MAX}: "
                            f"choose a shorter one")


def check_output_file(file, what, example=None):
    """Find out at the start that `file` can be written: no folder, device or pipe in its place, and a
    folder that takes files (atomic.target: a symbolic link is followed). `what` names the argument;
    `example`, a file name to suggest in a folder."""
    check_name_length(file, what)
    try:
        real = atomic.target(file)
    except IsADirectoryError:
        fix = f"name a file such as {Path(file) / example}" if example else "move it, or choose another name"
        raise DigitnetError(f"{what} is a directory: {fix}") from None
    except FileExistsError:
        raise DigitnetError(f"{what} is not a regular file (a device, pipe or socket): name another file") from None
    check_writable(real.parent, what)


def plural(n, word):
    """'1 epoch', '8 epochs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


AUGMENT = {"shift": "shift", "rotate": "rotate", "shear": "shear", "scale": "scale", "elastic_sigma": "sigma",
           "elastic_alpha": "alpha"}          # flag (as an argparse name) -> augment.Augment's parameter


def add_augment_arguments(parser, what):
    """--augment KIND and its strengths (`train` and `show`); `what` says what --augment does."""
    g = parser.add_argument_group("augmentation", "new training digits made from old ones (docs/experiments.md)")
    g.add_argument("--augment", choices=KINDS, help=f"{what}: shift moves by whole pixels, affine rotates, "
                   "shears and scales, elastic distorts smoothly (Simard 2003), ciresan does both")
    g.add_argument("--shift", type=int, metavar="PIXELS", help="largest shift each way (default 2)")
    g.add_argument("--rotate", type=float, metavar="DEGREES", help="largest rotation each way (default 15)")
    g.add_argument("--shear", type=float, metavar="DEGREES", help="largest shear each way (default 15)")
    g.add_argument("--scale", type=float, metavar="FRACTION", help="largest scaling each way per axis "
                   "(default 0.15: 85%% to 115%%)")
    g.add_argument("--elastic-sigma", type=float, metavar="PIXELS", help="smoothing of the elastic field (default 6)")
    g.add_argument("--elastic-alpha", type=float, metavar="A", help="strength of the elastic field (default 36)")


def check_augment_flags(args, kind):
    """Refuse a strength flag given on the command line that augmentation `kind` does not use."""
    for flag, param in AUGMENT.items():
        if getattr(args, flag, None) is not None and param not in USED[kind]:
            users = [k for k, used in USED.items() if param in used]
            raise DigitnetError(f"--{flag.replace('_', '-')} shapes --augment {' or '.join(users)}, not {kind}: "
                                f"add --augment {users[0]}, or drop --{flag.replace('_', '-')}")


def make_augment(kind, values):
    """augment.Augment of `kind` with the strengths in `values` (flag name -> value; None: the default)."""
    return Augment(kind, **{param: values[flag] for flag, param in AUGMENT.items() if values.get(flag) is not None})
