"""Weight initialisers, by name.

Each initialiser draws a float32 weight matrix W of shape (n_in, n_out) from
the generator it is given. The scale matters: too small and the signal fades
layer after layer, too large and it explodes (or saturates a sigmoid).

| name      | distribution               | made for                              |
|-----------|----------------------------|---------------------------------------|
| he        | N(0, 2 / n_in)             | ReLU (He et al. 2015)                 |
| glorot    | U(±sqrt(6 / (n_in+n_out))) | sigmoid, tanh (Glorot & Bengio 2010)  |
| nielsen   | N(0, 1 / n_in)             | Nielsen's network2.py, sigmoid        |
| normal    | N(0, 1)                    | Nielsen's network.py (chapter 1)      |
| uniform   | U(-0.5, 0.5)               | several from-scratch tutorials        |

Biases start at zero for "he" and "glorot". The other three draw the biases
too, as their sources do: "normal" and "uniform" from the same distribution
as the weights, "nielsen" from N(0, 1) (network2.py's default initializer).
"""
import numpy as np

from .errors import DigitnetError


def he(rng, n_in, n_out):
    return rng.standard_normal((n_in, n_out), dtype=np.float32) * np.float32(np.sqrt(2.0 / n_in))


def glorot(rng, n_in, n_out):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32)


def nielsen(rng, n_in, n_out):
    return rng.standard_normal((n_in, n_out), dtype=np.float32) * np.float32(np.sqrt(1.0 / n_in))


def normal(rng, n_in, n_out):
    return rng.standard_normal((n_in, n_out), dtype=np.float32)


def uniform(rng, n_in, n_out):
    return rng.uniform(-0.5, 0.5, (n_in, n_out)).astype(np.float32)


INITIALIZERS = {"he": he, "glorot": glorot, "nielsen": nielsen, "normal": normal, "uniform": uniform}
RANDOM_BIASES = {"normal", "uniform", "nielsen"}   # schemes whose sources also draw the biases
DEFAULT_INIT = {"relu": "he", "leaky_relu": "he", "sigmoid": "glorot", "tanh": "glorot"}


def initial_parameters(name, rng, n_in, n_out):
    """W (n_in, n_out) and b (n_out,) for a Dense layer, drawn by scheme `name`."""
    if name not in INITIALIZERS:
        raise DigitnetError(f"unknown init {name!r}: choose one of {', '.join(INITIALIZERS)}")
    W = INITIALIZERS[name](rng, n_in, n_out)
    if name in RANDOM_BIASES:                  # drawn as a (1, n_out) matrix: fan-in 1, so N(0, 1) for nielsen
        b = INITIALIZERS[name](rng, 1, n_out)[0]
    else:
        b = np.zeros(n_out, dtype=np.float32)
    return W, b
