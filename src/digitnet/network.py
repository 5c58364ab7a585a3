"""The model: a multilayer perceptron (MLP), a stack of layers plus a loss.

    x (batch, 784) -> Dense -> ReLU -> Dense -> ReLU -> Dense -> z (batch, 10) -> softmax -> p

`forward` runs the layers in order, `backward` runs them in reverse, passing
the gradient from each layer to the one before it (backpropagation).

All parameters live in one flat float32 vector `params` and all gradients in
`grads`; each layer's W and b (and dW, db) are views into them. The layers
do not notice, but the optimizer can then update every parameter with a few
whole-vector operations instead of a loop over arrays. The weights come
first, so `params[:n_weights]` are all the W's (what L2 decay applies to).
"""
import copy
import weakref

import numpy as np

from .errors import DigitnetError
from .init import DEFAULT_INIT, INITIALIZERS
from .layers import ACTIVATIONS, Dense, Dropout, Sigmoid
from .losses import LOSSES
from .parallel import THREAD_ROWS, two_threads

_READERS = weakref.WeakKeyDictionary()   # model -> its copy for a second reading thread (MLP._reader)


def build_layers(sizes, activation="relu", loss="ce", init=None, dropout=0.0, rng=None):
    """Dense layers of `sizes` with `activation` between them (and Dropout after each).

    With the "mse" loss the output layer gets a Sigmoid, so outputs lie in (0, 1).
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise DigitnetError(f"layer sizes {sizes} must be at least two positive numbers, e.g. 784,256,10")
    if activation not in ACTIVATIONS:
        raise DigitnetError(f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    if loss not in LOSSES:
        raise DigitnetError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
    if not 0.0 <= dropout < 1.0:
        raise DigitnetError(f"dropout {dropout} must be at least 0 and below 1, e.g. 0.2")
    init = init or DEFAULT_INIT[activation]
    if init not in INITIALIZERS:
        raise DigitnetError(f"unknown init {init!r}: choose one of {', '.join(INITIALIZERS)}")
    rng = np.random.default_rng(0) if rng is None else rng
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, init=init, rng=rng))
        if i < len(sizes) - 2:                 # hidden layer
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(Dropout(dropout, rng=rng))
    if loss == "mse":
        layers.append(Sigmoid())
    return layers


class MLP:
    """A multilayer perceptron classifier.

    MLP(sizes=(784, 256, 128, 10), activation="relu", loss="ce", init=None,
        dropout=0.0, random_state=0)  builds the layers itself;
    MLP(layers=[Dense(784, 10), ...], loss="ce")  takes them ready-made.

    `random_state` seeds the weights and dropout masks: same seed, same network.
    """

    def __init__(self, sizes=(784, 256, 128, 10), activation="relu", loss="ce", init=None,
                 dropout=0.0, random_state=0, layers=None):
        if loss not in LOSSES:
            raise DigitnetError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
        self.loss = LOSSES[loss]()
        self.rng = np.random.default_rng(random_state)
        if layers is None:
            layers = build_layers(sizes, activation, loss, init, dropout, self.rng)
        self.layers = list(layers)
        self.dense = [layer for layer in self.layers if isinstance(layer, Dense)]
        if not self.dense:
            raise DigitnetError("a network needs at least one Dense layer")
        for a, b in zip(self.dense, self.dense[1:]):
            if a.n_out != b.n_in:
                raise DigitnetError(f"layer sizes do not chain: {a.n_out} outputs feed {b.n_in} inputs")
        self.dense[0].input_grad = False      # d loss / d pixels is never needed
        self._flatten()

    def _flatten(self):
        """Move every parameter into one flat vector (weights first) and rebind the layers to views."""
        entries = [(layer, name) for layer in self.layers for name in layer.param_names]
        entries.sort(key=lambda e: e[1] != "W")          # stable: all W's, then all b's
        arrays = [getattr(layer, name) for layer, name in entries]
        dtype = np.result_type(*arrays)
        self.layout, offset = [], 0          # (layer index, name, start, shape) of each parameter
        for (layer, name), a in zip(entries, arrays):
            self.layout.append((self.layers.index(layer), name, offset, a.shape))
            offset += a.size
        self.n_weights = sum(int(np.prod(shape)) for _, name, _, shape in self.layout if name == "W")
        params = np.empty(offset, dtype=dtype)
        for (_, _, start, _), a in zip(self.layout, arrays):
            params[start:start + a.size] = a.ravel()
        self._bind(params, np.zeros_like(params))

    def _bind(self, params, grads):
        """Point each layer's W, b at its place in `params` and dW, db at the same place in `grads`."""
        for index, name, start, shape in self.layout:
            stop = start + int(np.prod(shape))
            setattr(self.layers[index], name, params[start:stop].reshape(shape))
            setattr(self.layers[index], "d" + name, grads[start:stop].reshape(shape))
        self.params, self.grads = params, grads

    def twin(self, params, grads, rng):
        """A copy that reads its parameters from `params` and writes its gradients to `grads`.

        `params` and `grads` are flat vectors laid out like `self.params`. The
        twin has layer buffers of its own and draws its dropout masks from
        `rng`, so two twins can each work on half of a batch (see training.Halves).
        """
        twin = copy.copy(self)
        twin.layers = [copy.copy(layer) for layer in self.layers]
        for layer in twin.layers:
            layer.__dict__.pop("_buffers", None)        # fresh buffers, not shared with self
            if isinstance(layer, Dropout):
                layer.rng = rng
        twin.dense = [layer for layer in twin.layers if isinstance(layer, Dense)]
        twin._bind(params, grads)
        return twin

    # -- what the network is -------------------------------------------------
    @property
    def sizes(self):
        return [self.dense[0].n_in] + [d.n_out for d in self.dense]

    @property
    def n_parameters(self):
        return self.params.size

    def config(self):
        return {"layers": [layer.config() for layer in self.layers], "loss": self.loss.name}

    def __repr__(self):
        return f"MLP({'-'.join(map(str, self.sizes))}, loss={self.loss.name!r}, layers={self.layers})"

    # -- the two passes ------------------------------------------------------
    def forward(self, x, training=False):
        """Output of the last layer, a (batch, n_out). Buffers are reused: copy to keep it."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, da):
        """Backpropagate dL/da through every layer; leaves the gradients in `grads`."""
        for layer in reversed(self.layers):
            da = layer.backward(da)

    # -- scikit-learn-style prediction ----------------------------------------
    def check_input(self, X, finite=True):
        """X as a float32 (n, n_in) array; (n, 28, 28) images are flattened, one image made a batch of one.

        `finite=False` leaves the check for NaN and infinity to the caller (see _each_batch)."""
        X = np.asarray(X)
        if X.ndim == 3 and X.shape[1] * X.shape[2] == self.sizes[0]:
            X = X.reshape(len(X), -1)
        n_in = self.sizes[0]
        if X.ndim == 1 or (X.ndim == 2 and X.size == n_in and X.shape[1] != n_in):
            X = X.reshape(1, -1)               # one image: (784,) or (28, 28)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise DigitnetError(f"input of shape {X.shape} does not fit this network: "
                                f"expected (n, {self.sizes[0]}) rows of pixels scaled to [0, 1]")
        if not np.issubdtype(X.dtype, np.number):
            raise DigitnetError(f"input has dtype {X.dtype}: expected numbers")
        X = X.astype(np.float32, copy=False)
        if finite:
            _check_finite(X)
        return X

    def _each_batch(self, X, batch_size, use):
        """Call use(rows, a) for X in batches of `batch_size` rows, a (rows, n_out) the output of
        `forward` (a buffer: use it before the next batch). Each batch is checked for NaN and
        infinity first, while it is in the cache anyway. Large inputs are read in two threads
        (parallel.two_threads); the second reads with a copy of the model (`_reader`)."""
        models = [self, self._reader() if len(X) >= THREAD_ROWS else None]

        def work(thread, part):
            for start in range(part.start, part.stop, batch_size):
                rows = slice(start, min(start + batch_size, part.stop))
                use(rows, models[thread].forward(_check_finite(X[rows]), training=False))

        two_threads(work, len(X), step=batch_size)

    def _reader(self):
        """A copy of the model for a second reading thread: it shares everything but the layers'
        buffers, refreshed at each call (so it sees the same weights and settings), and is kept
        between calls, as fresh buffers cost a page fault per 4 KiB."""
        reader = _READERS.get(self)
        if reader is None or [type(r) for r in reader.layers] != [type(layer) for layer in self.layers]:
            reader = _READERS[self] = copy.copy(self)
            reader.layers = [copy.copy(layer) for layer in self.layers]
            for layer in reader.layers:
                layer.__dict__.pop("_buffers", None)
        own_layers = reader.layers
        reader.__dict__.update(self.__dict__)
        reader.layers, reader.dense = own_layers, [layer for layer in own_layers if isinstance(layer, Dense)]
        for mine, layer in zip(own_layers, self.layers):
            mine.__dict__ = {**layer.__dict__, "_buffers": mine.__dict__.get("_buffers", {})}
        return reader

    def predict_proba(self, X, batch_size=512):
        """Class probabilities p (n, n_out); each row sums to one."""
        X = self.check_input(X, finite=False)
        p = np.empty((len(X), self.sizes[-1]), dtype=np.float32)

        def use(rows, a):
            p[rows] = self.loss.probabilities(a)
        self._each_batch(X, batch_size, use)
        return p

    def predict(self, X, batch_size=512):
        """Predicted class (n,): the most probable digit."""
        X = self.check_input(X, finite=False)
        labels = np.empty(len(X), dtype=np.int64)

        def use(rows, a):
            labels[rows] = a.argmax(axis=1)      # the argmax of a is the argmax of p
        self._each_batch(X, batch_size, use)
        return labels

    def score(self, X, y):
        """Accuracy: the fraction of X classified as y."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def loss_and_accuracy(self, X, y, batch_size=512):
        """(mean loss, accuracy) on X, y, without dropout."""
        X, y = self.check_input(X, finite=False), np.asarray(y)
        n_batches = -(-len(X) // batch_size)
        totals, correct = np.zeros(n_batches), np.zeros(n_batches, dtype=np.int64)   # per batch

        def use(rows, a):
            b = rows.start // batch_size
            totals[b] = self.loss.value(a, y[rows]) * len(a)
            correct[b] = np.count_nonzero(a.argmax(axis=1) == y[rows])
        self._each_batch(X, batch_size, use)
        return float(totals.sum()) / len(X), int(correct.sum()) / len(X)


def _check_finite(X):
    """X itself, after making sure it holds no NaN or infinity."""
    # a sum is finite when every element is (and costs no temporary array the size of X);
    # only if it is not, look element by element: it may just have overflowed
    if not np.isfinite(np.add.reduce(X, axis=None)) and not np.isfinite(X).all():
        raise DigitnetError("input contains NaN or infinite values")
    return X
