"""Checkpoints, resume and signals: a run that stops anywhere goes on to the same weights."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from digitnet import MLP, fit, load_model, save_model
from digitnet import training
from digitnet.backend import to_numpy
from digitnet.checkpoint import NAME, CheckpointError, load
from digitnet.errors import TrainingDiverged
from digitnet.interrupt import TrainingInterrupted
from digitnet.optimizers import OPTIMIZERS
from test_cli import assert_one_line_error, digitnet


def blobs(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return (rng.standard_normal((n, 4)) * 0.8 + np.eye(3, 4)[y]).astype(np.float32), y


SETTINGS = dict(optimizer="adam", learning_rate=0.01, epochs=3, batch_size=32, l2=1e-4, schedule="cosine",
                random_state=4, verbose=0)


def train(checkpoint_dir=None, resume=None, xp=np, input_dropout=0.0, **changes):
    x, y = blobs()
    model = MLP(sizes=(4, 16, 3), dropout=0.2, input_dropout=input_dropout, random_state=4).to(xp)
    history = fit(model, x, y, x_val=x[:100], y_val=y[:100], checkpoint_dir=checkpoint_dir, resume=resume,
                  **{**SETTINGS, **changes})
    return model, history


def same_run(a, b):
    np.testing.assert_array_equal(to_numpy(a[0].params), to_numpy(b[0].params))
    for key in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert a[1][key] == b[1][key], key


@pytest.mark.parametrize("stop_at", [7, 19, 45])          # mid-epoch 1, the first step of epoch 2, mid-epoch 3
def test_a_run_stopped_mid_epoch_resumes_to_bit_identical_weights(tmp_path, monkeypatch, stop_at, xp):
    """On NumPy and on the strict namespace, where dropout draws from generators that are not saved (as
    on CuPy) and a resumed epoch draws again the masks of the batches it has trained on."""
    unbroken = train(xp=xp, input_dropout=0.1)
    step, calls = training.train_step, []

    def crash_at(*args, **kwargs):
        calls.append(1)
        if len(calls) == stop_at:
            raise RuntimeError("the machine went down")
        return step(*args, **kwargs)

    monkeypatch.setattr(training, "train_step", crash_at)
    with pytest.raises(RuntimeError):
        train(tmp_path, xp=xp, input_dropout=0.1, checkpoint_every=1e-9)      # a checkpoint after every step
    monkeypatch.setattr(training, "train_step", step)
    same_run(train(tmp_path, resume=tmp_path, xp=xp, input_dropout=0.1), unbroken)


def test_a_model_read_from_a_file_resumes_to_bit_identical_weights(tmp_path, monkeypatch):
    """A loaded model's Dropout layers draw from the model's generator during fit, which a checkpoint saves."""
    save_model(MLP(sizes=(4, 16, 16, 3), dropout=0.2, random_state=4), tmp_path / "m.npz")
    x, y = blobs()

    def run(**settings):
        model = load_model(tmp_path / "m.npz")
        fit(model, x, y, **{**SETTINGS, **settings})
        return model.params

    unbroken, step, calls = run(), training.train_step, []

    def crash_at(*args, **kwargs):
        calls.append(1)
        if len(calls) == 30:
            raise RuntimeError("the machine went down")
        return step(*args, **kwargs)

    monkeypatch.setattr(training, "train_step", crash_at)
    with pytest.raises(RuntimeError):
        run(checkpoint_dir=tmp_path / "c", checkpoint_every=1e-9)
    monkeypatch.setattr(training, "train_step", step)
    np.testing.assert_array_equal(run(checkpoint_dir=tmp_path / "c", resume=tmp_path / "c"), unbroken)


def test_a_run_stopped_between_epochs_resumes_to_bit_identical_weights(tmp_path, xp):
    def stop_after_epoch_1(record):
        if record["epoch"] == 1:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        train(tmp_path, xp=xp, input_dropout=0.1, callbacks=[stop_after_epoch_1])
    resumed = train(tmp_path, resume=tmp_path, xp=xp, input_dropout=0.1)
    same_run(resumed, train(xp=xp, input_dropout=0.1))
    assert resumed[1]["epoch"] == [1, 2, 3]


@pytest.mark.parametrize("change, message", [
    (dict(batch_size=64), "made with batch size 32, not 64; resume with the same settings"),
    (dict(learning_rate=0.02), "made with learning rate 0.01, not 0.02"),
    (dict(epochs=5), "made with epochs 3, not 5"),
])
def test_resuming_with_other_settings_is_refused(tmp_path, change, message):
    train(tmp_path)
    with pytest.raises(CheckpointError, match=message):
        train(tmp_path, resume=tmp_path, **change)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_resumes_to_bit_identical_weights(tmp_path, optimizer):
    def stop_after_epoch_1(record):
        if record["epoch"] == 1:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        train(tmp_path, optimizer=optimizer, callbacks=[stop_after_epoch_1])
    same_run(train(tmp_path, resume=tmp_path, optimizer=optimizer), train(optimizer=optimizer))


@pytest.mark.parametrize("other", ["sgd", "nesterov"])
def test_resuming_with_another_kind_of_sgd_is_refused(tmp_path, other):
    """momentum, nesterov and plain sgd are all the class SGD: their settings tell them apart."""
    train(tmp_path, optimizer="momentum")
    with pytest.raises(CheckpointError, match=r"made with optimizer settings \{'momentum': 0.9, 'nesterov': False\}"):
        train(tmp_path, resume=tmp_path, optimizer=other)
    resumed = train(tmp_path, resume=tmp_path, optimizer="momentum")
    same_run(resumed, train(optimizer="momentum"))


def test_a_checkpoint_from_before_optimizer_settings_resumes(tmp_path):
    train(tmp_path)
    arrays, meta = load(tmp_path)
    del meta["settings"]["optimizer_settings"]
    np.savez(tmp_path / NAME, metadata=np.array(json.dumps(meta)), **arrays)
    same_run(train(tmp_path, resume=tmp_path), train())


def test_resuming_another_network_or_other_data_is_refused(tmp_path):
    train(tmp_path)
    x, y = blobs()
    with pytest.raises(CheckpointError, match=r"the checkpoint is of another network \(4-16-3, not 4-8-3\)"):
        fit(MLP(sizes=(4, 8, 3), dropout=0.2), x, y, resume=tmp_path, **SETTINGS)
    with pytest.raises(CheckpointError, match=r"made with other training data \(fingerprint [0-9a-f]{16}, not "
                                              r"[0-9a-f]{16}\)"):
        fit(MLP(sizes=(4, 16, 3), dropout=0.2), x[::-1], y[::-1], resume=tmp_path, **SETTINGS)
    with pytest.raises(CheckpointError, match="made with other validation data"):
        fit(MLP(sizes=(4, 16, 3), dropout=0.2), x, y, x_val=x[:50], y_val=y[:50], resume=tmp_path, **SETTINGS)
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        fit(MLP(sizes=(4, 16, 3)), x, y, resume=tmp_path / "elsewhere", **SETTINGS)
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CheckpointError, match="not a readable digitnet checkpoint"):
        fit(MLP(sizes=(4, 16, 3), dropout=0.2), x, y, resume=tmp_path, **SETTINGS)


def test_sigint_finishes_the_step_writes_a_checkpoint_and_stops(tmp_path):
    def interrupt(record):
        os.kill(os.getpid(), signal.SIGINT)                # as Ctrl-C does, after epoch 1

    with pytest.raises(TrainingInterrupted) as stopped:
        train(tmp_path, callbacks=[interrupt])
    assert stopped.value.exit_status == 130 and stopped.value.checkpoint == tmp_path / "checkpoint.npz"
    assert "epoch 2, batch 1 of 19" in str(stopped.value)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler        # the handler is given back
    same_run(train(tmp_path, resume=tmp_path), train())


def test_without_a_checkpoint_dir_a_signal_still_stops_after_a_whole_step():
    def terminate(record):
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted) as stopped:
        train(callbacks=[terminate])
    assert stopped.value.exit_status == 143 and stopped.value.checkpoint is None


def test_divergence_leaves_the_last_good_checkpoint(tmp_path):
    x, y = blobs()
    model = MLP(sizes=(4, 16, 3))
    fit(model, x, y, epochs=1, batch_size=32, verbose=0, checkpoint_dir=tmp_path)
    with pytest.raises(TrainingDiverged):
        fit(MLP(sizes=(4, 16, 3)), x * 1e4, y, optimizer="sgd", learning_rate=1e4, epochs=3, batch_size=32,
            verbose=0, checkpoint_dir=tmp_path, checkpoint_every=1e-9)
    with np.load(tmp_path / "checkpoint.npz") as saved:                     # the last one saved is whole
        assert np.isfinite(saved["params"]).all()


def position(directory):
    """(epoch, batch) of the checkpoint in `directory`, or None while there is none."""
    try:
        with np.load(directory / "checkpoint.npz") as saved:
            p = json.loads(str(saved["metadata"]))["position"]
        return p["epoch"], p["batch"]
    except (OSError, ValueError, KeyError):
        return None


FLAGS = ["--hidden", 32, "--dropout", 0.2, "--epochs", 3, "--batch-size", 64, "--validation-size", 1000, "--quiet"]


def start_training(mnist_dir, out, checkpoints):
    command = [sys.executable, "-m", "digitnet", "train", "--data", mnist_dir, *FLAGS, "--out", out,
               "--checkpoint-dir", checkpoints, "--checkpoint-every", 0.0003]
    return subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_mid_epoch(process, checkpoints, timeout=120):
    """Wait until the running command's checkpoint is in the middle of epoch 2."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        where = position(checkpoints)
        if where and where[0] == 2 and where[1] > 0:
            return where
        assert process.poll() is None, "training ended before it could be stopped"
        time.sleep(0.005)
    raise AssertionError("no checkpoint in the middle of epoch 2")


def test_sigkill_mid_epoch_then_resume_gives_the_unbroken_weights(mnist_dir, tmp_path):
    digitnet("train", "--data", mnist_dir, *FLAGS, "--out", tmp_path / "unbroken.npz")
    checkpoints = tmp_path / "checkpoints"
    process = start_training(mnist_dir, tmp_path / "killed.npz", checkpoints)
    wait_until_mid_epoch(process, checkpoints)
    process.kill()                                          # SIGKILL: no chance to save anything more
    process.wait()
    resumed = digitnet("train", "--resume", checkpoints, "--quiet")
    assert "resuming from the checkpoint in" in resumed.stdout
    here, total = map(float, re.search(r"training time: ([\d.]+) s here, ([\d.]+) s in all with the run it resumed",
                                       resumed.stdout).groups())
    training = load_model(tmp_path / "killed.npz").metadata["training"]
    assert here < total and training["seconds"] == pytest.approx(total, abs=0.05)      # the killed run's part too
    with np.load(tmp_path / "unbroken.npz") as a, np.load(tmp_path / "killed.npz") as b:
        for name in a.files:
            if name != "metadata":
                np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("sent, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_saves_a_checkpoint_and_prints_the_command_that_resumes(mnist_dir, tmp_path, sent, status):
    checkpoints = tmp_path / "checkpoints"
    process = start_training(mnist_dir, tmp_path / "m.npz", checkpoints)
    wait_until_mid_epoch(process, checkpoints)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status
    line = stderr.strip().splitlines()
    assert len(line) == 1 and line[0].endswith(f"resume with `digitnet train --resume {checkpoints}`"), stderr
    epoch, batch = position(checkpoints)
    assert f"at epoch {epoch}, batch {batch} of " in line[0]
    assert not (tmp_path / "m.npz").exists()
    digitnet("train", "--resume", checkpoints, "--quiet")
    assert (tmp_path / "m.npz").exists()


def test_a_run_given_relative_paths_resumes_from_another_folder(mnist_dir, tmp_path):
    """command.json keeps --out and --data as absolute paths: the model goes where the first run said."""
    command = [sys.executable, "-m", "digitnet", "train", "--data", os.path.relpath(mnist_dir, tmp_path), *FLAGS,
               "--out", "runs/m.npz", "--checkpoint-every", 0.0003]
    process = subprocess.Popen(list(map(str, command)), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_until_mid_epoch(process, tmp_path / "runs" / "m.checkpoint")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    (tmp_path / "elsewhere").mkdir()
    subprocess.run([sys.executable, "-m", "digitnet", "train", "--resume", str(tmp_path / "runs" / "m.checkpoint"),
                    "--quiet"], cwd=tmp_path / "elsewhere", check=True, capture_output=True, timeout=300)
    assert (tmp_path / "runs" / "m.npz").is_file() and list((tmp_path / "elsewhere").iterdir()) == []
    assert load_model(tmp_path / "runs" / "m.npz").metadata["training"]["data"] == os.path.abspath(mnist_dir)


def test_resume_with_a_contradicting_flag_is_one_line(mnist_dir, tmp_path):
    digitnet("train", "--data", mnist_dir, *FLAGS, "--out", tmp_path / "m.npz", "--checkpoint-dir", tmp_path / "c")
    result = digitnet("train", "--resume", tmp_path / "c", "--hidden", 64, check=False)
    assert_one_line_error(result, r"--hidden 64 contradicts the checkpoint in .* \(made with 32\): resume without it")
    assert_one_line_error(digitnet("train", "--resume", tmp_path / "nowhere", check=False),
                          "no checkpoint of `digitnet train` there")


def test_the_default_checkpoint_is_removed_once_the_model_is_saved(mnist_dir, tmp_path):
    digitnet("train", "--data", mnist_dir, *FLAGS, "--out", tmp_path / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.history.json", "m.npz"]


def test_a_stop_asked_after_the_last_step_is_not_ignored(tmp_path):
    """Ctrl-C or SIGTERM during the last epoch's validation or checkpoint: training is over, but the
    user asked to stop, so fit says so (the checkpoint of that epoch is written) instead of returning."""
    def stop_after_the_last_step(record):
        if record["epoch"] == SETTINGS["epochs"]:
            os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match=r"^training stopped by SIGINT at the end of epoch 3$") as stopped:
        train(checkpoint_dir=tmp_path / "c", callbacks=[stop_after_the_last_step])
    assert stopped.value.checkpoint == tmp_path / "c" / NAME and position(tmp_path / "c") == (4, 0)
