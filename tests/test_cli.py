"""The `digitnet` command, run as a user runs it: in a subprocess, reading real MNIST."""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_FILES
from digitnet.cli.train_settings import DEFAULT_LR
from digitnet.init import DEFAULT_INIT
from digitnet.layers import ACTIVATIONS
from digitnet.optimizers import OPTIMIZERS


def digitnet(*args, check=True):
    """Run `python -m digitnet ARGS` with the test's environment; return the CompletedProcess."""
    result = subprocess.run([sys.executable, "-m", "digitnet", *map(str, args)], capture_output=True,
                            text=True, env=os.environ.copy(), timeout=300, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"digitnet {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def assert_one_line_error(result, message):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(message, lines[0]), lines[0]


@pytest.fixture(scope="module")
def trained(mnist_dir, tmp_path_factory):
    """A model trained for two epochs by the real command line."""
    out = tmp_path_factory.mktemp("cli") / "m.npz"
    result = digitnet("train", "--data", mnist_dir, "--epochs", 2, "--out", out)
    return out, result.stdout


def test_console_script_is_installed():
    script = shutil.which("digitnet", path=str(Path(sys.executable).parent)) or shutil.which("digitnet")
    assert script, "the `digitnet` console script is not on PATH: reinstall with pip install -e ."
    assert "train" in subprocess.run([script, "--help"], capture_output=True, text=True).stdout


def test_train_prints_epochs_accuracy_time_and_saves(trained):
    out, stdout = trained
    assert re.search(r"epoch +1/2 +train loss [\d.]+ acc [\d.]+%  val loss [\d.]+ acc [\d.]+%", stdout)
    accuracy = float(re.search(r"test accuracy: ([\d.]+)%", stdout).group(1))
    assert accuracy >= 96.0
    assert re.search(r"training time: [\d.]+ s", stdout)
    assert out.is_file() and out.with_suffix(".history.json").is_file()
    history = json.loads(out.with_suffix(".history.json").read_text())
    assert len(history["train_loss"]) == 2


def test_models_named_alike_keep_their_own_history(mnist_dir, tmp_path):
    """run.1 and run.2 would both write run.history.json (and share run.checkpoint/) if the history
    replaced the last suffix; only .npz is replaced."""
    for run in ("run.1", "run.2"):
        stdout = digitnet("train", "--data", mnist_dir, "--hidden", 16, "--epochs", 1, "--out", tmp_path / run).stdout
        assert f"(history: {tmp_path / run}.history.json)" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.1", "run.1.history.json", "run.2",
                                                          "run.2.history.json"]


def test_evaluate_json_agrees_with_train(trained, mnist_dir):
    out, stdout = trained
    printed = re.search(r"test accuracy: [\d.]+% \(([\d,]+)/10,000\)", stdout).group(1)
    report = json.loads(digitnet("evaluate", out, "--data", mnist_dir, "--json").stdout)
    assert report["n"] == 10_000
    assert report["correct"] == int(printed.replace(",", ""))
    assert report["accuracy"] == report["correct"] / 10_000
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10_000 and np.trace(cm) == report["correct"]
    text = digitnet("evaluate", out, "--data", mnist_dir).stdout
    assert f"accuracy: {100 * report['accuracy']:.2f}%" in text and "confusion matrix" in text


def test_default_model_location(mnist_dir, isolated_dirs):
    result = digitnet("train", "--data", mnist_dir, "--hidden", "16", "--epochs", 1, "--quiet")
    default = isolated_dirs / "home" / "model.npz"
    assert f"saved model to {default}" in result.stdout and default.is_file()
    assert json.loads(digitnet("evaluate", "--data", mnist_dir, "--json").stdout)["model"] == str(default)


def test_same_seed_same_weights(mnist_dir, tmp_path):
    for name in ("a", "b"):
        digitnet("train", "--data", mnist_dir, "--hidden", "32", "--epochs", 1, "--dropout", 0.1,
                 "--seed", 3, "--out", tmp_path / f"{name}.npz", "--quiet")
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert a.files == b.files
        for name in a.files:
            if name != "metadata":
                np.testing.assert_array_equal(a[name], b[name])


def copy_mnist(src, dst, **replacements):
    """The four real files in dst, with some replaced by bytes given as name=bytes."""
    dst.mkdir()
    for name in MNIST_FILES:
        key = name.split(".")[0].replace("-", "_")
        if key in replacements:
            (dst / name).write_bytes(replacements[key])
        else:
            (dst / name).symlink_to(src / name)
    return dst


def idx_bytes(magic, dims, data=b""):
    header = bytes([0, 0]) + magic + bytes([len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return gzip.compress(header + data)


def test_data_errors_are_one_line_and_exit_2(mnist_dir, tmp_path):
    truncated = (mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes()[:100_000]
    cases = {
        "truncated": (dict(t10k_images_idx3_ubyte=truncated), r"t10k-images-idx3-ubyte.gz: .*(truncated|corrupt)"),
        "magic": (dict(t10k_labels_idx1_ubyte=b"\x1f\x8b" + gzip.compress(b"\x12\x34\x08\x01")[2:]),
                  r"t10k-labels-idx1-ubyte.gz: .*magic"),
        "count": (dict(t10k_labels_idx1_ubyte=idx_bytes(b"\x08", [9990], bytes(9990))),
                  r"9990 labels but 10000 images"),
    }
    for name, (replacements, message) in cases.items():
        bad = copy_mnist(mnist_dir, tmp_path / name, **replacements)
        assert_one_line_error(digitnet("train", "--data", bad, "--epochs", 1, check=False), message)


def test_bad_csv_row(tmp_path):
    rows = "\n".join(",".join(["3"] + ["0"] * 784) for _ in range(20))
    (tmp_path / "mnist_train.csv").write_text(rows + "\n")
    (tmp_path / "mnist_test.csv").write_text(rows + "\n3," + ",".join(["0"] * 783) + ",x\n")
    result = digitnet("train", "--data", tmp_path, "--validation-size", 5, check=False)
    assert_one_line_error(result, r"mnist_test.csv line 21.*not a number|mnist_test.csv line 21")


def test_missing_paths(tmp_path):
    assert_one_line_error(digitnet("train", "--data", tmp_path / "nowhere", check=False),
                          r"nowhere: directory not found")
    assert_one_line_error(digitnet("evaluate", tmp_path / "none.npz", check=False),
                          r"none.npz: no such model file; train one with")


def test_wrong_shaped_weight(trained, tmp_path, mnist_dir):
    out, _ = trained
    with np.load(out, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["layers.2.W"] = np.zeros((256, 64), np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    result = digitnet("evaluate", tmp_path / "bad.npz", "--data", mnist_dir, check=False)
    assert_one_line_error(result, r"bad.npz: array 'layers.2.W' has shape \(256, 64\), expected \(256, 128\)")


@pytest.mark.parametrize("args, message", [
    (["train", "--lr", "abc"], r"argument --lr: invalid float value: 'abc' \(see `digitnet train --help`\)"),
    (["train", "--hidden", "256,x"], r"--hidden '256,x': expected layer sizes separated by commas"),
    (["train", "--epochs", "0"], r"epochs 0 must be a whole number of at least 1"),
    (["train", "--dropout", "1"], r"dropout 1.0 must be at least 0 and below 1"),
    (["train", "--lr", "-1"], r"learning rate -1.0 must be a positive number"),
    (["frobnicate"], r"invalid choice: 'frobnicate'"),
])
def test_bad_arguments(args, message, mnist_dir):
    assert_one_line_error(digitnet(*args, "--data", mnist_dir, check=False) if args[0] == "train"
                          else digitnet(*args, check=False), message)


def test_diverging_training_saves_nothing_and_names_a_rate_that_trains(mnist_dir, tmp_path):
    out = tmp_path / "m.npz"
    flags = ["--data", mnist_dir, "--optimizer", "sgd", "--hidden", "16", "--epochs", 1, "--out", out]
    result = digitnet("train", "--lr", 1e5, *flags, check=False)
    assert_one_line_error(result, r"training diverged: .* the learning rate 100000 is too large for this network; "
                                  r"\S+ trained 20 steps without diverging: try learning rate (\S+) \(--lr \1\)$")
    assert not out.exists() and list(tmp_path.iterdir()) == []        # no checkpoint folder left either
    suggested = result.stderr.strip().rsplit("--lr ", 1)[1].rstrip(")")
    digitnet("train", "--lr", suggested, *flags, "--quiet")             # the advice works as written
    assert out.exists()


@pytest.mark.skipif(__import__("importlib").util.find_spec("cupy") is not None, reason="CuPy is installed here")
@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_gpu_without_cupy_is_one_line(command, trained, mnist_dir):
    args = {"train": ["--data", mnist_dir], "evaluate": [trained[0], "--data", mnist_dir],
            "predict": [trained[0], Path(__file__).parents[1] / "docs" / "examples"]}[command]
    result = digitnet(command, *args, "--device", "gpu", check=False)
    assert_one_line_error(result, r"--device gpu needs CuPy, which is not installed: pip install cupy-cuda12x")


def test_a_file_that_is_not_a_model_gets_our_words_not_numpys(trained, tmp_path, mnist_dir):
    text = tmp_path / "fake.npz"
    text.write_text("not a model\n")
    image = Path(__file__).parents[1] / "docs" / "examples" / "seven-transparent.png"
    for result, what in ((digitnet("evaluate", text, "--data", mnist_dir, check=False), "a text file"),
                         (digitnet("predict", image, image, check=False), "a PNG image"),
                         (digitnet("show", text, "--data", mnist_dir, check=False), "a text file"),
                         (digitnet("report", text, "--data", mnist_dir, check=False), "a text file")):
        assert_one_line_error(result, rf"not a digitnet model file: it is {what}; a digitnet model file is the .npz")
        assert "allow_pickle" not in result.stderr and "unsafe" not in result.stderr


def test_evaluate_on_a_folder_suggests_a_train_command_that_works(tmp_path, mnist_dir):
    result = digitnet("evaluate", tmp_path, "--data", mnist_dir, check=False)
    assert_one_line_error(result, "is a directory, not a model file")
    suggested = re.search(r"`digitnet (train --out \S+)`", result.stderr).group(1).split()
    refused = digitnet(*suggested, "--data", tmp_path / "no-data-here", check=False)
    assert "is a directory" not in refused.stderr                    # train takes the path it was given


@pytest.mark.parametrize("flags, message", [
    (["--epochs", 0], "epochs 0 must be a whole number of at least 1"),
    (["--epochs", -1], "epochs -1 must be a whole number of at least 1"),
    (["--batch-size", 0], "batch size 0 must be a whole number of at least 1"),
    (["--lr", -1], r"learning rate -1.0 must be a positive number"),
    (["--l2", -1], r"l2 -1.0 must be zero or a small positive number"),
])
def test_settings_are_checked_before_the_data_is_read(flags, message, tmp_path):
    """Nothing is printed and no data is read first: --data names a folder with no MNIST in it."""
    result = digitnet("train", "--data", tmp_path, *flags, check=False)
    assert_one_line_error(result, message)
    assert result.stdout == ""


def test_a_closed_pipe_ends_quietly_like_a_unix_tool():
    read, write = os.pipe()
    os.close(read)                                   # the reader is gone before the first line
    result = subprocess.run([sys.executable, "-m", "digitnet", "presets"], stdout=write, stderr=subprocess.PIPE,
                            text=True, timeout=60)
    os.close(write)
    assert result.returncode == 141 and result.stderr == ""


def test_a_closed_stdout_is_no_error_and_an_unknown_option_names_its_command():
    """`digitnet presets >&-`: nothing to write to, nothing to fail (was an AttributeError). An option
    the command does not know is told by that command, which points at its own --help."""
    result = subprocess.run([sys.executable, "-m", "digitnet", "presets"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=60,
                            preexec_fn=lambda: os.close(1))
    assert result.returncode == 0 and result.stderr == ""
    assert_one_line_error(digitnet("info", "--data", "x", check=False),
                          r"^digitnet info: error: unrecognized arguments: --data \(see `digitnet info --help`\)$")


def test_a_quoted_tilde_is_home_for_every_file_and_a_pipe_is_no_missing_model(tmp_path, monkeypatch):
    """--out '~/m.npz' (quoted: the shell left ~ alone): the model went to $HOME and its history into a
    folder named ~ here. And `info <(cat m.npz)` is a pipe, not a missing file."""
    from digitnet.cli.common import nonempty_path
    monkeypatch.setenv("HOME", str(tmp_path))
    assert nonempty_path("~/m.npz") == tmp_path / "m.npz" and nonempty_path("./~") == Path("~")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_one_line_error(digitnet("info", fifo, check=False),
                          rf"^digitnet: error: {fifo} is a pipe or device, not a file: save the model to a file first$")


def test_training_into_a_pipe_whose_reader_goes_says_where_its_checkpoint_is(mnist_dir, tmp_path):
    """`digitnet train | head -4`: stopped at the next line it prints, as a Unix tool is (141), and, since
    a checkpoint is left that the same command would refuse, said on stderr as a Ctrl-C is."""
    command = [sys.executable, "-m", "digitnet", "train", "--data", str(mnist_dir), "--epochs", "3", "--hidden", "16",
               "--validation-size", "50000", "--out", str(tmp_path / "m.npz")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        lines = [process.stdout.readline() for _ in range(4)]
        process.stdout.close()                                      # head has read its four lines
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 141 and lines[3].startswith("epoch   1/3")
    folder = tmp_path / "m.checkpoint"
    assert stderr == (f"digitnet: training stopped: its output's reader went away; the checkpoint in {folder} keeps "
                      f"it: resume with `digitnet train --resume {folder}`\n")


def test_version():
    assert digitnet("--version").stdout.strip() == "digitnet 0.1.0"


def test_top_k_says_how_many_it_lists(trained):
    image = Path(__file__).parents[1] / "docs" / "examples" / "three-serif.webp"
    line = digitnet("predict", trained[0], image, "--top", 11).stdout.strip()
    listed = line.split("top 10: ")[1].split(", ")
    assert len(listed) == 10


def test_every_optimizer_and_activation_has_its_default():
    """A new entry in OPTIMIZERS or ACTIVATIONS needs a default rate and initialiser (DEVELOPERS.md)."""
    assert set(DEFAULT_LR) == set(OPTIMIZERS) and set(DEFAULT_INIT) == set(ACTIVATIONS)


def test_predict_help_names_no_file_outside_the_package():
    assert "docs/" not in digitnet("predict", "--help").stdout


def test_a_preset_without_out_keeps_the_default_model(mnist_dir, isolated_dirs):
    home = isolated_dirs / "home"
    default = home / "model.npz"
    default.parent.mkdir(parents=True, exist_ok=True)
    default.write_bytes(b"the user's own model")
    result = digitnet("train", "--preset", "cross-entropy-94", "--data", mnist_dir, "--quiet")
    assert default.read_bytes() == b"the user's own model"
    assert f"saved model to {home / 'cross-entropy-94.npz'}" in result.stdout


def test_an_unwritable_default_model_is_not_blamed_on_a_flag_never_given(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITNET_HOME", str(tmp_path / "a-file"))
    (tmp_path / "a-file").write_text("")
    assert_one_line_error(digitnet("train", "--data", mnist_dir, "--epochs", 1, check=False),
                          rf"^digitnet: error: the default model file {tmp_path}/a-file/model\.npz \(choose another "
                          rf"with --out\): {tmp_path}/a-file is a file, not a folder")
