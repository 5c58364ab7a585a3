"""Centred finite differences in float64, the ground truth for every backward pass.

Works on an array of any namespace (NumPy, array_api_strict, CuPy): it changes
one element at a time in place and reads the function's value as a float."""
import numpy as np

from digitnet.backend import to_numpy


def numerical_gradient(f, x, eps=1e-6):
    """df/dx by (f(x + eps) - f(x - eps)) / (2 eps), one element at a time (x changed in place,
    restored); returned as a NumPy array shaped like x."""
    grad = np.zeros(tuple(x.shape))
    for index in np.ndindex(*x.shape):
        old = float(x[index])
        x[index] = old + eps
        plus = float(f())
        x[index] = old - eps
        minus = float(f())
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def max_relative_error(analytic, numeric):
    """max |a - n| / (|a| + |n|), with a floor so that two near-zero values count as equal."""
    analytic, numeric = to_numpy(analytic), to_numpy(numeric)
    return float(np.max(np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-7)))


def network_gradient_error(model, x, y):
    """The largest relative error between backpropagation's model.grads and finite differences of
    the loss, for a float64 `model` and a batch x, y in its namespace."""

    def loss_value():
        return model.loss.value(model.forward(x, training=True), y)

    numeric = numerical_gradient(loss_value, model.params)
    _, da = model.loss.value_and_gradient(model.forward(x, training=True), y)
    model.backward(da)
    return max_relative_error(to_numpy(model.grads), numeric)
