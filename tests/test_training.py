"""fit(): learning on real MNIST, reproducibility, history, the divergence guard."""
import numpy as np
import pytest

from digitnet import MLP, fit, load_mnist
from digitnet.errors import DigitnetError, TrainingDiverged
from digitnet.training import HISTORY_KEYS


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(mnist_dir, progress=False)


def blobs(n=300, seed=0):
    """Three well-separated Gaussian clusters in 4-D: any working trainer learns them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 4)).astype(np.float32) * 0.3 + np.eye(3, 4, dtype=np.float32)[y] * 2
    return x, y


def test_real_mnist_two_epochs_reaches_96_percent(mnist):
    model = MLP(sizes=(784, 256, 128, 10), random_state=0)
    history = fit(model, mnist.x_train, mnist.y_train, x_val=mnist.x_val, y_val=mnist.y_val,
                  epochs=2, learning_rate=2e-3, schedule="cosine", progress=False)
    assert model.score(mnist.x_test, mnist.y_test) >= 0.96
    assert history["train_loss"][1] < history["train_loss"][0]
    assert history["val_accuracy"][-1] >= 0.95


def test_same_seed_gives_bit_identical_weights():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = MLP(sizes=(4, 8, 3), dropout=0.2, random_state=5)
        fit(model, x, y, epochs=3, batch_size=16, random_state=5, progress=False)
        runs.append(model.params.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    other = MLP(sizes=(4, 8, 3), dropout=0.2, random_state=5)
    fit(other, x, y, epochs=3, batch_size=16, random_state=6, progress=False)
    assert not np.array_equal(runs[0], other.params)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.5), ("momentum", 0.1), ("nesterov", 0.1), ("adam", 0.01)])
def test_every_optimizer_learns(optimizer, lr):
    x, y = blobs()
    model = MLP(sizes=(4, 8, 3), random_state=0)
    fit(model, x, y, optimizer=optimizer, learning_rate=lr, epochs=20, batch_size=32, progress=False)
    assert model.score(x, y) > 0.95


def test_full_batch_gradient_descent_and_history():
    x, y = blobs()
    model = MLP(sizes=(4, 3), random_state=0)
    seen = []
    history = fit(model, x, y, x_val=x[:50], y_val=y[:50], optimizer="sgd", learning_rate=0.5,
                  epochs=30, batch_size=10_000, progress=False, callbacks=[seen.append])
    assert model.score(x, y) > 0.95
    assert set(history) == set(HISTORY_KEYS) and history["epoch"] == list(range(1, 31))
    assert seen[-1]["val_accuracy"] == history["val_accuracy"][-1]
    assert history["train_loss"] == sorted(history["train_loss"], reverse=True)   # GD descends


def test_l2_shrinks_weights_not_biases():
    x, y = blobs()
    norms = []
    for l2 in (0.0, 0.1):
        model = MLP(sizes=(4, 8, 3), random_state=0)
        fit(model, x, y, optimizer="sgd", learning_rate=0.1, epochs=10, l2=l2, progress=False)
        norms.append(np.linalg.norm(model.params[:model.n_weights]))
    assert norms[1] < 0.85 * norms[0]


def test_divergence_stops_with_advice_and_never_yields_a_nan_model():
    x, y = blobs()
    model = MLP(sizes=(4, 64, 3), random_state=0)
    with pytest.raises(TrainingDiverged, match=r"training diverged: .* the learning rate 1e\+06 is too large .*"
                                               r"try a smaller one \(e.g. --lr 100000\)"):
        fit(model, x * 1000, y, optimizer="sgd", learning_rate=1e6, epochs=5, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=0), "epochs 0 must be a whole number of at least 1"),
    (dict(batch_size=0), "batch size 0 must be a whole number of at least 1"),
    (dict(l2=-1.0), "l2 -1.0 must be zero or a small positive number"),
    (dict(schedule="step"), "unknown schedule 'step': choose one of constant, cosine, linear"),
    (dict(learning_rate=0.0), "learning rate 0.0 must be a positive number"),
])
def test_bad_settings(kwargs, message):
    x, y = blobs()
    with pytest.raises(DigitnetError, match=message):
        fit(MLP(sizes=(4, 3)), x, y, progress=False, **kwargs)


def test_cosine_schedule_ends_near_zero():
    x, y = blobs()
    model = MLP(sizes=(4, 3))
    opt = __import__("digitnet").Adam(0.01)
    fit(model, x, y, optimizer=opt, learning_rate=0.01, epochs=2, batch_size=100, schedule="cosine", progress=False)
    assert 0 < opt.learning_rate < 0.01 * 0.1
