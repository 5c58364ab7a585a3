"""What the network accepts, checked before any work: a bad input is refused with one
DigitnetError that names it and says what would do.

    check_input(X, n_in)              pixels: an (n, n_in) float32 array
    check_labels(y, n, n_classes)     labels: an (n,) int64 array of class numbers
    check_no_builders(**given)        MLP(layers=...): no sizes, activation, ... beside them
    check_layers(layers, Dense)       MLP(layers=...): instances, each used once, sizes that chain
    check_live(model)                 its W and b are still the views into model.params
    real(value)                       a real number, not a bool (a 0-d array counts)
    whole(value, least)               a whole number (a 0-d array counts), at least `least`
"""
import math

import array_api_compat
import numpy as np

from .backend import namespace, to_numpy
from .errors import DigitnetError


def check_input(X, n_in):
    """X as a float32 (n, n_in) array; (n, 28, 28) images are flattened, one image made a batch of one,
    and a last axis of one channel, (n, 28, 28, 1), is dropped.

    Lists and NumPy arrays come back as NumPy arrays; an array of another
    namespace (e.g. already on the GPU) stays there. Whole numbers above 1
    are refused: they are pixel values 0-255 (a uint8 image, a CSV read by
    pandas), which a network trained on pixels in [0, 1] would misread."""
    if not array_api_compat.is_array_api_obj(X):
        try:
            X = np.asarray(X)
        except ValueError:                              # e.g. rows of different lengths
            raise DigitnetError("input is not a rectangular array of numbers: expected (n, "
                                f"{n_in}) rows of pixels") from None
    xp = namespace(X)
    if X.ndim >= 3 and X.shape[-1] == 1:                # one channel, as Keras and PIL lay out gray images
        X = X[..., 0]
    if X.ndim == 3 and X.shape[1] * X.shape[2] == n_in:
        X = xp.reshape(X, (X.shape[0], n_in))
    one_image = X.shape == (n_in,) or X.ndim == 2 and X.shape[0] == X.shape[1] and X.shape[0] ** 2 == n_in
    if one_image:
        X = xp.reshape(X, (1, n_in))                    # one image: (784,) or (28, 28)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise DigitnetError(f"input of shape {tuple(X.shape)} does not fit this network: "
                            f"expected (n, {n_in}) rows of pixels scaled to [0, 1]")
    if isinstance(X, np.ndarray) and not (np.issubdtype(X.dtype, np.number) and X.dtype.kind != "c"):
        raise DigitnetError(f"input has dtype {X.dtype}: expected real numbers")
    _check_not_raw_pixels(X, xp)
    with np.errstate(over="ignore"):                    # a float64 beyond float32's range: refused just below
        X = xp.astype(X, xp.float32, copy=False)
    # a sum is finite when every element is, and needs no temporary array the size of X;
    # only if it is not, look element by element: it may just have overflowed
    if not math.isfinite(float(xp.sum(X))) and not bool(xp.all(xp.isfinite(X))):
        raise DigitnetError("input contains NaN or infinite values (or values beyond float32's range)")
    return X


def _check_not_raw_pixels(X, xp):
    """Refuse integer input above 1: pixel values 0-255, not yet divided by 255."""
    largest = int(xp.max(X)) if xp.isdtype(X.dtype, "integral") and X.shape[0] else 0
    if largest > 1:
        raise DigitnetError(f"input holds whole numbers up to {largest} (pixel values 0-255?): the network "
                            f"reads pixels scaled to [0, 1]; divide by 255 first (X / 255), or pass floats if "
                            f"these are not pixels")


def check_live(model):
    """Refuse a network whose `params`, or a layer's W or b, was replaced by a new array (`layer.W = W0`)
    instead of written into (`layer.W[...] = W0`): training updates `params` and files save it, and the
    new array is no part of it, so that layer would never learn and a saved file would lose it."""
    params, *views = model.bound
    if model.params is not params:
        raise DigitnetError("model.params was replaced by a new array, and the layers' W and b are no longer "
                            "views into it: write into it instead, model.params[...] = values")
    for (index, name, _, _), view in zip(model.layout, views):
        if not _same_array(getattr(model.layers[index], name), view):
            raise DigitnetError(f"model.layers[{index}].{name} was replaced by a new array, which is no part of "
                                f"model.params (what training updates and files save): write into it instead, "
                                f"model.layers[{index}].{name}[...] = values")


def _same_array(a, b):
    """Whether `a` is the array `b`, or (NumPy) a view of the same memory, as copy.copy(model) rebinds."""
    if a is b:
        return True
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.strides == b.strides and a.__array_interface__["data"] == b.__array_interface__["data"])


def check_labels(y, n, n_classes, what=""):
    """y as an int64 NumPy array (n,) of class numbers 0 to n_classes - 1; `what` ("training", ...)
    begins the messages."""
    what = what and what + " "
    if y is None:
        raise DigitnetError(f"{what}images without labels: give the labels too")
    y = to_numpy(y) if array_api_compat.is_array_api_obj(y) else np.asarray(y)
    if y.ndim == 0 and n == 1:                              # one image, one label: score(image, 7)
        y = y.reshape(1)
    if y.ndim != 1:
        hint = "; for one-hot rows, y.argmax(axis=1) gives them" if y.ndim == 2 and y.shape[1] == n_classes else ""
        raise DigitnetError(f"{what}labels of shape {y.shape}: expected one class number per image, shape (n,)"
                            f"{hint}")
    if n == 0:
        raise DigitnetError(f"no {what}images: give at least one")
    if n != y.shape[0]:
        raise DigitnetError(f"{n} {what}images but {y.shape[0]} labels")
    if y.dtype.kind not in "biuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        hint = " (digits as text: y.astype(int) makes them numbers)" if y.dtype.kind in "USO" else ""
        raise DigitnetError(f"{what}labels must be class numbers 0 to {n_classes - 1}, not {y.dtype} values{hint}")
    if y.min() < 0 or y.max() >= n_classes:                 # checked before int64, which wraps 2**63
        bad = y[(y < 0) | (y >= n_classes)][0].item()
        raise DigitnetError(f"label {bad!r} is not a class of this network: labels must be 0 to {n_classes - 1}")
    return y.astype(np.int64)


def check_layers(layers, dense_type):
    """The layers of `dense_type` (layers.Dense) in `layers`, once each is a layer instance in one
    place only (a layer keeps what its last forward pass saw, for its backward pass) and their sizes
    chain."""
    for layer in layers:
        if isinstance(layer, type) or not hasattr(layer, "forward"):
            raise DigitnetError(f"{layer!r} is not a layer: give instances such as Dense(784, 10), ReLU()")
    if len({id(layer) for layer in layers}) < len(layers):
        raise DigitnetError("one layer object is in two places of layers=: each place needs its own (a layer "
                            "keeps what its forward pass saw, for the backward pass), e.g. ReLU() twice")
    dense = [layer for layer in layers if isinstance(layer, dense_type)]
    if not dense:
        raise DigitnetError("a network needs at least one Dense layer")
    for a, b in zip(dense, dense[1:]):
        if a.n_out != b.n_in:
            raise DigitnetError(f"layer sizes do not chain: {a.n_out} outputs feed {b.n_in} inputs")
    return dense


def check_no_builders(**given):
    """Refuse the settings that build layers (True in `given`) beside ready-made layers: they'd be ignored."""
    if any(given.values()):
        raise DigitnetError(f"{', '.join(n for n, g in given.items() if g)} build the layers, and layers= gives "
                            "them ready-made: give one or the other")


def scalar(value):
    """A 0-d array's number (from a config or NumPy arithmetic), any other value as it is."""
    return value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value


def real(value):
    """Whether `value` is a real number: an int or a float, Python's or NumPy's (a 0-d array counts),
    and not a bool."""
    value = scalar(value)
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def whole(value, least):
    """Whether `value` is a whole number (not a bool) of at least `least`."""
    value = scalar(value)
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= least
