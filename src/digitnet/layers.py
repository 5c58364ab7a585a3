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
formula below with the same names.

Speed without a second implementation: each layer writes its results into
buffers it keeps between calls (`_buffer`), so a training step allocates no
new arrays; NumPy's `out=` argument does the writing.
"""
import numpy as np

from .init import initial_parameters


class Layer:
    """Base class: no parameters, buffers reused between calls."""

    param_names = ()          # names of the parameter arrays, e.g. ("W", "b")

    def config(self):
        """What `io` writes to the model file to rebuild this layer."""
        return {"type": type(self).__name__}

    def _buffer(self, name, shape, dtype, fill=None):
        """A reusable array of `shape`: rows [:batch] of one kept for the largest batch so far
        (filled with `fill` when it is made, if given)."""
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(name)
        if buf is None or buf.shape[0] < shape[0] or buf.shape[1:] != shape[1:] or buf.dtype != dtype:
            buf = buffers[name] = np.empty(shape, dtype=dtype) if fill is None else np.full(shape, fill, dtype)
        return buf[: shape[0]]

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
    """

    param_names = ("W", "b")

    def __init__(self, n_in, n_out, init="he", rng=None, dtype=np.float32):
        rng = np.random.default_rng(0) if rng is None else rng
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init
        W, b = initial_parameters(init, rng, self.n_in, self.n_out)
        self.W, self.b = W.astype(dtype), b.astype(dtype)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.input_grad = True

    def config(self):
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out}

    def forward(self, x, training=False):
        self.x = x
        z = self._buffer("z", (x.shape[0], self.n_out), np.result_type(x, self.W))
        np.matmul(x, self.W, out=z)
        z += self.b
        return z

    def backward(self, dz):
        np.matmul(self.x.T, dz, out=self.dW)
        np.add.reduce(dz, axis=0, out=self.db)      # dz.sum(0), without np.sum's Python wrapper
        if not self.input_grad:
            return None
        dx = self._buffer("dx", self.x.shape, dz.dtype)
        return np.matmul(dz, self.W.T, out=dx)


class ReLU(Layer):
    """y = max(z, 0);  dz = dy where z > 0 (that is, y > 0), else 0.

    np.maximum against an array of zeros is 2-3x quicker than against the
    scalar 0 (NumPy 2.4 vectorises the loop for two arrays), so the layer
    keeps one. Backward makes the 0/1 mask as float32 and multiplies: quicker
    than a product with a boolean array.
    """

    def forward(self, z, training=False):
        zeros = self._buffer("zeros", z.shape, z.dtype, fill=0)
        self.y = np.maximum(z, zeros, out=self._buffer("y", z.shape, z.dtype))
        return self.y

    def backward(self, dy):
        dz = np.greater(self.y, 0, out=self._buffer("dz", dy.shape, dy.dtype))
        return np.multiply(dz, dy, out=dz)


class LeakyReLU(Layer):
    """y = z if z > 0 else alpha * z;  dz = dy * (1 if z > 0 else alpha).  0 < alpha < 1."""

    def __init__(self, alpha=0.01):
        if not 0.0 < alpha < 1.0:              # max(z, alpha * z) is leaky ReLU only for 0 < alpha < 1
            raise ValueError(f"LeakyReLU alpha must be between 0 and 1, got {alpha}")
        self.alpha = float(alpha)

    def config(self):
        return {"type": "LeakyReLU", "alpha": self.alpha}

    def forward(self, z, training=False):
        y = np.multiply(z, self.alpha, out=self._buffer("y", z.shape, z.dtype))
        self.y = np.maximum(z, y, out=y)        # max(z, alpha*z) is z for z > 0, alpha*z below
        return self.y

    def backward(self, dy):
        slope = np.where(self.y > 0, 1, self.alpha).astype(dy.dtype, copy=False)
        return np.multiply(dy, slope, out=self._buffer("dz", dy.shape, dy.dtype))


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-z));  dz = dy * y * (1 - y)."""

    def forward(self, z, training=False):
        y = np.negative(z, out=self._buffer("y", z.shape, z.dtype))
        with np.errstate(over="ignore"):        # exp(-z) = inf for very negative z gives y = 0: right
            np.exp(y, out=y)
        y += 1
        self.y = np.reciprocal(y, out=y)
        return self.y

    def backward(self, dy):
        dz = np.subtract(1, self.y, out=self._buffer("dz", dy.shape, dy.dtype))
        dz *= self.y
        dz *= dy
        return dz


class Tanh(Layer):
    """y = tanh(z);  dz = dy * (1 - y**2)."""

    def forward(self, z, training=False):
        self.y = np.tanh(z, out=self._buffer("y", z.shape, z.dtype))
        return self.y

    def backward(self, dy):
        dz = np.square(self.y, out=self._buffer("dz", dy.shape, dy.dtype))
        np.subtract(1, dz, out=dz)
        dz *= dy
        return dz


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability `rate`.

        mask = (u >= rate) / (1 - rate)    u ~ U(0, 1), one per unit and example
        y = x * mask;  dx = dy * mask

    Dividing by the keep probability keeps the expected activation unchanged,
    so at prediction time (training=False) the layer is the identity.
    """

    def __init__(self, rate=0.5, rng=None):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(0) if rng is None else rng

    def config(self):
        return {"type": "Dropout", "rate": self.rate}

    def forward(self, x, training=False):
        self.mask = None
        if not training or self.rate == 0.0:
            return x
        mask = self.rng.random(dtype=x.dtype, out=self._buffer("mask", x.shape, x.dtype))
        keep = mask >= self.rate
        self.mask = np.multiply(keep, 1.0 / (1.0 - self.rate), out=mask)
        return np.multiply(x, self.mask, out=self._buffer("y", x.shape, x.dtype))

    def backward(self, dy):
        if self.mask is None:
            return dy
        return np.multiply(dy, self.mask, out=self._buffer("dx", dy.shape, dy.dtype))


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}
LAYER_TYPES = {cls.__name__: cls for cls in (Dense, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout)}
