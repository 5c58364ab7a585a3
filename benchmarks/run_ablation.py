"""What each ingredient adds: one network, one budget, ingredients added one at a time.

    python benchmarks/run_ablation.py --data ../shared/data/mnist [--epochs 30] [--figure docs/img/ablation.png]

Every row is `digitnet train` run as a user runs it (a fresh process, seed 0) on 784-800-800-10
with Adam, batches of 128 and a cosine schedule over --epochs epochs; only the flags of the row
change. It prints docs/experiments.md's ablation table and draws the validation error of every
row, epoch by epoch, into --figure.
"""
import argparse
import tempfile
from pathlib import Path

from run_presets import figure, train

BASE = ["--hidden", "800,800", "--optimizer", "adam", "--lr", "0.001", "--batch-size", "128",
        "--schedule", "cosine", "--seed", "0"]
DROPOUT = ["--dropout", "0.5", "--input-dropout", "0.2", "--max-norm", "3.5"]
ROWS = [
    ("no augmentation", []),
    ("shifts of up to 2 pixels", ["--augment", "shift"]),
    ("affine: rotation, shear, scaling", ["--augment", "affine"]),
    ("elastic (sigma 6, alpha 36)", ["--augment", "elastic"]),
    ("affine and elastic (ciresan)", ["--augment", "ciresan"]),
    ("no augmentation, dropout and max-norm", DROPOUT),
    ("affine and elastic, dropout and max-norm", ["--augment", "ciresan", *DROPOUT]),
]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--figure", default="docs/img/ablation.png")
    args = p.parse_args(argv)
    print("| ingredients | test | train | training time | flags added |\n|---|---|---|---|---|")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, flags) in enumerate(ROWS):
            flags_all = ["--epochs", str(args.epochs), *BASE, *flags]
            r = results[name] = train(flags_all, args.data, Path(tmp) / f"row{k}.npz")
            print(f"| {name} | {r['test']} | {r['train']} | {r['seconds']:.0f} s | `{' '.join(flags) or '-'}` |",
                  flush=True)
    title = "784-800-800-10, Adam, cosine schedule: what each ingredient adds"
    print(f"\nfigure: {figure(results, args.figure, title)}")
    print(f"common flags: --epochs {args.epochs} {' '.join(BASE)}")


if __name__ == "__main__":
    main()
