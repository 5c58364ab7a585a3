"""Figures of the dataset itself: sample digits, counts per class, mean images, pixel values.

Like plots.py: each function returns one Figure (at least 800 pixels wide) and
records what it drew in `fig.drawn`; `plots.save_figure` writes it.
"""
import numpy as np

from .checks import whole
from .errors import DigitnetError
from .plots import RIGHT, WIDTH, as_images, mosaic, new_figure

SPLIT_COLORS = {"training": RIGHT, "validation": "#2ca02c", "test": "#ff7f0e"}


def class_samples(x, y, per_class=12):
    """The first `per_class` images of each digit, one row per digit."""
    if not whole(per_class, 1):
        raise DigitnetError(f"per_class {per_class!r}: draw at least 1 image of each digit")
    images, y = as_images(x), np.asarray(y)
    digits = np.unique(y)
    chosen = [np.flatnonzero(y == d)[:per_class] for d in digits]
    tiles = np.full((len(digits) * per_class, 28, 28), np.nan)
    for row, idx in enumerate(chosen):
        tiles[row * per_class:row * per_class + len(idx)] = images[idx]
    image = mosaic(tiles, per_class)
    fig = new_figure(WIDTH, WIDTH * len(digits) / per_class + 0.6)
    ax = fig.subplots()
    ax.imshow(np.ma.masked_invalid(image), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([(28 + 2) * r + 14 for r in range(len(digits))], [str(d) for d in digits])
    ax.set_xticks([])
    ax.tick_params(length=0, labelsize=12)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"the first {per_class} training images of each digit")
    fig.drawn["indices"] = {int(d): idx.tolist() for d, idx in zip(digits, chosen)}
    return fig


def augmented_samples(x, y, augment, rng, variants=7):
    """Each image of x (one row per image) followed by `variants` versions of it made by `augment`
    (augment.Augment) with the NumPy generator rng: what training sees instead of the original."""
    x = np.asarray(x, dtype=np.float32)
    made = augment(np.repeat(x, variants, axis=0), rng)
    tiles = np.concatenate([x[:, None, :], made.reshape(len(x), variants, -1)], axis=1)
    image = mosaic(as_images(tiles.reshape(-1, x.shape[1])), variants + 1)
    fig = new_figure(WIDTH, WIDTH * len(x) / (variants + 1) + 0.6)
    ax = fig.subplots()
    ax.imshow(np.ma.masked_invalid(image), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([14, 30 * (variants + 1) // 2 + 14], ["original", f"{variants} {augment.kind} versions"])
    ax.set_yticks([30 * r + 14 for r in range(len(x))], [str(int(label)) for label in y])
    ax.tick_params(length=0, labelsize=11)
    for spine in ax.spines.values():
        spine.set_visible(False)
    settings = ", ".join(f"{k} {v:g}" for k, v in augment.settings().items() if k != "kind")
    ax.set_title(f"{augment.kind} augmentation ({settings})")
    fig.drawn["settings"] = augment.settings()
    fig.drawn["images"] = tiles
    return fig


def class_counts(splits):
    """Images per digit in each split, as grouped bars: `splits` maps a name to its labels."""
    splits = {name: np.asarray(y) for name, y in splits.items() if len(y)}
    counts = {name: np.bincount(y, minlength=10) for name, y in splits.items()}
    fig = new_figure(WIDTH, 4.8)
    ax = fig.subplots()
    width = 0.8 / max(1, len(counts))
    for k, (name, c) in enumerate(counts.items()):
        x = np.arange(len(c)) + (k - (len(counts) - 1) / 2) * width
        bars = ax.bar(x, c, width=width, color=SPLIT_COLORS.get(name), label=f"{name} ({c.sum():,} images)")
        ax.bar_label(bars, labels=[f"{v:,}" for v in c], fontsize=7, rotation=90, padding=2)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_ylim(0, max((c.max() for c in counts.values()), default=1) * 1.18)
    ax.set_title("images per digit")
    ax.legend(loc="upper right", ncols=len(counts))
    fig.drawn["counts"] = {name: c.tolist() for name, c in counts.items()}
    return fig


def mean_images(x, y):
    """The average image of each digit: what a 'typical' 0, 1, ... looks like."""
    images, y = as_images(x), np.asarray(y)
    digits = np.unique(y)
    means = np.stack([images[y == d].mean(axis=0, dtype=np.float64) for d in digits])
    fig = new_figure(WIDTH, 5)
    axes = fig.subplots(2, 5).ravel()
    for ax, d, mean in zip(axes, digits, means):
        ax.imshow(mean, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"{d}: mean of {np.count_nonzero(y == d):,}", fontsize=10)
        ax.set_axis_off()
    for ax in axes[len(digits):]:
        ax.set_axis_off()
    fig.suptitle("mean training image per digit")
    fig.drawn["means"] = means
    return fig


def pixel_histogram(x, chunk=10_000):
    """How often each of the 256 grey levels occurs over all pixels of `x` (values in [0, 1])."""
    x = np.asarray(x)
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, len(x), chunk):                       # a chunk at a time: no 47M-value temporary
        part = np.asarray(x[start:start + chunk], dtype=np.float32)
        ink = part[part > 0]                                     # most pixels are 0: count those at once
        counts[0] += part.size - ink.size
        counts += np.bincount(np.clip(np.rint(ink * 255), 0, 255).astype(np.int64), minlength=256)
    total = int(counts.sum())
    fig = new_figure(WIDTH, 4.6)
    ax = fig.subplots()
    ax.bar(np.arange(256), counts, width=1.0, color=RIGHT)
    ax.set_yscale("log")
    ax.set_xlim(-1, 256)
    ax.set_xlabel("pixel value (0 = background, 255 = full ink; the network sees value / 255)")
    ax.set_ylabel("pixels (log scale)")
    share = lambda c: c / total if total else 0.0                # noqa: E731
    ax.set_title(f"pixel values over {total:,} pixels: {share(counts[0]):.1%} are exactly 0, "
                 f"{share(counts[255]):.1%} exactly 255")
    ax.grid(axis="y", alpha=0.3)
    fig.drawn["counts"] = counts
    return fig
