"""fit's arguments: each checked before any work, and turned into what the loop uses.

    fit_tools(optimizer, ...)         the optimizer object, peak rate, augmentation and callbacks
    check_settings(epochs, ...)       the numbers: epochs, batch size, l2, schedule, seed, ...
    fit_data(model, ...)              the training and validation sets, on the model's device
"""
import math

import numpy as np

from .augment import KINDS, Augment
from .backend import to_device
from .checks import check_live, real, scalar, whole
from .errors import DigitnetError
from .optimizers import OPTIMIZERS, check_rate, make_optimizer
from .schedules import SCHEDULES


def fit_tools(optimizer, learning_rate, augment, callbacks):
    """(optimizer object, peak learning rate, Augment, list of callbacks) from fit's arguments."""
    if isinstance(optimizer, type) or not (isinstance(optimizer, str) or hasattr(optimizer, "step")):
        raise DigitnetError(f"optimizer {optimizer!r}: give a name ({', '.join(OPTIMIZERS)}) or an object with "
                            f"step(params, grads), e.g. Adam(1e-3)")
    if learning_rate is None and not isinstance(optimizer, str) and not hasattr(optimizer, "learning_rate"):
        raise DigitnetError(f"optimizer {optimizer!r} has no learning_rate: give fit a learning_rate")
    if learning_rate is None:
        learning_rate = 1e-3 if isinstance(optimizer, str) else optimizer.learning_rate
    learning_rate = check_rate(learning_rate)
    opt = make_optimizer(optimizer, learning_rate) if isinstance(optimizer, str) else optimizer
    augment = Augment() if augment is None or augment is False else augment          # False: none, as None
    augment = Augment(augment) if isinstance(augment, str) else augment
    if not isinstance(augment, Augment):
        raise DigitnetError(f"augment {augment!r}: give a kind ({', '.join(KINDS)}) or an augment.Augment")
    if callable(callbacks):
        raise DigitnetError("callbacks must be a list of functions, each called as callback(record): "
                            "put the one function in a list")
    callbacks = [] if callbacks is None else list(callbacks)      # a generator is read once, here
    if not all(callable(c) for c in callbacks):
        raise DigitnetError("callbacks must be a list of functions, each called as callback(record)")
    return opt, learning_rate, augment, callbacks


def check_settings(epochs, batch_size, l2, schedule, checkpoint_dir=None, checkpoint_every=None, max_norm=None,
                   patience=None, random_state=None):
    """(epochs, batch_size, l2, max_norm, patience, random_state) as plain Python numbers (for a
    checkpoint's JSON), or a DigitnetError naming the first of these settings that cannot work."""
    max_norm, l2, checkpoint_every = scalar(max_norm), scalar(l2), scalar(checkpoint_every)
    if max_norm is not None and not (real(max_norm) and 0 < max_norm < math.inf):
        raise DigitnetError(f"max-norm {max_norm} must be a positive length, e.g. 3")
    if patience is not None and not whole(patience, 1):
        raise DigitnetError(f"patience {patience} must be a whole number of epochs, at least 1")
    if random_state is not None and not whole(random_state, 0):
        raise DigitnetError(f"random_state {random_state!r} must be None or a whole number from 0, e.g. 0")
    if checkpoint_every is not None and checkpoint_dir is None:
        raise DigitnetError(f"checkpoint every {checkpoint_every} minutes needs a checkpoint directory")
    if checkpoint_every is not None and not (real(checkpoint_every) and checkpoint_every > 0):
        raise DigitnetError(f"checkpoint every {checkpoint_every!r} minutes: give a positive number of minutes, "
                            f"e.g. 10")
    if not whole(epochs, 1):
        raise DigitnetError(f"epochs {epochs} must be a whole number of at least 1")
    if not whole(batch_size, 1):
        raise DigitnetError(f"batch size {batch_size} must be a whole number of at least 1")
    if not real(l2) or not np.isfinite(l2) or l2 < 0:
        raise DigitnetError(f"l2 {l2} must be zero or a small positive number, e.g. 1e-4")
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise DigitnetError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
    return (int(scalar(epochs)), int(scalar(batch_size)), float(l2), max_norm and float(max_norm),
            patience and int(scalar(patience)), None if random_state is None else int(scalar(random_state)))


def fit_data(model, training, validation, augment, patience):
    """The training and validation (x, y), checked and on the model's device; (None, None) for no
    validation set."""
    check_live(model)
    x, y = _examples(model, *training, "training")
    if augment.kind != "none" and x.shape[1] != 784:
        raise DigitnetError(f"augment {augment.kind!r} moves the pixels of 28x28 digits: this network reads "
                            f"{x.shape[1]} inputs, not 784")
    x_val, y_val = validation
    if x_val is None and y_val is not None:
        raise DigitnetError("y_val without x_val: give the validation images too")
    has_val = x_val is not None and not (np.ndim(x_val) > 0 and np.shape(x_val)[0] == 0)   # empty: none
    if patience and not has_val:
        raise DigitnetError(f"patience {patience} watches the validation loss, and there is no validation set: "
                            "give x_val and y_val")
    return (x, y), _examples(model, x_val, y_val, "validation") if has_val else (None, None)


def _examples(model, x, y, what):
    """(x, y) checked and copied to the model's device once, for the whole of training."""
    x = model.check_input(x)
    return to_device(x, model.xp), to_device(model.check_labels(y, x.shape[0], what), model.xp)
