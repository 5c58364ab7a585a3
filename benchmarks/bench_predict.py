"""How well `digitnet predict` reads images that are not MNIST arrays.

1. MNIST test images written as PNG files the way a user might have them (enlarged 4x, dark ink on
   light paper): the share that gets the same prediction as the raw test arrays.
2. Digits rendered with matplotlib's fonts at varied sizes, positions, stroke widths and canvas
   shapes, some noisy or unevenly lit (tests/fontdigits.py): accuracy with digitnet's
   preprocessing, and with the naive alternative (grayscale, resize to 28x28, invert).

    python benchmarks/bench_predict.py --data ../shared/data/mnist --model m.npz [--n 10000] [--per-font 8]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fontdigits import font_digits  # noqa: E402

from digitnet import load_mnist, load_model  # noqa: E402
from digitnet.predict import predict_image  # noqa: E402
from digitnet.preprocess import naive, preprocess  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--model", required=True, help="a model file, e.g. from `digitnet train --out m.npz`")
    p.add_argument("--n", type=int, default=10_000, help="MNIST test images to write as PNG")
    p.add_argument("--per-font", type=int, default=8, help="rendered variants of each digit in each font")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    model = load_model(args.model)
    x = load_mnist(args.data, progress=False).x_test[:args.n]
    raw = model.predict(x)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        read = []
        for i, image in enumerate(x):
            path = Path(tmp) / f"{i}.png"
            paper = Image.fromarray(np.round(255 - image.reshape(28, 28) * 255).astype(np.uint8))
            paper.resize((112, 112), Image.Resampling.LANCZOS).save(path)
            read.append(predict_image(model, path).digit)
    per_image_ms = (time.perf_counter() - start) / len(x) * 1e3
    same = float(np.mean(np.array(read) == raw))
    data = font_digits(per_font=args.per_font)
    labels = np.array([y for _, y in data])
    ours = model.predict(np.stack([preprocess(image).ravel() for image, _ in data]))
    plain = model.predict(np.stack([naive(image).ravel() for image, _ in data]))
    report = {"mnist_png_same_prediction": same, "mnist_png_n": len(x), "ms_per_png": per_image_ms,
              "fonts_n": len(data), "fonts_accuracy": float(np.mean(ours == labels)),
              "fonts_accuracy_naive": float(np.mean(plain == labels)),
              "fonts_recall_per_digit": [float(np.mean(ours[labels == d] == d)) for d in range(10)]}
    if args.json:
        print(json.dumps(report))
        return
    print(f"MNIST test images as 4x PNGs, dark on light: {100 * same:.2f}% of {len(x):,} read as the raw arrays "
          f"({per_image_ms:.1f} ms per file, reading included)")
    print(f"font-rendered digits ({len(data):,}): {100 * report['fonts_accuracy']:.2f}% with digitnet's "
          f"preprocessing, {100 * report['fonts_accuracy_naive']:.2f}% resized naively")
    recall = report["fonts_recall_per_digit"]
    print("recall per digit: " + ", ".join(f"{d} {100 * r:.0f}%" for d, r in enumerate(recall)))


if __name__ == "__main__":
    main()
