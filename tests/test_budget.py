"""Time budgets (budget.py): the epochs that fit in a number of seconds, timed without touching the run."""
import math

import numpy as np
import pytest

from digitnet import MLP, Adam, DigitnetError, fit
from digitnet.errors import TrainingDiverged
from digitnet.backend import to_numpy
from digitnet.budget import Plan, check_seconds, epochs_within


def digits(n=1200, seed=0):
    """n fake 784-pixel digits in 10 classes: each class a bright band of its own, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.random((n, 784), dtype=np.float32) * 0.3
    for k in range(10):
        x[y == k, 78 * k:78 * k + 78] += 0.7
    return x, y


SETTINGS = dict(learning_rate=0.01, batch_size=64, schedule="cosine", random_state=3, augment="shift", l2=1e-4,
                max_norm=3.0)


def model(xp=np):
    return MLP(sizes=(784, 32, 10), dropout=0.2, input_dropout=0.1, random_state=3).to(xp)


def test_planning_leaves_the_model_the_optimizer_and_the_run_untouched(xp):
    """The probe trains the model and puts it back: its weights, gradient and generators and the
    optimizer's state are as they were, so the run after the plan is bit-identical to the same run
    without one."""
    x, y = digits()
    planned, optimizer = model(xp), Adam(0.01)
    fit(planned, x, y, optimizer=optimizer, epochs=1, verbose=0, **SETTINGS)       # some state to keep
    weights, grads, m = (to_numpy(a).copy() for a in (planned.params, planned.grads, optimizer.m))
    t = optimizer.t
    generators = [layer.rng for layer in planned.layers if hasattr(layer, "rate")]
    plan = epochs_within(60, planned, x, y, x_val=x[:200], y_val=y[:200], optimizer=optimizer, **SETTINGS)
    np.testing.assert_array_equal(to_numpy(planned.params), weights)
    np.testing.assert_array_equal(to_numpy(planned.grads), grads)
    assert [layer.rng for layer in planned.layers if hasattr(layer, "rate")] == generators
    np.testing.assert_array_equal(to_numpy(optimizer.m), m)
    assert optimizer.t == t
    epochs = min(plan.epochs, 3)
    fit(planned, x, y, optimizer=optimizer, epochs=epochs, verbose=0, **SETTINGS)
    unplanned, other = model(xp), Adam(0.01)
    fit(unplanned, x, y, optimizer=other, epochs=1, verbose=0, **SETTINGS)
    fit(unplanned, x, y, optimizer=other, epochs=epochs, verbose=0, **SETTINGS)
    np.testing.assert_array_equal(to_numpy(planned.params), to_numpy(unplanned.params))


def test_the_plan_fills_the_budget_with_whole_epochs():
    """An epoch is its batches times one step, plus its own work and the validation pass; the
    budget less the measuring holds `epochs` of them, and not one more."""
    x, y = digits()
    plan = epochs_within(30, model(), x, y, x_val=x[:200], y_val=y[:200], optimizer="adam", **SETTINGS)
    assert isinstance(plan, Plan) and plan.epochs >= 1
    assert plan.step_seconds > 0 and plan.probe_seconds > 0
    assert plan.epoch_seconds >= math.ceil(1200 / 64) * plan.step_seconds
    assert plan.epochs == math.floor((30 - plan.probe_seconds) / plan.epoch_seconds)
    assert plan.describe(30).startswith(f"time budget 30 s: a step takes {1000 * plan.step_seconds:.1f} ms and")
    assert plan.describe(30).endswith(f"so {plan.epochs} epochs")


def test_a_budget_too_small_for_one_epoch_names_what_one_takes():
    x, y = digits()
    with pytest.raises(DigitnetError, match=r"^time budget 0.001 s: one epoch takes about [\d.]+ s here, and "
                                            r"timing it took [\d.]+ s; give at least \d+ s, or train for a number "
                                            r"of epochs instead \(--epochs N\)$"):
        epochs_within(0.001, model(), x, y, **SETTINGS)


@pytest.mark.parametrize("seconds", [0, -5, math.nan, math.inf, True, "60", None])
def test_a_budget_is_a_positive_number_of_seconds(seconds):
    with pytest.raises(DigitnetError, match=r"^time budget .*: give a positive number of seconds, e.g. 600$"):
        check_seconds(seconds)
    with pytest.raises(DigitnetError, match=r"^time budget"):
        epochs_within(seconds, model(), *digits(100))


def test_full_batch_and_a_tiny_training_set_are_timed_too():
    """Fewer batches than the probe wants: it times the batches there are."""
    x, y = digits(100)
    plan = epochs_within(30, model(), x, y, batch_size=500)
    assert plan.epochs >= 1 and plan.epoch_seconds >= plan.step_seconds


def test_the_outcome_says_how_the_budget_was_spent_and_owns_up_to_an_overrun():
    plan = Plan(epochs=5, step_seconds=0.01, epoch_seconds=1.0, probe_seconds=0.5)
    assert plan.outcome(6, 5.1) == "+ 0.50 s timing steps = 5.60 s of the 6 s budget"
    assert plan.outcome(6, 6.5) == ("+ 0.50 s timing steps = 7.00 s of the 6 s budget, 17% over it: this machine "
                                    "ran slower than when its steps were timed")
    assert plan.outcome(600, 580.1) == "+ 0.5 s timing steps = 580.6 s of the 600 s budget"


def test_an_optimizer_that_cannot_be_copied_is_named():
    class Stubborn:
        learning_rate = 0.01

        def step(self, params, grads):
            params -= self.learning_rate * grads

        def __deepcopy__(self, memo):
            raise TypeError("no")

    with pytest.raises(DigitnetError, match=r"^optimizer <.*Stubborn object at .*> cannot be copied to time a few "
                                            r"steps with it: give its name, or choose the number of epochs instead$"):
        epochs_within(30, model(), *digits(100), optimizer=Stubborn())


RATES_SEEN = []


class Recorder:
    """Plain SGD that notes the rate of every step (in RATES_SEEN, which a copy shares)."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def step(self, params, grads):
        RATES_SEEN.append(self.learning_rate)
        params -= self.learning_rate * grads


@pytest.mark.parametrize("schedule, first", [("one-cycle", 1 / 25), ("cosine", 1.0), ("constant", 1.0)])
def test_the_timed_steps_hold_the_schedules_first_rate(schedule, first):
    """The run's speed does not depend on its rate, but whether it diverges does: the timed steps
    hold the rate the run starts with (one-cycle: 1/25 of its peak), never a later, larger one."""
    RATES_SEEN.clear()
    epochs_within(60, model(), *digits(), optimizer=Recorder(0.5), schedule=schedule, batch_size=64)
    assert len(RATES_SEEN) == 2 * 19 and set(RATES_SEEN) == {0.5 * first}


def test_a_rate_that_diverges_while_timing_says_so():
    with pytest.raises(TrainingDiverged, match=r"^while timing steps for the time budget, training diverged: .* "
                                               r"try learning rate \S+ \(--lr \S+\)$"):
        epochs_within(60, model(), *digits(), optimizer="sgd", learning_rate=1e5)


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_the_timed_steps_are_a_whole_number(steps):
    with pytest.raises(DigitnetError, match=rf"^probe_steps {steps!r} must be a whole number of at least 1$"):
        epochs_within(60, model(), *digits(100), probe_steps=steps)


def test_a_checkpoint_per_epoch_is_timed_without_leaving_one(tmp_path, monkeypatch):
    """With checkpoints, the epoch's own work includes one save, written into a temporary folder."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    x, y = digits()
    plan = epochs_within(60, model(), x, y, checkpoints=True, **SETTINGS)
    assert plan.epochs >= 1 and list(tmp_path.iterdir()) == []
