"""What augmentation costs: seconds per 60,000 images, and its share of a training epoch.

    python benchmarks/bench_augment.py --data ../shared/data/mnist [--batch-size 128] [--device cpu]

For each kind (augment.py) it times augmenting 60,000 training images in batches, as fit does
(a fresh generator per batch), through the fused loop (accel.py) and through the plain array
code, and then, for each network of the augmented presets, one epoch of `fit` without
augmentation and one with: the difference is the cost inside training, where BLAS and the
augmentation share the cores. Each figure is the best of --repeat runs, all in one process.
"""
import argparse
import time

import numpy as np

from digitnet import MLP, accel, fit, load_mnist
from digitnet.augment import KINDS, Augment
from digitnet.backend import array_module, to_device

NETWORKS = {"784-800-10": (800,), "784-800-800-10": (800, 800), "784-1024x3-10": (1024, 1024, 1024)}


def per_60k(augment, x, batch_size, xp, fused):
    """Seconds to augment 60,000 images (x cycled) in batches of batch_size."""
    accel.enabled = fused
    try:
        start = time.perf_counter()
        for b, first in enumerate(range(0, 60_000, batch_size)):
            rows = np.arange(first, min(first + batch_size, 60_000)) % len(x)
            out = augment(x[to_device(rows, xp)], np.random.default_rng((0, 1, b)))
        float(out[0, 0])                                        # wait for the device
        return time.perf_counter() - start
    finally:
        accel.enabled = True


def epoch_seconds(hidden, data, augment, batch_size, device, repeat):
    best = float("inf")
    for _ in range(repeat):
        model = MLP(sizes=(784, *hidden, 10), device=device)
        start = time.perf_counter()
        fit(model, data.x_train, data.y_train, epochs=1, batch_size=batch_size, augment=augment, verbose=0)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated names of NETWORKS")
    args = p.parse_args(argv)
    data = load_mnist(args.data, progress=False)
    xp = array_module(args.device)
    x = to_device(data.x_train, xp)
    print(f"augmenting 60,000 images, batches of {args.batch_size}, on the {args.device}")
    print("| kind | fused loop | plain array code |\n|---|---|---|")
    for kind in KINDS[1:]:
        augment = Augment(kind)
        per_60k(augment, x, args.batch_size, xp, True)                        # compile, warm up
        fused = min(per_60k(augment, x, args.batch_size, xp, True) for _ in range(args.repeat))
        plain = min(per_60k(augment, x, args.batch_size, xp, False) for _ in range(args.repeat))
        print(f"| {kind} | {fused:.2f} s | {plain:.2f} s |", flush=True)
    print(f"\none epoch of fit ({len(data.x_train):,} images), batches of {args.batch_size}")
    print("| network | none | " + " | ".join(KINDS[1:]) + " |\n|---|---|" + "---|" * (len(KINDS) - 1))
    for name in args.networks.split(","):
        plain = epoch_seconds(NETWORKS[name], data, None, args.batch_size, args.device, args.repeat)
        cells = []
        for kind in KINDS[1:]:
            seconds = epoch_seconds(NETWORKS[name], data, Augment(kind), args.batch_size, args.device, args.repeat)
            cells.append(f"{seconds:.2f} s ({100 * (seconds - plain) / seconds:.0f}% augmenting)")
        print(f"| {name} | {plain:.2f} s | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
