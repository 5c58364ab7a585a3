"""Gradient checking: backpropagation against centred finite differences, in float64.

For a scalar function f of an array theta, changing one element at a time by
+-eps gives

    df/dtheta_k ~ (f(theta + eps e_k) - f(theta - eps e_k)) / (2 eps)

with an error of about eps**2 / 6 * f''' (docs/math.md §9). `check_network`
does this for every parameter of a float64 network and compares it with the
gradient that `training.train_step` computes (L2 included), one parameter
array (W1, b1, W2, ...) at a time, by `array_relative_error`.
"""
from dataclasses import dataclass

import numpy as np

from .backend import to_numpy
from .layers import Dense, Dropout
from .network import MLP
from .optimizers import SGD
from .training import train_step

TOLERANCE = 1e-6          # largest relative error of a parameter array that passes (docs/math.md §9)


def numerical_gradient(f, x, eps=1e-6):
    """df/dx by centred differences, one element at a time (x changed in place and restored);
    a NumPy array shaped like x. x may be an array of any namespace."""
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
    """max |a - n| / (|a| + |n|), with a floor of 1e-7 so that two near-zero values count as equal."""
    analytic, numeric = to_numpy(analytic), to_numpy(numeric)
    if analytic.size == 0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-7)))


def array_relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||) over a whole array (0 when both are zero).

    For a network's gradients, whose entries span many orders of magnitude, this is the
    measure to use: the numerical error of an entry is about 1e-16 |f| / eps (1e-10) whatever its
    size, so an entry near 1e-7 would show a relative error near 1e-3 and fail an element-by-element
    ratio."""
    analytic, numeric = to_numpy(analytic).ravel(), to_numpy(numeric).ravel()
    total = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if total == 0 else float(np.linalg.norm(analytic - numeric) / total)


@dataclass
class Check:
    """One parameter array's check: its name (W1, b1, ...), shape and relative error."""

    name: str
    shape: tuple
    error: float

    @property
    def passed(self):
        return self.error < TOLERANCE


def float64_network(sizes, activation="relu", loss="ce", dropout=0.0, seed=0):
    """A small MLP of `sizes` in float64, with random biases (zero biases would hide a wrong db)."""
    rng = np.random.default_rng(seed)
    template = MLP(sizes=sizes, activation=activation, loss=loss, dropout=dropout, random_state=seed)
    layers = []
    for layer in template.layers:
        if isinstance(layer, Dense):
            dense = Dense(layer.n_in, layer.n_out, init=layer.init, rng=rng, dtype=np.float64)
            dense.b[:] = rng.standard_normal(layer.n_out) * 0.1
            layer = dense
        layers.append(layer)
    return MLP(layers=layers, loss=loss)


def check_network(model, x, y, l2=0.0):
    """[Check] for every parameter array of a float64 `model` on the batch x, y.

    The analytic gradient is what `train_step` leaves in model.grads (with a
    learning rate of 0, so the weights stay put); the numerical one is of the
    loss plus (l2 / 2) * ||W||^2. Dropout masks are drawn once and replayed."""
    replay = _DropoutReplay(model)
    train_step(model, SGD(0.0), x, y, l2=l2)
    analytic = to_numpy(model.grads).copy()

    def objective():
        replay.rewind()
        value = model.loss.value(model.forward(x, training=True), y)
        return value + 0.5 * l2 * float(np.sum(to_numpy(model.params[:model.n_weights]) ** 2))

    numeric = numerical_gradient(objective, model.params)
    checks = []
    for index, name, start, shape in model.layout:
        stop = start + int(np.prod(shape))
        number = model.dense.index(model.layers[index]) + 1
        checks.append(Check(f"{name}{number}", shape, array_relative_error(analytic[start:stop],
                                                                             numeric[start:stop])))
    return sorted(checks, key=lambda c: (int(c.name[1:]), c.name[0] != "W"))


class _DropoutReplay:
    """Makes every Dropout layer draw the same mask at each forward pass: the function that finite
    differences see must not change between evaluations."""

    def __init__(self, model):
        self.layers = [layer for layer in model.layers if isinstance(layer, Dropout)]
        self.states = [layer.rng.bit_generator.state for layer in self.layers]

    def rewind(self):
        for layer, state in zip(self.layers, self.states):
            layer.rng.bit_generator.state = state
