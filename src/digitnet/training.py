"""Training: mini-batch gradient descent over the training set.

One step is `train_step`, four lines that are the whole of learning:

    a = model.forward(x, training=True)               forward: the network's output
    loss, da = model.loss.value_and_gradient(a, y)    loss, and dL/da to start backprop
    model.backward(da)                                backward: dL/dparams into model.grads
    optimizer.step(model.params, model.grads)         update: params move against the gradient

`fit` is the loop around it: every epoch it shuffles the training set, cuts
it into batches, sets the learning rate of each step from the schedule, runs
the steps, and records the history. After each epoch the history holds the
training loss and accuracy (averaged over the epoch's examples, so measured
while the weights were still moving, with dropout on) and the validation loss
and accuracy (measured at the end).

Training runs where the model is (model.to("gpu"), see backend.py): the
whole training set is copied there once.
"""
import itertools
import math
import time

import numpy as np

from . import checkpoint, progress
from .checkpoint import Position
from .backend import namespace, to_device
from .settings import check_settings, fit_data, fit_tools
from .errors import TrainingDiverged
from .interrupt import StopRequests, TrainingInterrupted
from .earlystopping import EarlyStopping
from .ratefinder import RateFinder
from .schedules import SCHEDULES

DIVERGED = 100      # a loss this many times the untrained network's has diverged, not learned
CHECK_EVERY = 10    # steps between looks at the loss, their mean (on a GPU each look waits for the device)
YARDSTICK = 1024    # training examples whose loss before the first step the guard measures against
HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


def train_step(model, optimizer, x, y, l2=0.0, max_norm=None):
    """One step of gradient descent on the batch x (batch, n_in), y (batch,), in place.

    Returns (loss, number right) on the model's device (0-d arrays; NumPy
    scalars on NumPy): the batch's mean loss and how many of its examples the
    network classified right before the update. With `l2`, the gradient gains
    l2 * W, the gradient of (l2 / 2) * ||W||^2 (weights only, not biases).
    With `max_norm`, every unit's incoming weights are then scaled back to
    that length if the update made them longer (inplace_max_norm).
    x and y are copied to the model's device first if they are not there."""
    x, y = to_device(x, model.xp), to_device(y, model.xp)
    a = model.forward(x, training=True)
    loss, da = model.loss.value_and_gradient(a, y)
    model.backward(da)
    if l2:
        model.grads[:model.n_weights] += l2 * model.params[:model.n_weights]
    optimizer.step(model.params, model.grads)
    if max_norm:
        for layer in model.dense:
            inplace_max_norm(layer.W, max_norm)
    return loss, model.xp.count_nonzero(model.xp.argmax(a, axis=1) == y)


def inplace_max_norm(W, c):
    """Scale each column of W (n_in, n_out), one unit's incoming weights, down to length c where it is
    longer: the max-norm constraint of Srivastava et al. 2014, which lets dropout nets take large steps."""
    xp = namespace(W)
    norms = xp.sqrt(xp.sum(W * W, axis=0))
    W *= c / xp.maximum(norms, xp.asarray(c, dtype=W.dtype))      # 1 where a column is short enough


@np.errstate(over="ignore", invalid="ignore")   # an overflow shows up as a NaN or infinite loss, checked
def fit(model, x_train, y_train, *, x_val=None, y_val=None, optimizer="adam", learning_rate=None,
        epochs=10, batch_size=128, l2=0.0, schedule="constant", random_state=0, verbose="auto",
        callbacks=(), checkpoint_dir=None, checkpoint_every=None, resume=None, augment=None, max_norm=None,
        patience=None):
    """Train `model` in place; return its history (a dict of per-epoch lists).

    x_train (n, 784) float32 in [0, 1], y_train (n,) integer labels, as NumPy arrays or already
    on the model's device. `optimizer` is a name from optimizers.OPTIMIZERS or an object with
    `step(params, grads)` and a `learning_rate` attribute; `learning_rate` is the peak rate
    (default: the object's own rate, or 0.001 with a name). A batch size of n or more is
    full-batch gradient descent. `schedule` (schedules.SCHEDULES) scales the learning rate at
    every step: "cosine" lowers it from `learning_rate` to 0 along half a cosine, which settles
    the weights into a minimum instead of circling around it. `augment` (an augment.Augment or
    its kind, e.g. "elastic") transforms every batch before its step, with random numbers seeded
    by (random_state, epoch, batch); `max_norm` caps each unit's incoming weights
    (inplace_max_norm). With `patience` (and a validation set), training stops once the
    validation loss has not improved for `patience` epochs, and the best epoch's weights (that of
    the lowest val_loss in the history, which lists every epoch trained) are put back. `verbose`
    follows Keras (progress.py): 0 silent, 1 a bar and a line per epoch, 2 a line per epoch (every
    epochs/20-th beyond 50 epochs), "auto" 1 in a terminal or a notebook and 2 elsewhere.

    Each callback is called as `callback(record)` after every epoch with that epoch's history
    entry; it sees the live `model.params` and `model.grads` (the last step's gradient), may
    change the weights, and ends training by returning False (fit returns the history so far).
    Every call starts afresh from `random_state` and the peak rate: the same shuffles, schedule and
    distortions as the last call, so train for more epochs in one call rather than in several.

    With `checkpoint_dir`, a checkpoint (checkpoint.py) is written there after every epoch
    (before the callbacks), every `checkpoint_every` minutes and when training is asked to stop;
    `resume=DIR` goes on from one, with the same arguments as the run that wrote it, to
    bit-identical weights. Ctrl-C or SIGTERM stop training after the current step with
    TrainingInterrupted (a KeyboardInterrupt). Raises TrainingDiverged if the loss becomes NaN,
    infinite or DIVERGED times the untrained network's (_Steps.check); its message names a smaller
    rate that was seen to train (ratefinder.py), and the model is left with the weights it started from.
    """
    epochs, batch_size, l2, max_norm, patience, random_state = check_settings(
        epochs, batch_size, l2, schedule, checkpoint_dir, checkpoint_every, max_norm, patience, random_state)
    opt, learning_rate, augment, callbacks = fit_tools(optimizer, learning_rate, augment, callbacks)
    progress.check_verbose(verbose)
    (x, y), (x_val, y_val) = fit_data(model, (x_train, y_train), (x_val, y_val), augment, patience)
    batch_size = min(batch_size, x.shape[0])
    steps = _Steps(learning_rate, SCHEDULES[schedule], epochs, math.ceil(x.shape[0] / batch_size), batch_size,
                   l2=l2, max_norm=max_norm, augment=augment, seed=random_state)
    validation = None if x_val is None else checkpoint.fingerprint(x_val, y_val)
    settings = {"data": checkpoint.fingerprint(x, y), "validation": validation, "optimizer": type(opt).__name__,
                "optimizer_settings": checkpoint.optimizer_settings(opt), "learning_rate": learning_rate,
                "epochs": epochs, "batch_size": batch_size, "l2": l2, "schedule": schedule,
                "random_state": random_state, "augment": augment.settings(), "max_norm": max_norm, "patience": patience}
    position, best_params = _start(model, opt, settings, random_state, resume)
    steps.first_loss, steps.floor = position.first_loss, model.loss.uninformed(model.sizes[-1])
    if steps.first_loss is None:                       # the divergence guard's yardstick: the loss before training
        n = min(YARDSTICK, x.shape[0])
        steps.first_loss = model.loss_and_accuracy(x[:n, ...], y[:n])[0]
    best = EarlyStopping(patience, model, position, best_params)
    saver = checkpoint.Saver(checkpoint_dir, checkpoint_every, model, opt, settings, best)
    finder = RateFinder(train_step, model, opt, x, y, batch_size, l2)   # keeps the starting weights
    try:
        with StopRequests() as stop, checkpoint.claim(checkpoint_dir):
            history = _epochs(model, opt, (x, y), (x_val, y_val), steps, position, progress.level(verbose),
                              callbacks, saver, stop)
    except TrainingDiverged as e:
        raise TrainingDiverged(f"{e}; {finder.advice(learning_rate)}") from None
    finally:
        opt.learning_rate = learning_rate            # the schedule's last rate is not left for the next fit
    best.restore(history, progress.level(verbose))
    return history


def _start(model, opt, settings, random_state, resume):
    """Where training begins, and the best weights so far (for early stopping): the start, or where
    the checkpoint in `resume` left it."""
    if resume is None:
        return Position(shuffle_state=np.random.default_rng(random_state).bit_generator.state,
                        history={key: [] for key in HISTORY_KEYS}), None
    arrays, meta = checkpoint.load(resume)
    return checkpoint.restore(arrays, meta, model, opt, settings, resume), arrays.get("best_params")


def _epochs(model, opt, data, validation, steps, position, shown, callbacks, saver, stop):
    """The epochs of `fit` from `position` on: steps, then the history record, its line, a
    checkpoint and the callbacks; until the last epoch, or early stopping's."""
    x, _ = data
    n, history = x.shape[0], position.history
    rng = np.random.default_rng()
    rng.bit_generator.state = position.shuffle_state
    if saver.best.exhausted(position.epoch - 1):          # resumed from the checkpoint of the epoch that stopped
        return history
    for epoch in range(position.epoch, steps.epochs + 1):
        position.epoch, position.shuffle_state = epoch, rng.bit_generator.state
        batches = itertools.islice(_batches(rng, n, steps.batch_size, model.xp), position.batch, None)
        steps.seed_dropout(model, epoch, position.batch)
        with progress.bar(shown, steps.per_epoch, f"epoch {epoch}/{steps.epochs}") as bar:
            bar.update(position.batch)
            total_loss, correct, started = _epoch(model, opt, data, batches, steps, position, bar, saver, stop)
        record = {"epoch": epoch, "train_loss": total_loss / n, "train_accuracy": correct / n,
                  "val_loss": None, "val_accuracy": None}
        if validation[0] is not None:
            record["val_loss"], record["val_accuracy"] = model.loss_and_accuracy(*validation)
        record["seconds"] = time.perf_counter() - started
        for key in HISTORY_KEYS:
            history[key].append(record[key])
        line = progress.epoch_line(record, steps.epochs) if shown else None
        if line:
            print(line, flush=True)
        saver.best.update(record)
        position = Position(epoch + 1, 0, rng.bit_generator.state, first_loss=steps.first_loss, history=history,
                            best_epoch=saver.best.epoch, best_loss=saver.best.loss)
        saver.save(position)                                 # the epoch is safe before any callback runs
        stops = [callback(record) is False for callback in callbacks]     # each runs; one False ends training
        if any(stops) or saver.best.exhausted(epoch):
            break
    if stop.signal is not None:                        # asked during the last epoch's validation or checkpoint
        raise TrainingInterrupted(stop.signal, f"the end of epoch {history['epoch'][-1]}", saver.path)
    if not bool(model.xp.all(model.xp.isfinite(model.params))):
        raise TrainingDiverged("training diverged: the weights became NaN or infinite")
    return history


def _epoch(model, opt, data, batches, steps, position, bar, saver, stop):
    """The rest of one epoch's steps, from batch `position.batch` on; returns the epoch's (loss summed
    over its examples, number right, start time), with what `position` held before."""
    (x, y), xp, epoch = data, model.xp, position.epoch
    total_loss = xp.asarray(position.loss_sum, dtype=xp.float64)     # sums kept on the device
    correct = xp.asarray(position.correct, dtype=xp.int64)
    started = time.perf_counter() - position.seconds
    looked, seen = position.loss_sum, 0                  # the loss summed at the last look; examples since
    for b, rows in enumerate(batches, start=position.batch):
        opt.learning_rate = steps.learning_rate(epoch, b)
        xb, yb = steps.images(x, rows, epoch, b), _take(y, rows)
        loss, right = train_step(model, opt, xb, yb, steps.l2, steps.max_norm)
        total_loss += loss * yb.shape[0]
        correct += right
        seen += yb.shape[0]
        if b % CHECK_EVERY == 0 or b == steps.per_epoch - 1 or stop.signal is not None:
            summed = float(total_loss)
            steps.check((summed - looked) / seen, f"epoch {epoch}, batch {b + 1}")   # the mean since the last look
            looked, seen = summed, 0
        if not bar.disable:
            bar.update()
            if b % 50 == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
        if stop.signal is not None or saver.due():
            position.batch, position.loss_sum, position.correct = b + 1, float(total_loss), int(correct)
            position.seconds, position.first_loss = time.perf_counter() - started, steps.first_loss
            path = saver.save(position)
            if stop.signal is not None:
                raise TrainingInterrupted(stop.signal, f"epoch {epoch}, batch {b + 1} of {steps.per_epoch}", path)
    return float(total_loss), int(correct), started


class _Steps:
    """How each step runs besides its four lines: the learning rate, the batch's images (augmented),
    the dropout masks' seeds, the penalty and constraint on the update, and the divergence guard."""

    def __init__(self, learning_rate, factor, epochs, per_epoch, batch_size, *, l2, max_norm, augment, seed):
        self.peak, self.factor, self.epochs, self.per_epoch = learning_rate, factor, epochs, per_epoch
        self.batch_size, self.l2, self.max_norm, self.augment = batch_size, l2, max_norm, augment
        self.seed = np.random.SeedSequence().entropy if seed is None else seed     # None: a fresh run each time
        self.first_loss = None                 # the loss before the first step (of the untrained network)
        self.floor = 0.0                       # the loss of a network that knows nothing (Loss.uninformed)

    def images(self, x, rows, epoch, b):
        """Batch b's images: the rows `rows` of x, augmented with random numbers of their own, seeded
        by (seed, epoch, b), so that a resumed run draws the very same ones."""
        xb = _take(x, rows)
        if self.augment.kind == "none":
            return xb
        return self.augment(xb, np.random.default_rng((self.seed, epoch, b)))

    def seed_dropout(self, model, epoch, done):
        """Seed the epoch's dropout masks by (seed, epoch), past the `done` batches a resumed epoch has
        trained on, so that a resumed run draws the very same ones (MLP.seed_dropout; on NumPy the
        masks come from the model's own generator instead, which a checkpoint saves)."""
        model.seed_dropout((self.seed, epoch), done, self.batch_size)

    def learning_rate(self, epoch, b):
        """The rate at batch b (from 0) of `epoch` (from 1): the peak times the schedule's factor."""
        progress = ((epoch - 1) * self.per_epoch + b) / (self.epochs * self.per_epoch)
        return self.peak * self.factor(progress, (epoch - 1) / self.epochs)

    def check(self, loss, where):
        """Stop when the loss (its mean since the last look) is NaN, infinite, or DIVERGED times the untrained
        network's (on YARDSTICK examples), or than a network's that knows nothing if that is more (a network
        fine-tuned starts far below it). Means, not single batches: one example of unscaled data may cost
        100 without anything diverging, while a batch that explodes lifts the mean of its look too."""
        if not math.isfinite(loss) or loss > DIVERGED * max(self.first_loss, self.floor):
            raise TrainingDiverged(f"training diverged: the loss went from {self.first_loss:.3g} to {loss:.3g} "
                                   f"by {where}")


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
