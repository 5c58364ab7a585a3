"""Figures: `digitnet show` and `digitnet explore` run as a user runs them, and what each plot draws."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digitnet import DigitnetError, load_mnist, load_model
from digitnet import plots, plots_data
from digitnet.metrics import confusion_matrix
from test_cli import assert_one_line_error

MIN_WIDTH = 800


def digitnet(*args, cwd=None, check=True):
    """`python -m digitnet ARGS` without a display (so show writes a file instead of opening a window)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run([sys.executable, "-m", "digitnet", *map(str, args)], capture_output=True, text=True,
                            env=env, cwd=cwd, timeout=300, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"digitnet {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def assert_png(source):
    """A file path or PNG bytes that decode as a PNG at least MIN_WIDTH pixels wide; returns (w, h)."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    assert data, f"{source} is empty"
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        image.load()                              # decodes every pixel: fails on a truncated file
        assert image.width >= MIN_WIDTH, image.size
        return image.size


@pytest.fixture(scope="module")
def model_file(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "m.npz"
    digitnet("train", "--data", mnist_dir, "--hidden", 32, "--epochs", 1, "--out", out, "--quiet")
    return out


@pytest.fixture(scope="module")
def test_set(model_file, mnist_dir):
    """(x_test, y_test, predicted, probabilities) of the tiny model, computed in this process."""
    model = load_model(model_file)
    data = load_mnist(mnist_dir, validation_size=0, progress=False)
    return data.x_test, data.y_test, model.predict(data.x_test), model.predict_proba(data.x_test)


# -- the commands ---------------------------------------------------------------------------------

def test_show_grid_writes_png(model_file, mnist_dir, tmp_path):
    out = tmp_path / "grid.png"
    result = digitnet("show", model_file, "--data", mnist_dir, "--count", 12, "--out", out)
    assert result.stdout.strip() == str(out)
    assert_png(out)


def test_show_without_display_writes_default_file(model_file, mnist_dir, tmp_path):
    result = digitnet("show", model_file, "--data", mnist_dir, cwd=tmp_path)
    assert result.stdout.strip() == "digitnet-show.png"
    assert_png(tmp_path / "digitnet-show.png")


@pytest.mark.parametrize("args", [["--index", 8], ["--wrong", "--count", 7]])
def test_show_one_digit_and_wrong_ones(args, model_file, mnist_dir, tmp_path):
    out = tmp_path / "show.png"
    digitnet("show", model_file, "--data", mnist_dir, *args, "--out", out)
    assert_png(out)


@pytest.mark.parametrize("args, message", [
    (["--index", 10000], r"--index 10000: the test set has 10,000 images, numbered 0 to 9999"),
    (["--index", -1], r"--index -1: test images are numbered from 0"),
    (["--count", 0], r"--count 0: choose 1 to 100 digits"),
    (["--wrong", "--index", 3], r"--wrong chooses the digits of a grid: use it with --count, not --index"),
    (["--out", "digits.jpg"], r"--out digits.jpg: show writes PNG images; name a .png file"),
])
def test_show_bad_arguments(args, message, model_file, mnist_dir, tmp_path):
    result = digitnet("show", model_file, "--data", mnist_dir, *args, cwd=tmp_path, check=False)
    assert_one_line_error(result, message)
    assert not list(tmp_path.iterdir())


def test_explore_writes_dataset_figures(mnist_dir, tmp_path):
    out = tmp_path / "explore"
    result = digitnet("explore", "--data", mnist_dir, "--out", out)
    names = ["class-samples.png", "class-counts.png", "mean-images.png", "pixel-histogram.png"]
    assert result.stdout.split() == [str(out / name) for name in names]
    for name in names:
        assert_png(out / name)


# -- what the figures draw ------------------------------------------------------------------------

def test_digit_grid_marks_exactly_the_mistakes(test_set):
    x, y, predicted, proba = test_set
    idx = np.arange(25)
    fig = plots.digit_grid(x[idx], y[idx], predicted[idx], proba[idx, predicted[idx]], indices=idx)
    assert fig.drawn["mistakes"] == np.flatnonzero(predicted[idx] != y[idx]).tolist()
    assert assert_png(plots.png_bytes(fig))[0] == 1000


def test_mistakes_grid_shows_only_misclassified_most_confident_first(test_set):
    x, y, predicted, proba = test_set
    fig = plots.confident_mistakes(x, y, predicted, proba, count=25)
    shown = fig.drawn["indices"]
    assert len(shown) == 25 and len(set(shown.tolist())) == 25
    assert (predicted[shown] != y[shown]).all()
    assert fig.drawn["mistakes"] == list(range(25))          # every cell framed in red
    confidence = proba[shown, predicted[shown]]
    assert (np.diff(confidence) <= 0).all()
    others = np.setdiff1d(np.flatnonzero(predicted != y), shown)
    assert proba[others, predicted[others]].max() <= confidence.min()
    assert_png(plots.png_bytes(fig))


def test_mistake_indices_order_and_no_mistakes():
    y = np.array([0, 1, 2, 3, 4])
    predicted = np.array([0, 2, 2, 1, 0])
    proba = np.full((5, 10), 0.05)
    proba[1, 2], proba[3, 1], proba[4, 0] = 0.6, 0.9, 0.6
    assert plots.mistake_indices(y, predicted, proba).tolist() == [3, 1, 4]     # ties stay in order
    fig = plots.confident_mistakes(np.zeros((5, 784)), y, y, proba)
    assert fig.drawn["indices"].tolist() == []
    assert_png(plots.png_bytes(fig))


def test_probability_chart(test_set):
    x, y, predicted, proba = test_set
    fig = plots.digit_probabilities(x[8], proba[8], y[8], predicted[8], index=8)
    assert fig.drawn["predicted"] == predicted[8] and fig.drawn["probabilities"].sum() == pytest.approx(1)
    assert_png(plots.png_bytes(fig))


def test_training_curves_skip_missing_validation():
    history = {"epoch": [1, 2, 3], "train_loss": [0.5, 0.3, 0.2], "train_accuracy": [0.8, 0.9, 0.95],
               "val_loss": [None, None, None], "val_accuracy": [None, None, None], "seconds": [1.0, 1.0, 1.0]}
    fig = plots.training_curves(history)
    assert fig.drawn["train_loss"] == [0.5, 0.3, 0.2] and fig.drawn["val_loss"] == []
    assert fig.drawn["train_accuracy"] == pytest.approx([80, 90, 95])
    assert_png(plots.png_bytes(fig))
    assert plots.training_curves(None).drawn["epochs"] == []


def test_first_layer_weights():
    rng = np.random.default_rng(0)
    assert plots.first_layer_weights(rng.normal(size=(784, 100))).drawn["units"] == list(range(64))
    fig = plots.first_layer_weights(rng.normal(size=(784, 10)))
    assert fig.drawn["units"] == list(range(10))
    assert_png(plots.png_bytes(fig))
    with pytest.raises(DigitnetError, match=r"shape \(100, 10\): expected \(784, n_hidden\)"):
        plots.first_layer_weights(np.zeros((100, 10)))


def test_dataset_figures(test_set, tmp_path):
    x, y = test_set[0][:3000], test_set[1][:3000]
    fig = plots_data.pixel_histogram(x, chunk=700)
    assert fig.drawn["counts"].sum() == x.size
    assert fig.drawn["counts"][0] == np.count_nonzero(x == 0)
    counts = plots_data.class_counts({"training": y, "validation": y[:0], "test": y[:100]}).drawn["counts"]
    assert counts == {"training": np.bincount(y, minlength=10).tolist(),
                      "test": np.bincount(y[:100], minlength=10).tolist()}
    means = plots_data.mean_images(x, y).drawn["means"]
    np.testing.assert_allclose(means[3], x[y == 3].mean(axis=0).reshape(28, 28), atol=1e-6)
    samples = plots_data.class_samples(x, y)
    assert all((y[idx] == d).all() and len(idx) == 12 for d, idx in samples.drawn["indices"].items())
    path = plots.save_figure(samples, tmp_path / "sub" / "samples.png")
    assert_png(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["samples.png"]     # no temp file left


@pytest.mark.parametrize("call, message", [
    (lambda: confusion_matrix([12], [0]), "true labels must be one class number 0 to 9 per example"),
    (lambda: confusion_matrix([1.5], [1]), "true labels must be one class number"),
    (lambda: confusion_matrix([1, 2], [1]), "2 true labels but 1 predicted"),
    (lambda: plots.digit_probabilities(np.zeros(784), np.full(10, 0.1), label=12), "a label and prediction 0 to 9"),
    (lambda: plots.first_layer_weights(np.zeros((784, 8)), count=0), "count 0: draw at least 1 unit"),
    (lambda: plots_data.class_samples(np.zeros((10, 784)), np.arange(10), per_class=0), "per_class 0: draw at least 1"),
])
def test_figures_and_counts_refuse_what_they_cannot_draw(call, message):
    with pytest.raises(DigitnetError, match=message):
        call()
