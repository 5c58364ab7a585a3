"""Both losses: values by hand, gradients against finite differences, numerical stability,
on NumPy and on the strict Array API namespace."""
import numpy as np
import pytest

from digitnet.backend import to_numpy
from digitnet.losses import LOSSES, MeanSquaredError, SoftmaxCrossEntropy, one_hot, softmax
from digitnet.gradcheck import max_relative_error, numerical_gradient


@pytest.mark.parametrize("loss", [loss() for loss in LOSSES.values()], ids=LOSSES.keys())     # a new one too
def test_loss_gradient(xp, loss):
    rng = np.random.default_rng(0)
    z, y = xp.asarray(rng.standard_normal((5, 10))), xp.asarray(rng.integers(0, 10, 5))
    numeric = numerical_gradient(lambda: loss.value(z, y), z)
    assert max_relative_error(to_numpy(loss.gradient(z, y)), numeric) < 1e-6


def test_cross_entropy_value_and_p_minus_y(xp):
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    z, y = xp.asarray(np.log(p)), xp.asarray([0, 1])
    loss, grad = SoftmaxCrossEntropy().value_and_gradient(z, y)
    assert float(loss) == pytest.approx(-(np.log(0.7) + np.log(0.1)) / 2)
    np.testing.assert_allclose(to_numpy(grad), (p - [[1, 0, 0], [0, 1, 0]]) / 2)


def test_one_hot(xp):
    Y = one_hot(xp.asarray([2, 0]), 3, xp.float32)
    assert Y.dtype == xp.float32
    np.testing.assert_array_equal(to_numpy(Y), [[0, 0, 1], [1, 0, 0]])


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        loss_right = SoftmaxCrossEntropy().value(z, np.array([0]))
        loss_wrong = SoftmaxCrossEntropy().value(z, np.array([2]))
    assert loss_right == pytest.approx(0.0) and loss_wrong == pytest.approx(2000.0)


def test_softmax_rows_sum_to_one_and_input_unchanged(xp):
    z = xp.asarray([[1.0, 2.0, 3.0], [800.0, 800.0, 0.0]], dtype=xp.float32)
    before = to_numpy(z).copy()
    p = to_numpy(softmax(z))
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(p[1], [0.5, 0.5, 0.0], atol=1e-7)
    np.testing.assert_array_equal(to_numpy(z), before)


def test_mse_value_is_nielsens_quadratic_cost(xp):
    a, y = xp.asarray([[0.5, 0.5], [1.0, 0.0]]), xp.asarray([0, 0])
    assert MeanSquaredError().value(a, y) == pytest.approx((0.5 * (0.25 + 0.25) + 0.5 * 0) / 2)


def test_mse_probabilities_are_normalised_outputs(xp):
    p = MeanSquaredError().probabilities(xp.asarray([[0.9, 0.3, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(to_numpy(p), [[0.75, 0.25, 0.0], [1 / 3, 1 / 3, 1 / 3]])
