"""Layers: the building blocks of the network.

Every layer has the same two methods, and that is all backpropagation needs:

    y  = layer.forward(x, training)   x (batch, n_in)  -> y (batch, n_out)
    dx = layer.backward(dy)           dy = dL/dy       -> dx = dL/dx

`forward` keeps what `backward` will need (the input, the output or a mask).
`backward` applies the chain rule: it receives how the loss L changes with the
layer's output and returns how L changes with the layer's input. A layer with
parameters (only `Dense` here) also stores the gradient of L with respect to
each of them, named "d" + the parameter's name: `dW`, `db`.

Batches are rows: x has shape (batch, features). docs/math.md derives every
formula below with the same names. Each layer computes with the namespace of
the arrays it is given (`xp`: NumPy, CuPy, ...; see backend.py).
"""
import numpy as np

from .backend import namespace
from .checks import real, whole
from .errors import DigitnetError
from .init import initial_parameters


class Layer:
    """Base class: a layer without parameters."""

    param_names = ()          # names of the parameter arrays, e.g. ("W", "b")
    kept = ("y",)             # what forward keeps for backward: here the output

    def forget(self):
        """Drop what forward kept for backward: after a prediction there is no backward pass, and
        the batch it saw (somebody's data, perhaps all of it) is not kept alive by the network."""
        for name in self.kept:
            vars(self).pop(name, None)

    def __getstate__(self):
        """For pickle and copy: the layer without what forward kept. A pickled network holds its
        parameters and settings, not the last batch it saw (training data, or what it predicted)."""
        return {key: value for key, value in vars(self).items() if key not in self.kept}

    def config(self):
        """What `io` writes to the model file to rebuild this layer."""
        return {"type": type(self).__name__}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """A fully connected layer: every input unit feeds every output unit.

        z = x @ W + b        x (batch, n_in), W (n_in, n_out), b (n_out,), z (batch, n_out)

    Backward, given dz = dL/dz (batch, n_out):

        dW = x.T @ dz        (n_in, n_out)   summed over the batch by the matrix product
        db = dz.sum(0)       (n_out,)
        dx = dz @ W.T        (batch, n_in)   skipped when `input_grad` is False

    The first layer of a network sets `input_grad = False`: nobody needs the
    gradient with respect to the pixels, and it would cost a third matmul.
    dW and db are written into the arrays the layer has (in a network, its
    place in the flat gradient vector), so they never move.

    W is drawn by `init` from `rng` (a NumPy generator); without one, from seed 0, the same
    numbers every time: give the layers of one network one generator, so that they differ.
    """

    param_names = ("W", "b")
    kept = ("x",)

    def __init__(self, n_in, n_out, init="he", rng=None, dtype=np.float32):
        rng = np.random.default_rng(0) if rng is None else rng
        if not (whole(n_in, 1) and whole(n_out, 1)):
            raise DigitnetError(f"Dense({n_in!r}, {n_out!r}): the numbers of inputs and outputs must be whole numbers "
                             f"from 1")
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init
        W, b = initial_parameters(init, rng, self.n_in, self.n_out)
        self.W, self.b = W.astype(dtype), b.astype(dtype)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.input_grad = True

    def config(self):
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out}

    def forward(self, x, training=False):
        self.x = x
        z = x @ self.W
        z += self.b
        return z

    def backward(self, dz):
        xp = namespace(dz)
        self.dW[...] = self.x.T @ dz
        self.db[...] = xp.sum(dz, axis=0)
        return dz @ self.W.T if self.input_grad else None


class ReLU(Layer):
    """y = max(z, 0);  dz = dy * [z > 0]   ([z > 0] is 1 where z > 0, that is where y > 0, else 0)."""

    def forward(self, z, training=False):
        self.y = namespace(z).maximum(z, 0.0)
        return self.y

    def backward(self, dy):
        xp = namespace(dy)
        return dy * xp.astype(self.y > 0, dy.dtype)


class LeakyReLU(Layer):
    """y = z if z > 0 else alpha * z;  dz = dy if z > 0 else alpha * dy.  0 < alpha < 1."""

    def __init__(self, alpha=0.01):
        if not (real(alpha) and 0.0 < alpha < 1.0):    # max(z, alpha * z) is leaky ReLU only for 0 < alpha < 1
            raise DigitnetError(f"LeakyReLU alpha must be a number between 0 and 1, got {alpha!r}")
        self.alpha = float(alpha)

    def config(self):
        return {"type": "LeakyReLU", "alpha": self.alpha}

    def forward(self, z, training=False):
        self.y = namespace(z).maximum(z, self.alpha * z)     # z above 0, alpha * z below
        return self.y

    def backward(self, dy):
        return namespace(dy).where(self.y > 0, dy, self.alpha * dy)


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-z));  dz = dy * y * (1 - y).

    Computed as exp(-|z|) / (1 + exp(-|z|)) for negative z, the same number,
    so that no exponent is ever positive: no overflow for any z."""

    def forward(self, z, training=False):
        xp = namespace(z)
        e = xp.exp(-xp.abs(z))                    # in (0, 1]
        self.y = xp.where(z >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, dy):
        return dy * self.y * (1 - self.y)


class Tanh(Layer):
    """y = tanh(z);  dz = dy * (1 - y**2)."""

    def forward(self, z, training=False):
        self.y = namespace(z).tanh(z)
        return self.y

    def backward(self, dy):
        return dy * (1 - self.y * self.y)


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability `rate`.

        mask = (u >= rate) / (1 - rate)    u ~ U(0, 1), one per unit and example
        y = x * mask;  dx = dy * mask

    Dividing by the keep probability keeps the expected activation unchanged,
    so at prediction time (training=False) the layer is the identity. `rng`
    draws u on the arrays' device (backend.random_generator).
    """

    kept = ("mask",)

    def __init__(self, rate=0.5, rng=None):
        if not (real(rate) and 0.0 <= rate < 1.0):
            raise DigitnetError(f"dropout rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(0) if rng is None else rng

    def config(self):
        return {"type": "Dropout", "rate": self.rate}

    def forward(self, x, training=False):
        self.mask = None
        if not training or self.rate == 0.0:
            return x
        xp = namespace(x)
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate
        self.mask = xp.astype(keep, x.dtype) / (1.0 - self.rate)
        return x * self.mask

    def backward(self, dy):
        return dy if self.mask is None else dy * self.mask


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}
LAYER_TYPES = {cls.__name__: cls for cls in (Dense, Dropout, *ACTIVATIONS.values())}   # what a model file may hold
