"""train_step and fit(): one step by the book, learning on real MNIST, the same training on every
array namespace, reproducibility, history, live parameters, the divergence guard."""
import math
import re
import threading

import numpy as np
import pytest

from digitnet import MLP, SGD, Adam, fit, load_mnist
from digitnet.backend import to_numpy
from digitnet.errors import TrainingDiverged
from digitnet.losses import MeanSquaredError, SoftmaxCrossEntropy
from digitnet.optimizers import OPTIMIZERS
from digitnet.training import HISTORY_KEYS, train_step


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
                  epochs=2, learning_rate=2e-3, schedule="cosine", verbose=0)
    assert model.score(mnist.x_test, mnist.y_test) >= 0.96
    assert history["train_loss"][1] < history["train_loss"][0]
    assert history["val_accuracy"][-1] >= 0.95


def test_same_seed_gives_bit_identical_weights():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = MLP(sizes=(4, 8, 3), dropout=0.2, random_state=5)
        fit(model, x, y, epochs=3, batch_size=16, random_state=5, verbose=0)
        runs.append(model.params.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    other = MLP(sizes=(4, 8, 3), dropout=0.2, random_state=5)
    fit(other, x, y, epochs=3, batch_size=16, random_state=6, verbose=0)
    assert not np.array_equal(runs[0], other.params)


RATES = {"sgd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adam": 0.01}       # a new optimizer needs its rate here


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_learns(optimizer):
    x, y, lr = *blobs(), RATES[optimizer]
    model = MLP(sizes=(4, 8, 3), random_state=0)
    fit(model, x, y, optimizer=optimizer, learning_rate=lr, epochs=20, batch_size=32, verbose=0)
    assert model.score(x, y) > 0.95


def test_full_batch_gradient_descent_and_history():
    x, y = blobs()
    model = MLP(sizes=(4, 3), random_state=0)
    seen = []
    history = fit(model, x, y, x_val=x[:50], y_val=y[:50], optimizer="sgd", learning_rate=0.5,
                  epochs=30, batch_size=10_000, verbose=0, callbacks=[seen.append])
    assert model.score(x, y) > 0.95
    assert set(history) == set(HISTORY_KEYS) and history["epoch"] == list(range(1, 31))
    assert seen[-1]["val_accuracy"] == history["val_accuracy"][-1]
    assert history["train_loss"] == sorted(history["train_loss"], reverse=True)   # GD descends


def test_l2_shrinks_weights_not_biases():
    x, y = blobs()
    norms = []
    for l2 in (0.0, 0.1):
        model = MLP(sizes=(4, 8, 3), random_state=0)
        fit(model, x, y, optimizer="sgd", learning_rate=0.1, epochs=10, l2=l2, verbose=0)
        norms.append(np.linalg.norm(model.params[:model.n_weights]))
    assert norms[1] < 0.85 * norms[0]


def test_a_loss_spike_between_two_looks_at_the_loss_is_caught():
    """The guard reads the loss every few steps (each read waits for a GPU); it judges the mean loss
    since the last read, so a batch that explodes and a network that settles back are caught."""
    x, y = blobs()
    model = MLP(sizes=(4, 8, 3), random_state=0)
    model.loss = ScaledAt({3: 1e4})                                          # batch 3 only: not a look
    with pytest.raises(TrainingDiverged, match=r"the loss went from \S+ to \S+e\+03 by epoch 1, batch 11"):
        fit(model, x, y, batch_size=10, epochs=1, verbose=0)


class ScaledAt(SoftmaxCrossEntropy):
    """Cross-entropy whose value (not its gradient) is scaled at the given calls (from 1)."""

    def __init__(self, scales):
        self.scales, self.calls = scales, 0

    def value_and_gradient(self, z, labels):
        value, gradient = super().value_and_gradient(z, labels)
        self.calls += 1
        return value * self.scales.get(self.calls, 1.0), gradient


def test_a_trained_network_fine_tuned_is_not_judged_by_its_tiny_first_loss():
    """A fine-tuned network's first loss can be 1e-4; a later batch at 0.02 has not diverged. The
    yardstick is the loss of a network that knows nothing (log 3 here) when that is more."""
    x, y = blobs()
    model = MLP(sizes=(4, 8, 3), random_state=0)
    model.loss = ScaledAt({1: 1e-4})
    assert fit(model, x, y, batch_size=10, epochs=2, verbose=0)["epoch"] == [1, 2]      # not stopped
    assert SoftmaxCrossEntropy().uninformed(10) == pytest.approx(math.log(10))
    assert MeanSquaredError().uninformed(10) == pytest.approx(MeanSquaredError().value(np.full((1, 10), 0.5),
                                                                                       np.array([3])))


def test_fit_leaves_the_optimizers_own_rate_as_it_found_it():
    x, y = blobs()
    opt = Adam(0.006)
    fit(MLP(sizes=(4, 8, 3)), x, y, optimizer=opt, schedule="cosine", epochs=2, verbose=0)
    assert opt.learning_rate == 0.006


def test_divergence_from_a_huge_l2_penalty_names_it():
    x, y = blobs()
    with pytest.raises(TrainingDiverged, match=r"no rate down to \S+ trained 20 steps: check that the inputs are "
                                               r"scaled to \[0, 1\], and that l2 1e\+300 is small \(1e-4, say\)$"):
        fit(MLP(sizes=(4, 8, 3), random_state=0), x, y, l2=1e300, epochs=1, verbose=0)


@pytest.mark.parametrize("optimizer, rate", [("sgd", 1e9), ("adam", 1e9), ("nesterov", 1e4)])
def test_divergence_names_a_rate_that_trains(optimizer, rate):
    """Not just rate / 10, which diverges again from 1e9: a rate seen to train, which does."""
    x, y = blobs()
    model = MLP(sizes=(4, 64, 3), random_state=0)
    start = model.params.copy()
    with pytest.raises(TrainingDiverged, match=rf"training diverged: the loss went from .* by epoch 1, batch \d+; "
                                               rf"the learning rate {re.escape(f'{rate:g}')} is too large for "
                                               r"this network; \S+ trained 20 steps without diverging: "
                                               r"try learning rate (\S+) \(--lr \1\)$") as error:
        fit(model, x, y, optimizer=optimizer, learning_rate=rate, epochs=5, verbose=0)
    np.testing.assert_array_equal(model.params, start)            # not NaN: the weights it started from
    suggested = float(re.search(r"try learning rate (\S+) ", str(error.value)).group(1))
    assert suggested <= rate / 10
    fit(model, x, y, optimizer=optimizer, learning_rate=suggested, epochs=5, verbose=0)
    assert model.score(x, y) > 0.9


def test_divergence_leaves_a_given_optimizer_as_it_started():
    """No momentum or moments of the steps that diverged: the same object trains at a smaller rate."""
    x, y = blobs()
    model = MLP(sizes=(4, 64, 3), random_state=0)
    for opt in (SGD(1e9, momentum=0.9), Adam(1e9)):
        fit(model, x, y, optimizer=opt, learning_rate=1e-3, epochs=1, verbose=0)          # some state of its own
        before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(opt).items()}
        with pytest.raises(TrainingDiverged):
            fit(model, x, y, optimizer=opt, learning_rate=1e9, epochs=2, verbose=0)
        assert vars(opt).keys() == before.keys()
        for key, value in before.items():
            if key != "learning_rate":                         # fit leaves the rate it was given
                np.testing.assert_array_equal(getattr(opt, key), value, err_msg=key)


def test_divergence_that_no_rate_cures_points_at_the_data():
    x, y = blobs()
    with pytest.raises(TrainingDiverged, match=r"no rate down to 1e-06 trained 20 steps: check that the inputs "
                                               r"are scaled to \[0, 1\]"):
        fit(MLP(sizes=(4, 64, 3)), x * 1e30, y, optimizer="sgd", learning_rate=1.0, epochs=2, verbose=0)


def test_cosine_schedule_ends_near_zero():
    x, y = blobs()
    model = MLP(sizes=(4, 3))
    opt, rates = Adam(0.01), []
    fit(model, x, y, optimizer=opt, learning_rate=0.01, epochs=2, batch_size=100, schedule="cosine", verbose=0,
        callbacks=[lambda record: rates.append(opt.learning_rate)])                 # the epoch's last step's
    assert 0.01 * 0.5 < rates[0] < 0.01 and 0 < rates[1] < 0.01 * 0.1


def test_train_step_is_forward_loss_backward_update(xp):
    """After one step, grads hold the gradient of the batch loss at the weights before the step,
    and params have moved by exactly the optimizer's update of that gradient."""
    x, y = blobs(16)
    model = MLP(sizes=(4, 8, 3), random_state=1).to(xp)
    x, y = xp.asarray(x), xp.asarray(y)
    before = to_numpy(model.params).copy()
    reference = MLP(sizes=(4, 8, 3), random_state=1).to(xp)
    a = reference.forward(x, training=True)
    expected_loss, da = reference.loss.value_and_gradient(a, y)
    reference.backward(da)

    loss, right = train_step(model, SGD(0.5), x, y)
    assert float(loss) == pytest.approx(float(expected_loss), rel=1e-6)
    assert int(right) == int(np.sum(to_numpy(a).argmax(axis=1) == to_numpy(y)))
    np.testing.assert_allclose(to_numpy(model.grads), to_numpy(reference.grads), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(to_numpy(model.params), before - 0.5 * to_numpy(reference.grads), rtol=1e-5,
                               atol=1e-7)


def test_l2_adds_l2_times_w_to_the_weights_gradient_only():
    x, y = blobs(16)
    plain, decayed = MLP(sizes=(4, 8, 3), random_state=1), MLP(sizes=(4, 8, 3), random_state=1)
    train_step(plain, SGD(1e-9), x, y)
    train_step(decayed, SGD(1e-9), x, y, l2=0.1)
    n_w = plain.n_weights
    np.testing.assert_allclose(decayed.grads[:n_w] - plain.grads[:n_w], 0.1 * plain.params[:n_w], rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_array_equal(decayed.grads[n_w:], plain.grads[n_w:])


def test_fit_trains_alike_on_every_namespace(xp):
    """The same training on the strict Array API namespace as on NumPy (the update there is the
    reference, on NumPy the fused loop: the same numbers up to rounding)."""
    x, y = blobs()
    histories, weights = [], []
    for namespace in (np, xp):
        model = MLP(sizes=(4, 16, 3), random_state=2).to(namespace)
        x_val, y_val = namespace.asarray(x[:60]), namespace.asarray(y[:60])     # already on the device
        histories.append(fit(model, x, y, x_val=x_val, y_val=y_val, optimizer="adam", learning_rate=0.01,
                             epochs=3, batch_size=32, l2=1e-4, random_state=2, verbose=0))
        weights.append(to_numpy(model.params))
    np.testing.assert_allclose(weights[1], weights[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(histories[1]["train_loss"], histories[0]["train_loss"], rtol=1e-4)
    assert histories[1]["val_accuracy"] == histories[0]["val_accuracy"]


def test_callbacks_see_the_live_weights_and_gradient():
    x, y = blobs()
    model = MLP(sizes=(4, 8, 3), random_state=0)
    seen = []
    fit(model, x, y, epochs=2, batch_size=50, verbose=0,
        callbacks=[lambda record: seen.append((model.params.copy(), model.grads.copy()))])
    np.testing.assert_array_equal(seen[-1][0], model.params)
    assert not np.array_equal(seen[0][0], seen[1][0]) and np.abs(seen[-1][1]).max() > 0


def test_a_callback_may_change_the_weights():
    x, y = blobs()
    model = MLP(sizes=(4, 8, 3), random_state=0)

    def zero_the_first_bias(record):
        model.dense[0].b[...] = 0

    fit(model, x, y, epochs=2, batch_size=300, optimizer="sgd", learning_rate=1e-9, verbose=0,
        callbacks=[zero_the_first_bias])
    assert np.abs(model.dense[0].b).max() < 1e-6


def test_any_object_with_step_and_learning_rate_is_an_optimizer():
    class HalfSGD:
        learning_rate = 1.0

        def step(self, params, grads):
            params -= 0.5 * self.learning_rate * grads

    x, y = blobs()
    model = MLP(sizes=(4, 8, 3), random_state=0)
    fit(model, x, y, optimizer=HalfSGD(), learning_rate=0.5, epochs=20, batch_size=32, verbose=0)
    assert model.score(x, y) > 0.95


def test_training_starts_no_thread_of_its_own():
    x, y = blobs()
    before = threading.active_count()
    fit(MLP(sizes=(4, 8, 3)), x, y, epochs=2, verbose=0, optimizer=Adam(0.01))
    MLP(sizes=(4, 8, 3)).predict(np.ones((5000, 4), np.float32))
    assert threading.active_count() == before


def test_train_step_copies_a_numpy_batch_to_the_models_device(xp):
    x, y = blobs(8)
    given_there, given_numpy = MLP(sizes=(4, 3)).to(xp), MLP(sizes=(4, 3)).to(xp)
    loss_there, _ = train_step(given_there, SGD(0.1), xp.asarray(x), xp.asarray(y))
    loss_numpy, _ = train_step(given_numpy, SGD(0.1), x, y)
    assert float(loss_there) == float(loss_numpy)
    np.testing.assert_array_equal(to_numpy(given_there.params), to_numpy(given_numpy.params))


def test_a_callback_that_returns_false_ends_training_with_its_history():
    x, y = blobs()
    seen = []

    def until_two(record):
        seen.append(record["epoch"])
        return None if record["epoch"] < 2 else False       # None (or anything but False): go on
    history = fit(MLP(sizes=(4, 8, 3)), x, y, epochs=5, verbose=0, callbacks=[until_two, lambda r: 0])
    assert seen == [1, 2] and history["epoch"] == [1, 2]
