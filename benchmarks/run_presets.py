"""Run every preset (or those named) through `digitnet train` and print docs/experiments.md rows.

    python benchmarks/run_presets.py --data ../shared/data/mnist [NAME ...]

Each preset runs as a user would run it, `digitnet train --preset NAME --data DIR`, in a fresh
process. The figures come from what the command prints: test accuracy, train accuracy (the
whole training set, after training) and training time.
"""
import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from digitnet.cli.presets import describe
from digitnet.presets import PRESETS


def run(name, data, out):
    command = [sys.executable, "-m", "digitnet", "train", "--preset", name, "--data", data, "--quiet",
               "--out", str(out)]
    stdout = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    grab = lambda pattern: re.search(pattern, stdout).group(1)      # noqa: E731
    return {"test": grab(r"test accuracy: ([\d.]+%)"), "train": grab(r"train accuracy: ([\d.]+%)"),
            "seconds": grab(r"training time: ([\d.]+) s")}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("names", nargs="*", default=list(PRESETS))
    args = p.parse_args(argv)
    print("| preset | setup | source | reported | test | train | training time | command |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            preset = PRESETS[name]
            r = run(name, args.data, Path(tmp) / f"{name}.npz")
            print(f"| `{name}` | {preset.summary}; {describe(preset.settings)} | {preset.source} | "
                  f"{preset.reported} | {r['test']} | {r['train']} | {r['seconds']} s | "
                  f"`digitnet train --preset {name} --data {args.data}` |", flush=True)


if __name__ == "__main__":
    main()
