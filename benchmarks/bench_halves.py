"""What the two halves buy: the reference MLP with each batch whole in one process, and cut in two
halves worked on by two processes, epochs interleaved with the matmul ceiling's.

    python benchmarks/bench_halves.py --data ../shared/data/mnist [--epochs 8] [--json]

Prints, for each way, the median seconds per epoch and the median over rounds of its share of the
ceiling (each round's ceiling epoch divided by that round's digitnet epoch). "whole" is how
digitnet trained before batches were cut in halves; it is forced here by raising
digitnet.training.SPLIT_AT above the batch size.
"""
import argparse
import json
import statistics

from bench_train import BATCH, digitnet_system, matmul_system, run_interleaved

import digitnet.training
from digitnet import load_mnist

WAYS = {"whole batch, one process": 10**9, "two halves, two processes": digitnet.training.SPLIT_AT}


def after(setup, train_epoch):
    """train_epoch, with setup() called first."""
    def run():
        setup()
        return train_epoch()
    return run


def compare(data, setups, epochs):
    """Train the reference MLP once per way, calling setups[way]() before each of its epochs, with
    the epochs interleaved with the ceiling's. Returns {way: {"epoch_s", "test_accuracy",
    "share_of_matmul" (median over rounds), "epoch_times"}}."""
    n = len(data.x_train)
    systems = {"matmul": (matmul_system(n), epochs)}
    for way, setup in setups.items():
        train_epoch, accuracy = digitnet_system(data)
        systems[way] = (after(setup, train_epoch), accuracy), epochs
    results = run_interleaved(systems, epochs)
    ceiling = results.pop("matmul")["epoch_times"]
    scale = n / (n // BATCH * BATCH)                # the ceiling's epoch has whole batches only
    return {way: {"epoch_s": r["epoch_s"], "test_accuracy": r["test_accuracy"], "epoch_times": r["epoch_times"],
                  "share_of_matmul": statistics.median(scale * c / t for c, t in zip(ceiling, r["epoch_times"]))}
            for way, r in results.items()}


def print_ways(report):
    for way, r in report.items():
        print(f"{way:<28} {r['epoch_s']:.3f} s/epoch  {100 * r['share_of_matmul']:.0f}% of the matmul ceiling  "
              f"test {100 * r['test_accuracy']:.2f}%")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    data = load_mnist(args.data, validation_size=0, progress=False)

    def splitting_at(split_at):
        return lambda: setattr(digitnet.training, "SPLIT_AT", split_at)

    report = compare(data, {way: splitting_at(split_at) for way, split_at in WAYS.items()}, args.epochs)
    if args.json:
        print(json.dumps(report))
        return
    print_ways(report)


if __name__ == "__main__":
    main()
