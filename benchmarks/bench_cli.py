"""The whole `digitnet train` command with its defaults: wall time, peak memory, test accuracy.

Runs the command as a user does, in a fresh process each time (data loading, training,
evaluation and saving included; the decoded-MNIST cache warmed by a first run that is not
counted), and reports the median wall time, the peak resident memory and the test accuracy.

    python benchmarks/bench_cli.py --data ../shared/data/mnist [--runs 3] [--json]
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def run_train(data, out, extra=()):
    """(wall seconds, peak RSS of the child in MB, test accuracy %, training seconds)."""
    command = [sys.executable, "-m", "digitnet", "train", "--quiet", "--out", out, *extra]
    if data:
        command += ["--data", data]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss        # KB on Linux, max over children
    accuracy = float(re.search(r"test accuracy: ([\d.]+)%", result.stdout).group(1))
    training = float(re.search(r"training time: ([\d.]+) s", result.stdout).group(1))
    return wall, max(peak, before) / 1024, accuracy, training


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--train-args", default="", metavar="FLAGS",
                   help="flags added to `digitnet train`, e.g. \"--batch-size 256 --epochs 6\", to time "
                   "another setting")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("DIGITNET_DATA", os.path.join(tmp, "cache"))
        out = os.path.join(tmp, "m.npz")
        extra = args.train_args.split()
        run_train(args.data, out, extra)                           # fills the decoded cache
        runs = [run_train(args.data, out, extra) for _ in range(args.runs)]
    report = {"wall_s": statistics.median(r[0] for r in runs), "wall_runs": [r[0] for r in runs],
              "train_s": statistics.median(r[3] for r in runs),
              "peak_rss_mb": max(r[1] for r in runs), "test_accuracy_percent": runs[0][2],
              "same_accuracy_every_run": len({r[2] for r in runs}) == 1}
    if args.json:
        print(json.dumps(report))
        return
    print(f"digitnet train ({args.train_args or 'defaults'}): {report['wall_s']:.2f} s wall (median of {args.runs}: "
          f"{', '.join(f'{w:.2f}' for w in report['wall_runs'])}), {report['train_s']:.1f} s of it training; "
          f"peak RSS {report['peak_rss_mb']:.0f} MB; test accuracy {report['test_accuracy_percent']:.2f}%")


if __name__ == "__main__":
    main()
