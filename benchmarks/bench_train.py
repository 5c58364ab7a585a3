"""Training speed: digitnet beside PyTorch eager (and scikit-learn), in one process, one run.

Both train the same MLP (ReLU, softmax cross-entropy, Adam lr 1e-3, constant rate) on the
60,000 MNIST training images, with the same batch size, on the same device and the same
number of CPU threads. Epochs are interleaved, one epoch of each system in turn, so that all
see the same machine (the shared machines' speed drifts from minute to minute). Prints, per
system, the median seconds per epoch and the test accuracy, and digitnet's epoch as a ratio
to PyTorch's: the median of the epochs, and the median of each round's own ratio.

    python benchmarks/bench_train.py --data ../shared/data/mnist                       # ref, CPU
    python benchmarks/bench_train.py --data ../shared/data/mnist --sizes 784,1024,1024,10
    python benchmarks/bench_train.py --data DIR --device gpu --batch-size 1024 \
        --sizes 784,2500,2000,1500,1000,500,10                                         # Ciresan et al.
    taskset -c 0-3 python benchmarks/bench_train.py --data DIR                         # 4 cores

Install the other systems with `pip install -e ".[bench]"` (and CuPy for --device gpu).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numba
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from digitnet import MLP, Adam, accel, fit, load_mnist

LR = 1e-3
REF = (784, 256, 128, 10)


def digitnet_system(data, sizes, batch, device, seed=0):
    """(train one epoch -> its seconds, test accuracy). Adam's state carries over between epochs.

    The benchmark calls `fit` once per epoch only to interleave the systems; what a `fit` call
    does once per training run (checking the input, copying it to the device) is not an epoch,
    so the epoch is timed by `fit` itself (history["seconds"])."""
    model = MLP(sizes=sizes, activation="relu", random_state=seed, device=device)
    opt = Adam(LR)
    x, y = model.xp.asarray(data.x_train), model.xp.asarray(data.y_train)      # on the device once
    epoch = iter(range(seed * 10**6, 10**9))

    def train_epoch():
        history = fit(model, x, y, optimizer=opt, learning_rate=LR, schedule="constant", epochs=1,
                      batch_size=batch, random_state=next(epoch), verbose=0)
        return history["seconds"][0]

    return train_epoch, lambda: model.score(data.x_test, data.y_test)


def reference_update(system):
    """The same system with the Adam update in plain array operations (optimizers.adam_update)
    instead of the fused loop (accel.py), for its own epochs only."""
    train_epoch, accuracy = system

    def train_epoch_with_reference():
        accel.enabled = False
        try:
            return train_epoch()
        finally:
            accel.enabled = True

    return train_epoch_with_reference, accuracy


def pytorch_system(data, sizes, batch, device, threads, seed=0):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    where = "cuda" if device == "gpu" else "cpu"
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(where)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = torch.from_numpy(data.x_train).to(where), torch.from_numpy(data.y_train).to(where)

    def train_epoch():
        start = time.perf_counter()
        order = torch.randperm(len(X), device=where)
        for b in range(0, len(X), batch):
            rows = order[b:b + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(X[rows]), y[rows]).backward()
            opt.step()
        if where == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def accuracy():
        with torch.no_grad():
            predicted = net(torch.from_numpy(data.x_test).to(where)).argmax(1).cpu().numpy()
        return float((predicted == data.y_test).mean())

    return train_epoch, accuracy


def sklearn_system(data, sizes, batch):
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=sizes[1:-1], activation="relu", solver="adam", alpha=0.0,
                        learning_rate_init=LR, batch_size=batch, shuffle=True, random_state=0)

    def train_epoch():
        clf.partial_fit(data.x_train, data.y_train, classes=np.arange(10))

    return train_epoch, lambda: float(clf.score(data.x_test, data.y_test))


def make_systems(args, data, sizes):
    """{name: ((train_epoch, accuracy), epochs)} for every system asked for."""
    systems = {"digitnet": (digitnet_system(data, sizes, args.batch_size, args.device), args.epochs)}
    if args.reference_update:
        systems["digitnet-reference"] = (reference_update(digitnet_system(data, sizes, args.batch_size,
                                                                           args.device)), args.epochs)
    if "pytorch" not in args.skip:
        systems["pytorch"] = (pytorch_system(data, sizes, args.batch_size, args.device, args.threads), args.epochs)
    if "sklearn" not in args.skip and args.device == "cpu":
        systems["sklearn"] = (sklearn_system(data, sizes, args.batch_size), args.sklearn_epochs)
    return systems


def run_interleaved(systems, epochs):
    """Epoch 1 of every system, then epoch 2 of every system, ...: all see the same machine."""
    times = {name: [] for name in systems}
    for epoch in range(max(e for _, e in systems.values())):
        for name, ((train_epoch, _), n_epochs) in systems.items():
            if epoch < n_epochs:
                start = time.perf_counter()
                timed_by_itself = train_epoch()         # a system may time its own epoch
                times[name].append(timed_by_itself if timed_by_itself is not None
                                   else time.perf_counter() - start)
    return {name: {"epoch_s": statistics.median(t[1:] or t), "epochs": len(t),
                   "test_accuracy": systems[name][0][1](), "epoch_times": t}
            for name, t in times.items()}


def paired(numerators, denominators):
    """The median over rounds of numerator / denominator, each pair timed one after the other
    (the first round, with its warm-up, left out)."""
    pairs = list(zip(numerators, denominators))
    return statistics.median(a / b for a, b in (pairs[1:] or pairs))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--sizes", default=",".join(map(str, REF)), help="layer sizes (default 784,256,128,10)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--epochs", type=int, default=4, help="epochs of each system; the first is a warm-up, "
                   "left out of the medians")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="CPU threads for every system (default: the CPUs this process may use)")
    p.add_argument("--skip", nargs="*", default=[], choices=["pytorch", "sklearn"])
    p.add_argument("--sklearn-epochs", type=int, default=2, help="scikit-learn is slow: fewer epochs")
    p.add_argument("--reference-update", action="store_true",
                   help="also time digitnet with the Adam update in plain array operations instead of the fused "
                   "loop (accel.py), as the system digitnet-reference")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    sizes = tuple(int(s) for s in args.sizes.split(","))
    accel.fused_adam(np.zeros(1, np.float32))                # numba's thread pool chosen (accel.py) ...
    numba.set_num_threads(args.threads)                      # ... and started with this many threads
    data = load_mnist(args.data, validation_size=0, progress=False)
    with threadpool_limits(args.threads):
        blas = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for i in threadpool_info() if i["user_api"] == "blas"]
        results = run_interleaved(make_systems(args, data, sizes), args.epochs)
    ours = results["digitnet"]
    torch_run = results.get("pytorch")
    report = {
        "sizes": sizes, "batch_size": args.batch_size, "device": args.device, "threads": args.threads,
        "systems": results,
        "ratio_to_pytorch": ours["epoch_s"] / torch_run["epoch_s"] if torch_run else None,
        "ratio_to_pytorch_by_round": paired(ours["epoch_times"], torch_run["epoch_times"]) if torch_run else None,
        "blas": blas, "python": sys.version.split()[0], "numpy": np.__version__,
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"{'-'.join(map(str, sizes))}, batch {args.batch_size}, {args.device}, {args.threads} threads, "
          f"BLAS {blas}")
    print(f"{'system':<18} {'s/epoch':>8} {'epochs':>6} {'test acc':>9} {'digitnet / this':>16}")
    for name, r in results.items():
        print(f"{name:<18} {r['epoch_s']:>8.3f} {r['epochs']:>6} {100 * r['test_accuracy']:>8.2f}% "
              f"{ours['epoch_s'] / r['epoch_s']:>15.3f}x")
    if torch_run:
        print(f"digitnet / PyTorch: {report['ratio_to_pytorch']:.3f}x "
              f"(median of each round's ratio: {report['ratio_to_pytorch_by_round']:.3f}x)")


if __name__ == "__main__":
    main()
