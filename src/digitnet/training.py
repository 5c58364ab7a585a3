"""Training: mini-batch gradient descent over the training set.

One step is `train_step`, four lines that are the whole of learning:

    a = model.forward(x, training=True)               forward: the network's output
    loss, da = model.loss.value_and_gradient(a, y)    loss, and dL/da to start backprop
    model.backward(da)                                backward: dL/dparams into model.grads
    optimizer.step(model.params, model.grads)         update: params move against the gradient

`fit` is the loop around it: every epoch it shuffles the training set, cuts
it into batches, sets the learning rate of each step from the schedule, runs
the steps, and records the history. After each epoch the history holds the
training loss and accuracy (averaged over the epoch's batches, so measured
while the weights were still moving, with dropout on) and the validation loss
and accuracy (measured at the end).

Training runs where the model is (model.to("gpu"), see backend.py): the
whole training set is copied there once.
"""
import copy
import math
import time

import numpy as np

from . import progress
from .backend import namespace, to_device, to_numpy
from .errors import DigitnetError, TrainingDiverged
from .optimizers import make_optimizer

SCHEDULES = {                  # learning-rate factor as a function of progress in [0, 1)
    "constant": lambda progress: 1.0,
    "cosine": lambda progress: 0.5 * (1 + math.cos(math.pi * progress)),
    "linear": lambda progress: 1 - progress,
}
DIVERGED = 100      # a loss this many times the untrained network's has diverged, not learned
CHECK_EVERY = 10    # steps between looks at the loss (on a GPU each look waits for the device)
HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


def train_step(model, optimizer, x, y, l2=0.0):
    """One step of gradient descent on the batch x (batch, n_in), y (batch,), in place.

    Returns (loss, number right) on the model's device (0-d arrays; NumPy
    scalars on NumPy): the batch's mean loss and how many of its examples the
    network classified right before the update. With `l2`, the gradient gains
    l2 * W, the gradient of (l2 / 2) * ||W||^2 (weights only, not biases).
    x and y are copied to the model's device first if they are not there."""
    x, y = to_device(x, model.xp), to_device(y, model.xp)
    a = model.forward(x, training=True)
    loss, da = model.loss.value_and_gradient(a, y)
    model.backward(da)
    if l2:
        model.grads[:model.n_weights] += l2 * model.params[:model.n_weights]
    optimizer.step(model.params, model.grads)
    return loss, model.xp.count_nonzero(model.xp.argmax(a, axis=1) == y)


@np.errstate(over="ignore", invalid="ignore")   # an overflow shows up as a NaN or infinite loss, checked
def fit(model, x_train, y_train, *, x_val=None, y_val=None, optimizer="adam", learning_rate=None,
        epochs=10, batch_size=128, l2=0.0, schedule="constant", random_state=0, verbose="auto",
        callbacks=()):
    """Train `model` in place; return its history (a dict of per-epoch lists).

    x_train (n, 784) float32 in [0, 1], y_train (n,) integer labels, as NumPy
    arrays or already on the model's device. `optimizer` is a name from
    optimizers.OPTIMIZERS or an object with `step(params, grads)` and a
    `learning_rate` attribute; `learning_rate` is the peak rate (default: the
    object's own rate, or 0.001 with a name). A batch size of n or more is
    full-batch gradient descent. `schedule` (see SCHEDULES) scales the learning
    rate at every step: "cosine" lowers it from `learning_rate` to 0 along half a
    cosine, which settles the weights into a minimum instead of circling
    around it. `verbose` follows Keras (progress.py): 0 silent, 1 a bar and a
    line per epoch, 2 a line per epoch, "auto" 1 in a terminal or a notebook and 2
    elsewhere. Each callback is called as `callback(record)` after every epoch
    with that epoch's history entry; it sees the live `model.params` and
    `model.grads` (the last step's gradient) and may change the weights.
    Raises TrainingDiverged if the loss becomes NaN or infinite or grows to
    DIVERGED times the untrained network's loss; its message names a smaller
    rate that was seen to train (see RateFinder), and the model is left with the
    weights it started from. If training stops early otherwise (an error,
    Ctrl-C), the model keeps the weights of the last finished step.
    """
    check_settings(epochs, batch_size, l2, schedule)
    progress.check_verbose(verbose)
    x, y = _examples(model, x_train, y_train, "training")
    has_val = x_val is not None and np.shape(x_val)[0] > 0          # an empty set: no validation
    x_val, y_val = _examples(model, x_val, y_val, "validation") if has_val else (None, None)
    if learning_rate is None:
        learning_rate = 1e-3 if isinstance(optimizer, str) else optimizer.learning_rate
    opt = make_optimizer(optimizer, learning_rate) if isinstance(optimizer, str) else optimizer
    batch_size = min(batch_size, x.shape[0])
    steps = _Steps(learning_rate, SCHEDULES[schedule], epochs, math.ceil(x.shape[0] / batch_size))
    finder = RateFinder(model, opt, x, y, batch_size, l2)          # the untrained network, kept
    try:
        return _epochs(model, opt, x, y, (x_val, y_val), steps, batch_size, l2,
                       np.random.default_rng(random_state), progress.level(verbose), callbacks)
    except TrainingDiverged as e:
        raise TrainingDiverged(f"{e}; {finder.advice(learning_rate)}") from None


def _epochs(model, opt, x, y, validation, steps, batch_size, l2, rng, shown, callbacks):
    """The epochs of `fit`: steps, then the history record, its line and the callbacks."""
    n, epochs = x.shape[0], steps.epochs
    history = {key: [] for key in HISTORY_KEYS}
    for epoch in range(1, epochs + 1):
        start_time = time.perf_counter()
        with progress.bar(shown, steps.per_epoch, f"epoch {epoch}/{epochs}") as bar:
            total_loss, correct = _epoch(model, opt, x, y, _batches(rng, n, batch_size, model.xp), l2,
                                         steps, epoch, bar)
        record = {"epoch": epoch, "train_loss": total_loss / n, "train_accuracy": correct / n,
                  "val_loss": None, "val_accuracy": None}
        if validation[0] is not None:
            record["val_loss"], record["val_accuracy"] = model.loss_and_accuracy(*validation)
        record["seconds"] = time.perf_counter() - start_time
        for key in HISTORY_KEYS:
            history[key].append(record[key])
        line = progress.epoch_line(record, epochs) if shown else None
        if line:
            print(line, flush=True)
        for callback in callbacks:
            callback(record)
    if not bool(model.xp.all(model.xp.isfinite(model.params))):
        raise TrainingDiverged("training diverged: the weights became NaN or infinite")
    return history


def _epoch(model, opt, x, y, batches, l2, steps, epoch, bar):
    """Run one epoch's steps; return (loss summed over the examples, number right)."""
    total_loss = model.xp.zeros((), dtype=model.xp.float64)     # sums kept on the device
    correct = model.xp.zeros((), dtype=model.xp.int64)
    for b, rows in enumerate(batches):
        opt.learning_rate = steps.learning_rate(epoch, b)
        loss, right = train_step(model, opt, _take(x, rows), _take(y, rows), l2)
        total_loss += loss * _count(rows, x)
        correct += right
        if b % CHECK_EVERY == 0 or b == steps.per_epoch - 1:
            steps.check(float(loss), f"epoch {epoch}, batch {b + 1}")
        if not bar.disable:
            bar.update()
            if b % 50 == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
    return float(total_loss), int(correct)


class _Steps:
    """The learning rate of every step, and the divergence guard that watches the loss."""

    def __init__(self, learning_rate, factor, epochs, per_epoch):
        self.peak, self.factor, self.epochs, self.per_epoch = learning_rate, factor, epochs, per_epoch
        self.first_loss = None                 # the loss of the untrained network

    def learning_rate(self, epoch, b):
        """The rate at batch b (from 0) of `epoch` (from 1): the peak times the schedule's factor."""
        progress = ((epoch - 1) * self.per_epoch + b) / (self.epochs * self.per_epoch)
        return self.peak * self.factor(progress)

    def check(self, loss, where):
        """Stop when the loss is NaN, infinite, or DIVERGED times the untrained network's."""
        self.first_loss = loss if self.first_loss is None else self.first_loss
        if not math.isfinite(loss) or loss > DIVERGED * self.first_loss:
            raise TrainingDiverged(f"training diverged: the loss went from {self.first_loss:.3g} to {loss:.3g} "
                                   f"by {where}")


class RateFinder:
    """After a divergence: a smaller learning rate that is seen to train.

    It keeps the network's starting weights and the optimizer as they were.
    `advice(rate)` tries rate / 10, rate / 100, ... down to LOWEST: each
    trains PROBE_STEPS steps from the starting weights, and the first whose
    loss stays finite and ends a quarter below where it started is the answer. The
    network is left with its starting weights."""

    LOWEST, PROBE_STEPS = 1e-6, 20

    def __init__(self, model, opt, x, y, batch_size, l2):
        self.model, self.x, self.y, self.batch_size, self.l2 = model, x, y, batch_size, l2
        self.params = model.xp.asarray(model.params, copy=True)
        try:
            self.opt = copy.deepcopy(opt)
        except Exception:                        # an optimizer object that cannot be copied: no probing
            self.opt = None

    def advice(self, rate):
        tried = [rate / 10 ** k for k in range(1, 40) if rate / 10 ** k >= self.LOWEST] or [rate / 10]
        found = next((r for r in tried if self.opt is not None and self._trains(r)), None)
        self.model.params[...] = self.params
        if found is None:
            return (f"the learning rate {rate:g} is too large for this network, and no rate down to {tried[-1]:g} "
                    f"trained {self.PROBE_STEPS} steps: check that the inputs are scaled to [0, 1]")
        return (f"the learning rate {rate:g} is too large for this network; {found:g} trained "
                f"{self.PROBE_STEPS} steps without diverging: try --lr {found:g}")

    def _trains(self, rate):
        """Whether PROBE_STEPS steps at `rate` from the starting weights bring the loss down by a quarter."""
        self.model.params[...] = self.params
        opt = copy.deepcopy(self.opt)
        opt.learning_rate = rate
        n = self.x.shape[0]
        losses = []
        for b in range(self.PROBE_STEPS):
            rows = slice(b * self.batch_size % n, min(b * self.batch_size % n + self.batch_size, n))
            losses.append(float(train_step(self.model, opt, self.x[rows, ...], self.y[rows], self.l2)[0]))
            if not math.isfinite(losses[-1]) or losses[-1] > DIVERGED * losses[0]:
                return False
        return bool(np.mean(losses[-5:]) < 0.75 * losses[0])


def check_settings(epochs, batch_size, l2, schedule):
    """A DigitnetError naming the first of these training settings that cannot work."""
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
        raise DigitnetError(f"epochs {epochs} must be a whole number of at least 1")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DigitnetError(f"batch size {batch_size} must be a whole number of at least 1")
    if not isinstance(l2, (int, float, np.integer, np.floating)) or not np.isfinite(l2) or l2 < 0:
        raise DigitnetError(f"l2 {l2} must be zero or a small positive number, e.g. 1e-4")
    if schedule not in SCHEDULES:
        raise DigitnetError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")


def _examples(model, x, y, what):
    """(x, y) checked and copied to the model's device once, for the whole of training."""
    x = model.check_input(x)
    if y is None:
        raise DigitnetError(f"{what} images without labels: give the labels too")
    y, n_classes = to_numpy(y), model.sizes[-1]
    if y.ndim != 1:
        raise DigitnetError(f"{what} labels of shape {y.shape}: expected one class number per image, shape (n,)")
    if x.shape[0] != y.shape[0] or y.shape[0] == 0:
        raise DigitnetError(f"{x.shape[0]} {what} images but {y.shape[0]} labels")
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise DigitnetError(f"{what} labels must be class numbers 0 to {n_classes - 1}, not {y.dtype} values")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= n_classes:
        bad = y[(y < 0) | (y >= n_classes)][0]
        raise DigitnetError(f"label {bad} is not a class of this network: labels must be 0 to {n_classes - 1}")
    return to_device(x, model.xp), to_device(y, model.xp)


def _batches(rng, n, batch_size, xp):
    """The rows of each batch: index arrays on the device, in a fresh random order every epoch.
    A single batch (full-batch gradient descent) is all rows in their own order, as a slice."""
    if batch_size >= n:
        yield slice(0, n)
        return
    order = to_device(rng.permutation(n), xp)
    for start in range(0, n, batch_size):
        yield order[start:min(start + batch_size, n)]


def _take(a, rows):
    """The rows `rows` of a: a view for a slice, a gathered copy for an index array."""
    if isinstance(rows, slice):
        return a[rows, ...]
    return namespace(a).take(a, rows, axis=0)


def _count(rows, x):
    return x.shape[0] if isinstance(rows, slice) else rows.shape[0]
