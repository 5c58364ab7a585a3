"""Centred finite differences in float64, the ground truth for every backward pass."""
import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    """df/dx by (f(x + eps) - f(x - eps)) / (2 eps), one element at a time (x changed in place, restored)."""
    grad = np.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return grad


def max_relative_error(analytic, numeric):
    """max |a - n| / (|a| + |n|), with a floor so that two near-zero values count as equal."""
    return float(np.max(np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-7)))
