"""The HTML report: `train --report`, `digitnet report`, and `write_report` itself."""
import base64
import json
import re

import numpy as np
import pytest

from digitnet import MLP, load_mnist, load_model, plots
from digitnet.data.mnist import MNIST
from digitnet.report import write_report
from test_cli import assert_one_line_error
from test_plots import assert_png, digitnet

FIGURES = ["predictions.png", "hardest.png", "training-curves.png", "confusion-matrix.png", "precision-recall.png",
           "mistakes.png", "first-layer-weights.png", "class-samples.png", "class-counts.png", "mean-images.png",
           "pixel-histogram.png"]


@pytest.fixture(scope="module")
def trained(mnist_dir, tmp_path_factory):
    """A tiny model trained by `train --report`: (model path, report dir, train's stdout)."""
    tmp = tmp_path_factory.mktemp("report")
    model, report_dir = tmp / "m.npz", tmp / "report"
    result = digitnet("train", "--data", mnist_dir, "--hidden", 32, "--epochs", 1, "--out", model,
                      "--report", report_dir, "--quiet")
    return model, report_dir, result.stdout


@pytest.fixture(scope="module")
def evaluated(trained, mnist_dir):
    return json.loads(digitnet("evaluate", trained[0], "--data", mnist_dir, "--json").stdout)


def table(page, table_id):
    """The cells of <table id=table_id> as rows of strings, header row included."""
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_train_prints_summary_and_report_path(trained, evaluated):
    model, report_dir, stdout = trained
    assert f"report: {report_dir / 'index.html'}" in stdout
    recall = evaluated["recall"]
    hardest = sorted(range(10), key=lambda k: recall[k])[:3]
    expected = ", ".join(f"{k} {100 * recall[k]:.2f}%" for k in hardest)
    assert f"hardest digits (test recall): {expected}" in stdout


def test_report_command_writes_the_same_report(trained, mnist_dir, tmp_path):
    model, report_dir, _ = trained
    out = tmp_path / "again"
    result = digitnet("report", model, "--data", mnist_dir, "--out", out)
    assert result.stdout.strip() == str(out / "index.html")
    assert (out / "index.html").read_bytes() == (report_dir / "index.html").read_bytes()


def test_every_figure_is_a_wide_png_embedded_in_the_page(trained):
    _, report_dir, _ = trained
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(FIGURES + ["index.html"])
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    for name in FIGURES:
        assert_png(report_dir / name)
        uri = "data:image/png;base64," + base64.b64encode((report_dir / name).read_bytes()).decode()
        assert f'src="{uri}"' in page, name


def test_captions_show_code_not_markdown(trained):
    page = (trained[1] / "index.html").read_text(encoding="utf-8")
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    assert captions and not any("`" in caption for caption in captions)
    assert any("<code>digitnet evaluate</code>" in caption for caption in captions)


def test_page_is_self_contained(trained):
    page = (trained[1] / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'(?:src|href)\s*=\s*["\']?([^"\' >]*)', page, re.I)
    assert len(sources) == len(FIGURES) and all(s.startswith("data:image/png;base64,") for s in sources)
    lowered = page.lower()
    for outside in ("http://", "https://", "//", "<script", "<link", "url(", "@import"):
        if outside == "//":
            lowered = re.sub(r'src="data:[^"]*"', "", lowered)        # base64 may contain "//"
        assert outside not in lowered, outside


def test_report_numbers_equal_evaluate(trained, evaluated):
    page = (trained[1] / "index.html").read_text(encoding="utf-8")
    confusion = table(page, "confusion")
    assert confusion[0][1:] == [str(k) for k in range(10)]
    assert [[int(c) for c in row[1:]] for row in confusion[1:]] == evaluated["confusion_matrix"]
    per_class = table(page, "per-class")[1:]
    cm = np.array(evaluated["confusion_matrix"])
    for k, row in enumerate(per_class):
        assert row == [str(k), f"{cm[k].sum():,}", f"{cm[:, k].sum():,}", f"{cm[k, k]:,}",
                       f"{100 * evaluated['precision'][k]:.2f}%", f"{100 * evaluated['recall'][k]:.2f}%"]
    assert f'<strong id="accuracy">{100 * evaluated["accuracy"]:.2f}%</strong>' in page
    assert f'<span id="correct">{evaluated["correct"]:,}</span>' in page
    assert f'<span id="n">{evaluated["n"]:,}</span>' in page
    model_rows = dict(map(tuple, table(page, "architecture")))
    assert model_rows["layer sizes"] == "784-32-10" and model_rows["parameters"] == "25,450"
    assert dict(map(tuple, table(page, "settings")))["hidden"] == "32"


def test_report_figures_draw_the_evaluated_numbers(trained, evaluated, mnist_dir, tmp_path, monkeypatch):
    """Spy on the plot functions write_report calls: they must draw what `evaluate` prints."""
    drawn = {}

    def spy(name):
        original = getattr(plots, name)

        def wrapper(*args, **kwargs):
            fig = original(*args, **kwargs)
            drawn[name] = fig.drawn
            return fig
        monkeypatch.setattr(plots, name, wrapper)
    for name in ("confusion_matrix", "precision_recall", "confident_mistakes"):
        spy(name)
    model = load_model(trained[0])
    meta = model.metadata
    data = load_mnist(mnist_dir, validation_size=5000, seed=0, progress=False)
    write_report(model, meta, data, tmp_path)
    assert drawn["confusion_matrix"]["confusion_matrix"].tolist() == evaluated["confusion_matrix"]
    assert drawn["precision_recall"]["precision"].tolist() == evaluated["precision"]
    assert drawn["precision_recall"]["recall"].tolist() == evaluated["recall"]
    shown = drawn["confident_mistakes"]["indices"]
    predicted = model.predict(data.x_test)
    assert len(shown) == 25 and (predicted[shown] != data.y_test[shown]).all()


def test_report_of_a_model_without_metadata(tmp_path):
    """An untrained model from the API, no history, a small made-up dataset: still a whole report."""
    rng = np.random.default_rng(0)
    x = rng.random((300, 784), dtype=np.float32)
    y = np.arange(300) % 10
    data = MNIST(x_train=x, y_train=y, x_val=x[:0], y_val=y[:0], x_test=x[:100], y_test=y[:100])
    index = write_report(MLP(sizes=(784, 5, 10)), {}, data, tmp_path / "r")
    page = index.read_text(encoding="utf-8")
    assert "no training settings" in page and page.count('src="data:image/png;base64,') == len(FIGURES)
    assert_png(tmp_path / "r" / "training-curves.png")


def test_report_into_a_file_is_one_line_error(trained, mnist_dir, tmp_path):
    (tmp_path / "taken").write_text("")
    result = digitnet("report", trained[0], "--data", mnist_dir, "--out", tmp_path / "taken", check=False)
    assert_one_line_error(result, r"--out .*taken: .*taken is a file, not a folder; choose a folder")
