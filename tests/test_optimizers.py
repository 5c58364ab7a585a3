"""Optimizers against plain-Python references of their published update rules, on NumPy and on
the strict Array API namespace."""
import numpy as np
import pytest

from digitnet import SGD, Adam, DigitnetError
from digitnet.backend import to_numpy
from digitnet.optimizers import OPTIMIZERS, make_optimizer


def run(optimizer, grads_sequence, start, xp=np):
    """The parameters after one step per gradient; every gradient must come back unchanged."""
    p = xp.asarray(np.array(start, dtype=np.float32))
    for g in grads_sequence:
        g = xp.asarray(np.array(g, dtype=np.float32))
        before = to_numpy(g).copy()
        optimizer.step(p, g)
        np.testing.assert_array_equal(to_numpy(g), before)      # optimizers leave grads intact
    return to_numpy(p)


GRADS = [[1.0, -2.0, 0.5], [0.5, -1.0, 0.0], [-1.0, 3.0, 2.0]]


def test_sgd(xp):
    np.testing.assert_allclose(run(SGD(0.1), GRADS, [0, 0, 0], xp), -0.1 * np.sum(GRADS, axis=0), rtol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_and_nesterov(xp, nesterov):
    lr, mu = 0.1, 0.9
    p, v = np.zeros(3), np.zeros(3)
    for g in np.array(GRADS):
        v = mu * v + g
        p -= lr * (g + mu * v) if nesterov else lr * v
    got = run(SGD(lr, momentum=mu, nesterov=nesterov), GRADS, [0, 0, 0], xp)
    np.testing.assert_allclose(got, p, rtol=1e-6)


def test_adam(xp):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(np.array(GRADS), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(run(Adam(lr), GRADS, [0, 0, 0], xp), p, rtol=1e-5)


def test_first_adam_step_has_size_lr_in_every_coordinate(xp):
    p = run(Adam(0.01), [[1e-4, -30.0, 2.0]], [0, 0, 0], xp)
    np.testing.assert_allclose(p, [-0.01, 0.01, -0.01], rtol=1e-3)          # exactly lr * |g| / (|g| + eps)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_minimises_a_quadratic(xp, name):
    p = xp.asarray([3.0, -2.0], dtype=xp.float32)
    opt = make_optimizer(name, 0.05)
    for _ in range(2000):
        opt.step(p, 2 * p)                 # gradient of ||p||^2
    assert np.abs(to_numpy(p)).max() < 1e-2


def test_an_optimizer_refuses_another_networks_parameters():
    opt = Adam()
    opt.step(np.zeros(3, np.float32), np.ones(3, np.float32))
    with pytest.raises(DigitnetError, match=r"this optimizer was used for parameters of shape \(3,\), not \(4,\): "
                                             r"make a new one"):
        opt.step(np.zeros(4, np.float32), np.ones(4, np.float32))


@pytest.mark.parametrize("optimizer", [SGD(0.1), SGD(0.1, momentum=0.9), Adam(0.1)])
def test_a_gradient_of_another_shape_is_refused_before_any_update(optimizer):
    """The fused Adam loop would read past the end of a shorter gradient."""
    p = np.ones(8, np.float32)
    with pytest.raises(DigitnetError, match=r"a gradient of shape \(1,\) for parameters of shape \(8,\): they must"):
        optimizer.step(p, np.ones(1, np.float32))
    assert (p == 1).all()


@pytest.mark.parametrize("make, message", [
    (lambda: SGD(-0.1), r"learning rate -0.1 must be a number in \[0, inf\)"),
    (lambda: SGD(0.1, momentum=2.0), r"momentum 2.0 must be a number in \[0, 1\)"),
    (lambda: Adam(beta1=1.0), r"beta1 1.0 must be a number in \[0, 1\)"),
    (lambda: Adam(eps=0), r"eps 0 must be a number in \(0, inf\)"),
    (lambda: Adam("fast"), r"learning rate 'fast' must be a number"),
])
def test_optimizer_settings_are_checked(make, message):
    with pytest.raises(DigitnetError, match=message):
        make()


def test_bad_optimizer_or_rate():
    with pytest.raises(DigitnetError, match=f"unknown optimizer 'lbfgs': choose one of {', '.join(OPTIMIZERS)}$"):
        make_optimizer("lbfgs", 0.1)
    with pytest.raises(DigitnetError, match="learning rate -1.0 must be a positive number"):
        make_optimizer("sgd", -1.0)
