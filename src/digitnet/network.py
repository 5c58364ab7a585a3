"""The model: a multilayer perceptron (MLP), a stack of layers plus a loss.

    x (batch, 784) -> Dense -> ReLU -> Dense -> ReLU -> Dense -> z (batch, 10) -> softmax -> p

`forward` runs the layers in order, `backward` runs them in reverse, passing
the gradient from each layer to the one before it (backpropagation).

All parameters live in one flat float32 vector `params` and all gradients in
`grads`; each layer's W and b (and dW, db) are views into them. The layers
do not notice, but the optimizer can then update every parameter in one
pass over one vector. The weights come first, so `params[:n_weights]` are all
the W's (what L2 decay applies to). Both vectors are live: during training
they hold the current weights and the last step's gradient.

A model lives on one device (backend.py): `MLP(..., device="gpu")` or
`model.to("gpu")`. Its weights are drawn on the CPU, so the same seed gives
the same starting network everywhere. `predict`, `predict_proba`, `score`
take and return NumPy arrays whatever the device.
"""
import math

import numpy as np

from .backend import array_module, device_name, namespace, random_generator, to_device, to_numpy
from .checks import check_input, check_labels, check_layers, check_no_builders, real, scalar, whole
from .errors import DigitnetError
from .init import DEFAULT_INIT, INITIALIZERS
from .layers import ACTIVATIONS, Dense, Dropout, Sigmoid
from .losses import LOSSES


def build_layers(sizes, activation="relu", loss="ce", init=None, dropout=0.0, rng=None, input_dropout=0.0):
    """Dense layers of `sizes` with `activation` between them (and Dropout after each, and before
    the first with `input_dropout`: pixels dropped at random, Srivastava et al.'s 0.2).

    With the "mse" loss the output layer gets a Sigmoid, so outputs lie in (0, 1).
    """
    given = sizes
    try:
        sizes = [] if isinstance(sizes, (str, bytes)) else [scalar(s) for s in sizes]
    except TypeError:                                      # None, a number, a 0-d array: not a list
        sizes = []
    sizes = [int(s) if isinstance(s, float) and s.is_integer() else s for s in sizes]    # 784.0 is 784
    if len(sizes) < 2 or not all(whole(s, 1) for s in sizes):
        raise DigitnetError(f"layer sizes {given!r} must be at least two whole numbers from 1, e.g. (784, 256, 10)")
    sizes = [int(s) for s in sizes]
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise DigitnetError(f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise DigitnetError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
    dropout, input_dropout = scalar(dropout), scalar(input_dropout)
    for name, rate in (("dropout", dropout), ("input dropout", input_dropout)):
        if not real(rate) or not 0.0 <= rate < 1.0:
            raise DigitnetError(f"{name} {rate!r} must be at least 0 and below 1, e.g. 0.2")
    init = DEFAULT_INIT.get(activation, "glorot") if init is None else init   # a user's activation: Glorot
    if not isinstance(init, str) or init not in INITIALIZERS:
        raise DigitnetError(f"unknown init {init!r}: choose one of {', '.join(INITIALIZERS)}")
    rng = np.random.default_rng(0) if rng is None else rng
    layers = [Dropout(input_dropout, rng=rng)] if input_dropout > 0 else []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, init=init, rng=rng))
        if i < len(sizes) - 2:                 # hidden layer
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(Dropout(dropout, rng=rng))
    if loss == "mse":
        layers.append(Sigmoid())
    return layers


DEFAULT_SIZES = (784, 256, 128, 10)


class MLP:
    """A multilayer perceptron classifier.

    MLP(sizes=(784, 256, 128, 10), activation="relu", loss="ce", init=None,
        dropout=0.0, random_state=0, device="cpu", input_dropout=0.0)  builds the layers itself;
    MLP(layers=[Dense(784, 10), ...], loss="ce")  takes them ready-made.

    `random_state` seeds the weights and, on NumPy, the dropout masks: same seed,
    same network. (On other backends fit seeds the masks from its own random_state.)
    """

    def __init__(self, sizes=DEFAULT_SIZES, activation="relu", loss="ce", init=None,
                 dropout=0.0, random_state=0, layers=None, device="cpu", input_dropout=0.0):
        if not isinstance(loss, str) or loss not in LOSSES:
            raise DigitnetError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
        self.loss = LOSSES[loss]()
        seeds = (np.random.Generator, np.random.SeedSequence)          # what default_rng also takes
        if not (random_state is None or whole(random_state, 0) or isinstance(random_state, seeds)):
            raise DigitnetError(f"random_state {random_state!r} must be None or a whole number from 0, e.g. 0")
        self.rng = np.random.default_rng(random_state)
        if layers is None:
            layers = build_layers(sizes, activation, loss, init, dropout, self.rng, input_dropout)
        else:
            check_no_builders(sizes=sizes is not DEFAULT_SIZES, activation=activation != "relu",
                              init=init is not None, dropout=dropout != 0, input_dropout=input_dropout != 0)
        self.layers = list(layers)
        self.dense = check_layers(self.layers, Dense)
        for layer in self.dense:              # d loss / d pixels is never needed: not by the first layer
            layer.input_grad = layer is not self.dense[0]
        self.metadata = {}                    # what io.load_model read from the model file, if any
        self._flatten()
        self.to(device)

    def _flatten(self):
        """Move every parameter into one flat vector (weights first) and rebind the layers to views."""
        entries = [(layer, name) for layer in self.layers for name in layer.param_names]
        entries.sort(key=lambda e: e[1] != "W")          # stable: all W's, then all b's
        arrays = [to_numpy(getattr(layer, name)) for layer, name in entries]
        self.layout, offset = [], 0          # (layer index, name, start, shape) of each parameter
        for (layer, name), a in zip(entries, arrays):
            self.layout.append((self.layers.index(layer), name, offset, a.shape))
            offset += a.size
        self.n_weights = sum(math.prod(shape) for _, name, _, shape in self.layout if name == "W")
        params = np.empty(offset, dtype=np.result_type(*arrays))
        for (_, _, start, _), a in zip(self.layout, arrays):
            params[start:start + a.size] = a.ravel()
        self._bind(params, np.zeros_like(params))

    def _bind(self, params, grads):
        """Point each layer's W, b at its place in `params` and dW, db at the same place in `grads`."""
        xp = namespace(params)
        for index, name, start, shape in self.layout:
            stop = start + math.prod(shape)
            setattr(self.layers[index], name, xp.reshape(params[start:stop], shape, copy=False))
            setattr(self.layers[index], "d" + name, xp.reshape(grads[start:stop], shape, copy=False))
        self.params, self.grads, self.xp = params, grads, xp
        self.bound = (params, *(getattr(self.layers[i], name) for i, name, _, _ in self.layout))  # checks.check_live

    def to(self, device):
        """Move the parameters to `device` ("cpu", "gpu"; see backend.py) and return the model.

        The gradients start at zero there. Dropout gets a generator on the
        device (seed_dropout)."""
        xp = array_module(device)
        if xp is self.xp:
            return self
        params = to_device(self.params, xp)
        self._bind(params, xp.zeros_like(params))
        self.seed_dropout()
        return self

    def seed_dropout(self, key=None, skip=0, batch_size=0):
        """Give each Dropout layer the generator that draws its masks.

        On NumPy that is the model's own generator, whose state a checkpoint keeps
        (fit draws every mask from it, whatever generator a layer was built with).
        CuPy's generators cannot be saved, so on any other backend each layer gets
        one of its own on the device, spawned from the seed `key` (whole numbers: fit
        gives (its seed, epoch); None: one drawn from the model's generator). It
        then draws again the masks of the first `skip` batches of `batch_size`
        examples: those a resumed epoch trained on before it stopped."""
        inputs, width, dtype = {}, self.dense[0].n_in, self.xp.float32     # the network's input is float32
        for layer in self.layers:                          # each Dropout layer's input: width and dtype
            if isinstance(layer, Dense):
                width, dtype = layer.n_out, self.params.dtype
            elif isinstance(layer, Dropout):
                inputs[layer] = width, dtype
        if self.xp is np or not inputs:
            for layer in inputs:
                layer.rng = self.rng
            return
        key = int(self.rng.integers(2**63)) if key is None else key
        for (layer, (width, dtype)), seed in zip(inputs.items(), np.random.SeedSequence(key).spawn(len(inputs))):
            layer.rng = random_generator(seed, self.xp)
            for _ in range(skip if layer.rate > 0 else 0):
                layer.rng.random((batch_size, width), dtype=dtype)

    def __getstate__(self):
        """For pickle and copy: the namespace is a module, and the layers' views are rebuilt."""
        state = dict(self.__dict__)
        state["xp"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bind(self.params, self.grads)            # W, b, dW, db: views into the vectors again

    # -- what the network is -------------------------------------------------
    @property
    def device(self):
        return device_name(self.xp)

    @property
    def sizes(self):
        return [self.dense[0].n_in] + [d.n_out for d in self.dense]

    @property
    def n_parameters(self):
        return math.prod(self.params.shape)

    def config(self):
        return {"layers": [layer.config() for layer in self.layers], "loss": self.loss.name}

    def __repr__(self):
        return f"MLP({'-'.join(map(str, self.sizes))}, loss={self.loss.name!r}, layers={self.layers})"

    def summary(self, print_fn=print):
        """The layers, their output shapes and parameter counts, as Keras prints them. `print_fn`
        gets the text (print by default); with print_fn=None it is returned instead."""
        rule, counts = "_" * 62, {}
        lines = [f"Model: {'-'.join(map(str, self.sizes))}, loss {self.loss.name}, on the {self.device}", rule,
                 f" {'Layer (type)':<28}{'Output shape':<20}{'Param #':>12}", "=" * 62]
        width = self.sizes[0]
        for layer in self.layers:
            kind = type(layer).__name__
            counts[kind] = counts.get(kind, 0) + 1
            width = layer.n_out if isinstance(layer, Dense) else width
            params = sum(math.prod(getattr(layer, name).shape) for name in layer.param_names)
            lines.append(f" {f'{kind.lower()}_{counts[kind]} ({kind})':<28}{f'(None, {width})':<20}{params:>12,}")
        size = self.n_parameters * to_numpy(self.params[:1]).itemsize / 1024
        lines += ["=" * 62, f"Total params: {self.n_parameters:,} ({size:,.2f} KB)",
                  f"Trainable params: {self.n_parameters:,}", rule]
        text = "\n".join(lines)
        return text if print_fn is None else print_fn(text)

    # -- the two passes ------------------------------------------------------
    def forward(self, x, training=False):
        """Output of the last layer, a (batch, n_out), for x (batch, n_in) on the model's device."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def activations(self, x):
        """([a1, a2, ...], a) for x (batch, n_in): every hidden layer's activation, then the output of the
        last layer (as `forward` gives it); one pass, without dropout."""
        hidden, last_dense = [], max(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        for i, layer in enumerate(self.layers):
            x = layer.forward(x, training=False)
            if i < last_dense and not isinstance(layer, (Dense, Dropout)):
                hidden.append(x)
        self.forget()
        return hidden, x

    def backward(self, da):
        """Backpropagate dL/da through every layer; leaves the gradients in `grads`."""
        for layer in reversed(self.layers):
            da = layer.backward(da)
            if da is None:                     # the first Dense layer: nothing before it learns
                break

    # -- scikit-learn-style prediction ----------------------------------------
    def check_input(self, X):
        """X as a float32 (n, n_in) array (checks.check_input)."""
        return check_input(X, self.sizes[0])

    def check_labels(self, y, n, what=""):
        """y as an int64 NumPy array (n,) of this network's classes (checks.check_labels)."""
        return check_labels(y, n, self.sizes[-1], what)

    def _outputs(self, X, batch_size):
        """(rows, a) for X in batches of `batch_size` rows: a (rows, n_out), the output of `forward`."""
        if not whole(batch_size, 1):
            raise DigitnetError(f"batch size {batch_size!r} must be a whole number of at least 1, e.g. 512")
        n = X.shape[0]
        for start in range(0, n, batch_size):
            rows = slice(start, min(start + batch_size, n))
            yield rows, self.forward(to_device(X[rows, ...], self.xp))
        self.forget()

    def forget(self):
        """Drop what the layers kept for a backward pass (Layer.forget): a prediction keeps no data."""
        for layer in self.layers:
            layer.forget()

    def predict_proba(self, X, batch_size=512):
        """Class probabilities p (n, n_out), a NumPy array (rows sum to one), of X (n, n_in) in [0, 1]."""
        X = self.check_input(X)
        p = np.empty((X.shape[0], self.sizes[-1]), dtype=np.float32)
        for rows, a in self._outputs(X, batch_size):
            p[rows] = to_numpy(self.loss.probabilities(a))
        return p

    def predict(self, X, batch_size=512):
        """Predicted class (n,), a NumPy array: the most probable digit of each row of X (n, n_in)."""
        X = self.check_input(X)
        labels = np.empty(X.shape[0], dtype=np.int64)
        for rows, a in self._outputs(X, batch_size):
            labels[rows] = to_numpy(self.xp.argmax(a, axis=1))    # the argmax of a is the argmax of p
        return labels

    def score(self, X, y):
        """Accuracy: the fraction of X (n, n_in), pixels in [0, 1], classified as y (n,)."""
        X = self.check_input(X)
        return float(np.mean(self.predict(X) == self.check_labels(y, X.shape[0])))

    def loss_and_accuracy(self, X, y, batch_size=512):
        """(mean loss, accuracy) on X, y, without dropout; X and y may already be on the device."""
        X, xp = self.check_input(X), self.xp
        y = to_device(self.check_labels(y, X.shape[0]), xp)
        total, correct = 0.0, 0
        for rows, a in self._outputs(X, batch_size):
            labels = to_device(y[rows], xp)
            total += float(self.loss.value(a, labels)) * a.shape[0]
            correct += int(xp.count_nonzero(xp.argmax(a, axis=1) == labels))
        return total / X.shape[0], correct / X.shape[0]
