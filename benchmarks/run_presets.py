"""Run every preset (or those named) through `digitnet train` and print docs/experiments.md rows.

    python benchmarks/run_presets.py --data ../shared/data/mnist [--seeds 0,1,2] [--figure F.png] [NAME ...]

Each preset runs as a user would run it, `digitnet train --preset NAME --data DIR`, in a fresh
process. The figures come from what the command prints: test accuracy, train accuracy (the
whole training set, after training) and training time. `--seeds 0,1,2` runs each preset once per seed
(one row each); `--flags` adds flags to every command (e.g. `--flags="--init uniform"`);
`--figure` draws every run's validation error, epoch by epoch.
"""
import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from digitnet.cli.presets import describe
from digitnet.presets import PRESETS


def train(flags, data, out):
    """Run `digitnet train --data DATA FLAGS` in a fresh process; its figures and history."""
    command = [sys.executable, "-m", "digitnet", "train", "--data", data, "--quiet", "--out", str(out), *flags]
    stdout = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    grab = lambda pattern: re.search(pattern, stdout).group(1)      # noqa: E731
    history = json.loads(Path(out).with_suffix(".history.json").read_text())
    return {"test": grab(r"test accuracy: ([\d.]+%)"), "train": grab(r"train accuracy: ([\d.]+%)"),
            "seconds": float(grab(r"training time: ([\d.]+) s")), "history": history}


def figure(results, path, title):
    """Validation error (log scale) per epoch of every run in `results` {label: train(...)}."""
    from digitnet.plots import new_figure, save_figure
    fig = new_figure(10, 5.5)
    ax = fig.subplots()
    for label, r in results.items():
        error = [100 * (1 - a) for a in r["history"]["val_accuracy"]]
        ax.plot(r["history"]["epoch"], error, label=f"{label}: test {r['test']}, {r['seconds']:.0f} s")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter("{x:g}")
    ax.yaxis.set_minor_formatter("{x:g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation error, % (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--seeds", type=lambda text: [int(k) for k in text.split(",")], default=[0],
                   help="comma-separated seeds, e.g. 0,1,2 (default 0)")
    p.add_argument("--flags", default="", help="more flags for every command, in one string")
    p.add_argument("--figure", help="draw the validation curves into this PNG file")
    p.add_argument("names", nargs="*", default=list(PRESETS))
    args = p.parse_args(argv)
    extra = shlex.split(args.flags)
    print("| preset | setup | source | reported | test | train | training time | command |")
    print("|---|---|---|---|---|---|---|---|")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            preset = PRESETS[name]
            for seed in args.seeds:
                flags = ["--preset", name, *extra, *(["--seed", str(seed)] if seed else [])]
                r = results[" ".join([name, *flags[2:]])] = train(flags, args.data, Path(tmp) / f"{name}-{seed}.npz")
                print(f"| `{name}` | {preset.summary}; {describe(preset.settings)} | {preset.source} | "
                      f"{preset.reported} | {r['test']} | {r['train']} | {r['seconds']:.1f} s | "
                      f"`digitnet train {' '.join(flags)} --data {args.data}` |", flush=True)
    if args.figure:
        print(f"\nfigure: {figure(results, args.figure, 'validation error of each run')}")


if __name__ == "__main__":
    main()
