"""Two halves per batch, two processes per step: same numbers, and failures that stop cleanly."""
import copy
import os
import signal

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from digitnet import MLP, SGD, Adam, Dense, DigitnetError, ReLU, fit
from digitnet.layers import Layer
from digitnet.parallel import Pair, two_processes_possible
from digitnet.training import SPLIT_AT, Halves, _forward_backward

needs_two = pytest.mark.skipif(not two_processes_possible(), reason="two processes need Linux, x86-64, 2 CPUs")


def blobs(n=301, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 4)).astype(np.float32) * 0.3 + np.eye(3, 4, dtype=np.float32)[y] * 2
    return x, y


def test_the_halves_add_up_to_the_whole_batch_gradient():
    x, y = blobs(131)
    model = MLP(sizes=(4, 8, 3), random_state=0)
    model.backward(model.loss.gradient(model.forward(x, training=True), y))
    whole = model.grads.copy()

    step = Halves(model, Adam(), x, y, batch_size=131, l2=0.0, learning_rate=1e-3)
    assert step.count == 2
    for half in (0, 1):
        step.gather(np.arange(131), half)
        loss_sum, _ = _forward_backward(step.twins[half], *step.batch[half], 131)
        assert loss_sum > 0
    np.testing.assert_allclose(step.grads[0] + step.grads[1], whole, rtol=1e-5, atol=1e-7)
    assert len(step.batch[0][1]) == 66 and len(step.batch[1][1]) == 65


def test_a_small_batch_is_not_cut():
    x, y = blobs(SPLIT_AT - 1)
    step = Halves(MLP(sizes=(4, 3)), Adam(), x, y, batch_size=SPLIT_AT - 1, l2=0.0, learning_rate=1e-3)
    step.gather(np.arange(SPLIT_AT - 1), 0)
    assert step.count == 1 and len(step.batch[0][1]) == SPLIT_AT - 1


@needs_two
@pytest.mark.parametrize("optimizer", ["adam", "nesterov"])
def test_two_processes_give_bit_identical_weights_to_one(optimizer):
    """With one BLAS thread in both cases the arithmetic is the same, operation for operation.
    301 = 2 * 128 + 45 rows, so the last batch is uneven; dropout and L2 are on."""
    x, y = blobs()
    runs = []
    for n_jobs in (1, 2):
        model = MLP(sizes=(4, 16, 8, 3), dropout=0.2, random_state=3)
        with threadpool_limits(1):
            history = fit(model, x, y, optimizer=optimizer, learning_rate=0.01, epochs=4, batch_size=128,
                          l2=1e-3, random_state=3, progress=False, n_jobs=n_jobs)
        runs.append((model.params.copy(), history["train_loss"]))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


@needs_two
def test_a_batch_of_one_leaves_the_second_half_empty():
    x, y = blobs(257)
    model = MLP(sizes=(4, 3), random_state=0)
    history = fit(model, x, y, epochs=2, batch_size=128, progress=False)   # batches of 128, 128, 1
    assert np.isfinite(history["train_loss"]).all() and np.isfinite(model.params).all()


class FailsInTheChild(Layer):
    """An identity layer that raises in any process but the one that made it."""

    def __init__(self):
        self.parent = os.getpid()

    def forward(self, x, training=False):
        if os.getpid() != self.parent:
            raise RuntimeError("boom")
        return x

    def backward(self, dy):
        return dy


def no_children_left():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@needs_two
def test_an_error_in_the_second_process_stops_training_with_its_message():
    x, y = blobs()
    model = MLP(layers=[Dense(4, 8), FailsInTheChild(), ReLU(), Dense(8, 3)])
    with pytest.raises(DigitnetError, match=r"the second training process stopped: RuntimeError: boom; "
                                            r"train in one process with --jobs 1 \(n_jobs=1\)"):
        fit(model, x, y, epochs=1, batch_size=128, progress=False)
    assert no_children_left()
    fit(model, x, y, epochs=1, batch_size=32, progress=False, n_jobs=1)   # one process: no child to fail


@needs_two
def test_an_error_in_this_process_stops_the_child():
    x, y = blobs()

    def stop(record):
        raise KeyError("callback")

    with pytest.raises(KeyError, match="callback"):
        fit(MLP(sizes=(4, 3)), x, y, epochs=3, progress=False, callbacks=[stop])
    assert no_children_left()


def test_one_process_pair_runs_both_halves():
    with Pair(parallel=False) as pair:
        assert pair.ranks == (0, 1) and pair.is_main and pair.my_part(100) == slice(0, 100)
        pair.barrier()                      # nothing to wait for


def test_bad_n_jobs_and_an_optimizer_from_another_network():
    x, y = blobs()
    with pytest.raises(DigitnetError, match="n_jobs 3 must be 1 or 2"):
        fit(MLP(sizes=(4, 3)), x, y, n_jobs=3, progress=False)
    opt = Adam()
    fit(MLP(sizes=(4, 3)), x, y, optimizer=opt, epochs=1, progress=False)
    with pytest.raises(DigitnetError, match="this optimizer was used for 15 parameters, not 67: "
                                            "make a new one for this network"):
        fit(MLP(sizes=(4, 8, 3)), x, y, optimizer=opt, epochs=1, progress=False)


def test_when_no_process_can_be_forked_both_halves_run_here(monkeypatch):
    def fork():
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", fork)
    x, y = blobs()
    with Pair(parallel=True) as pair:
        assert pair.ranks == (0, 1) and not pair.parallel
    history = fit(MLP(sizes=(4, 3)), x, y, epochs=2, progress=False)
    assert np.isfinite(history["train_loss"]).all()


@needs_two
def test_a_copied_model_and_optimizer_still_train_alike_in_one_process_and_two():
    """Shared memory is not carried by copies: a deep copy trains like the original would."""
    x, y = blobs()
    model, opt = MLP(sizes=(4, 16, 3), random_state=1), Adam(0.01)
    fit(model, x, y, optimizer=opt, epochs=1, progress=False)          # makes shared memory and state
    runs = []
    for n_jobs in (1, 2):
        twin_model, twin_opt = copy.deepcopy(model), copy.deepcopy(opt)
        with threadpool_limits(1):
            for _ in range(2):                                        # the optimizer's state carries over
                fit(twin_model, x, y, optimizer=twin_opt, epochs=1, progress=False, n_jobs=n_jobs)
        runs.append(twin_model.params.copy())
    np.testing.assert_array_equal(runs[0], runs[1])


@needs_two
def test_training_works_when_the_program_ignores_sigchld():
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)        # the kernel reaps children itself
    try:
        x, y = blobs()
        history = fit(MLP(sizes=(4, 3)), x, y, epochs=2, progress=False)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert len(history["train_loss"]) == 2


def test_labels_outside_the_classes_are_refused():
    x, y = blobs()
    y[7] = 3
    with pytest.raises(DigitnetError, match="label 3 is not a class of this network: labels must be 0 to 2"):
        fit(MLP(sizes=(4, 3)), x, y, progress=False)


def test_a_callback_may_change_the_weights():
    x, y = blobs()
    model = MLP(sizes=(4, 3))

    def zero(record):
        model.params[...] = 0

    fit(model, x, y, epochs=1, progress=False, callbacks=[zero])
    assert not model.params.any()


def test_an_optimizer_whose_step_takes_no_part_trains_in_one_process():
    class Halving(SGD):
        def step(self, params, grads):                      # the old signature
            params -= 0.5 * grads

    x, y = blobs()
    model = MLP(sizes=(4, 3), random_state=0)
    fit(model, x, y, optimizer=Halving(), epochs=20, progress=False)
    assert model.score(x, y) > 0.95
