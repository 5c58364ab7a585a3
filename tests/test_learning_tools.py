"""The tools for learning backpropagation: `digitnet gradcheck`, `digitnet explain`, `digitnet info`
and `model.summary()`."""
import os
import subprocess
import sys

import pytest

from digitnet import MLP
from digitnet.layers import ACTIVATIONS
from test_cli import assert_one_line_error, digitnet


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_gradcheck_passes_for_every_activation_and_loss(activation, loss):
    result = digitnet("gradcheck", "--activation", activation, "--loss", loss)
    assert result.stdout.strip().splitlines()[-1].startswith("pass: backpropagation agrees with finite differences")
    assert [line.split()[0] for line in result.stdout.splitlines()[1:-1]] == ["W1", "b1", "W2", "b2"]


@pytest.mark.parametrize("flags", [["--dropout", "0.4"], ["--l2", "0.05"],
                                   ["--sizes", "30,16,12,10", "--dropout", "0.2", "--l2", "0.01"]])
def test_gradcheck_passes_with_dropout_and_l2(flags):
    assert "pass: " in digitnet("gradcheck", *flags).stdout


WRONG = {
    "relu": "from digitnet.layers import ReLU; ReLU.backward = lambda self, dy: dy",          # forgets the mask
    "db": ("from digitnet.layers import Dense; f = Dense.backward\n"
           "def wrong(self, dz):\n    dx = f(self, dz); self.db[...] *= 2; return dx\n"
           "Dense.backward = wrong"),                                                          # db twice too big
    "l2": ("import digitnet.gradcheck as g; step = g.train_step\n"
           "g.train_step = lambda m, o, x, y, l2: step(m, o, x, y, 2 * l2)"),                  # l2 * W counted twice
}


@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_gradcheck_fails_on_a_wrong_gradient(mistake):
    code = f"{WRONG[mistake]}\nimport digitnet.cli\nraise SystemExit(digitnet.cli.main(['gradcheck', '--l2', '0.1']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "WRONG" in result.stdout and result.stdout.splitlines()[-1].startswith("FAIL: the gradient of ")


def test_gradcheck_refuses_a_network_too_big_for_finite_differences():
    assert_one_line_error(digitnet("gradcheck", "--sizes", "784,256,10", check=False), "too many weights")


def explained_names(*flags, mnist_dir):
    out = digitnet("explain", "--data", mnist_dir, *flags).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("  ")]


def test_explain_prints_every_tensor_in_order(mnist_dir):
    assert explained_names(mnist_dir=mnist_dir) == ["x", "z1", "a1", "z2", "p", "L", "dz2", "dW2", "db2", "da1",
                                                    "dz1", "dW1", "db1", "ΔW1", "Δb1", "ΔW2", "Δb2"]
    column = explained_names("--column", "--loss", "mse", "--activation", "tanh", mnist_dir=mnist_dir)
    assert column[:8] == ["A0", "Z1", "A1", "Z2", "A2", "L", "dA2", "dZ2"]


def test_explain_shows_the_loss_falling(mnist_dir):
    out = digitnet("explain", "--data", mnist_dir).stdout
    before = float(out.split("L = -mean_i log p[i, y_i]")[1].split()[0])
    after = float(out.rsplit(":", 1)[1])
    assert after < before


def test_explain_refuses_sizes_it_cannot_feed(mnist_dir):
    assert_one_line_error(digitnet("explain", "--data", mnist_dir, "--sizes", "100,10", check=False),
                          "explain reads MNIST digits, so the first size must be 784 and the last 10")


def test_summary_lists_layers_shapes_and_parameters():
    text = MLP(sizes=(784, 32, 10), dropout=0.2).summary(print_fn=None)
    lines = text.splitlines()
    assert " dense_1 (Dense)" in lines[4] and "(None, 32)" in lines[4] and lines[4].endswith("25,120")
    assert "dropout_1 (Dropout)" in text and "Total params: 25,450 (99.41 KB)" in text


def test_info_shows_the_summary_the_training_and_the_figures(tmp_path, mnist_dir):
    out_file = tmp_path / "m.npz"
    digitnet("train", "--data", mnist_dir, "--hidden", 16, "--epochs", 1, "--out", out_file, "--quiet")
    out = digitnet("info", out_file).stdout
    assert "dense_2 (Dense)" in out and "Total params: 12,730" in out
    assert "trained: adam lr 0.006 (cosine), batch 512, 1 epoch, " in out
    assert "measured: test accuracy " in out and "history: 1 epoch, " in out


def test_explain_in_a_terminal_that_cannot_show_its_symbols(mnist_dir):
    """An ASCII-only terminal gets ? for Δ and §, not a UnicodeEncodeError."""
    result = subprocess.run([sys.executable, "-m", "digitnet", "explain", "--data", str(mnist_dir)], text=True,
                            capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "docs/math.md ?1 and ?11" in result.stdout and "?W1" in result.stdout
