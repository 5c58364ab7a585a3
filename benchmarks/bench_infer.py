"""Inference speed: the 10,000 MNIST test images in one call, and one image at a time.

Trains a default-shaped network for one epoch (or loads MODEL), then reports the median time of
`model.predict` over the whole test set, the median latency of predicting a single image, and
NumPy's matmul alone at the same shapes (the ceiling).

    python benchmarks/bench_infer.py --data ../shared/data/mnist [--model m.npz] [--json]
"""
import argparse
import json
import statistics
import time

import numpy as np

from digitnet import MLP, fit, load_mnist, load_model


def median_time(fn, repeats):
    fn()                                       # warm up: buffers allocated, caches filled
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--model", help="a model file; default: train 784-256-128-10 for one epoch")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    data = load_mnist(args.data, progress=False)
    if args.model:
        model = load_model(args.model)
    else:
        model = MLP(random_state=0)
        fit(model, data.x_train, data.y_train, epochs=1, verbose=0)
    X = data.x_test
    batch_s = median_time(lambda: model.predict(X), args.repeats)
    single_s = median_time(lambda: [model.predict(X[i:i + 1]) for i in range(100)], args.repeats) / 100
    weights = [(d.W, np.empty((len(X), d.n_out), np.float32)) for d in model.dense]
    flops = sum(2 * len(X) * W.size for W, _ in weights)
    matmul_s = median_time(lambda: [np.matmul(X if i == 0 else weights[i - 1][1][:, :W.shape[0]], W, out=z)
                                    for i, (W, z) in enumerate(weights)], args.repeats)
    report = {"architecture": model.sizes, "n_images": len(X), "batch_ms": batch_s * 1e3,
              "single_image_us": single_s * 1e6, "matmul_ms": matmul_s * 1e3,
              "images_per_s": len(X) / batch_s, "gflops": flops / batch_s / 1e9,
              "accuracy": model.score(X, data.y_test)}
    if args.json:
        print(json.dumps(report))
        return
    print(f"model {'-'.join(map(str, model.sizes))}, test accuracy {100 * report['accuracy']:.2f}%")
    print(f"{len(X):,} images in one call: {report['batch_ms']:.1f} ms ({report['images_per_s']:,.0f} images/s, "
          f"{report['gflops']:.0f} GFLOP/s); the matmuls alone: {report['matmul_ms']:.1f} ms")
    print(f"one image: {report['single_image_us']:.0f} us")


if __name__ == "__main__":
    main()
