"""An experiment, not part of digitnet: how far would a compiled, fused optimizer update take the
training step towards the matmul ceiling?

digitnet's Adam update is ten NumPy passes over each process's half of the parameters, plus one
that sums the two halves' gradients (optimizers.Adam, training.Halves.update). Here the same
arithmetic runs as one loop compiled by numba, reading each array once. The reference MLP is
trained both ways, epochs interleaved with the matmul ceiling's, as in bench_halves.py.

    pip install numba        # only for this experiment: digitnet's core is NumPy only
    python benchmarks/bench_fused_update.py --data ../shared/data/mnist [--epochs 11] [--json]

Prints, for each way, the median seconds per epoch and the median over rounds of its share of
the ceiling, and the median over rounds of the fused epoch's time divided by the NumPy one's.
"""
import argparse
import json
import math
import statistics

import numba
import numpy as np
from bench_halves import compare, print_ways

import digitnet.training
from digitnet import load_mnist

NUMPY_UPDATE = digitnet.training.Halves.update
ARRAY, SCALAR = "float32[::1]", "float32"
SIGNATURE = f"void({', '.join([ARRAY] * 5 + [SCALAR] * 4)})"


@numba.njit(SIGNATURE, error_model="numpy")     # compiled now, so that no forked child compiles it
def fused_adam(p, g_mine, g_other, M, V, beta1, beta2, lr_t, eps_t):
    """optimizers.Adam.step and the halves' gradient sum in one pass over memory."""
    for i in range(p.shape[0]):
        g = g_mine[i] + g_other[i]
        m = beta1 * M[i] + g
        v = beta2 * V[i] + g * g
        M[i], V[i] = m, v
        p[i] -= lr_t * m / (math.sqrt(v) + eps_t)


def fused_update(self, rank, part):
    """training.Halves.update for Adam without L2, with the fused loop."""
    opt = self.opt
    M, V = opt._state(self.params, part)
    opt.t += 1
    b1, b2 = opt.beta1, opt.beta2
    v_scale = math.sqrt((1 - b2 ** opt.t) / (1 - b2))
    lr_t = float(opt.learning_rate) * (1 - b1) / (1 - b1 ** opt.t) * v_scale
    f32 = np.float32
    fused_adam(self.params[part], self.grads[rank][part], self.grads[1 - rank][part], M, V,
               f32(b1), f32(b2), f32(lr_t), f32(opt.eps * v_scale))


WAYS = {"NumPy update (digitnet)": NUMPY_UPDATE, "fused update (numba)": fused_update}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--epochs", type=int, default=11)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    data = load_mnist(args.data, validation_size=0, progress=False)

    def updating_by(update):
        return lambda: setattr(digitnet.training.Halves, "update", update)

    try:
        report = compare(data, {way: updating_by(update) for way, update in WAYS.items()}, args.epochs)
    finally:
        digitnet.training.Halves.update = NUMPY_UPDATE
    numpy_times, fused_times = (report[way]["epoch_times"] for way in WAYS)
    report["fused_over_numpy_by_round"] = statistics.median(f / t for f, t in zip(fused_times, numpy_times))
    if args.json:
        print(json.dumps(report))
        return
    print_ways({way: report[way] for way in WAYS})
    print(f"fused epoch / NumPy epoch, median by round: {report['fused_over_numpy_by_round']:.3f}")


if __name__ == "__main__":
    main()
