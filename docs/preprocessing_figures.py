"""Draw docs/img/preprocessing.png: every preprocessing step for a few example images.

    python docs/preprocessing_figures.py
"""
import sys
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fontdigits import fonts, render  # noqa: E402

from digitnet.preprocess import naive, preprocess_steps  # noqa: E402

STEPS = [("original", None), ("gray", "1. grayscale"), ("ink", "2-3. light ink, background\nremoved, contrast"),
         ("cropped", "4. cropped to the ink"), ("boxed", "5. longer side 20 px"),
         ("input", "6. 28x28, centre of mass\nat the centre")]


def examples():
    rng = np.random.default_rng(3)
    photo = render(4, fonts()[0], rng)                       # dark ink, paper, maybe noise and shadow
    a = np.asarray(photo.convert("L"), dtype=np.float32)
    shadow = a * np.linspace(0.55, 1.0, a.shape[1])[None, :] + rng.normal(0, 12, a.shape)
    photo = Image.fromarray(np.clip(shadow, 0, 255).astype(np.uint8))
    chalk = np.asarray(render(7, fonts()[5], np.random.default_rng(8)).convert("L"))
    if np.median(chalk) > 127:                                     # make it light ink on a dark board
        chalk = 255 - chalk
    chalk = Image.fromarray(chalk)
    drawing = Image.new("RGBA", (160, 200), (0, 0, 0, 0))          # strokes only, transparent elsewhere
    from PIL import ImageDraw
    ImageDraw.Draw(drawing).line([(40, 40), (120, 40), (70, 170)], fill=(30, 30, 200, 255), width=14)
    return [("a 4, shadow, noise", photo), ("a light 7 on dark", chalk),
            ("7 on a transparent canvas", drawing)]


def main(out=Path(__file__).parent / "img" / "preprocessing.png"):
    rows = examples()
    fig, axes = plt.subplots(len(rows), len(STEPS) + 1, figsize=(16, 3.1 * len(rows)), dpi=80)
    for r, (label, image) in enumerate(rows):
        steps = preprocess_steps(image)
        panels = [(np.asarray(image.convert("RGBA")), "original: " + label)] + \
                 [(steps[key], title) for key, title in STEPS[1:]] + \
                 [(naive(image), "naive: resized only\n(for comparison)")]
        for ax, (picture, title) in zip(axes[r], panels):
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1 if picture.dtype != np.uint8 else 255,
                      interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
