"""Optimizers: turn gradients into parameter updates, in place.

`step(params, grads)` changes `params` (any array, here the network's flat
parameter vector) using `grads`, the gradient of the loss at `params`, and
leaves `grads` as it found it. State (velocities, moment estimates) is made
on the first step, shaped like the parameters and on their device.

| name      | update                                                        |
|-----------|---------------------------------------------------------------|
| sgd       | p -= lr * g                                                   |
| momentum  | v = mu * v + g;  p -= lr * v                                  |
| nesterov  | v = mu * v + g;  p -= lr * (g + mu * v)   (looks one step ahead) |
| adam      | m, v = running means of g, g**2;  p -= lr * m_hat / (sqrt(v_hat) + eps) |

Plain SGD with a batch size equal to the training set is full-batch gradient
descent. Momentum and Nesterov follow the form PyTorch uses.
"""
import math

from . import accel
from .backend import namespace, to_device
from .checks import real, scalar
from .errors import DigitnetError


def check_setting(name, value, low, high, example, low_open=False, wanted=None):
    """`value` as a float: DigitnetError unless it is a number with low <= value < high (low < value
    with low_open). The message says it must be `wanted` (default: a number in that interval)."""
    value = scalar(value)
    if not real(value) or not (low < value if low_open else low <= value) or not value < high:
        wanted = wanted or f"a number in {'(' if low_open else '['}{low:g}, {high:g})"
        raise DigitnetError(f"{name} {value!r} must be {wanted}, e.g. {example}")
    return float(value)


def check_gradient(params, grads):
    """Refuse a gradient that is not shaped like the parameters (the fused loop would read past it)."""
    if grads.shape != params.shape:
        raise DigitnetError(f"a gradient of shape {tuple(grads.shape)} for parameters of shape "
                            f"{tuple(params.shape)}: they must match")


class Optimizer:
    """Base class: the state arrays named in `state_names`, each shaped like the parameters."""

    state_names = ()

    def _state(self, params):
        """The state arrays, made (zero) on the first step and on the parameters' device."""
        xp = namespace(params)
        state = [getattr(self, name, None) for name in self.state_names]
        if state and state[0] is not None and state[0].shape != params.shape:
            raise DigitnetError(f"this optimizer was used for parameters of shape {tuple(state[0].shape)}, not "
                                f"{tuple(params.shape)}: make a new one for this network")
        for name, array in zip(self.state_names, state):
            setattr(self, name, xp.zeros_like(params) if array is None else to_device(array, xp))
        return [getattr(self, name) for name in self.state_names]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.1, momentum=0.0, nesterov=False):
        self.learning_rate = check_setting("learning rate", learning_rate, 0, math.inf, 0.1)
        self.momentum = check_setting("momentum", momentum, 0, 1, 0.9)
        self.nesterov = bool(nesterov)
        self.state_names = ("velocity",) if momentum else ()

    def step(self, params, grads):
        check_gradient(params, grads)
        lr, mu = float(self.learning_rate), float(self.momentum)
        if not mu:
            params -= lr * grads
            return
        (v,) = self._state(params)
        v *= mu
        v += grads                                  # v = mu * v + g
        if self.nesterov:
            params -= lr * (grads + mu * v)
        else:
            params -= lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): per-parameter step sizes from running moments.

        m = beta1 * m + (1 - beta1) * g          first moment: mean of g
        v = beta2 * v + (1 - beta2) * g**2       second moment: mean of g**2
        p -= lr * m_hat / (sqrt(v_hat) + eps)    m_hat = m / (1 - beta1**t), same for v

    The bias corrections undo the zero start of m and v in the first steps.
    `adam_update` below is this update in plain array operations. On NumPy
    and CuPy arrays the same update runs as one fused loop (accel.py), which
    the tests compare with it.
    """

    state_names = ("m", "v")

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.learning_rate = check_setting("learning rate", learning_rate, 0, math.inf, 0.001)
        self.beta1 = check_setting("beta1", beta1, 0, 1, 0.9)
        self.beta2 = check_setting("beta2", beta2, 0, 1, 0.999)
        self.eps = check_setting("eps", eps, 0, math.inf, 1e-8, low_open=True)
        self.t = 0

    def step(self, params, grads):
        check_gradient(params, grads)
        m, v = self._state(params)
        self.t += 1
        update = accel.fused_adam(params) or adam_update
        update(params, grads, m, v, float(self.learning_rate), self.beta1, self.beta2, self.eps, self.t)


def adam_update(p, g, m, v, lr, beta1, beta2, eps, t):
    """One Adam step at step number t (from 1), in place on p, m and v: the reference."""
    xp = namespace(p)
    m[...] = beta1 * m + (1 - beta1) * g
    v[...] = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    p -= lr * m_hat / (xp.sqrt(v_hat) + eps)


OPTIMIZERS = {
    "sgd": lambda lr: SGD(lr),
    "momentum": lambda lr: SGD(lr, momentum=0.9),
    "nesterov": lambda lr: SGD(lr, momentum=0.9, nesterov=True),
    "adam": lambda lr: Adam(lr),
}


def make_optimizer(name, learning_rate):
    """The optimizer called `name` (see OPTIMIZERS) with the given learning rate."""
    if name not in OPTIMIZERS:
        raise DigitnetError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](check_rate(learning_rate))


def check_rate(learning_rate):
    """The learning rate to train with, as a float: DigitnetError unless it is a positive number."""
    return check_setting("learning rate", learning_rate, 0, math.inf, 0.001, low_open=True, wanted="a positive number")
