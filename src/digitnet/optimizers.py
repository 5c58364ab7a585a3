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
import numpy as np

from .errors import DigitnetError


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.1, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov
        self.velocity = None

    def step(self, params, grads):
        lr = np.float32(self.learning_rate)
        if self.momentum == 0.0:
            params -= lr * grads
            return
        if self.velocity is None:
            self.velocity = np.zeros_like(params)
        v, mu = self.velocity, np.float32(self.momentum)
        v *= mu
        v += grads
        if self.nesterov:
            params -= lr * (grads + mu * v)
        else:
            params -= lr * v


class Adam:
    """Adam (Kingma & Ba 2015): per-parameter step sizes from running moments.

        m = beta1 * m + (1 - beta1) * g          first moment: mean of g
        v = beta2 * v + (1 - beta2) * g**2       second moment: mean of g**2
        p -= lr * m_hat / (sqrt(v_hat) + eps)    m_hat = m / (1 - beta1**t), same for v

    The bias corrections undo the zero start of m and v in the first steps.
    """

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.m = self.v = None
        self.t = 0

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.m += (1 - b1) * (grads - self.m)
        self.v += (1 - b2) * (grads * grads - self.v)
        m_hat = self.m / (1 - b1 ** self.t)
        v_hat = self.v / (1 - b2 ** self.t)
        params -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)


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
