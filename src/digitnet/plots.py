"""Figures of what a model does: predictions, training curves, confusion, mistakes, weights.

Each function draws one matplotlib Figure and returns it; none shows a window.
They draw on the Agg canvas, so they work without a display, and `save_figure`
writes a figure as a PNG file, atomically. Every figure is at least 800 pixels
wide, and keeps what it drew in `fig.drawn` (a dict: the confusion matrix, the
indices of the images shown, ...) so a caller or a test can check it.

Images come as the data loader gives them, float32 rows of 784 pixels in
[0, 1] (or already shaped 28x28); labels and predictions as integer arrays.
"""
import io
import math
from pathlib import Path

import numpy as np
from matplotlib import colors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .atomic import atomic_write
from .checks import whole
from .errors import DigitnetError

DPI = 100
WIDTH = 10.0          # inches: 1000 pixels at DPI
WRONG, RIGHT, NEUTRAL = "#d62728", "#1f77b4", "#b0b0b0"


def new_figure(width=WIDTH, height=6.0, **kwargs):
    """A Figure on an Agg canvas, `width` x `height` inches at DPI, with constrained layout."""
    fig = Figure(figsize=(max(width, 800 / DPI), height), dpi=DPI, layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    fig.drawn = {}
    return fig


def png_bytes(fig):
    """The figure as PNG bytes, at its own size and DPI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, facecolor="white")
    return buffer.getvalue()


def save_figure(fig, path):
    """Write `fig` to `path` as a PNG, all or nothing; return the path."""
    path = Path(path)
    data = png_bytes(fig)
    with atomic_write(path) as f:
        f.write(data)
    return path


def as_images(x):
    """(n, 784) or (n, 28, 28) -> (n, 28, 28)."""
    x = np.asarray(x)
    if x.ndim == 1 or x.ndim == 2 and x.shape == (28, 28):
        x = x[None]
    if x.shape[-1] * (x.shape[-2] if x.ndim == 3 else 1) != 784:
        raise DigitnetError(f"images of shape {x.shape} are not 28x28 digits")
    return x.reshape(len(x), 28, 28)


def _digit(ax, image, title=None, wrong=False, fontsize=8):
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(wrong)
        spine.set_color(WRONG)
        spine.set_linewidth(3)
    if title:
        ax.set_title(title, fontsize=fontsize, color=WRONG if wrong else "black",
                     fontweight="bold" if wrong else "normal")


def digit_grid(images, labels=None, predicted=None, confidence=None, indices=None, title=None):
    """A grid of digits titled with index, confidence, true and predicted label; mistakes in red.

    Every argument after `images` is optional (one value per image). At most 10 per row.
    """
    images = as_images(images)
    n = len(images)
    if n == 0:
        raise DigitnetError("no images to draw")
    columns = min(10, max(5, math.ceil(math.sqrt(n))))
    rows = math.ceil(n / columns)
    cell = WIDTH / columns
    fig = new_figure(WIDTH, rows * cell * 1.3 + (0.4 if title else 0))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    mistakes = []
    for k, ax in enumerate(axes):
        if k >= n:
            ax.set_axis_off()
            continue
        lines = []
        if indices is not None:
            lines.append(f"#{indices[k]}" + (f"  {confidence[k]:.1%}" if confidence is not None else ""))
        elif confidence is not None:
            lines.append(f"{confidence[k]:.1%}")
        parts = []
        if labels is not None:
            parts.append(f"true {labels[k]}")
        if predicted is not None:
            parts.append(f"pred {predicted[k]}")
        lines.append(", ".join(parts))
        wrong = labels is not None and predicted is not None and labels[k] != predicted[k]
        if wrong:
            mistakes.append(k)
        _digit(ax, images[k], "\n".join(line for line in lines if line), wrong)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.drawn.update(indices=None if indices is None else np.asarray(indices), mistakes=mistakes)
    return fig


def digit_probabilities(image, probabilities, label=None, predicted=None, index=None):
    """One digit, large, beside a bar chart of the ten class probabilities."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    predicted = int(np.argmax(p)) if predicted is None else int(predicted)
    if len(p) != 10 or not all(d is None or 0 <= int(d) < 10 for d in (label, predicted)):
        raise DigitnetError("digit_probabilities draws ten probabilities, and a label and prediction 0 to 9")
    wrong = label is not None and int(label) != predicted
    fig = new_figure(WIDTH, 4.6)
    ax_img, ax_bar = fig.subplots(1, 2, width_ratios=[1, 1.7])
    name = f"test image #{index}" if index is not None else "image"
    _digit(ax_img, as_images(image)[0], f"{name}" + (f": true label {label}" if label is not None else ""),
           wrong, fontsize=12)
    bar_colors = [NEUTRAL] * len(p)
    bar_colors[predicted] = WRONG if wrong else RIGHT
    if wrong:
        bar_colors[int(label)] = "#2ca02c"
    bars = ax_bar.bar(range(len(p)), p, color=bar_colors)
    for bar, value in zip(bars, p):
        ax_bar.annotate(f"{value:.1%}", (bar.get_x() + bar.get_width() / 2, value), ha="center",
                        va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax_bar.set_xticks(range(len(p)))
    ax_bar.set_xlabel("digit")
    ax_bar.set_ylabel("probability")
    ax_bar.set_ylim(0, 1.1)
    verdict = "wrong" if wrong else "right" if label is not None else ""
    ax_bar.set_title(f"predicted {predicted} with probability {p[predicted]:.1%}"
                     + (f" ({verdict}; true label in green)" if wrong else f" ({verdict})" if verdict else ""),
                     fontsize=12, color=WRONG if wrong else "black")
    fig.drawn.update(probabilities=p, predicted=predicted, label=label, index=index)
    return fig


def training_curves(history):
    """Loss and accuracy per epoch, training and validation, from a model's saved history."""
    history = history or {}
    epochs = list(history.get("epoch") or [])
    fig = new_figure(WIDTH, 4.2)
    ax_loss, ax_acc = fig.subplots(1, 2)
    fig.drawn["epochs"] = epochs
    if not epochs:
        for ax in (ax_loss, ax_acc):
            ax.text(0.5, 0.5, "no training history in this model", ha="center", va="center")
            ax.set_axis_off()
        return fig
    marker = "o" if len(epochs) <= 30 else None
    for ax, metric, scale, name in ((ax_loss, "loss", 1, "loss"), (ax_acc, "accuracy", 100, "accuracy (%)")):
        for split, color in (("train", RIGHT), ("val", "#ff7f0e")):
            values = history.get(f"{split}_{metric}") or []
            points = [(e, v * scale) for e, v in zip(epochs, values) if v is not None]
            fig.drawn[f"{split}_{metric}"] = [v for _, v in points]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker=marker, color=color,
                        label="training (during the epoch)" if split == "train" else "validation (after it)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"{metric} per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    return fig


def confusion_matrix(cm):
    """Heat map of a confusion matrix (rows: true digit, columns: predicted) with counts in cells."""
    cm = np.asarray(cm, dtype=np.int64)
    k = len(cm)
    fig = new_figure(9, 8)
    ax = fig.subplots()
    shown = np.ma.masked_equal(cm, 0)
    norm = colors.LogNorm(vmin=1, vmax=max(2, int(cm.max())))
    image = ax.imshow(shown, cmap="Blues", norm=norm)
    for t in range(k):
        for p in range(k):
            count = int(cm[t, p])
            dark = count > 0 and norm(count) > 0.6
            ax.text(p, t, str(count), ha="center", va="center", fontsize=9,
                    color="white" if dark else "#c0c0c0" if count == 0 else WRONG if t != p else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"confusion matrix: {int(np.trace(cm)):,} of {int(cm.sum()):,} right; "
                 "mistakes off the diagonal, in red")
    fig.colorbar(image, ax=ax, label="images (log scale)", shrink=0.8)
    fig.drawn["confusion_matrix"] = cm
    return fig


def precision_recall(precision, recall):
    """Per-digit precision and recall as grouped bars, labelled with their values."""
    precision, recall = np.asarray(precision, dtype=float), np.asarray(recall, dtype=float)
    digits = np.arange(len(precision))
    fig = new_figure(WIDTH, 4.6)
    ax = fig.subplots()
    for offset, values, name, color in ((-0.2, precision, "precision", RIGHT), (0.2, recall, "recall", "#ff7f0e")):
        bars = ax.bar(digits + offset, 100 * values, width=0.4, label=name, color=color)
        ax.bar_label(bars, labels=[f"{100 * v:.1f}" for v in values], fontsize=7, rotation=90, padding=2)
    low = min(precision.min(initial=1), recall.min(initial=1)) * 100
    ax.set_ylim(max(0, 5 * math.floor((low - 3) / 5)), 101.5)
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel("%")
    ax.set_title("precision (of the images called k, how many are k) and recall (of the k's, how many were found)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.drawn.update(precision=precision, recall=recall)
    return fig


def mistake_indices(y_true, predicted, probabilities):
    """Indices of the misclassified images, the most confident mistake first (ties: in order)."""
    y_true, predicted = np.asarray(y_true), np.asarray(predicted)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = np.asarray(probabilities)[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")]


def confident_mistakes(images, y_true, predicted, probabilities, count=25):
    """A grid of the `count` misclassified images the model was surest about."""
    wrong = mistake_indices(y_true, predicted, probabilities)
    shown = wrong[:count]
    if not len(shown):
        fig = new_figure(WIDTH, 2)
        fig.text(0.5, 0.5, "no mistakes: every image is classified correctly", ha="center", va="center")
        fig.drawn.update(indices=shown, mistakes=[])
        return fig
    y_true, predicted = np.asarray(y_true), np.asarray(predicted)
    confidence = np.asarray(probabilities)[shown, predicted[shown]]
    return digit_grid(np.asarray(images)[shown], y_true[shown], predicted[shown], confidence, indices=shown,
                      title=f"the {len(shown)} most confident mistakes (of {len(wrong):,} wrong out of "
                            f"{len(y_true):,})")


def mosaic(tiles, columns, gap=2):
    """(n, h, w) tiles -> one (rows*(h+gap)-gap, columns*(w+gap)-gap) image, gaps and blanks NaN."""
    n, h, w = tiles.shape
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile
    return out


def first_layer_weights(W, count=64):
    """The first `count` hidden units' input weights, each column of W (784, n_hidden) as a 28x28 image.

    Each image has its own scale, symmetric around 0: red pixels excite the unit, blue ones inhibit it.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != 784:
        raise DigitnetError(f"first-layer weights of shape {W.shape}: expected (784, n_hidden)")
    if W.shape[1] < 1:
        raise DigitnetError("first-layer weights with no units: nothing to draw")
    if not whole(count, 1):
        raise DigitnetError(f"count {count!r}: draw at least 1 unit")
    units = min(count, W.shape[1])
    tiles = W[:, :units].T.reshape(units, 28, 28)
    scale = np.abs(tiles).max(axis=(1, 2), keepdims=True)
    tiles = tiles / np.where(scale > 0, scale, 1)
    columns = min(units, 8) if units > 4 else units
    image = mosaic(tiles, columns)
    rows = math.ceil(units / columns)
    fig = new_figure(WIDTH, WIDTH * rows / columns + 0.6)
    ax = fig.subplots()
    cmap = colors.LinearSegmentedColormap.from_list("weights", ["#2166ac", "white", "#b2182b"]).with_extremes(
        bad="#404040")
    ax.imshow(np.ma.masked_invalid(image), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"first-layer weights of hidden units 0-{units - 1} (of {W.shape[1]}), row by row: "
                 "red excites the unit, blue inhibits it")
    fig.drawn["units"] = list(range(units))
    return fig
