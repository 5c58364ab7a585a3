"""Every layer's backward pass against centred finite differences in float64."""
import numpy as np
import pytest

from digitnet.layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from gradcheck import max_relative_error, numerical_gradient

TOLERANCE = 1e-6


def away_from_kinks(rng, shape):
    """Inputs with |x| in [0.1, 2]: finite differences never straddle the kink of ReLU at 0."""
    return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def check_input_gradient(layer, x, rng, reset=lambda: None):
    upstream = rng.standard_normal(layer.forward(x, training=True).shape)

    def f():
        reset()
        return float(np.sum(layer.forward(x, training=True) * upstream))

    numeric = numerical_gradient(f, x)
    reset()
    layer.forward(x, training=True)
    analytic = layer.backward(upstream).copy()
    assert max_relative_error(analytic, numeric) < TOLERANCE


@pytest.mark.parametrize("activation", [ReLU, LeakyReLU, Sigmoid, Tanh])
def test_activation_gradients(activation):
    rng = np.random.default_rng(1)
    check_input_gradient(activation(), away_from_kinks(rng, (4, 7)), rng)


def test_leaky_relu_slope_below_zero():
    y = LeakyReLU(alpha=0.1).forward(np.array([[-2.0, 3.0]]))
    np.testing.assert_allclose(y, [[-0.2, 3.0]])


def test_sigmoid_saturates_without_overflow_warning():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = Sigmoid().forward(np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32))
    np.testing.assert_allclose(y, [[0.0, 0.5, 1.0]])


def dense64(n_in=5, n_out=4, seed=2):
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, init="glorot", rng=rng, dtype=np.float64)
    layer.b[:] = rng.standard_normal(n_out)
    return layer


def test_dense_input_gradient():
    rng = np.random.default_rng(3)
    check_input_gradient(dense64(), rng.standard_normal((3, 5)), rng)


@pytest.mark.parametrize("name", ["W", "b"])
def test_dense_parameter_gradients(name):
    rng = np.random.default_rng(4)
    layer, x = dense64(), rng.standard_normal((3, 5))
    upstream = rng.standard_normal((3, 4))
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(x) * upstream)), getattr(layer, name))
    layer.forward(x)
    layer.backward(upstream)
    assert max_relative_error(getattr(layer, "d" + name), numeric) < TOLERANCE


def test_dense_shapes_and_formula():
    layer = Dense(784, 10, rng=np.random.default_rng(0))
    assert layer.W.shape == (784, 10) and layer.b.shape == (10,) and layer.W.dtype == np.float32
    x = np.random.default_rng(1).random((2, 784), dtype=np.float32)
    np.testing.assert_allclose(layer.forward(x), x @ layer.W + layer.b, rtol=1e-5)


def test_first_layer_skips_input_gradient():
    layer = dense64()
    layer.input_grad = False
    layer.forward(np.ones((2, 5)))
    assert layer.backward(np.ones((2, 4))) is None
    np.testing.assert_allclose(layer.db, [2, 2, 2, 2])


def test_dropout_gradient_with_fixed_mask():
    rng = np.random.default_rng(5)
    layer = Dropout(0.3)

    def reset():
        layer.rng = np.random.default_rng(42)      # the same mask on every forward pass

    check_input_gradient(layer, rng.standard_normal((6, 8)), rng, reset)


def test_dropout_is_identity_at_prediction_and_unbiased_in_training():
    layer = Dropout(0.25, rng=np.random.default_rng(0))
    x = np.ones((1000, 100), dtype=np.float32)
    assert layer.forward(x, training=False) is x
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(float(np.mean(y == 0)) - 0.25) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.01


def test_dropout_rejects_bad_rate():
    with pytest.raises(ValueError, match="dropout rate must be in"):
        Dropout(1.0)


def test_buffers_are_reused_between_batches():
    layer = Dense(5, 3)
    first = layer.forward(np.ones((4, 5), dtype=np.float32))
    second = layer.forward(np.ones((2, 5), dtype=np.float32))
    assert second.shape == (2, 3) and np.shares_memory(first, second)
