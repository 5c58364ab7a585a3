"""Every layer's backward pass against centred finite differences in float64, on NumPy and on
the strict Array API namespace (the `xp` fixture)."""
import numpy as np
import pytest

from digitnet.backend import random_generator, to_numpy
from digitnet.errors import DigitnetError
from digitnet.layers import ACTIVATIONS, Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from digitnet.gradcheck import max_relative_error, numerical_gradient

TOLERANCE = 1e-6


def away_from_kinks(rng, shape):
    """Inputs with |x| in [0.1, 2]: finite differences never straddle the kink of ReLU at 0."""
    return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def check_input_gradient(layer, x, upstream, reset=lambda: None):
    """layer.backward(upstream) against the numerical gradient of sum(forward(x) * upstream)."""
    xp = x.__array_namespace__()

    def f():
        reset()
        return xp.sum(layer.forward(x, training=True) * upstream)

    numeric = numerical_gradient(f, x)
    reset()
    layer.forward(x, training=True)
    analytic = layer.backward(upstream)
    assert type(analytic) is type(x)                   # computed in x's namespace
    assert max_relative_error(to_numpy(analytic), numeric) < TOLERANCE


@pytest.mark.parametrize("activation", ACTIVATIONS.values(), ids=ACTIVATIONS.keys())     # a new one is checked too
def test_activation_gradients(xp, activation):
    rng = np.random.default_rng(1)
    x = xp.asarray(away_from_kinks(rng, (4, 7)))
    check_input_gradient(activation(), x, xp.asarray(rng.standard_normal((4, 7))))


def test_activation_values(xp):
    z = xp.asarray([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(to_numpy(ReLU().forward(z)), [[0, 0, 3]])
    np.testing.assert_allclose(to_numpy(LeakyReLU(alpha=0.1).forward(z)), [[-0.2, 0, 3]])
    np.testing.assert_allclose(to_numpy(Sigmoid().forward(z)), 1 / (1 + np.exp([[2.0, 0.0, -3.0]])), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(Tanh().forward(z)), np.tanh([[-2.0, 0.0, 3.0]]), rtol=1e-12)


def test_sigmoid_saturates_without_overflow_warning():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = Sigmoid().forward(np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32))
    np.testing.assert_allclose(y, [[0.0, 0.5, 1.0]])


def dense64(xp, n_in=5, n_out=4, seed=2):
    """A float64 Dense layer whose W, b, dW, db live in namespace xp."""
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, init="glorot", rng=rng, dtype=np.float64)
    layer.b[:] = rng.standard_normal(n_out)
    for name in ("W", "b", "dW", "db"):
        setattr(layer, name, xp.asarray(getattr(layer, name), copy=True))
    return layer


def test_dense_input_gradient(xp):
    rng = np.random.default_rng(3)
    check_input_gradient(dense64(xp), xp.asarray(rng.standard_normal((3, 5))),
                         xp.asarray(rng.standard_normal((3, 4))))


@pytest.mark.parametrize("name", ["W", "b"])
def test_dense_parameter_gradients(xp, name):
    rng = np.random.default_rng(4)
    layer, x = dense64(xp), xp.asarray(rng.standard_normal((3, 5)))
    upstream = xp.asarray(rng.standard_normal((3, 4)))
    numeric = numerical_gradient(lambda: xp.sum(layer.forward(x) * upstream), getattr(layer, name))
    layer.forward(x)
    layer.backward(upstream)
    assert max_relative_error(to_numpy(getattr(layer, "d" + name)), numeric) < TOLERANCE


def test_dense_shapes_and_formula():
    layer = Dense(784, 10, rng=np.random.default_rng(0))
    assert layer.W.shape == (784, 10) and layer.b.shape == (10,) and layer.W.dtype == np.float32
    x = np.random.default_rng(1).random((2, 784), dtype=np.float32)
    np.testing.assert_allclose(layer.forward(x), x @ layer.W + layer.b, rtol=1e-5)


def test_dense_writes_its_gradients_in_place(xp):
    """dW and db stay the same arrays (views into a network's flat gradient vector)."""
    layer = dense64(xp)
    dW, db = layer.dW, layer.db
    layer.forward(xp.ones((2, 5), dtype=xp.float64))
    layer.backward(xp.ones((2, 4), dtype=xp.float64))
    assert layer.dW is dW and layer.db is db
    np.testing.assert_allclose(to_numpy(db), [2, 2, 2, 2])


def test_first_layer_skips_input_gradient(xp):
    layer = dense64(xp)
    layer.input_grad = False
    layer.forward(xp.ones((2, 5), dtype=xp.float64))
    assert layer.backward(xp.ones((2, 4), dtype=xp.float64)) is None
    np.testing.assert_allclose(to_numpy(layer.db), [2, 2, 2, 2])


def test_dropout_gradient_with_fixed_mask(xp):
    rng = np.random.default_rng(5)
    layer = Dropout(0.3)

    def reset():
        layer.rng = random_generator(42, xp)      # the same mask on every forward pass

    check_input_gradient(layer, xp.asarray(rng.standard_normal((6, 8))), xp.asarray(rng.standard_normal((6, 8))),
                         reset)


def test_dropout_is_identity_at_prediction_and_unbiased_in_training(xp):
    layer = Dropout(0.25, rng=random_generator(0, xp))
    x = xp.ones((1000, 100), dtype=xp.float32)
    assert layer.forward(x, training=False) is x
    y = to_numpy(layer.forward(x, training=True))
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(float(np.mean(y == 0)) - 0.25) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.01


def test_dropout_rejects_bad_rate():
    with pytest.raises(DigitnetError, match=r"dropout rate must be a number in \[0, 1\)"):
        Dropout(1.0)
