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
import numpy as np

from . import accel
from .backend import namespace, to_device
from .errors import DigitnetError


class Optimizer:
    """Base class: the state arrays named in `state_names`, each shaped like the parameters."""

    state_names = ()

    def _state(self, params):
        """The state arrays, made (zero) on the first step and on the parameters' device."""
        xp = namespace(params)
        state = [getattr(self, name, None) for name in self.state_names]
        if state and state[0] is not None and state[0].shape != params.shape:
            raise DigitnetError(f"this optimizer was used for {state[0].shape[0]} parameters, not "
                                f"{params.shape[0]}: make a new one for this network")
        for name, array in zip(self.state_names, state):
            setattr(self, name, xp.zeros_like(params) if array is None else to_device(array, xp))
        return [getattr(self, name) for name in self.state_names]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.1, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov
        self.state_names = ("velocity",) if momentum else ()

    def step(self, params, grads):
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
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.t = 0

    def step(self, params, grads):
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
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise DigitnetError(f"learning rate {learning_rate} must be a positive number, e.g. 0.001")
    return OPTIMIZERS[name](learning_rate)
