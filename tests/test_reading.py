"""Reading many rows in two threads (parallel.two_threads): the same answers as one thread,
errors from either thread, and weights changed between calls seen by both."""
import os
import signal

import numpy as np
import pytest

from digitnet import MLP, Dense, DigitnetError, LeakyReLU
from digitnet.parallel import THREAD_ROWS, two_threads


def images(n, seed=0):
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def test_two_threads_cover_every_row_once_at_a_multiple_of_step():
    seen = []
    two_threads(lambda thread, rows: seen.append((thread, rows)), 5000, step=512)
    if len(seen) == 2:                          # a machine with two CPUs or more
        assert sorted(seen, key=lambda s: s[0]) == [(0, slice(0, 2560)), (1, slice(2560, 5000))]
    else:
        assert seen == [(0, slice(0, 5000))]
    seen.clear()
    two_threads(lambda thread, rows: seen.append((thread, rows)), THREAD_ROWS - 1)
    assert seen == [(0, slice(0, THREAD_ROWS - 1))]


def test_two_threads_give_the_same_answers_as_one():
    model = MLP(sizes=(784, 32, 10), random_state=1)
    X, y = images(3000), np.arange(3000) % 10
    one_thread = 10**6                          # one batch of everything: no second thread
    np.testing.assert_array_equal(model.predict(X), model.predict(X, batch_size=one_thread))
    np.testing.assert_allclose(model.predict_proba(X), model.predict_proba(X, batch_size=one_thread),
                               rtol=1e-5, atol=1e-7)
    loss, accuracy = model.loss_and_accuracy(X, y)
    loss_1, accuracy_1 = model.loss_and_accuracy(X, y, batch_size=one_thread)
    assert accuracy == accuracy_1 and loss == pytest.approx(loss_1, rel=1e-5)


@pytest.mark.parametrize("row", [10, 2999])     # in the first thread's half, and in the second's
def test_a_nan_in_either_half_is_named(row):
    X = images(3000)
    X[row, 5] = np.nan
    with pytest.raises(DigitnetError, match="input contains NaN or infinite values"):
        MLP(sizes=(784, 16, 10)).predict(X)


def test_both_threads_see_weights_and_settings_changed_between_calls():
    model = MLP(layers=[Dense(784, 16), LeakyReLU(0.01),
                        Dense(16, 10)])
    X = images(3000)
    model.predict(X)
    model.params[...] = np.random.default_rng(5).standard_normal(model.params.shape)
    model.layers[1].alpha = 0.3
    expected = model.predict(X, batch_size=10**6)
    np.testing.assert_array_equal(model.predict(X), expected)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_reads_with_a_thread_of_its_own():
    """The parent's helper thread does not exist in a forked child: the child must not wait for it."""
    model, X = MLP(sizes=(784, 16, 10)), images(3000)
    expected = model.predict(X)                 # the parent has its helper thread now
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)                        # a child that hangs dies instead
        ok = np.array_equal(model.predict(X), expected)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_threads_reading_at_once_leave_blas_as_they_found_it():
    """Two threads, each with its own copy of a model, predicting at the same time: the one-BLAS-
    thread limit is set by the first to enter and lifted by the last to leave."""
    import copy
    import threading

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    before = blas_threads()
    model, X = MLP(sizes=(784, 16, 10)), images(3000)
    expected = model.predict(X, batch_size=10**6)
    copies = [copy.deepcopy(model) for _ in range(3)]
    results = [None] * 3

    def read(k):
        for _ in range(20):
            results[k] = copies[k].predict(X)
    threads = [threading.Thread(target=read, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert blas_threads() == before
