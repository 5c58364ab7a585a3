"""Losses: how wrong the network is, and which way to move to be less wrong.

A loss sees the last layer's output `a` (batch, 10) and the integer labels
`y` (batch,). `value_and_gradient(a, y)` gives the mean loss over the batch
(a 0-d array on the arrays' device: `float(loss)` reads it) and its gradient
dL/da (batch, 10), which starts backpropagation.

`SoftmaxCrossEntropy` fuses the softmax with the cross-entropy. Their
combined gradient is the famous one-liner (derived in docs/math.md):

    dL/dz = (p - Y) / batch        p = softmax(z), Y = one-hot labels

`MeanSquaredError` is the quadratic cost of Nielsen's book, on sigmoid
outputs: L = (1 / batch) * sum over the batch of 0.5 * ||a - Y||^2.
"""
import math

from .backend import namespace


def one_hot(y, n_classes, dtype):
    """Y (batch, n_classes) with Y[i, y[i]] = 1 and every other entry 0."""
    xp = namespace(y)
    classes = xp.arange(n_classes, dtype=y.dtype)
    return xp.astype(xp.expand_dims(y, axis=1) == classes, dtype)


def log_softmax(z):
    """log p = z - m - log(sum_j exp(z_j - m)) row by row, m = the row's maximum.

    Subtracting m changes nothing (it cancels) but keeps every exponent <= 0,
    so exp never overflows, and the sum is >= 1, so its log is finite."""
    xp = namespace(z)
    shifted = z - xp.max(z, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def softmax(z):
    """p = exp(z) / sum exp(z), row by row, computed stably (see log_softmax)."""
    return namespace(z).exp(log_softmax(z))


class Loss:
    """A loss gives `value_and_gradient(a, y)`; these two read one half of it."""

    def value(self, a, y):
        """The mean loss as a Python float."""
        return float(self.value_and_gradient(a, y)[0])

    def gradient(self, a, y):
        return self.value_and_gradient(a, y)[1]


class SoftmaxCrossEntropy(Loss):
    """L = -(1/batch) * sum_i log p[i, y_i],  p = softmax(z);  dL/dz = (p - Y) / batch."""

    name = "ce"

    def value_and_gradient(self, z, y):
        xp = namespace(z)
        batch = z.shape[0]
        log_p = log_softmax(z)
        loss = -xp.sum(xp.take_along_axis(log_p, xp.expand_dims(y, axis=1), axis=1)) / batch
        dz = (xp.exp(log_p) - one_hot(y, z.shape[1], z.dtype)) / batch
        return loss, dz

    def probabilities(self, z):
        return softmax(z)

    def uninformed(self, k):
        """The loss of an output that tells nothing, every one of k classes alike: log k."""
        return math.log(k)


class MeanSquaredError(Loss):
    """L = (1/batch) * sum_i 0.5 * ||a_i - Y_i||^2;  dL/da = (a - Y) / batch.

    Meant for sigmoid outputs (each in (0, 1)); their "probabilities" are the
    outputs normalised to sum to one.
    """

    name = "mse"

    def value_and_gradient(self, a, y):
        xp = namespace(a)
        batch = a.shape[0]
        diff = a - one_hot(y, a.shape[1], a.dtype)
        return 0.5 * xp.sum(diff * diff) / batch, diff / batch

    def probabilities(self, a):
        xp = namespace(a)
        a = xp.clip(a, 0, None)
        total = xp.sum(a, axis=1, keepdims=True)
        safe = xp.where(total > 0, total, 1.0)          # an all-zero row gets 1/k everywhere
        return xp.where(total > 0, a / safe, 1.0 / a.shape[1])

    def uninformed(self, k):
        """The loss of an output that tells nothing, all k sigmoids at 0.5: 0.5 * k * 0.25."""
        return k / 8


LOSSES = {"ce": SoftmaxCrossEntropy, "mse": MeanSquaredError}
