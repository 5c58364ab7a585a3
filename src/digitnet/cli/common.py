"""Pieces several commands share: the --data option, model paths, number formatting."""
import argparse
from pathlib import Path

from ..backend import DEVICES
from ..io import default_model_path


def add_data_argument(parser):
    parser.add_argument("--data", metavar="DIR", type=Path,
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


def add_device_argument(parser, what):
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help=f"where to {what}: cpu (NumPy, default) or gpu (CuPy on an NVIDIA GPU, "
                             "installed with pip install 'digitnet[gpu]')")


def model_path(path):
    """The model the user named, or the default location `train` saves to."""
    return Path(path) if path else default_model_path()


def percent(fraction):
    return f"{100 * fraction:.2f}%"
