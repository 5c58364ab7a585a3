"""Training: mini-batch gradient descent over the training set.

One step:
    1. take a batch x (batch, 784), y (batch,)
    2. forward:   a = model.forward(x, training=True)
    3. loss:      L, da = loss.value_and_gradient(a, y)
    4. backward:  model.backward(da)        -> model.grads holds dL/dparams
    5. L2:        grads[:n_weights] += l2 * W   (the gradient of (l2/2) * ||W||^2)
    6. update:    optimizer.step(model.params, model.grads)

One epoch is one pass over the training set in a fresh random order. After
each epoch the history records the training loss and accuracy (averaged over
the epoch's batches, so measured while the weights were still moving, with
dropout on) and the validation loss and accuracy (measured at the end).
"""
import math
import time

import numpy as np
from tqdm.auto import tqdm

from .errors import DigitnetError, TrainingDiverged
from .optimizers import make_optimizer

SCHEDULES = {                  # learning-rate factor as a function of progress in [0, 1)
    "constant": lambda progress: 1.0,
    "cosine": lambda progress: 0.5 * (1 + math.cos(math.pi * progress)),
    "linear": lambda progress: 1 - progress,
}
DIVERGED = 100      # a loss this many times the untrained network's has diverged, not learned
HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


def _check_settings(epochs, batch_size, l2):
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise DigitnetError(f"epochs {epochs} must be a whole number of at least 1")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DigitnetError(f"batch size {batch_size} must be a whole number of at least 1")
    if not np.isfinite(l2) or l2 < 0:
        raise DigitnetError(f"l2 {l2} must be zero or a small positive number, e.g. 1e-4")


@np.errstate(over="ignore", invalid="ignore")   # an overflow shows up as a NaN or infinite loss, checked
def fit(model, x_train, y_train, *, x_val=None, y_val=None, optimizer="adam", learning_rate=1e-3,
        epochs=10, batch_size=128, l2=0.0, schedule="constant", random_state=0, progress=True,
        callbacks=()):
    """Train `model` in place; return its history (a dict of per-epoch lists).

    x_train (n, 784) float32 in [0, 1], y_train (n,) integer labels. `optimizer`
    is a name from optimizers.OPTIMIZERS or an object with `step` and a
    `learning_rate` attribute. A batch size of n or more is full-batch gradient
    descent. `schedule` (see SCHEDULES) scales the learning rate at every step:
    "cosine" lowers it from `learning_rate` to 0 along half a cosine, which
    settles the weights into a minimum instead of circling around it. Each
    callback is called as `callback(record)` after every epoch with that
    epoch's history entry.
    Raises TrainingDiverged, leaving the model unusable, if the loss becomes
    NaN or infinite or grows to DIVERGED times the untrained network's loss.
    """
    _check_settings(epochs, batch_size, l2)
    if schedule not in SCHEDULES:
        raise DigitnetError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
    x_train, y_train = model.check_input(x_train), np.asarray(y_train, dtype=np.int64)
    if len(x_train) != len(y_train) or len(x_train) == 0:
        raise DigitnetError(f"{len(x_train)} training images but {len(y_train)} labels")
    opt = make_optimizer(optimizer, learning_rate) if isinstance(optimizer, str) else optimizer
    rng = np.random.default_rng(random_state)
    n = len(x_train)
    batch_size = min(batch_size, n)
    n_batches = math.ceil(n / batch_size)
    lr_factor = SCHEDULES[schedule]
    x_batch = np.empty((batch_size, x_train.shape[1]), dtype=np.float32)   # reused every step
    l2_scratch = np.empty(model.n_weights, dtype=model.params.dtype) if l2 else None
    history = {key: [] for key in HISTORY_KEYS}
    first_loss = None                          # the loss of the untrained network

    for epoch in range(1, epochs + 1):
        start_time = time.perf_counter()
        order = rng.permutation(n)             # a fresh random order every epoch
        total_loss, correct = 0.0, 0
        with tqdm(total=n_batches, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch",
                  disable=True if not progress else None) as bar:
            for b, (x, y) in enumerate(_batches(x_train, y_train, order, batch_size, x_batch)):
                step = (epoch - 1) * n_batches + b
                opt.learning_rate = learning_rate * lr_factor(step / (epochs * n_batches))
                loss, n_correct = train_step(model, opt, x, y, l2, l2_scratch)
                first_loss = loss if first_loss is None else first_loss
                _check_loss(loss, first_loss, f"epoch {epoch}, batch {b + 1}", learning_rate)
                total_loss += loss * len(y)
                correct += n_correct
                if not bar.disable:
                    bar.update()
                    if b % 50 == 0:
                        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        record = {"epoch": epoch, "train_loss": total_loss / n, "train_accuracy": correct / n,
                  "val_loss": None, "val_accuracy": None}
        if x_val is not None and len(x_val):
            record["val_loss"], record["val_accuracy"] = model.loss_and_accuracy(x_val, y_val)
        record["seconds"] = time.perf_counter() - start_time
        for key in HISTORY_KEYS:
            history[key].append(record[key])
        for callback in callbacks:
            callback(record)
    if not np.isfinite(model.params).all():
        raise TrainingDiverged(f"training diverged: the weights became NaN or infinite; "
                               f"try a smaller learning rate than {learning_rate:g}")
    return history


def _batches(x, y, order, batch_size, buffer):
    """(x, y) batches in `order`, each gathered into the reused `buffer`; a single batch is the data itself."""
    if batch_size >= len(x):                   # full-batch gradient descent: no copy
        yield x, y
        return
    for start in range(0, len(x), batch_size):
        rows = order[start:start + batch_size]
        yield np.take(x, rows, axis=0, out=buffer[:len(rows)]), y[rows]


def _check_loss(loss, first_loss, where, learning_rate):
    """Stop when the loss is NaN, infinite, or DIVERGED times the untrained network's."""
    if not math.isfinite(loss) or loss > DIVERGED * first_loss:
        raise TrainingDiverged(
            f"training diverged: the loss went from {first_loss:.3g} to {loss:.3g} by {where}; "
            f"the learning rate {learning_rate:g} is too large for this network, "
            f"try a smaller one (e.g. --lr {learning_rate / 10:g})")


def train_step(model, opt, x, y, l2=0.0, l2_scratch=None):
    """One gradient step on the batch x, y; returns (loss, number classified right) before the step."""
    a = model.forward(x, training=True)
    loss, da = model.loss.value_and_gradient(a, y)
    correct = int(np.count_nonzero(a.argmax(axis=1) == y))
    model.backward(da)
    if l2:                                     # dW += l2 * W, for the weights only
        weights = model.params[:model.n_weights]
        scaled = np.multiply(weights, l2, out=l2_scratch if l2_scratch is not None else np.empty_like(weights))
        model.grads[:model.n_weights] += scaled
    opt.step(model.params, model.grads)
    return loss, correct
