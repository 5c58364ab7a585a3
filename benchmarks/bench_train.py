"""Training speed: digitnet beside PyTorch (CPU, eager) and scikit-learn, in one process.

The reference network: 784-256-128-10, ReLU, softmax cross-entropy, Adam lr 1e-3,
batch 128, the full 60,000 MNIST training images. Every system uses the same
number of threads (digitnet: two processes of one BLAS thread each, see
src/digitnet/parallel.py). Epochs are interleaved, one epoch of each system in
turn, so that all systems see the same machine; the ceiling, an "epoch" of
NumPy's matmul alone doing exactly the reference step's matrix products at
batch 128 with all threads, takes its turn too. Prints, per system, the median
seconds per epoch and the test accuracy; digitnet's ratio to each; the FLOPs
of one epoch, digitnet's achieved GFLOP/s and the ceiling's.

    python benchmarks/bench_train.py --data ../shared/data/mnist [--epochs 5] [--json]

Install the other systems with `pip install -e ".[bench]"`.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from digitnet import MLP, Adam, fit, load_mnist

SIZES = (784, 256, 128, 10)
LR, BATCH = 1e-3, 128


def epoch_flops(n):
    """Multiply-adds x2 of one epoch: forward z = x @ W, backward dW = x.T @ dz and dx = dz @ W.T
    (no dx for the first layer)."""
    pairs = list(zip(SIZES[:-1], SIZES[1:]))
    forward = sum(2 * n * a * b for a, b in pairs)
    backward = forward + sum(2 * n * a * b for a, b in pairs[1:])
    return forward + backward


def matmul_system(n):
    """One "epoch" of exactly the matrix products of one epoch, by np.matmul into preallocated
    arrays: the ceiling. Timed interleaved with the systems, like them."""
    rng = np.random.default_rng(0)
    pairs = list(zip(SIZES[:-1], SIZES[1:]))
    W = [rng.standard_normal((a, b), dtype=np.float32) for a, b in pairs]
    x = [rng.random((BATCH, a), dtype=np.float32) for a, _ in pairs]
    z = [np.empty((BATCH, b), np.float32) for _, b in pairs]
    dW = [np.empty_like(w) for w in W]
    dx = [np.empty_like(xi) for xi in x]

    def train_epoch():
        for _ in range(n // BATCH):
            for i in range(len(W)):
                np.matmul(x[i], W[i], out=z[i])
            for i in reversed(range(len(W))):
                np.matmul(x[i].T, z[i], out=dW[i])
                if i:
                    np.matmul(z[i], W[i].T, out=dx[i])

    return train_epoch, lambda: None


def digitnet_system(data, seed=0):
    """(train one epoch, test accuracy) for digitnet; Adam's state carries over between epochs.

    The benchmark calls `fit` once per epoch only to interleave the systems. What a `fit` call
    sets up once per training run (the input check, the second process) is not part of an
    epoch, so the epoch is timed by `fit` itself (history["seconds"]); the whole call's time is
    kept too, as "call_times"."""
    model = MLP(sizes=SIZES, activation="relu", random_state=seed)
    opt = Adam(LR)
    epoch = iter(range(seed * 10**6, 10**9))

    def train_epoch():
        history = fit(model, data.x_train, data.y_train, optimizer=opt, learning_rate=LR,
                      schedule="constant", epochs=1, batch_size=BATCH, random_state=next(epoch),
                      progress=False)
        return history["seconds"][0]

    return train_epoch, lambda: model.score(data.x_test, data.y_test)


def pytorch_system(data, threads, seed=0):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                              torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)

    def train_epoch():
        order = torch.randperm(len(X))
        for b in range(0, len(X), BATCH):
            rows = order[b:b + BATCH]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(X[rows]), y[rows]).backward()
            opt.step()

    def accuracy():
        with torch.no_grad():
            return float((net(torch.from_numpy(data.x_test)).argmax(1).numpy() == data.y_test).mean())

    return train_epoch, accuracy


def sklearn_system(data):
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], activation="relu", solver="adam", alpha=0.0,
                        learning_rate_init=LR, batch_size=BATCH, shuffle=True, random_state=0)

    def train_epoch():
        clf.partial_fit(data.x_train, data.y_train, classes=np.arange(10))

    return train_epoch, lambda: float(clf.score(data.x_test, data.y_test))


def run_interleaved(systems, epochs):
    """Epoch 1 of every system, then epoch 2 of every system, ...: all see the same machine."""
    times = {name: [] for name in systems}
    calls = {name: [] for name in systems}
    for epoch in range(max(e for _, e in systems.values())):
        for name, ((train_epoch, _), n_epochs) in systems.items():
            if epoch < n_epochs:
                start = time.perf_counter()
                timed_by_itself = train_epoch()         # a system may time its own epoch
                calls[name].append(time.perf_counter() - start)
                times[name].append(timed_by_itself if timed_by_itself is not None else calls[name][-1])
    return {name: {"epoch_s": statistics.median(t), "epochs": len(t),
                   "test_accuracy": systems[name][0][1](), "epoch_times": t, "call_times": calls[name]}
            for name, t in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--sklearn-epochs", type=int, default=2, help="scikit-learn is slow: fewer epochs")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--skip", nargs="*", default=[], choices=["pytorch", "sklearn"])
    p.add_argument("--accuracy-seeds", type=int, default=1, metavar="K",
                   help="test accuracy as the mean over K seeds (digitnet and PyTorch; the extra "
                   "seeds are trained untimed after the timed run)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    data = load_mnist(args.data, validation_size=0, progress=False)
    n = len(data.x_train)
    with threadpool_limits(args.threads):
        blas = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for i in threadpool_info() if i["user_api"] == "blas"]
        systems = {"matmul": (matmul_system(n), args.epochs), "digitnet": (digitnet_system(data), args.epochs)}
        if "pytorch" not in args.skip:
            systems["pytorch"] = (pytorch_system(data, args.threads), args.epochs)
        if "sklearn" not in args.skip:
            systems["sklearn"] = (sklearn_system(data), args.sklearn_epochs)
        results = run_interleaved(systems, args.epochs)
        for name, make in (("digitnet", lambda seed: digitnet_system(data, seed)),
                           ("pytorch", lambda seed: pytorch_system(data, args.threads, seed))):
            if name in results:
                results[name]["test_accuracy_by_seed"] = [results[name]["test_accuracy"]] + [
                    accuracy_after(make(seed), args.epochs) for seed in range(1, args.accuracy_seeds)]
                results[name]["test_accuracy_mean"] = statistics.mean(results[name]["test_accuracy_by_seed"])
    flops = epoch_flops(n)
    ceiling = results.pop("matmul")
    matmul_s = ceiling["epoch_s"] * n / (n // BATCH * BATCH)      # the same FLOPs as a whole epoch
    matmul_gflops = flops / matmul_s / 1e9
    ours = results["digitnet"]["epoch_s"]
    report = {
        "systems": results,
        "ratio_to_pytorch": ours / results["pytorch"]["epoch_s"] if "pytorch" in results else None,
        "ratio_to_sklearn": ours / results["sklearn"]["epoch_s"] if "sklearn" in results else None,
        "flops_per_epoch": flops,
        "achieved_gflops": flops / ours / 1e9,
        "matmul_gflops": matmul_gflops,
        "matmul_epoch_s": matmul_s,
        "matmul_epoch_times": ceiling["epoch_times"],
        "fraction_of_matmul": flops / ours / 1e9 / matmul_gflops,
        # the same two figures from each round's own epochs (robust to the machine's drift)
        "fraction_of_matmul_by_round": paired(ceiling["epoch_times"], results["digitnet"]["epoch_times"],
                                              scale=n / (n // BATCH * BATCH)),
        "ratio_to_pytorch_by_round": paired(results["digitnet"]["epoch_times"],
                                            results["pytorch"]["epoch_times"]) if "pytorch" in results else None,
        "threads": args.threads,
        "blas": blas,
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "python": sys.version.split()[0], "numpy": np.__version__,
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"BLAS: {blas}  env: {report['openblas_env']}  threads: {args.threads}")
    print(f"{'system':<10} {'s/epoch':>8} {'epochs':>6} {'test acc':>9} {'digitnet / this':>16}")
    for name, r in results.items():
        print(f"{name:<10} {r['epoch_s']:>8.3f} {r['epochs']:>6} {100 * r['test_accuracy']:>8.2f}% "
              f"{ours / r['epoch_s']:>15.2f}x")
    for name, r in results.items():
        seeds = r.get("test_accuracy_by_seed", [])
        if len(seeds) > 1:
            print(f"{name} test accuracy over {len(seeds)} seeds: mean {100 * r['test_accuracy_mean']:.2f}% "
                  f"({', '.join(f'{100 * a:.2f}' for a in seeds)})")
    print(f"FLOPs per epoch: {flops / 1e9:.1f} G;  digitnet {report['achieved_gflops']:.1f} GFLOP/s;  "
          f"matmul alone {matmul_gflops:.1f} GFLOP/s ({matmul_s:.3f} s/epoch);  "
          f"digitnet reaches {100 * report['fraction_of_matmul']:.0f}% of it")
    print(f"median of each round's own ratio: {100 * report['fraction_of_matmul_by_round']:.0f}% of matmul"
          + (f", {report['ratio_to_pytorch_by_round']:.2f}x PyTorch" if "pytorch" in results else ""))


def accuracy_after(system, epochs):
    """Test accuracy of a fresh `system` (train_epoch, accuracy) after `epochs` epochs, untimed."""
    train_epoch, accuracy = system
    for _ in range(epochs):
        train_epoch()
    return accuracy()


def paired(numerators, denominators, scale=1.0):
    """The median over rounds of numerator / denominator, each pair timed one after the other."""
    return statistics.median(scale * a / b for a, b in zip(numerators, denominators))


if __name__ == "__main__":
    main()
