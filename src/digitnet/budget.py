"""Time budgets: how many epochs of a training run fit in a number of seconds on this machine.

The same settings take 7 s an epoch on one laptop and 15 s on another, so a
recipe written as "80 epochs" takes 10 minutes on the first and 20 on the
second. `epochs_within` measures instead of guessing:

    1. it trains the model on a few batches, twice, with the run's own
       settings (augmentation, dropout, a copy of the optimizer, the first
       learning rate of its schedule), and times the second pass, when the
       code and the caches are warm: one step's time, and the epoch's own
       work besides its steps (the shuffle, the checkpoint); then it puts the
       weights, the gradient and the random generators back (`_kept`);
    2. it times one validation pass, which `fit` makes after every epoch;
    3. an epoch is then (batches per epoch) x (one step) + (its own work)
       + (the validation), and the budget, less the time the measuring
       took, holds so many whole epochs.

So the model, the optimizer and every random generator come out as they went in, and
`fit(..., epochs=plan.epochs)` afterwards trains exactly the run that the
same call makes without a budget: the budget only chooses the epoch count,
and that count alone reproduces the run anywhere (the schedule depends on
it, so it is fixed before the first step rather than adjusted on the way).
The plan is an estimate: a machine that slows down mid-run (a busy
neighbour, a hot laptop) takes longer than planned.
"""
import contextlib
import copy
import math
import tempfile
import time
from dataclasses import dataclass

from .backend import to_device
from .checks import real, whole
from .errors import DigitnetError, TrainingDiverged
from .layers import Dropout
from .schedules import SCHEDULES
from .settings import check_settings, fit_tools
from .training import fit

PROBE_STEPS = 20       # batches in the timed pass; the pass before it, on the same batches, warms up


@dataclass(frozen=True)
class Plan:
    """How a budget is spent: `epochs` whole epochs of about `epoch_seconds` each (steps, checkpoint
    and validation), a step taking `step_seconds`; measuring took `probe_seconds` of the budget."""

    epochs: int
    step_seconds: float
    epoch_seconds: float
    probe_seconds: float

    def describe(self, seconds):
        return (f"time budget {seconds:g} s: a step takes {1000 * self.step_seconds:.1f} ms and an epoch about "
                f"{self.epoch_seconds:.2f} s here (timed in {self.probe_seconds:.1f} s), so {self.epochs} "
                f"epoch{'s' * (self.epochs != 1)}")

    def outcome(self, seconds, trained):
        """How the budget of `seconds` was spent, once training took `trained` seconds."""
        total = trained + self.probe_seconds
        over = "" if total <= seconds else (f", {100 * (total / seconds - 1):.0f}% over it: this machine ran slower "
                                            f"than when its steps were timed")
        digits = 2 if total < 10 else 1                  # 1.03 s of a 1 s budget is not "1.0 s, 3% over"
        return (f"+ {self.probe_seconds:.{digits}f} s timing steps = {total:.{digits}f} s of the {seconds:g} s "
                f"budget{over}")


WEEK = 7 * 24 * 3600      # seconds: a longer budget is a typo, or a run to plan by its epochs


def check_seconds(seconds):
    """`seconds` as a float, or a DigitnetError if it is not a positive number of seconds up to a week."""
    if not (real(seconds) and 0 < seconds < math.inf):
        raise DigitnetError(f"time budget {seconds!r}: give a positive number of seconds, e.g. 600")
    if seconds > WEEK:
        raise DigitnetError(f"time budget {seconds:g} s is more than a week ({WEEK:,} s): for so long a run, "
                            f"give its number of epochs instead")
    return float(seconds)


def epochs_within(seconds, model, x_train, y_train, *, x_val=None, y_val=None, optimizer="adam",
                  learning_rate=None, batch_size=128, l2=0.0, schedule="constant", random_state=0, augment=None,
                  max_norm=None, checkpoints=False, probe_steps=PROBE_STEPS):
    """The Plan for training `model` on x_train (n, n_in), y_train (n,) within `seconds`, timed on
    this machine. The other arguments are fit's, as the run will give them; `checkpoints`: the run
    writes a checkpoint after every epoch (fit's checkpoint_dir), so one such save is timed too.

    The timed steps hold the run's first learning rate (speed does not depend on it): a rate that
    diverges there raises TrainingDiverged, as the run would. Raises DigitnetError if not even one
    epoch fits, naming the time one takes."""
    seconds = check_seconds(seconds)
    if not whole(probe_steps, 1):
        raise DigitnetError(f"probe_steps {probe_steps!r} must be a whole number of at least 1")
    _, batch_size, l2, max_norm, _, random_state = check_settings(1, batch_size, l2, schedule, max_norm=max_norm,
                                                                  random_state=random_state)
    opt, peak, augment, _ = fit_tools(_copy(optimizer), learning_rate, augment, ())
    started = time.perf_counter()
    x = model.check_input(x_train)
    y = model.check_labels(y_train, x.shape[0], "training")
    batch_size = min(batch_size, x.shape[0])
    per_epoch = math.ceil(x.shape[0] / batch_size)
    steps = min(int(probe_steps), per_epoch)
    rows = min(steps * batch_size, x.shape[0])
    settings = dict(optimizer=opt, learning_rate=peak * SCHEDULES[schedule](0.0, 0.0), batch_size=batch_size,
                    l2=l2, random_state=random_state, augment=augment, max_norm=max_norm)
    step, overhead = _time_steps(model, x[:rows], y[:rows], steps, settings, checkpoints)
    epoch = per_epoch * step + overhead + _time_validation(model, x_val, y_val)
    measured = time.perf_counter() - started
    epochs = math.floor((seconds - measured) / epoch)
    if epochs < 1:
        raise DigitnetError(f"time budget {seconds:g} s: one epoch takes about {epoch:.1f} s here, and timing it "
                            f"took {measured:.1f} s; give at least {math.ceil(epoch + measured)} s, or train for "
                            f"a number of epochs instead (--epochs N)")
    return Plan(epochs, step, epoch, measured)


def _time_steps(model, x, y, steps, settings, checkpoints):
    """(one step's seconds, an epoch's own work besides its steps: the shuffle, the checkpoint): fit
    over the `steps` batches of x, y twice, the second time timed, warm; the model is put back."""
    ends = []                                                   # when each epoch's work was done
    with _kept(model), tempfile.TemporaryDirectory(prefix="digitnet-timing-") as folder:
        try:
            history = fit(model, x, y, epochs=2, schedule="constant", verbose=0, **settings,
                          checkpoint_dir=folder if checkpoints else None,
                          callbacks=[lambda record: ends.append(time.perf_counter())])
        except TrainingDiverged as e:
            raise TrainingDiverged(f"while timing steps for the time budget, {e}") from None
    trained = history["seconds"][1]
    return trained / steps, max(0.0, ends[1] - ends[0] - trained)


def _time_validation(model, x_val, y_val):
    """The seconds of the validation pass fit makes after every epoch (0 without a validation set)."""
    if x_val is None or not len(x_val):
        return 0.0
    x_val = to_device(model.check_input(x_val), model.xp)
    y_val = to_device(model.check_labels(y_val, x_val.shape[0], "validation"), model.xp)
    tic = time.perf_counter()
    model.loss_and_accuracy(x_val, y_val)
    return time.perf_counter() - tic


@contextlib.contextmanager
def _kept(model):
    """Whatever the block does to the model, its weights, gradient and random generators come out as
    they were. (On NumPy every Dropout layer draws from model.rng, whose state is kept; on a GPU fit
    gives the layers new generators, and their old ones are put back.)"""
    params, grads = model.xp.asarray(model.params, copy=True), model.xp.asarray(model.grads, copy=True)
    state = model.rng.bit_generator.state
    generators = [(layer, layer.rng) for layer in model.layers if isinstance(layer, Dropout)]
    try:
        yield
    finally:
        model.params[...], model.grads[...] = params, grads
        model.rng.bit_generator.state = state
        for layer, rng in generators:
            layer.rng = rng


def _copy(optimizer):
    """A name as it is; an optimizer object copied, so that timing steps leaves its state alone."""
    if isinstance(optimizer, str):
        return optimizer
    try:
        return copy.deepcopy(optimizer)
    except Exception:
        raise DigitnetError(f"optimizer {optimizer!r} cannot be copied to time a few steps with it: give its "
                            f"name, or choose the number of epochs instead") from None
