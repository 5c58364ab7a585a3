"""Reading many rows in two threads (parallel.two_threads): the same answers as one thread,
errors from either thread, and weights changed between calls seen by both."""
import copy
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from digitnet import MLP, Dense, DigitnetError, LeakyReLU, parallel
from digitnet.parallel import THREAD_ROWS, two_threads


def images(n, seed=0):
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def in_forked_child(check):
    """Whether check() returns True in a forked child. The child leaves by os._exit whatever
    happens, and one that hangs is stopped by an alarm after 20 s."""
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)
        ok = False
        try:
            ok = bool(check())
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


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
    model = MLP(layers=[Dense(784, 16), LeakyReLU(0.01), Dense(16, 10)])
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
    assert in_forked_child(lambda: np.array_equal(model.predict(X), expected))


def test_threads_reading_at_once_leave_blas_as_they_found_it():
    """Three threads, each with its own copy of a model, predicting at the same time: the one-BLAS-
    thread limit is set by the first to enter and lifted by the last to leave."""
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


def test_the_helper_thread_works_under_the_callers_errstate():
    """np.errstate lives in a context variable; the helper must run in the caller's context."""
    model, X = MLP(sizes=(784, 16, 10)), images(3000)
    X[2999] = 1e38                              # overflows in the second thread's half only
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        model.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):
            model.predict(X)


def test_a_subclass_forward_is_used_by_both_threads():
    class Shifted(MLP):
        def forward(self, x, training=False):
            return super().forward(x, training) + np.arange(10, dtype=np.float32) * 100

    model, X = Shifted(sizes=(784, 16, 10)), images(3000)
    np.testing.assert_array_equal(model.predict(X), np.full(3000, 9))


def test_reading_inside_the_helper_thread_does_not_wait_for_itself():
    seen = []

    def outer(thread, rows):
        inner = []
        two_threads(lambda t, r: inner.append(t), 5000)
        seen.append((thread, sorted(inner)))

    runner = threading.Thread(target=two_threads, args=(outer, 5000), daemon=True)
    runner.start()
    runner.join(timeout=20)
    assert not runner.is_alive(), "two_threads inside the helper thread waited for itself"
    if len(seen) == 2:                          # two CPUs: the helper read its inner rows alone
        assert sorted(seen) == [(0, [0, 1]), (1, [0])]


def test_reading_still_works_while_the_interpreter_shuts_down():
    """A thread that is still reading when the main thread ends, and an atexit handler that reads:
    by then threads take no new work, so both read alone."""
    script = textwrap.dedent("""
        import atexit, threading, time
        import numpy as np
        from digitnet import MLP
        model, X = MLP(sizes=(784, 16, 10)), np.random.default_rng(0).random((3000, 784), np.float32)
        expected = model.predict(X, batch_size=10**6)
        def late():
            time.sleep(0.5)
            print("thread", (model.predict(X) == expected).all(), flush=True)
        atexit.register(lambda: print("atexit", (model.predict(X) == expected).all(), flush=True))
        threading.Thread(target=late).start()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["thread True", "atexit True"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_inside_the_blas_limit_starts_afresh():
    """The parent's helper thread and its place in the BLAS limit are not the child's."""
    model, X = MLP(sizes=(784, 16, 10)), images(3000)
    expected = model.predict(X)
    with parallel._one_blas_thread():
        assert in_forked_child(lambda: parallel._one_thread["users"] == 0 and not parallel._helper
                               and np.array_equal(model.predict(X), expected))
