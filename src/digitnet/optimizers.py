"""Optimizers: turn gradients into parameter updates, in place.

`step(params, grads)` changes `params` (any array, here the network's flat
parameter vector) using `grads`, the gradient of the loss at `params`. State
(velocities, moment estimates) is created on the first step with the same
shape. The step works in `grads` as scratch space, so that it needs no memory
of its own: after it, `grads` no longer holds the gradient.

| name      | update                                                        |
|-----------|---------------------------------------------------------------|
| sgd       | p -= lr * g                                                   |
| momentum  | v = mu * v + g;  p -= lr * v                                  |
| nesterov  | v = mu * v + g;  p -= lr * (g + mu * v)   (looks one step ahead) |
| adam      | m, v = running means of g, g**2;  p -= lr * m_hat / (sqrt(v_hat) + eps) |

Plain SGD with a batch size equal to the training set is full-batch gradient
descent. Momentum and Nesterov follow the form PyTorch uses.

`step(params, grads, part)` updates only `params[part]` (from `grads[part]`
and the state's `[part]`): with two processes sharing one parameter vector,
each updates its own half (see parallel.py). `prepare(params, zeros)` creates
the state with the `zeros` it is given, there memory both processes share.
"""
import math

import numpy as np

from .errors import DigitnetError


class Optimizer:
    """Base class: the state arrays named in `state_names`, each shaped like the parameters.

    A subclass's `step(params, grads, part)` must be element-wise: it updates
    params[part] from grads[part] and its state's [part] alone, so that two
    processes can each update their own part (see training.Halves).
    """

    state_names = ()

    def prepare(self, params, zeros=np.zeros):
        """Make the state with `zeros(shape, dtype)`, carrying over the values of any state there is."""
        if not self.state_names:
            return
        first = getattr(self, self.state_names[0], None)
        if first is not None and first.shape != params.shape:
            raise DigitnetError(f"this optimizer was used for {first.size} parameters, not {params.size}: "
                                f"make a new one for this network")
        for name in self.state_names:
            old, new = getattr(self, name, None), zeros(params.shape, params.dtype)
            if old is not None:
                new[...] = old
            setattr(self, name, new)

    def _state(self, params, part):
        """The state arrays' [part], created on the first step."""
        if self.state_names and getattr(self, self.state_names[0], None) is None:
            self.prepare(params)
        return [getattr(self, name)[part] for name in self.state_names]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.1, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov
        self.state_names = ("velocity",) if momentum else ()

    def step(self, params, grads, part=slice(None)):
        p, g = params[part], grads[part]
        lr, mu = float(self.learning_rate), float(self.momentum)
        if not mu:
            g *= lr
            p -= g                                  # p -= lr * g
            return
        v = self._state(params, part)[0]
        v *= mu
        v += g                                      # v = mu * v + g
        if self.nesterov:
            g *= lr
            p -= g                                  # p -= lr * g ...
            np.multiply(v, lr * mu, out=g)
            p -= g                                  # ... + lr * mu * v
        else:
            np.multiply(v, lr, out=g)
            p -= g                                  # p -= lr * v


class Adam(Optimizer):
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

    Once M has taken g, g's memory holds the intermediate results (`s`).
    """

    state_names = ("M", "V")

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.t = 0

    def step(self, params, grads, part=slice(None)):
        M, V = self._state(params, part)
        p, g = params[part], grads[part]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        v_scale = math.sqrt((1 - b2 ** self.t) / (1 - b2))   # a Python float: float32 math stays float32
        lr_t = float(self.learning_rate) * (1 - b1) / (1 - b1 ** self.t) * v_scale
        eps_t = self.eps * v_scale
        M *= b1
        M += g                                      # M = beta1 * M + g
        V *= b2
        s = np.multiply(g, g, out=g)                # from here on g's memory is scratch
        V += s                                      # V = beta2 * V + g**2
        np.sqrt(V, out=s)
        s += eps_t
        np.divide(M, s, out=s)
        s *= lr_t
        p -= s                                      # p -= lr_t * M / (sqrt(V) + eps_t)


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
