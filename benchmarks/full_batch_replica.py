"""A line-for-line float64 replica of the most copied full-batch 784-10-10 tutorial, on MNIST.

The preset full-batch-1500 reaches ~90% where the tutorial reports 92.83%. This replays the
tutorial's own code outside digitnet, to tell a digitnet difference from a setup difference:
column convention (W @ X with X of shape (784, m)), float64, weights and biases U(-0.5, 0.5),
`db` summed over every unit into one scalar (as that code does), full-batch gradient descent with
lr 0.15 for 1500 iterations, 41,000 random training images and a 1,000-image dev split.

    python benchmarks/full_batch_replica.py --data ../shared/data/mnist [--seeds 3]

Each seed takes a few minutes (float64 products over 41,000 images, 1500 times). Prints train,
dev and MNIST-test accuracy per seed.
"""
import argparse

import numpy as np

from digitnet import load_mnist


def run(x, y, x_test, y_test, seed, alpha=0.15, iterations=1500):
    """(train, dev, test) accuracy of one seed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    dev, train = order[:1000], order[1000:42000]
    X, Y, X_dev, Y_dev = x[train].T, y[train], x[dev].T, y[dev]
    m = X.shape[1]
    W1, b1 = rng.random((10, 784)) - 0.5, rng.random((10, 1)) - 0.5
    W2, b2 = rng.random((10, 10)) - 0.5, rng.random((10, 1)) - 0.5
    one_hot = np.zeros((10, m))
    one_hot[Y, np.arange(m)] = 1

    def forward(X):
        Z1 = W1 @ X + b1
        A1 = np.maximum(Z1, 0)
        Z2 = W2 @ A1 + b2
        E = np.exp(Z2 - Z2.max(axis=0))
        return Z1, A1, E / E.sum(axis=0)

    for _ in range(iterations):
        Z1, A1, A2 = forward(X)
        dZ2 = A2 - one_hot
        dW2, db2 = dZ2 @ A1.T / m, dZ2.sum() / m
        dZ1 = (W2.T @ dZ2) * (Z1 > 0)
        dW1, db1 = dZ1 @ X.T / m, dZ1.sum() / m
        W1 -= alpha * dW1
        b1 -= alpha * db1
        W2 -= alpha * dW2
        b2 -= alpha * db2

    def accuracy(X, Y):
        return float((forward(X)[2].argmax(axis=0) == Y).mean())

    return accuracy(X, Y), accuracy(X_dev, Y_dev), accuracy(x_test.T, y_test)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args(argv)
    data = load_mnist(args.data, validation_size=0, progress=False)
    x, x_test = data.x_train.astype(np.float64), data.x_test.astype(np.float64)
    for seed in range(args.seeds):
        train, dev, test = run(x, data.y_train, x_test, data.y_test, seed)
        print(f"seed {seed}: train {100 * train:.2f}%  dev (1,000) {100 * dev:.2f}%  MNIST test {100 * test:.2f}%",
              flush=True)


if __name__ == "__main__":
    main()
