"""One training step, tensor by tensor: what `digitnet explain` prints.

`explain_step(model, optimizer, x, y)` runs the real `training.train_step`
while it listens to every layer, and returns each tensor the step makes, in
order, named as docs/math.md names them (§11):

    forward   x, z1, a1, z2, ..., p          z_k = a_(k-1) @ W_k + b_k,  a_k = f(z_k)
    loss      L                              the batch's mean loss
    backward  dz2, dW2, db2, da1, dz1, ...   from the loss back to the first layer
    update    ΔW1, Δb1, ...                  what the optimizer changed

With dropout, a layer's output a_k is multiplied by its mask into a_k' (x' for
input dropout), which the next layer reads, and the backward pass goes
through the same mask: da_k = da_k' * mask. With `l2`, dW is the loss's
gradient only: the update also takes l2 * W (train_step).

With `column=True` every tensor is given as the column convention of many
tutorials writes it (docs/math.md §1): A0 = x.T (784, m), W1 (n1, 784),
Z1 = W1 · A0 + b1, dW1 = dZ1 · A0.T, db1 (n1, 1). The numbers are the same,
transposed.
"""
from dataclasses import dataclass

import numpy as np

from .backend import to_numpy
from .layers import ACTIVATIONS, Dense, Dropout
from .training import train_step


@dataclass
class Tensor:
    """One tensor of the step: its stage, its name and formula (docs/math.md's), its value."""

    stage: str            # "forward", "loss", "backward" or "update"
    name: str
    formula: str
    value: np.ndarray

    @property
    def shape(self):
        return tuple(self.value.shape)


def explain_step(model, optimizer, x, y, l2=0.0, column=False):
    """[Tensor] of one `train_step(model, optimizer, x, y, l2)`, in the order the step makes them."""
    recorder = _Recorder(model, column)
    before = to_numpy(model.params).copy()
    with recorder:
        train_step(model, optimizer, x, y, l2)
    after = to_numpy(model.params)
    for index, name, start, shape in sorted(model.layout, key=lambda e: (e[0], e[1] != "W")):
        change = (after - before)[start:start + int(np.prod(shape))].reshape(shape)
        recorder.add("update", "Δ" + name, model.dense.index(model.layers[index]) + 1, change)
    return recorder.tensors


FUNCTION = {cls.__name__: name for name, cls in ACTIVATIONS.items()}       # ReLU -> relu, as in the formulas


def describe(kind, k, last, f="", w=(0, 0), dropped=False):
    """((row name, row formula), (column name, column formula), how the value turns into the column
    form: "T" transposed, "col" a column vector, "" as it is) of a tensor of kind `kind` at layer k.
    `f` names the activation, `w` is the shape (n_in, n_out) of layer k's W; `dropped`: layer k reads
    its input through a dropout mask (a_(k-1)', not a_(k-1))."""
    a, A = ("x", "A0") if k == 1 else (f"a{k - 1}", f"A{k - 1}")
    a, A = (a + "'", A + "'") if dropped else (a, A)
    out, Out = ("x", "A0") if k == 0 else (f"a{k}", f"A{k}")          # k 0: the input, for input dropout
    n_in, n_out = w
    table = {
        "x": (("x", "the batch, one image per row"), ("A0", "x.T, one image per column"), "T"),
        "z": ((f"z{k}", f"{a} @ W{k} + b{k}    W{k} ({n_in}, {n_out}), b{k} ({n_out},)"),
              (f"Z{k}", f"W{k} · {A} + b{k}    W{k} ({n_out}, {n_in}), b{k} ({n_out}, 1)"), "T"),
        "a": ((f"a{k}", f"{f}(z{k})"), (f"A{k}", f"{f}(Z{k})"), "T"),
        "a'": ((f"{out}'", f"{out} * mask (dropout)"), (f"{Out}'", f"{Out} * mask (dropout)"), "T"),
        "da'": ((f"da{k}", f"da{k}' * mask"), (f"dA{k}", f"dA{k}' * mask"), "T"),
        "p": (("p", f"softmax(z{last})"), (f"A{last}", f"softmax(Z{last}), column by column"), "T"),
        "L_ce": (("L", "-mean_i log p[i, y_i]"), ("L", f"-mean_i log A{last}[y_i, i]"), ""),
        "L_mse": (("L", f"mean_i 0.5 ||a{last}[i] - Y[i]||^2"),
                  ("L", f"mean_i 0.5 ||A{last}[:, i] - Y[:, i]||^2"), ""),
        "dz_ce": ((f"dz{k}", "(p - Y) / batch"), (f"dZ{k}", f"(A{k} - Y) / m"), "T"),
        "da_mse": ((f"da{k}", f"(a{k} - Y) / batch"), (f"dA{k}", f"(A{k} - Y) / m"), "T"),
        "dW": ((f"dW{k}", f"{a}.T @ dz{k}"), (f"dW{k}", f"dZ{k} · {A}.T"), "T"),
        "db": ((f"db{k}", f"dz{k}.sum(0)"), (f"db{k}", f"dZ{k} summed over the columns"), "col"),
        "da": ((f"d{a}", f"dz{k} @ W{k}.T"), (f"d{A}", f"W{k}.T · dZ{k}"), "T"),
        "dz": ((f"dz{k}", f"da{k} * {f}'(z{k})"), (f"dZ{k}", f"dA{k} * {f}'(Z{k})"), "T"),
        "ΔW": ((f"ΔW{k}", f"W{k} after the update - before"), (f"ΔW{k}", "the same, transposed"), "T"),
        "Δb": ((f"Δb{k}", f"b{k} after the update - before"), (f"Δb{k}", "the same, a column"), "col"),
    }
    return table[kind]


class _Recorder:
    """While active, every layer's forward and backward (and the loss) report what they compute."""

    def __init__(self, model, column):
        self.model, self.column, self.tensors = model, column, []
        self.number, k = [], 0                   # number[i]: k of the Dense layer at or before layer i
        for layer in model.layers:
            k += isinstance(layer, Dense)
            self.number.append(k)
        self.last = k
        self.dropped = {self.number[i] for i, layer in enumerate(model.layers)     # Dense k reads a_(k-1)'
                        if isinstance(layer, Dense) and i and isinstance(model.layers[i - 1], Dropout)}

    def add(self, stage, kind, k, value, f="", w=(0, 0)):
        row, col, how = describe(kind, k, self.last, f, w, dropped=k in self.dropped)
        name, formula = col if self.column else row
        value = to_numpy(value).copy()
        if self.column:
            value = value.T if how == "T" else value.reshape(-1, 1) if how == "col" else value
        self.tensors.append(Tensor(stage, name, f"{name} = {formula}" if kind != "x" else f"{name}: {formula}",
                                   value))

    def __enter__(self):
        for i, layer in enumerate(self.model.layers):
            layer.forward = self._forward(i, layer, layer.forward)
            layer.backward = self._backward(i, layer, layer.backward)
        self.model.loss.value_and_gradient = self._loss(self.model.loss.value_and_gradient)
        return self

    def __exit__(self, *exc):
        for layer in self.model.layers:
            del layer.forward, layer.backward     # back to the class's own methods
        del self.model.loss.value_and_gradient
        return False

    def _forward(self, i, layer, forward):
        k, f = self.number[i], FUNCTION.get(type(layer).__name__, type(layer).__name__)
        kind = "z" if isinstance(layer, Dense) else "a'" if isinstance(layer, Dropout) else "a"
        w = (layer.n_in, layer.n_out) if isinstance(layer, Dense) else (0, 0)

        def recorded(x, training=False):
            if i == 0:
                self.add("forward", "x", 1, x)
            out = forward(x, training)
            self.add("forward", kind, k, out, f, w)
            return out
        return recorded

    def _backward(self, i, layer, backward):
        k, f = self.number[i], FUNCTION.get(type(layer).__name__, type(layer).__name__)

        def recorded(dy):
            dx = backward(dy)
            if isinstance(layer, Dense):
                self.add("backward", "dW", k, layer.dW)
                self.add("backward", "db", k, layer.db)
                if dx is not None:
                    self.add("backward", "da", k, dx)
            elif isinstance(layer, Dropout):
                self.add("backward", "da'", k, dx)
            else:
                self.add("backward", "dz", k, dx, f)
            return dx
        return recorded

    def _loss(self, value_and_gradient):
        def recorded(a, y):
            loss, da = value_and_gradient(a, y)
            if self.model.loss.name == "ce":
                self.add("forward", "p", self.last, self.model.loss.probabilities(a))
                self.add("loss", "L_ce", self.last, loss)
                self.add("backward", "dz_ce", self.last, da)
            else:
                self.add("loss", "L_mse", self.last, loss)
                self.add("backward", "da_mse", self.last, da)
            return loss, da
        return recorded
