"""The MLP: construction, the flat parameter vector, whole-network gradients, prediction."""
import importlib.util
import pickle

import numpy as np
import pytest

from digitnet import MLP, Dense, DigitnetError, ReLU, fit, save_model
from digitnet.backend import to_numpy
from digitnet.gradcheck import check_network
from digitnet.layers import Dropout, Sigmoid, Tanh


def test_default_architecture():
    model = MLP()
    assert model.sizes == [784, 256, 128, 10]
    assert model.n_parameters == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert model.params.dtype == np.float32
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]


def test_layers_are_views_into_the_flat_vector_weights_first(xp):
    model = MLP(sizes=(6, 5, 3)).to(xp)
    assert model.n_weights == 6 * 5 + 5 * 3
    np.testing.assert_array_equal(to_numpy(model.params)[:30], to_numpy(model.dense[0].W).ravel())
    model.params[...] = 0
    model.grads[...] = 1
    assert not to_numpy(model.dense[1].b).any() and to_numpy(model.dense[1].db).all()
    assert type(model.dense[0].W) is type(model.params)


def test_mse_network_ends_in_sigmoid_and_dropout_follows_hidden_layers():
    model = MLP(sizes=(4, 3, 2), activation="tanh", loss="mse", dropout=0.5)
    assert [type(layer) for layer in model.layers] == [Dense, Tanh, Dropout, Dense, Sigmoid]


def test_built_from_layers():
    model = MLP(layers=[Dense(4, 3), ReLU(), Dense(3, 2)], loss="ce")
    assert model.sizes == [4, 3, 2]
    with pytest.raises(DigitnetError, match="layer sizes do not chain: 3 outputs feed 5 inputs"):
        MLP(layers=[Dense(4, 3), Dense(5, 2)])
    with pytest.raises(DigitnetError, match=r"^sizes, activation, dropout build the layers, and layers= gives them "
                                            r"ready-made: give one or the other$"):
        MLP(sizes=(4, 2), activation="tanh", dropout=0.5, layers=[Dense(4, 2)])


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=(784,)), r"layer sizes \(784,\) must be at least two whole numbers from 1"),
    (dict(sizes=None), "layer sizes None must be"),
    (dict(sizes="784,10"), "layer sizes '784,10' must be"),
    (dict(sizes=(784, 16.7, 10)), "layer sizes .* must be at least two whole numbers"),
    (dict(sizes=(784, float("nan"), 10)), "layer sizes .* must be at least two whole numbers"),
    (dict(activation="swish"), "unknown activation 'swish'"),
    (dict(activation=["relu"]), r"unknown activation \['relu'\]"),
    (dict(loss="hinge"), "unknown loss 'hinge'"),
    (dict(init="zeros"), "unknown init 'zeros'"),
    (dict(dropout=1.5), "dropout 1.5 must be at least 0 and below 1"),
    (dict(dropout="0.2"), "dropout '0.2' must be at least 0 and below 1"),
    (dict(random_state=-1), "random_state -1 must be None or a whole number from 0"),
    (dict(random_state=1.5), "random_state 1.5 must be None or a whole number from 0"),
    (dict(sizes=np.array(5)), "layer sizes array\\(5\\) must be at least two whole numbers"),
    (dict(layers=[Dense(784, 10), ReLU]), "is not a layer: give instances such as Dense"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(DigitnetError, match=message):
        MLP(**kwargs)


@pytest.mark.parametrize("activation, loss", [("relu", "ce"), ("sigmoid", "mse"), ("tanh", "ce"),
                                              ("leaky_relu", "mse")])
def test_whole_network_gradient(xp, activation, loss):
    """Backpropagation through every layer equals finite differences of the loss."""
    rng = np.random.default_rng(0)
    sizes = (6, 5, 4, 3)
    layers = []
    template = MLP(sizes=sizes, activation=activation, loss=loss, init="glorot", random_state=1)
    for layer in template.layers:
        if isinstance(layer, Dense):
            d = Dense(layer.n_in, layer.n_out, init="glorot", rng=rng, dtype=np.float64)
            d.b[:] = rng.standard_normal(layer.n_out) * 0.1
            layer = d
        layers.append(layer)
    model = MLP(layers=layers, loss=loss).to(xp)
    assert model.params.dtype == xp.float64
    x, y = xp.asarray(rng.standard_normal((4, 6))), xp.asarray(rng.integers(0, 3, 4))
    assert max(check.error for check in check_network(model, x, y)) < 1e-6


def test_predict_proba_predict_score():
    model = MLP(sizes=(784, 32, 10), random_state=3)
    X = np.random.default_rng(0).random((50, 28, 28), dtype=np.float32)
    p = model.predict_proba(X)
    assert p.shape == (50, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(X), p.argmax(axis=1))
    np.testing.assert_array_equal(model.predict(X, batch_size=7), model.predict(X))
    assert model.score(X, p.argmax(axis=1)) == 1.0
    single = model.predict_proba(X[0])
    np.testing.assert_allclose(single[0], p[0], rtol=1e-5)


def test_activations_are_each_hidden_layer_then_the_output_in_one_pass(xp):
    """Dropout is off and the output layer's own activation (here MSE's sigmoid) is no hidden layer."""
    model = MLP(sizes=(6, 5, 4, 3), activation="tanh", loss="mse", dropout=0.5, random_state=0).to(xp)
    x = xp.asarray(np.random.default_rng(0).standard_normal((2, 6), dtype=np.float32))
    hidden, a = model.activations(x)
    d1, d2 = model.dense[0], model.dense[1]
    a1 = xp.tanh(x @ d1.W + d1.b)
    np.testing.assert_allclose(to_numpy(hidden[0]), to_numpy(a1), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(hidden[1]), to_numpy(xp.tanh(a1 @ d2.W + d2.b)), rtol=1e-6)
    assert len(hidden) == 2
    np.testing.assert_array_equal(to_numpy(a), to_numpy(model.forward(x)))


def test_predict_proba_returns_fresh_arrays():
    model = MLP(sizes=(4, 3))
    X = np.ones((2, 4))
    p1 = model.predict_proba(X)
    p2 = model.predict_proba(X * 2)
    assert not np.shares_memory(p1, p2)


@pytest.mark.parametrize("X, message", [
    (np.ones((3, 100)), r"input of shape \(3, 100\) does not fit this network: expected \(n, 784\)"),
    (np.array([["a"] * 784]), "input has dtype <U1: expected real numbers"),
    (np.zeros(10), r"input of shape \(1, 10\) does not fit|input of shape \(10,\) does not fit"),
    (np.zeros((2, 392)), r"input of shape \(2, 392\) does not fit this network"),
    ([[0.0] * 784, [0.0]], "input is not a rectangular array of numbers"),
    (np.full((1, 784), np.nan), "input contains NaN or infinite values"),
    (np.full((2, 28, 28), 255, np.uint8), r"^input holds whole numbers up to 255 \(pixel values 0-255\?\): the network "
                                          r"reads pixels scaled to \[0, 1\]; divide by 255 first \(X / 255\)"),
    ([[0] * 783 + [17]], "input holds whole numbers up to 17"),         # a CSV row read as int64
])
def test_bad_input_is_named(X, message):
    with pytest.raises(DigitnetError, match=message):
        MLP(sizes=(784, 10)).predict(X)


def test_whole_numbers_of_0_and_1_are_pixels_in_range(xp):
    """Raw pixel values are refused on every namespace; a binary image of 0s and 1s is read as it is."""
    model = MLP(sizes=(784, 10), random_state=0).to(xp)
    binary = np.random.default_rng(0).integers(0, 2, (3, 784)).astype(np.uint8)
    np.testing.assert_array_equal(model.predict(xp.asarray(binary)), model.predict(binary.astype(np.float32)))
    with pytest.raises(DigitnetError, match="input holds whole numbers up to 200"):
        model.predict(xp.asarray(binary * 200))


def test_same_seed_same_weights_other_seed_other_weights():
    np.testing.assert_array_equal(MLP(random_state=7).params, MLP(random_state=7).params)
    assert not np.array_equal(MLP(random_state=7).params, MLP(random_state=8).params)


def test_the_same_answers_on_every_namespace(xp):
    """A model moved to another namespace predicts what it predicted on NumPy; predictions come back
    as NumPy arrays."""
    model = MLP(sizes=(784, 32, 10), random_state=3)
    X = np.random.default_rng(0).random((40, 784), dtype=np.float32)
    p, labels = model.predict_proba(X), model.predict(X)
    moved = model.to(xp)
    assert moved is model and model.device in ("cpu", "array_api_strict")
    np.testing.assert_allclose(model.predict_proba(X), p, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(X), labels)
    assert isinstance(model.predict(xp.asarray(X)), np.ndarray)
    assert model.to("cpu").score(X, labels) == 1.0


def test_unknown_device_is_named():
    with pytest.raises(DigitnetError, match="unknown device 'tpu': choose cpu or gpu"):
        MLP(sizes=(4, 3), device="tpu")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_gpu_without_cupy_says_how_to_install_it():
    with pytest.raises(DigitnetError, match=r"--device gpu needs CuPy, which is not installed: pip install"):
        MLP(sizes=(4, 3), device="gpu")


def test_seeds_and_sizes_numpy_makes_are_taken():
    same = MLP(sizes=(4, 8, 3), random_state=np.random.default_rng(5)).params
    numpy_made = MLP(sizes=[4.0, np.int64(8), np.array(3)], random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(same, numpy_made.params)
    assert MLP(sizes=(4, 8, 3), dropout=np.array(0.2)).layers[2].rate == 0.2


def test_score_and_loss_check_the_labels_as_fit_does():
    model, x = MLP(sizes=(4, 8, 3), random_state=0), np.zeros((6, 4), np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(DigitnetError, match=r"labels of shape \(6, 1\): expected one class number per image"):
        model.score(x, y[:, None])
    with pytest.raises(DigitnetError, match="images without labels"):
        model.score(x, None)
    with pytest.raises(DigitnetError, match="label -1 is not a class of this network"):
        model.loss_and_accuracy(x, -np.ones(6, int))
    with pytest.raises(DigitnetError, match="label 1e\\+300 is not a class"):
        model.score(x, np.full(6, 1e300))
    with pytest.raises(DigitnetError, match="no images: give at least one"):
        model.score(np.zeros((0, 4)), [])
    assert model.score(x, y) == model.loss_and_accuracy(x, y)[1]
    assert model.score(x[:2], [True, False]) == model.score(x[:2], [1, 0])         # bool labels are 0 and 1


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True])
def test_a_prediction_batch_size_must_be_a_whole_number(batch_size):
    with pytest.raises(DigitnetError, match="batch size .* must be a whole number of at least 1"):
        MLP(sizes=(4, 3)).predict_proba(np.zeros((2, 4)), batch_size=batch_size)


def test_a_weight_array_replaced_instead_of_written_into_is_refused_before_training_or_saving(tmp_path):
    """`layer.W = W0` leaves model.params (what the optimizer updates and files save) without W0: that
    layer would never learn and a saved file would lose W0. Writing into it, `layer.W[...] = W0`, works."""
    x, y = np.random.default_rng(0).random((30, 4), dtype=np.float32), np.arange(30) % 3
    model = MLP(sizes=(4, 8, 3), random_state=0)
    W0 = np.full((8, 3), 0.5, np.float32)
    model.layers[2].W = W0
    message = r"^model.layers\[2\].W was replaced by a new array, .* write into it instead, model.layers\[2\].W\[...\]"
    with pytest.raises(DigitnetError, match=message):
        fit(model, x, y, epochs=1, verbose=0)
    with pytest.raises(DigitnetError, match=message):
        save_model(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    model = MLP(sizes=(4, 8, 3), random_state=0)
    model.layers[2].W[...] = W0
    fit(model, x, y, epochs=1, verbose=0)
    assert not np.array_equal(model.layers[2].W, W0)             # it learned
    model.params = model.params.copy()
    with pytest.raises(DigitnetError, match=r"^model.params was replaced by a new array"):
        fit(model, x, y, epochs=1, verbose=0)


def test_one_image_is_scored_against_one_label_and_huge_inputs_warn_nothing(recwarn):
    model = MLP(sizes=(784, 10), random_state=0)
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    digit = int(model.predict(image)[0])
    assert model.score(image, digit) == 1.0 and model.score(image.ravel(), (digit + 1) % 10) == 0.0
    with pytest.raises(DigitnetError, match="beyond float32's range"):
        model.predict(np.full((1, 784), 1e300))
    assert not recwarn.list                                     # no NumPy overflow warning before the message


def test_a_channel_axis_of_one_is_dropped_and_label_mistakes_get_a_hint():
    model = MLP(sizes=(784, 10), random_state=0)
    x = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x[..., None]), model.predict(x))            # (n, 28, 28, 1)
    np.testing.assert_array_equal(model.predict(x[0][..., None]), model.predict(x[:1]))     # (28, 28, 1)
    with pytest.raises(DigitnetError, match=r"shape \(3, 10\): .*; for one-hot rows, y.argmax\(axis=1\) gives them$"):
        model.score(x, np.eye(10)[[1, 2, 3]])
    with pytest.raises(DigitnetError, match=r"not <U1 values \(digits as text: y.astype\(int\) makes them numbers\)$"):
        model.score(x, np.array(list("123")))


def test_a_layer_object_in_two_places_is_refused_and_a_reused_first_layer_learns_again():
    """A layer keeps what its forward pass saw: one ReLU in two places would backpropagate the wrong
    mask. And a Dense that was an earlier network's first layer (no input gradient) must pass
    its gradient back when it is not first any more."""
    relu = ReLU()
    with pytest.raises(DigitnetError, match="one layer object is in two places of layers="):
        MLP(layers=[Dense(6, 5), relu, Dense(5, 5), relu, Dense(5, 3)])
    rng = np.random.default_rng(1)
    first = MLP(layers=[Dense(5, 3, rng=rng, dtype=np.float64)]).dense[0]
    model = MLP(layers=[Dense(6, 5, rng=rng, dtype=np.float64), ReLU(), first])
    assert model.dense[1].input_grad and not model.dense[0].input_grad
    x, y = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    assert max(check.error for check in check_network(model, x, y)) < 1e-6


def test_a_shallow_copy_leaves_the_original_trainable():
    import copy
    x, y = np.random.default_rng(0).random((30, 4), dtype=np.float32), np.arange(30) % 3
    model = MLP(sizes=(4, 8, 3), random_state=0)
    copy.copy(model)                                   # rebinds the shared layers to views of the same memory
    fit(model, x, y, epochs=1, verbose=0)


def test_a_network_keeps_no_data_once_it_has_predicted_and_pickles_without_it():
    """forward keeps its input (Dense) or output (activations) for backward. After a prediction there is
    no backward: nothing is kept, so the network does not hold the last batch alive (which, as a view,
    held every row predicted). A pickle holds the parameters, not the batch fit saw last (with a full
    batch, every training row). Training still works after either."""
    rng = np.random.default_rng(0)
    x, y = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    model = MLP(sizes=(784, 16, 10), dropout=0.2, random_state=0)
    fit(model, x, y, epochs=1, batch_size=300, verbose=0)                 # the first layer saw all of x
    kept = {(type(layer).__name__, name) for layer in model.layers for name in layer.kept if hasattr(layer, name)}
    assert kept == {("Dense", "x"), ("ReLU", "y"), ("Dropout", "mask")}
    copy = pickle.loads(pickle.dumps(model))
    assert not any(hasattr(layer, name) for layer in copy.layers for name in layer.kept)
    assert len(pickle.dumps(model)) < 5 * model.params.nbytes     # weights and gradients, not 300 x 784 pixels
    assert np.array_equal(copy.predict(x), model.predict(x))
    assert not any(hasattr(layer, name) for layer in model.layers for name in layer.kept)
    model.activations(x[:1])
    assert not any(hasattr(layer, name) for layer in model.layers for name in layer.kept)
    for network in (model, copy):
        assert np.isfinite(fit(network, x, y, epochs=1, batch_size=100, verbose=0)["train_loss"][0])
