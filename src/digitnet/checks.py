"""What the network and `fit` accept, checked before any work: each bad argument is refused
with one DigitnetError that names it and says what would do.

    check_input(X, n_in)              pixels: an (n, n_in) float32 array
    check_labels(y, n, n_classes)     labels: an (n,) int64 array of class numbers
    fit_tools(optimizer, ...)         fit's optimizer, peak rate, augmentation and callbacks
    check_settings(epochs, ...)       fit's numbers: epochs, batch size, l2, schedule, ...
"""
import math

import array_api_compat
import numpy as np

from .augment import KINDS, Augment
from .backend import namespace, to_numpy
from .errors import DigitnetError
from .optimizers import OPTIMIZERS, check_rate, make_optimizer
from .schedules import SCHEDULES


def check_input(X, n_in):
    """X as a float32 (n, n_in) array; (n, 28, 28) images are flattened, one image made a batch of one.

    Lists and NumPy arrays come back as NumPy arrays; an array of another
    namespace (e.g. already on the GPU) stays there."""
    if not array_api_compat.is_array_api_obj(X):
        try:
            X = np.asarray(X)
        except ValueError:                              # e.g. rows of different lengths
            raise DigitnetError("input is not a rectangular array of numbers: expected (n, "
                                f"{n_in}) rows of pixels") from None
    xp = namespace(X)
    if X.ndim == 3 and X.shape[1] * X.shape[2] == n_in:
        X = xp.reshape(X, (X.shape[0], n_in))
    one_image = X.shape == (n_in,) or X.ndim == 2 and X.shape[0] == X.shape[1] and X.shape[0] ** 2 == n_in
    if one_image:
        X = xp.reshape(X, (1, n_in))                    # one image: (784,) or (28, 28)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise DigitnetError(f"input of shape {tuple(X.shape)} does not fit this network: "
                            f"expected (n, {n_in}) rows of pixels scaled to [0, 1]")
    if isinstance(X, np.ndarray) and not (np.issubdtype(X.dtype, np.number) and X.dtype.kind != "c"):
        raise DigitnetError(f"input has dtype {X.dtype}: expected real numbers")
    X = xp.astype(X, xp.float32, copy=False)
    # a sum is finite when every element is, and needs no temporary array the size of X;
    # only if it is not, look element by element: it may just have overflowed
    if not math.isfinite(float(xp.sum(X))) and not bool(xp.all(xp.isfinite(X))):
        raise DigitnetError("input contains NaN or infinite values (or values beyond float32's range)")
    return X


def check_labels(y, n, n_classes, what=""):
    """y as an int64 NumPy array (n,) of class numbers 0 to n_classes - 1; `what` ("training", ...)
    begins the messages."""
    what = what and what + " "
    if y is None:
        raise DigitnetError(f"{what}images without labels: give the labels too")
    y = to_numpy(y) if array_api_compat.is_array_api_obj(y) else np.asarray(y)
    if y.ndim != 1:
        raise DigitnetError(f"{what}labels of shape {y.shape}: expected one class number per image, shape (n,)")
    if n != y.shape[0] or n == 0:
        raise DigitnetError(f"{n} {what}images but {y.shape[0]} labels")
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise DigitnetError(f"{what}labels must be class numbers 0 to {n_classes - 1}, not {y.dtype} values")
    if y.min() < 0 or y.max() >= n_classes:                 # checked before int64, which wraps 2**63
        bad = y[(y < 0) | (y >= n_classes)][0]
        raise DigitnetError(f"label {bad:g} is not a class of this network: labels must be 0 to {n_classes - 1}")
    return y.astype(np.int64)


def fit_tools(optimizer, learning_rate, augment, callbacks):
    """(optimizer object, peak learning rate, Augment, list of callbacks) from fit's arguments."""
    if isinstance(optimizer, type) or not (isinstance(optimizer, str) or hasattr(optimizer, "step")):
        raise DigitnetError(f"optimizer {optimizer!r}: give a name ({', '.join(OPTIMIZERS)}) or an object with "
                            f"step(params, grads), e.g. Adam(1e-3)")
    if learning_rate is None:
        learning_rate = 1e-3 if isinstance(optimizer, str) else getattr(optimizer, "learning_rate", None)
    learning_rate = check_rate(learning_rate)
    opt = make_optimizer(optimizer, learning_rate) if isinstance(optimizer, str) else optimizer
    augment = Augment(augment) if isinstance(augment, str) else Augment() if augment is None else augment
    if not isinstance(augment, Augment):
        raise DigitnetError(f"augment {augment!r}: give a kind ({', '.join(KINDS)}) or an augment.Augment")
    callbacks = () if callbacks is None else callbacks
    if callable(callbacks) or not all(callable(c) for c in callbacks):
        raise DigitnetError("callbacks must be a list of functions, each called as callback(record)")
    return opt, learning_rate, augment, list(callbacks)


def whole(value, least):
    """Whether `value` is a whole number (not a bool) of at least `least`."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= least


def check_settings(epochs, batch_size, l2, schedule, checkpoint_dir=None, checkpoint_every=None, max_norm=None,
                   patience=None, random_state=None):
    """A DigitnetError naming the first of these training settings that cannot work."""
    if max_norm is not None and not (isinstance(max_norm, (int, float, np.number)) and 0 < max_norm < math.inf):
        raise DigitnetError(f"max-norm {max_norm} must be a positive length, e.g. 3")
    if patience is not None and not whole(patience, 1):
        raise DigitnetError(f"patience {patience} must be a whole number of epochs, at least 1")
    if random_state is not None and not whole(random_state, 0):
        raise DigitnetError(f"random_state {random_state!r} must be None or a whole number from 0, e.g. 0")
    every = isinstance(checkpoint_every, (int, float, np.number)) and not isinstance(checkpoint_every, bool)
    if checkpoint_every is not None and (checkpoint_dir is None or not every or not checkpoint_every > 0):
        raise DigitnetError(f"checkpoint every {checkpoint_every} minutes needs a checkpoint directory and a "
                            f"positive number of minutes, e.g. 10")
    if not whole(epochs, 1):
        raise DigitnetError(f"epochs {epochs} must be a whole number of at least 1")
    if not whole(batch_size, 1):
        raise DigitnetError(f"batch size {batch_size} must be a whole number of at least 1")
    if not isinstance(l2, (int, float, np.integer, np.floating)) or not np.isfinite(l2) or l2 < 0:
        raise DigitnetError(f"l2 {l2} must be zero or a small positive number, e.g. 1e-4")
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise DigitnetError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
