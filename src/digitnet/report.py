"""An HTML report of a trained model: what it is, how it trained, what it learned.

`write_report(model, meta, data, out_dir)` evaluates the model on the test
set, draws the figures of plots.py and plots_data.py into `out_dir` as PNG
files, and writes `out_dir/index.html`: one self-contained page (the figures
are embedded as base64 data: URIs; no stylesheet, script, font or link
outside it) that opens offline and can be mailed as a single file.

The numbers come from `metrics.classification_report`, as `digitnet evaluate`'s do.
"""
import base64
import html
from pathlib import Path

import numpy as np

from . import plots, plots_data
from .atomic import atomic_write
from .errors import DigitnetError
from .metrics import classification_report, percent

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1060px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { padding: 0.25em 0.7em; border: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.95em; }
.big { font-size: 1.3em; }
"""


def _figures(model, meta, data, report, predicted, proba):
    """[(file name, heading, caption, Figure)], in the order the page shows them."""
    x, y = data.x_test, data.y_test
    first = np.arange(min(25, len(y)))
    confidence = proba[np.arange(len(y)), predicted]
    hardest = int(np.argmin(confidence))
    figures = [
        ("predictions.png", "Predictions on the first test images",
         "True label, predicted label and the model's confidence (the probability of its answer); "
         "mistakes are framed in red.",
         plots.digit_grid(x[first], y[first], predicted[first], confidence[first], indices=first)),
        ("hardest.png", "The least certain prediction",
         f"Test image #{hardest}, the one whose most probable digit has the lowest probability, "
         "beside the model's ten probabilities.",
         plots.digit_probabilities(x[hardest], proba[hardest], y[hardest], predicted[hardest], hardest)),
        ("training-curves.png", "Training curves",
         "Loss and accuracy per epoch. Training figures are averaged over each epoch's examples while the "
         "weights still moved (with dropout on); validation figures are measured after the epoch.",
         plots.training_curves(meta.get("history"))),
        ("confusion-matrix.png", "Confusion matrix",
         "Row: the true digit; column: the model's answer. The colour scale is logarithmic so that "
         "a handful of mistakes still shows.",
         plots.confusion_matrix(report["confusion_matrix"])),
        ("precision-recall.png", "Precision and recall per digit",
         "The same numbers as the table below and `digitnet evaluate`.",
         plots.precision_recall(report["precision"], report["recall"])),
        ("mistakes.png", "The most confident mistakes",
         "Misclassified test images, sorted by the probability the model gave its wrong answer.",
         plots.confident_mistakes(x, y, predicted, proba)),
        ("first-layer-weights.png", "What the first layer looks for",
         "Each hidden unit of the first layer weighs the 784 pixels; drawn as a 28x28 image, its "
         "weights show the stroke pattern that excites (red) or inhibits (blue) it.",
         plots.first_layer_weights(model.dense[0].W)),
        ("class-samples.png", "The data: sample digits",
         "The first training images of each digit.", plots_data.class_samples(data.x_train, data.y_train)),
        ("class-counts.png", "The data: images per digit",
         "How many images of each digit each split holds.",
         plots_data.class_counts({"training": data.y_train, "validation": data.y_val, "test": y})),
        ("mean-images.png", "The data: mean image per digit",
         "The average of all training images of each digit.", plots_data.mean_images(data.x_train, data.y_train)),
        ("pixel-histogram.png", "The data: pixel values",
         "Most pixels are blank background (0); ink piles up near 255, with grey values at the edges of "
         "the strokes.",
         plots_data.pixel_histogram(data.x_train)),
    ]
    return figures


LEFT = ' class="text"'


def _inline_code(text):
    """`text` escaped for HTML, with its `backquoted` spans as <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def _table(rows, header=None, table_id=None, text_columns=1):
    """An HTML table; every cell is escaped. The first `text_columns` columns are left-aligned."""
    def row(cells, tag):
        return "<tr>" + "".join(f"<{tag}{LEFT if i < text_columns else ''}>{html.escape(str(c))}</{tag}>"
                                for i, c in enumerate(cells)) + "</tr>\n"
    head = row(header, "th") if header else ""
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}>\n{head}{''.join(row(r, 'td') for r in rows)}</table>"


def _architecture(model):
    words = []
    for layer in model.config()["layers"]:
        settings = {k: v for k, v in layer.items() if k != "type"}
        if layer["type"] == "Dense":
            words.append(f"Dense {settings['n_in']}→{settings['n_out']}")
        else:
            words.append(layer["type"] + (f"({', '.join(f'{k}={v}' for k, v in settings.items())})"
                                          if settings else ""))
    return [("layer sizes", "-".join(map(str, model.sizes))), ("layers", ", ".join(words)),
            ("loss", model.loss.name), ("parameters", f"{model.n_parameters:,}")]


def _summary(report, meta):
    metrics, training = meta.get("metrics") or {}, meta.get("training") or {}
    rows = [("test accuracy (evaluated now)", f"{percent(report['accuracy'])} "
                                              f"({report['correct']:,}/{report['n']:,})")]
    if isinstance(metrics.get("test_accuracy"), (int, float)):
        rows.append(("test accuracy (recorded at training)", percent(metrics["test_accuracy"])))
    for key, name in (("train_accuracy", "training accuracy"), ("val_accuracy", "validation accuracy")):
        if isinstance(metrics.get(key), (int, float)):
            rows.append((name, percent(metrics[key])))
    if isinstance(training.get("seconds"), (int, float)):
        rows.append(("training time", f"{training['seconds']:.1f} s"))
    return rows


def _settings(meta):
    training = meta.get("training") or {}
    return [(key, "none" if value is None else ",".join(map(str, value)) if isinstance(value, list) else value)
            for key, value in training.items() if key != "seconds"]


def _per_class(report):
    cm = np.asarray(report["confusion_matrix"])
    return [(k, f"{cm[k].sum():,}", f"{cm[:, k].sum():,}", f"{cm[k, k]:,}", percent(p), percent(r))
            for k, (p, r) in enumerate(zip(report["precision"], report["recall"]))]


def _page(title, sections):
    body = "\n".join(sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def write_report(model, meta, data, out_dir, *, source=None):
    """Write the figures and a self-contained index.html into `out_dir`; return the index.html path.

    `model` is an MLP, `meta` its metadata (`model.metadata` after `io.load_model`; missing parts are
    left out), `data` an MNIST (its test set is evaluated, its training set drawn), `source` the
    model file's name to show.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DigitnetError(f"{out_dir} is a file: the report needs a directory; name another one")
    meta = meta or {}
    predicted = model.predict(data.x_test)          # the labels `evaluate` counts
    proba = model.predict_proba(data.x_test)
    report = classification_report(data.y_test, predicted)

    title = f"digitnet report: {source}" if source else "digitnet report"
    sections = [f"<h1>{html.escape(title)}</h1>",
                f'<p class="big">Test accuracy: <strong id="accuracy">{percent(report["accuracy"])}</strong> '
                f'(<span id="correct">{report["correct"]:,}</span> of <span id="n">{report["n"]:,}</span> '
                "test images right).</p>",
                "<h2>Summary</h2>", _table(_summary(report, meta), table_id="summary"),
                "<h2>Architecture</h2>", _table(_architecture(model), table_id="architecture"),
                "<h2>Training settings</h2>",
                _table(_settings(meta), table_id="settings") if meta.get("training")
                else "<p>This model file records no training settings.</p>"]
    for name, heading, caption, fig in _figures(model, meta, data, report, predicted, proba):
        png = plots.png_bytes(fig)
        with atomic_write(out_dir / name) as f:
            f.write(png)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        sections += [f"<h2>{html.escape(heading)}</h2>",
                     f'<figure><img src="{uri}" alt="{html.escape(heading)}" width="{fig.bbox.width:.0f}">'
                     f"<figcaption>{_inline_code(caption)} ({html.escape(name)})</figcaption></figure>"]
        if name == "precision-recall.png":
            sections += ["<h3>Per digit</h3>", _table(
                _per_class(report), ["digit", "test images", "predicted as it", "right", "precision", "recall"],
                table_id="per-class")]
    sections += ["<h2>Confusion matrix in numbers</h2>",
                 "<p>Rows: true digit; columns: predicted digit.</p>",
                 _table([[k, *row] for k, row in enumerate(report["confusion_matrix"])],
                        ["true \\ predicted", *range(len(report["confusion_matrix"]))], table_id="confusion")]
    index = out_dir / "index.html"
    with atomic_write(index) as f:
        f.write(_page(title, sections).encode("utf-8"))
    return index
