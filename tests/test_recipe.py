"""The parts of a training recipe beyond plain gradient descent: learning-rate schedules, the
max-norm constraint, early stopping, and augmentation inside fit (reproducible, resumable)."""
import math

import numpy as np
import pytest

from digitnet import MLP, SGD, fit, load_mnist, training
from digitnet.augment import Augment
from digitnet.checkpoint import CheckpointError
from digitnet.errors import DigitnetError
from digitnet.schedules import SCHEDULES, one_cycle
from digitnet.training import inplace_max_norm, train_step


@pytest.fixture(scope="module")
def few(mnist_dir):
    data = load_mnist(mnist_dir, progress=False)
    return data.x_train[:600], data.y_train[:600], data.x_val[:300], data.y_val[:300]


def rates(schedule, epochs=4, per_epoch=5):
    steps = training._Steps(1.0, SCHEDULES[schedule], epochs, per_epoch, 32, l2=0, max_norm=None, augment=Augment(),
                           seed=0)
    return np.array([[steps.learning_rate(e, b) for b in range(per_epoch)] for e in range(1, epochs + 1)])


def test_step_divides_by_ten_at_half_and_three_quarters():
    np.testing.assert_allclose(rates("step")[:, 0], [1, 1, 0.1, 0.01])
    assert (rates("step") == rates("step")[:, :1]).all()                 # constant within an epoch


def test_exponential_multiplies_by_the_same_factor_every_epoch():
    first = rates("exponential")[:, 0]
    np.testing.assert_allclose(first[1:] / first[:-1], 0.01 ** 0.25)
    assert (rates("exponential") == rates("exponential")[:, :1]).all()


def test_one_cycle_warms_up_then_anneals():
    assert one_cycle(0) == pytest.approx(1 / 25) and one_cycle(0.3) == pytest.approx(1)
    assert one_cycle(0.999999) == pytest.approx(1e-4, abs=1e-6)
    flat = rates("one-cycle", 10, 10).ravel()
    peak = flat.argmax()
    assert 25 <= peak <= 31 and (np.diff(flat[:peak + 1]) > 0).all() and (np.diff(flat[peak:]) < 0).all()


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_starts_no_higher_than_the_peak_and_ends_lower(schedule):
    flat = rates(schedule).ravel()
    assert flat.max() <= 1.0 and (flat[-1] < flat.max() or schedule == "constant")


def test_max_norm_shortens_long_columns_only(xp):
    W = xp.asarray(np.array([[3.0, 0.1, 0.0], [4.0, 0.2, 0.0]], np.float32))       # lengths 5, 0.22, 0
    inplace_max_norm(W, 2.0)
    np.testing.assert_allclose(np.asarray(W), [[1.2, 0.1, 0.0], [1.6, 0.2, 0.0]], rtol=1e-6)


def test_train_step_keeps_every_unit_within_the_max_norm(few):
    x, y, _, _ = few
    model = MLP(sizes=(784, 32, 10))
    for _ in range(3):
        train_step(model, SGD(5.0), x[:64], y[:64], max_norm=0.5)
    for layer in model.dense:
        assert np.sqrt((layer.W ** 2).sum(axis=0)).max() <= 0.5 * (1 + 1e-6)


def test_early_stopping_stops_and_restores_the_best_weights(few, capsys):
    x, y, x_val, y_val = few
    model = MLP(sizes=(784, 64, 10))
    history = fit(model, x, y, x_val=x_val, y_val=y_val, learning_rate=0.02, epochs=40, batch_size=32,
                  patience=2, verbose=2)
    best = int(np.argmin(history["val_loss"]))
    assert len(history["epoch"]) == best + 3 < 40                      # two epochs without a better one
    assert model.loss_and_accuracy(x_val, y_val)[0] == pytest.approx(history["val_loss"][best], rel=1e-5)
    assert (f"early stopping: no lower validation loss in the 2 epochs after epoch {best + 1} "
            f"({history['val_loss'][best]:.4f}); its weights are restored") in capsys.readouterr().out


def test_patience_without_validation_data_is_refused(few):
    x, y, _, _ = few
    with pytest.raises(DigitnetError, match=r"^patience 1 watches the validation loss, and there is no validation "
                       r"set: give x_val and y_val$"):
        fit(MLP(sizes=(784, 16, 10)), x, y, epochs=3, patience=1, verbose=0)


def test_resuming_the_checkpoint_of_the_epoch_that_stopped_trains_no_more(few, tmp_path):
    x, y, x_val, y_val = few
    model = MLP(sizes=(784, 64, 10))
    history = fit(model, x, y, x_val=x_val, y_val=y_val, learning_rate=0.02, epochs=40, batch_size=32,
                  patience=2, verbose=0, checkpoint_dir=tmp_path)
    again = MLP(sizes=(784, 64, 10))
    resumed = fit(again, x, y, x_val=x_val, y_val=y_val, learning_rate=0.02, epochs=40, batch_size=32,
                  patience=2, verbose=0, resume=tmp_path)
    assert resumed["epoch"] == history["epoch"] and len(history["epoch"]) < 40
    np.testing.assert_array_equal(again.params, model.params)              # the best weights, put back


def test_unseeded_augmented_training_runs(few):
    x, y, _, _ = few
    history = fit(MLP(sizes=(784, 16, 10), random_state=None), x, y, epochs=1, augment="shift", random_state=None,
                  verbose=0)
    assert np.isfinite(history["train_loss"][0])


def recipe_run(few, checkpoint_dir=None, resume=None, epochs=3):
    x, y, x_val, y_val = few
    model = MLP(sizes=(784, 32, 10), dropout=0.2, random_state=2)
    history = fit(model, x, y, x_val=x_val, y_val=y_val, learning_rate=0.01, epochs=epochs, batch_size=64,
                  schedule="one-cycle", augment=Augment("ciresan"), max_norm=2.0, patience=1, random_state=2,
                  verbose=0, checkpoint_dir=checkpoint_dir, resume=resume)
    return model, history


def test_augmented_training_is_reproducible_and_differs_from_plain(few):
    first, again = recipe_run(few), recipe_run(few)
    np.testing.assert_array_equal(first[0].params, again[0].params)
    x, y, _, _ = few
    runs = {kind: MLP(sizes=(784, 32, 10), random_state=2) for kind in ("none", "shift")}
    for kind, model in runs.items():
        fit(model, x, y, learning_rate=0.01, epochs=1, batch_size=64, random_state=2, verbose=0, augment=kind)
    assert not np.array_equal(runs["none"].params, runs["shift"].params)        # only the augmentation differs


def test_an_augmented_run_with_early_stopping_resumes_to_bit_identical_weights(few, tmp_path, monkeypatch):
    unbroken = recipe_run(few, epochs=6)
    step, calls = training.train_step, []

    def crash_at(*args, **kwargs):
        calls.append(1)
        if len(calls) == 25:                                     # in epoch 3, after a best epoch
            raise RuntimeError("the machine went down")
        return step(*args, **kwargs)

    monkeypatch.setattr(training, "train_step", crash_at)
    with pytest.raises(RuntimeError):
        recipe_run(few, tmp_path, epochs=6)
    monkeypatch.setattr(training, "train_step", step)
    resumed = recipe_run(few, tmp_path, resume=tmp_path, epochs=6)
    np.testing.assert_array_equal(resumed[0].params, unbroken[0].params)
    assert resumed[1]["val_loss"] == unbroken[1]["val_loss"]


def test_resuming_with_another_augmentation_is_refused(few, tmp_path):
    recipe_run(few, tmp_path, epochs=1)
    x, y, x_val, y_val = few
    with pytest.raises(CheckpointError, match="made with augment {.kind.: .ciresan.*, not {.kind.: .elastic."):
        fit(MLP(sizes=(784, 32, 10), dropout=0.2, random_state=2), x, y, x_val=x_val, y_val=y_val,
            learning_rate=0.01, epochs=1, batch_size=64, schedule="one-cycle", augment="elastic", max_norm=2.0,
            patience=1, random_state=2, verbose=0, resume=tmp_path)


def test_the_schedules_factor_is_never_negative_or_nan():
    for factor in SCHEDULES.values():
        for p in np.linspace(0, 0.999, 50):
            value = factor(p, math.floor(p * 10) / 10)
            assert math.isfinite(value) and value >= 0
