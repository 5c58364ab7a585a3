"""What each ingredient adds: one network, one budget, ingredients added one at a time.

    python benchmarks/run_ablation.py --data ../shared/data/mnist [--epochs 30] [--figure docs/img/ablation.png]

Every row is `digitnet train` run as a user runs it (a fresh process, seed 0) on 784-800-800-10
with Adam, batches of 128 and a cosine schedule over --epochs epochs; only the flags of the row
change. It prints docs/experiments.md's ablation table and draws the validation error of every
row, epoch by epoch, into --figure.
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

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


def run(flags, data, epochs, out):
    command = [sys.executable, "-m", "digitnet", "train", "--data", data, "--epochs", str(epochs), "--quiet",
               "--out", str(out), *BASE, *flags]
    stdout = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    grab = lambda pattern: re.search(pattern, stdout).group(1)      # noqa: E731
    history = json.loads(out.with_suffix(".history.json").read_text())
    return {"test": grab(r"test accuracy: ([\d.]+%)"), "train": grab(r"train accuracy: ([\d.]+%)"),
            "seconds": float(grab(r"training time: ([\d.]+) s")), "history": history}


def figure(results, path):
    from digitnet.plots import new_figure, save_figure
    fig = new_figure(10, 5.5)
    ax = fig.subplots()
    for name, r in results.items():
        error = [100 * (1 - a) for a in r["history"]["val_accuracy"]]
        ax.plot(r["history"]["epoch"], error, label=f"{name}: test {r['test']}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation error, % (log scale)")
    ax.set_title("784-800-800-10, Adam, cosine schedule: what each ingredient adds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


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
            r = results[name] = run(flags, args.data, args.epochs, Path(tmp) / f"row{k}.npz")
            print(f"| {name} | {r['test']} | {r['train']} | {r['seconds']:.0f} s | `{' '.join(flags) or '-'}` |",
                  flush=True)
    print(f"\nfigure: {figure(results, args.figure)}")
    print(f"common flags: --epochs {args.epochs} {' '.join(BASE)}")


if __name__ == "__main__":
    main()
