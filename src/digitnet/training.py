"""Training: mini-batch gradient descent over the training set.

One step:
    1. take a batch x (batch, 784), y (batch,) and cut it in two halves
       (a batch smaller than SPLIT_AT stays whole: steps 2-3 with one "half")
    2. for each half: forward, loss, backward   -> its share of dL/dparams
       (each half's loss gradient is divided by the whole batch size, so the
       two shares add up to exactly the gradient of the batch's mean loss)
    3. grads = share of half 0 + share of half 1
    4. L2:        grads[:n_weights] += l2 * W   (the gradient of (l2/2) * ||W||^2)
    5. update:    optimizer.step(params, grads)

The halves are there for speed: on a machine with two CPUs, a second process
takes half 1 and the second half of the update (parallel.py), so both cores
work through the whole step. Elsewhere one process does both halves in turn,
with the same operations; with one BLAS thread in both cases the weights come
out bit-identical (BLAS itself may round differently with more threads).

One epoch is one pass over the training set in a fresh random order. After
each epoch the history records the training loss and accuracy (averaged over
the epoch's batches, so measured while the weights were still moving, with
dropout on) and the validation loss and accuracy (measured at the end).
"""
import inspect
import math
import time
import weakref

import numpy as np
from tqdm.auto import tqdm

from .errors import DigitnetError, TrainingDiverged
from .optimizers import Optimizer, make_optimizer
from .parallel import Pair, shared_zeros, two_processes_possible

SCHEDULES = {                  # learning-rate factor as a function of progress in [0, 1)
    "constant": lambda progress: 1.0,
    "cosine": lambda progress: 0.5 * (1 + math.cos(math.pi * progress)),
    "linear": lambda progress: 1 - progress,
}
DIVERGED = 100      # a loss this many times the untrained network's has diverged, not learned
SPLIT_AT = 128      # batches this large are cut in two halves; smaller ones are too small to share
HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


def _check_settings(epochs, batch_size, l2, n_jobs):
    if n_jobs not in (1, 2):
        raise DigitnetError(f"n_jobs {n_jobs} must be 1 or 2 (processes working on each batch)")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise DigitnetError(f"epochs {epochs} must be a whole number of at least 1")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DigitnetError(f"batch size {batch_size} must be a whole number of at least 1")
    if not np.isfinite(l2) or l2 < 0:
        raise DigitnetError(f"l2 {l2} must be zero or a small positive number, e.g. 1e-4")


@np.errstate(over="ignore", invalid="ignore")   # an overflow shows up as a NaN or infinite loss, checked
def fit(model, x_train, y_train, *, x_val=None, y_val=None, optimizer="adam", learning_rate=1e-3,
        epochs=10, batch_size=128, l2=0.0, schedule="constant", random_state=0, progress=True,
        callbacks=(), n_jobs=2):
    """Train `model` in place; return its history (a dict of per-epoch lists).

    x_train (n, 784) float32 in [0, 1], y_train (n,) integer labels. `optimizer`
    is a name from optimizers.OPTIMIZERS or an object with `step` and a
    `learning_rate` attribute. A batch size of n or more is full-batch gradient
    descent. `schedule` (see SCHEDULES) scales the learning rate at every step:
    "cosine" lowers it from `learning_rate` to 0 along half a cosine, which
    settles the weights into a minimum instead of circling around it. Each
    callback is called as `callback(record)` after every epoch with that
    epoch's history entry; a callback may change model.params. `n_jobs=2`
    puts a second process on each batch of SPLIT_AT examples or more where the
    machine allows it (see parallel.py); 1 keeps to this one. An optimizer
    object gets the second process only if its `step` takes a `part` (see
    optimizers.Optimizer).
    Raises TrainingDiverged, leaving the model unusable, if the loss becomes
    NaN or infinite or grows to DIVERGED times the untrained network's loss.
    If training stops early (an error, Ctrl-C), the model keeps the weights as
    far as training got, possibly half from one step and half from the next.
    """
    _check_settings(epochs, batch_size, l2, n_jobs)
    if schedule not in SCHEDULES:
        raise DigitnetError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
    x_train, y_train = model.check_input(x_train), np.asarray(y_train, dtype=np.int64)
    if len(x_train) != len(y_train) or len(x_train) == 0:
        raise DigitnetError(f"{len(x_train)} training images but {len(y_train)} labels")
    n_classes = model.sizes[-1]
    if y_train.min() < 0 or y_train.max() >= n_classes:
        bad = y_train[(y_train < 0) | (y_train >= n_classes)][0]
        raise DigitnetError(f"label {bad} is not a class of this network: labels must be 0 to {n_classes - 1}")
    opt = make_optimizer(optimizer, learning_rate) if isinstance(optimizer, str) else optimizer
    rng = np.random.default_rng(random_state)
    n = len(x_train)
    batch_size = min(batch_size, n)
    n_batches = math.ceil(n / batch_size)
    lr_factor = SCHEDULES[schedule]
    history = {key: [] for key in HISTORY_KEYS}
    halves = Halves(model, opt, x_train, y_train, batch_size, l2, learning_rate)
    parallel = n_jobs == 2 and halves.in_parts and two_processes_possible()
    try:
        with Pair(parallel, halves.count) as pair:
            for epoch in range(1, epochs + 1):
                start_time = time.perf_counter()
                order = rng.permutation(n)     # a fresh random order every epoch
                lr_at = [learning_rate * lr_factor(((epoch - 1) * n_batches + b) / (epochs * n_batches))
                         for b in range(n_batches)]
                if not pair.is_main:           # the second process: the same epoch, no bar, no history
                    halves.epoch(pair, order, lr_at, f"epoch {epoch}")
                    continue
                with tqdm(total=n_batches, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch",
                          disable=True if not progress else None) as bar:
                    total_loss, correct = halves.epoch(pair, order, lr_at, f"epoch {epoch}", bar)
                model.params[...] = halves.params
                record = {"epoch": epoch, "train_loss": total_loss / n, "train_accuracy": correct / n,
                          "val_loss": None, "val_accuracy": None}
                if x_val is not None and len(x_val):
                    record["val_loss"], record["val_accuracy"] = model.loss_and_accuracy(x_val, y_val)
                record["seconds"] = time.perf_counter() - start_time
                for key in HISTORY_KEYS:
                    history[key].append(record[key])
                for callback in callbacks:
                    callback(record)
                halves.params[...] = model.params    # a callback may have changed them; the second
                                                     # process waits at the next batch's barrier
    finally:
        model.params[...] = halves.params      # the weights as far as training got
    if not np.isfinite(model.params).all():
        raise TrainingDiverged(f"training diverged: the weights became NaN or infinite; "
                               f"try a smaller learning rate than {learning_rate:g}")
    return history


class Halves:
    """The two halves of every batch, and the memory they share.

    Batches of SPLIT_AT examples or more are cut in two halves; a smaller
    batch is one "half", the whole of it (`count` is 1): at that size the work
    of a step is mostly the interpreter's, which a second process would only
    repeat.

    Shared (parallel.shared_zeros, so that a second process can take half 1):
    the parameters, one gradient vector per half, each half's (loss sum,
    number right) and the optimizer's state. Each half has a twin of the
    model (its own layer buffers, its own dropout randomness) that reads the
    shared parameters and writes its own gradient vector.
    """

    def __init__(self, model, opt, x, y, batch_size, l2, learning_rate):
        self.opt, self.x, self.y, self.batch_size, self.l2 = opt, x, y, batch_size, l2
        self.learning_rate = learning_rate           # the peak rate, for the divergence message
        self.n_weights = model.n_weights
        self.in_parts = _steps_in_parts(opt)         # asked once: inspecting a signature takes ~12 µs
        self.count = 2 if batch_size >= SPLIT_AT else 1
        self.params, self.grads, self.l2_scratch, self.stats = _shared_memory(model)
        self.params[...] = model.params
        self.stats[...] = 0
        self.twins = [model.twin(self.params, self.grads[half], rng) for half, rng in enumerate(model.rng.spawn(2))]
        rows = (batch_size + 1) // 2 if self.count == 2 else batch_size
        self.x_half = [np.empty((rows, x.shape[1]), np.float32) for _ in range(self.count)]
        self.batch = [None, None]                 # (x, y) of each half of the current batch
        self.first_loss = None                    # the loss of the untrained network
        if isinstance(opt, Optimizer):
            opt.prepare(self.params, shared_zeros)

    def epoch(self, pair, order, lr_at, where, bar=None):
        """Train on every batch of `order` at learning rates `lr_at`; return (loss sum, number right)."""
        part = pair.my_part(len(self.params))       # the slice of the parameters this process updates
        total_loss, correct = 0.0, 0
        for b, (rows, size) in enumerate(_batch_rows(order, self.batch_size)):
            for half in pair.ranks:                 # reading the batch needs no parameters: do it
                self.gather(rows, half)             # while the other process finishes its update
            pair.barrier()                          # every parameter is updated
            for half in pair.ranks:
                self.stats[half] = _forward_backward(self.twins[half], *self.batch[half], size)
            pair.barrier()                          # both halves' gradients are written
            (loss_0, correct_0), (loss_1, correct_1) = self.stats.tolist()
            loss = (loss_0 + loss_1) / size
            self.first_loss = loss if self.first_loss is None else self.first_loss
            _check_loss(loss, self.first_loss, f"{where}, batch {b + 1}", self.learning_rate)
            total_loss, correct = total_loss + loss_0 + loss_1, correct + int(correct_0 + correct_1)
            self.opt.learning_rate = lr_at[b]
            self.update(pair.rank, part)
            if bar is not None and not bar.disable:
                bar.update()
                if b % 50 == 0:
                    bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        pair.barrier()                              # the epoch's last update is done everywhere
        return total_loss, correct

    def gather(self, rows, half):
        """Half 0 or 1 of the batch `rows` (all of it when batches are not cut): a view of the
        training set for full-batch descent (`rows` is then slice(0, n)), else rows gathered
        into a buffer."""
        n = rows.stop if isinstance(rows, slice) else len(rows)
        middle = (n + 1) // 2
        start, stop = (0, n) if self.count == 1 else (0, middle) if half == 0 else (middle, n)
        if isinstance(rows, slice):             # full-batch descent: no copy
            self.batch[half] = self.x[start:stop], self.y[start:stop]
            return
        mine = rows[start:stop]
        # mode="clip": the rows are valid by construction, and the default mode copies `out` first
        self.batch[half] = (np.take(self.x, mine, axis=0, out=self.x_half[half][:len(mine)], mode="clip"),
                            self.y[mine])

    def update(self, rank, part):
        """Sum the halves' gradients, add L2 and step the optimizer, all on params[part].

        The sum goes into this process's own gradient vector `grads[rank]`,
        whose memory is already in this core's cache."""
        g = self.grads[rank]
        if self.count == 2:
            g[part] += self.grads[1 - rank][part]
        if self.l2:                                 # dW += l2 * W, for the weights only
            w = slice(part.start, min(part.stop, self.n_weights))
            if w.start < w.stop:
                g[w] += np.multiply(self.params[w], self.l2, out=self.l2_scratch[w])
        if self.in_parts:
            self.opt.step(self.params, g, part)
        else:
            self.opt.step(self.params, g)


_MEMORY = weakref.WeakKeyDictionary()          # model -> its shared memory, kept between fit calls


def _shared_memory(model):
    """(params, grads (2, n), L2 scratch, stats (2, 2)) in shared memory for `model`, kept between
    calls (fresh memory costs a page fault per 4 KiB, milliseconds for each fit). Kept here, not
    on the model: a copy or pickle of the model must not carry memory that is no longer shared."""
    memory = _MEMORY.get(model)
    if memory is None or memory[0].shape != model.params.shape or memory[0].dtype != model.params.dtype:
        shape, dtype = model.params.shape, model.params.dtype
        memory = _MEMORY[model] = (shared_zeros(shape, dtype), shared_zeros((2,) + shape, dtype),
                                   shared_zeros(shape, dtype), shared_zeros((2, 2), np.float64))
    return memory


def _steps_in_parts(opt):
    """Whether `opt` can update one part of the parameters at a time (see optimizers.Optimizer)."""
    return isinstance(opt, Optimizer) and "part" in inspect.signature(opt.step).parameters


def _batch_rows(order, batch_size):
    """(rows, size) of each batch; a single batch is all rows in their own order, as a slice."""
    if batch_size >= len(order):               # full-batch gradient descent: no shuffle needed
        yield slice(0, len(order)), len(order)
        return
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        yield rows, len(rows)


def _forward_backward(model, x, y, batch_size):
    """Leave this half's share of the batch gradient in model.grads; return (loss sum, number right)."""
    if len(y) == 0:                            # a batch of one has an empty second half
        model.grads[...] = 0
        return 0.0, 0
    a = model.forward(x, training=True)
    loss, da = model.loss.value_and_gradient(a, y)
    correct = np.count_nonzero(a.argmax(axis=1) == y)
    da *= len(y) / batch_size                  # d(batch mean loss) = (half size / batch size) d(half mean)
    model.backward(da)
    return loss * len(y), correct


def _check_loss(loss, first_loss, where, learning_rate):
    """Stop when the loss is NaN, infinite, or DIVERGED times the untrained network's."""
    if not math.isfinite(loss) or loss > DIVERGED * first_loss:
        raise TrainingDiverged(
            f"training diverged: the loss went from {first_loss:.3g} to {loss:.3g} by {where}; "
            f"the learning rate {learning_rate:g} is too large for this network, "
            f"try a smaller one (e.g. --lr {learning_rate / 10:g})")
