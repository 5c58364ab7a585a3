"""Optimizers: turn gradients into parameter updates, in place.

`step(params, grads)` changes `params` (any array, here the network's flat
parameter vector) using `grads`, the gradient of the loss at `params`. State
(velocities, moment estimates) is created on the first step with the same
shape.

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

import numpy as np

from .errors import DigitnetError


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.1, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov
        self.velocity = self.scratch = None

    def step(self, params, grads):
        if self.scratch is None:                   # allocated once: a step creates no arrays
            self.scratch = np.empty_like(params)
            self.velocity = np.zeros_like(params) if self.momentum else None
        lr, mu, s = float(self.learning_rate), float(self.momentum), self.scratch
        if mu:
            v = self.velocity
            v *= mu
            v += grads                              # v = mu * v + g
            if self.nesterov:
                np.multiply(v, mu, out=s)
                s += grads                          # s = g + mu * v
                grads = s
            else:
                grads = v
        np.multiply(grads, lr, out=s)
        params -= s


class Adam:
    """Adam (Kingma & Ba 2015): per-parameter step sizes from running moments.

        m = beta1 * m + (1 - beta1) * g          first moment: mean of g
        v = beta2 * v + (1 - beta2) * g**2       second moment: mean of g**2
        p -= lr * m_hat / (sqrt(v_hat) + eps)    m_hat = m / (1 - beta1**t), same for v

    The bias corrections undo the zero start of m and v in the first steps.

    The same update in ten passes over memory and no new arrays: keep the
    moments without their (1 - beta) factors, M = m / (1 - beta1) and
    V = v / (1 - beta2), so that each update is a scale and an add

        M = beta1 * M + g,   V = beta2 * V + g**2,
        p -= lr_t * M / (sqrt(V) + eps_t)

    with every constant folded into two scalars per step:
        lr_t  = lr * (1 - beta1) / (1 - beta1**t) * sqrt((1 - beta2**t) / (1 - beta2))
        eps_t = eps * sqrt((1 - beta2**t) / (1 - beta2))
    """

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.M = self.V = self.scratch = None
        self.t = 0

    def step(self, params, grads):
        if self.M is None:
            self.M, self.V, self.scratch = (np.zeros_like(params) for _ in range(3))
        self.t += 1
        b1, b2, M, V, s = self.beta1, self.beta2, self.M, self.V, self.scratch
        v_scale = math.sqrt((1 - b2 ** self.t) / (1 - b2))   # a Python float: float32 math stays float32
        lr_t = float(self.learning_rate) * (1 - b1) / (1 - b1 ** self.t) * v_scale
        eps_t = self.eps * v_scale
        M *= b1
        M += grads                                  # M = beta1 * M + g
        V *= b2
        np.multiply(grads, grads, out=s)
        V += s                                      # V = beta2 * V + g**2
        np.sqrt(V, out=s)
        s += eps_t
        np.divide(M, s, out=s)
        s *= lr_t
        params -= s                                 # p -= lr_t * M / (sqrt(V) + eps_t)


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
