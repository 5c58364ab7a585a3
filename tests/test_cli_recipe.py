"""The recipe flags of `digitnet train` (--augment and its strengths, --schedule, --max-norm,
--patience, --input-dropout), `digitnet show --augment`, and the augmented presets."""
import json
import re
import signal

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.cli import train as train_command
from digitnet.interrupt import TrainingInterrupted
from digitnet.io import load_model
from test_cli import assert_one_line_error, digitnet


def test_an_augmented_run_says_what_it_does_and_records_it(mnist_dir, tmp_path):
    out = tmp_path / "m.npz"
    result = digitnet("train", "--data", mnist_dir, "--hidden", 64, "--epochs", 2, "--augment", "ciresan",
                      "--rotate", 10, "--elastic-alpha", 30, "--schedule", "one-cycle", "--max-norm", 3,
                      "--input-dropout", 0.1, "--patience", 5, "--out", out, "--quiet")
    assert "augmentation: ciresan, rotate 10, shear 15, scale 0.15, sigma 6, alpha 30" in result.stdout
    assert re.search(r"training: adam lr 0.006 \(one-cycle\), .* input dropout 0.1, max-norm 3, patience 5, seed 0",
                     result.stdout)
    assert float(re.search(r"test accuracy: ([\d.]+)%", result.stdout).group(1)) > 90
    training = load_model(out).metadata["training"]
    assert (training["augment"], training["rotate"], training["elastic_alpha"], training["max_norm"]) == \
        ("ciresan", 10.0, 30.0, 3.0)
    assert load_model(out).layers[0].config() == {"type": "Dropout", "rate": 0.1}
    assert ("dropout 0, input dropout 0.1, max-norm 3, patience 5, augment ciresan (rotate 10, shear 15, scale "
            "0.15, sigma 6, alpha 30), seed 0") in digitnet("info", out).stdout         # as train printed them


def test_early_stopping_from_the_command_line(mnist_dir, tmp_path):
    out = tmp_path / "m.npz"
    result = digitnet("train", "--data", mnist_dir, "--hidden", 32, "--epochs", 30, "--lr", 0.05,
                      "--schedule", "constant", "--patience", 1, "--out", out)
    history = json.loads(out.with_suffix(".history.json").read_text())
    best = int(np.argmin(history["val_loss"]))
    assert len(history["epoch"]) == best + 2 < 30
    assert f"early stopping: no lower validation loss in the epoch after epoch {best + 1}" in result.stdout
    assert f"history: {best + 2} epochs (early stopping ended it)" in digitnet("info", out).stdout


@pytest.mark.parametrize("flags, message", [
    (["--augment", "warp"], r"argument --augment: invalid choice: 'warp'"),
    (["--augment", "elastic", "--elastic-sigma", 0], "augmentation sigma 0.0 must be between 0.5 and 50 pixels"),
    (["--augment", "shift", "--shift", 40], "augmentation shift 40 must be a whole number of pixels, 0 to 27"),
    (["--augment", "affine", "--scale", 2], "augmentation scale 2.0 must be between 0 and 0.9"),
    (["--max-norm", -1], "max-norm -1.0 must be a positive length, e.g. 3"),
    (["--patience", 0], "patience 0 must be a whole number of epochs, at least 1"),
    (["--input-dropout", 1], "input dropout 1.0 must be at least 0 and below 1"),
    (["--schedule", "warm"], r"argument --schedule: invalid choice: 'warm'"),
    (["--time-budget", 0], r"time budget 0.0: give a positive number of seconds, e.g. 600"),
    (["--time-budget", "inf"], r"time budget inf: give a positive number of seconds, e.g. 600"),
    (["--time-budget", "1e300"], r"time budget 1e\+300 s is more than a week \(604,800 s\): for so long a run, "
                                 r"give its number of epochs instead"),
    (["--time-budget", 60, "--epochs", 3], "--time-budget chooses the number of epochs: give --epochs or "
                                           "--time-budget, not both"),
    (["--rotate", 10], "--rotate shapes --augment affine or ciresan, not none: add --augment affine, or drop --rotate"),
    (["--augment", "shift", "--elastic-sigma", 4], "--elastic-sigma shapes --augment elastic or ciresan, not "
                                                   "shift: add --augment elastic, or drop --elastic-sigma"),
])
def test_bad_recipe_flags_are_refused_before_the_data_is_read(flags, message, tmp_path):
    result = digitnet("train", "--data", tmp_path, *flags, check=False)
    assert_one_line_error(result, message)
    assert result.stdout == ""


def test_show_augment_draws_digits_beside_their_versions(mnist_dir, tmp_path):
    out = tmp_path / "aug.png"
    result = digitnet("show", "--augment", "elastic", "--elastic-sigma", 4, "--elastic-alpha", 34, "--count", 3,
                      "--data", mnist_dir, "--out", out)
    assert result.stdout.strip() == str(out) and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_augment_none_is_as_if_not_given(mnist_dir, tmp_path):
    """It draws the model's answers, not seven identical copies of each digit."""
    result = digitnet("show", tmp_path / "m.npz", "--augment", "none", "--data", mnist_dir, check=False)
    assert_one_line_error(result, "m.npz: no such model file")


def test_show_augment_takes_no_model(mnist_dir, tmp_path):
    result = digitnet("show", tmp_path / "m.npz", "--augment", "shift", "--data", mnist_dir, check=False)
    assert_one_line_error(result, "--augment draws training digits, not a model's answers: use it without a "
                                  "model, --index or --wrong")


@pytest.mark.parametrize("flags, message", [
    (["--seed", 3], "--seed 3: it chooses --augment's distortions; use it with --augment"),
    (["--augment", "shift", "--seed", -1], "argument --seed: '-1': a seed is a whole number from 0, e.g. 0"),
    (["--shift", 3], "--shift shapes --augment shift, not none: add --augment shift, or drop --shift"),
])
def test_show_refuses_augment_flags_that_would_do_nothing(flags, message, tmp_path):
    assert_one_line_error(digitnet("show", "--data", tmp_path, *flags, check=False), message)


def test_patience_without_a_validation_set_is_refused(mnist_dir, tmp_path):
    result = digitnet("train", "--data", tmp_path, "--patience", 2, "--validation-size", 0, check=False)
    assert_one_line_error(result, "--patience 2 watches the validation loss: keep --validation-size above 0")


def test_a_time_budget_chooses_the_epochs_and_says_how_to_repeat_the_run(mnist_dir, tmp_path):
    """--time-budget times a few steps, trains the epochs that fit, records the budget, and the
    count it prints repeats the run to the bit with --epochs."""
    flags = ["--data", mnist_dir, "--hidden", 32, "--batch-size", 512, "--augment", "shift", "--dropout", 0.1]
    result = digitnet("train", *flags, "--time-budget", 4, "--out", tmp_path / "b.npz", "--quiet")
    planned = re.search(r"time budget 4 s: a step takes [\d.]+ ms and an epoch about [\d.]+ s here \(timed in "
                        r"[\d.]+ s\), so (\d+) epochs?; --epochs (\d+) repeats this run exactly", result.stdout)
    assert planned and planned.group(1) == planned.group(2), result.stdout
    assert re.search(r"training time: [\d.]+ s \(\+ [\d.]+ s timing steps = [\d.]+ s of the 4 s budget",
                     result.stdout)
    epochs = int(planned.group(1))
    budgeted = load_model(tmp_path / "b.npz")
    assert (budgeted.metadata["training"]["time_budget"], budgeted.metadata["training"]["epochs"]) == (4.0, epochs)
    assert len(json.loads((tmp_path / "b.history.json").read_text())["epoch"]) == epochs
    digitnet("train", *flags, "--epochs", epochs, "--out", tmp_path / "e.npz", "--quiet")
    np.testing.assert_array_equal(load_model(tmp_path / "e.npz").params, budgeted.params)
    assert f"{epochs} epoch{'s' * (epochs > 1)} (as many as fit in 4 s)" in digitnet("info", tmp_path / "b.npz").stdout


def test_a_signal_while_timing_steps_stops_cleanly(mnist_dir, tmp_path, monkeypatch, capsys):
    """Ctrl-C or SIGTERM during --time-budget's timing (fit raises TrainingInterrupted there) ends
    the command with the signal's status and one line, leaving no model and no checkpoint."""
    def interrupted(*args, **kwargs):
        raise TrainingInterrupted(signal.SIGTERM, "epoch 1, batch 3 of 20")

    monkeypatch.setattr(train_command, "epochs_within", interrupted)
    assert main(["train", "--data", str(mnist_dir), "--time-budget", "60", "--out", str(tmp_path / "m.npz")]) == 143
    assert capsys.readouterr().err == ("digitnet: stopped by SIGTERM while timing steps for --time-budget; nothing "
                                       "was trained\n")
    assert list(tmp_path.iterdir()) == []


def test_a_signal_while_the_model_is_saved_leaves_the_checkpoint_to_resume(mnist_dir, tmp_path, monkeypatch, capsys):
    """Training is done, the model file is not yet whole: the checkpoint of the last epoch stays, and
    --resume saves the same network in no time."""
    from digitnet.interrupt import Terminated
    save_results = train_command.save_results

    def stopped(*args, **kwargs):
        raise Terminated

    monkeypatch.setattr(train_command, "save_results", stopped)
    args = ["train", "--data", str(mnist_dir), "--hidden", "16", "--epochs", "1", "--out", str(tmp_path / "m.npz"),
            "--quiet"]
    assert main(args) == 143
    checkpoints = tmp_path / "m.checkpoint"
    assert capsys.readouterr().err == (f"digitnet: stopped before the model was saved; the checkpoint in {checkpoints} "
                                       f"keeps the trained network: resume with `digitnet train --resume "
                                       f"{checkpoints}`\n")
    monkeypatch.setattr(train_command, "save_results", save_results)
    assert main(["train", "--resume", str(checkpoints), "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.history.json", "m.npz"]


def test_a_full_disk_at_the_save_names_the_file_and_keeps_the_checkpoint(mnist_dir, tmp_path, monkeypatch, capsys):
    import errno
    from digitnet.atomic import atomic_write

    def full(model, out, *args, **kwargs):
        with atomic_write(out) as f:
            f.write(b"x")
            raise OSError(errno.ENOSPC, "No space left on device")      # as a write to a full disk fails
    monkeypatch.setattr(train_command, "save_results", full)
    out, checkpoints = tmp_path / "my runs" / "m.npz", tmp_path / "my runs" / "m.checkpoint"
    assert main(["train", "--data", str(mnist_dir), "--hidden", "16", "--epochs", "1", "--out", str(out),
                 "--quiet"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"digitnet: error: No space left on device: {out}; the checkpoint in {checkpoints} keeps the trained "
        f"network: once that is put right, `digitnet train --resume '{checkpoints}'`")        # quoted for a shell
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint.npz", "command.json", "lock"]


def test_a_new_run_never_takes_over_an_earlier_runs_checkpoint(mnist_dir, tmp_path, monkeypatch, capsys):
    """A run stopped before its first checkpoint leaves nothing; one stopped after it leaves a
    checkpoint that a new run with the same --out refuses to write over."""
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt
    args = ["train", "--data", str(mnist_dir), "--hidden", "16", "--epochs", "1", "--out", str(tmp_path / "m.npz"),
            "--quiet"]
    monkeypatch.setattr(train_command, "fit", stopped)
    assert main(args) == 130
    assert list(tmp_path.iterdir()) == []                       # no command.json and lock left to puzzle over
    monkeypatch.undo()
    checkpoints = tmp_path / "m.checkpoint"
    checkpoints.mkdir()
    (checkpoints / "checkpoint.npz").write_bytes(b"an earlier run's")
    assert main(args) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"digitnet: error: the checkpoint folder {checkpoints} holds an earlier run's checkpoint: go on with it, "
        f"`digitnet train --resume {checkpoints}`, or delete that folder to start afresh")
    assert (checkpoints / "checkpoint.npz").read_bytes() == b"an earlier run's"
    kept = tmp_path / "kept"                                     # a finished run keeps a folder it was given
    assert main(args + ["--checkpoint-dir", str(kept)]) == 0 and (kept / "checkpoint.npz").exists()
    assert main(args + ["--checkpoint-dir", str(kept)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"digitnet: error: the checkpoint folder {kept} holds the checkpoint of an earlier run, which finished: "
        f"delete that folder, or choose another --checkpoint-dir, to train afresh")


def test_removing_the_checkpoint_takes_the_temp_files_a_kill_left(tmp_path):
    from digitnet.cli.train_folder import remove_checkpoint
    for name in ("checkpoint.npz", "command.json", "lock", ".checkpoint.npz.k93kkmir.tmp", ".command.json.x1.tmp"):
        (tmp_path / name).write_text("")
    remove_checkpoint(tmp_path)
    assert not tmp_path.exists()
