"""Losses: how wrong the network is, and which way to move to be less wrong.

A loss sees the last layer's output `a` (batch, 10) and the integer labels
`y` (batch,). It gives the mean loss over the batch and its gradient
dL/da (batch, 10), which starts backpropagation.

`SoftmaxCrossEntropy` fuses the softmax with the cross-entropy. Their
combined gradient is the famous one-liner (derived in docs/math.md):

    dL/dz = (p - Y) / batch        p = softmax(z), Y = one-hot labels

`MeanSquaredError` is the quadratic cost of Nielsen's book, on sigmoid
outputs: L = (1 / batch) * sum over the batch of 0.5 * ||a - Y||^2.
"""
import numpy as np


def one_hot(y, n_classes, dtype=np.float32):
    """Y (batch, n_classes) with Y[i, y[i]] = 1."""
    Y = np.zeros((len(y), n_classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


def softmax(z):
    """p = exp(z - max z) / sum exp(z - max z), row by row (the shift avoids overflow)."""
    p = z - z.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return p


class Loss:
    """A loss gives `value_and_gradient(a, y)`; these two read one half of it."""

    def value(self, a, y):
        return self.value_and_gradient(a, y)[0]

    def gradient(self, a, y):
        return self.value_and_gradient(a, y)[1]


class SoftmaxCrossEntropy(Loss):
    """L = -(1/batch) * sum_i log p[i, y_i],  p = softmax(z), computed stably.

    log p[i, k] = z[i, k] - m_i - log(sum_j exp(z[i, j] - m_i)),  m_i = max_j z[i, j]
    (the log-sum-exp trick: no exp of a large number, no log of zero).
    """

    name = "ce"

    def value_and_gradient(self, z, y):
        """(mean loss, dL/dz (batch, n_out)) computed from one softmax."""
        # np.maximum.reduce and np.add.reduce are z.max and .sum without their Python wrappers,
        # which cost more than the arithmetic on a (batch, 10) array
        n, k = z.shape
        label = np.arange(0, n * k, k)
        label += y                                     # where z[i, y_i] is in z.ravel()
        p = z - np.maximum.reduce(z, axis=1, keepdims=True)   # shifted; a new array: z stays untouched
        shifted_label = p.ravel().take(label)
        np.exp(p, out=p)
        total = np.add.reduce(p, axis=1, keepdims=True)
        loss = (float(np.add.reduce(np.log(total), axis=None)) - float(np.add.reduce(shifted_label))) / n
        total *= n
        p /= total                                     # p = softmax(z) / n
        p.ravel()[label] -= 1 / n                      # (p - Y) / n
        return loss, p

    def probabilities(self, z):
        return softmax(z)


class MeanSquaredError(Loss):
    """L = (1/batch) * sum_i 0.5 * ||a_i - Y_i||^2;  dL/da = (a - Y) / batch.

    Meant for sigmoid outputs (each in (0, 1)); their "probabilities" are the
    outputs normalised to sum to one.
    """

    name = "mse"

    def value_and_gradient(self, a, y):
        diff = a - one_hot(y, a.shape[1], a.dtype)
        loss = 0.5 * float(np.einsum("ij,ij->", diff, diff)) / len(y)
        diff /= len(y)
        return loss, diff

    def probabilities(self, a):
        a = np.clip(a, 0, None)
        total = a.sum(axis=1, keepdims=True)
        return np.divide(a, total, out=np.full_like(a, 1.0 / a.shape[1]), where=total > 0)


LOSSES = {"ce": SoftmaxCrossEntropy, "mse": MeanSquaredError}
