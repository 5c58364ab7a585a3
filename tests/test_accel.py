"""The fused Adam update (accel.py) against the reference in plain array operations."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from digitnet import Adam, accel
from digitnet.optimizers import adam_update


def adam_run(update, dtype, steps=20, n=10_001, seed=0):
    """How far the parameters moved, and the moments, after `steps` updates with random gradients
    of many scales."""
    rng = np.random.default_rng(seed)
    start = rng.standard_normal(n).astype(dtype)
    p, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t in range(1, steps + 1):
        g = (rng.standard_normal(n) * 10.0 ** rng.integers(-6, 3, n)).astype(dtype)
        kept = g.copy()
        update(p, g, m, v, 1e-3 * (1 + t % 3), 0.9, 0.999, 1e-8, t)
        np.testing.assert_array_equal(g, kept)
    return p - start, m, v


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_adam_matches_the_reference(dtype):
    fused = accel.fused_adam(np.zeros(1, dtype))
    assert fused is not None, "numba is a dependency: the fused update must exist for NumPy arrays"
    single = dtype == np.float32            # the two fold the bias corrections differently: rounding differs
    for got, want in zip(adam_run(fused, dtype), adam_run(adam_update, dtype)):
        np.testing.assert_allclose(got, want, rtol=1e-3 if single else 1e-10, atol=1e-6 if single else 1e-12)


def test_a_nan_gradient_makes_nan_weights_as_in_the_reference():
    """The fused loop's flush of tiny moments must not swallow a NaN (fit's last check needs it)."""
    for update in (accel.fused_adam(np.zeros(1, np.float32)), adam_update):
        p, m, v = np.ones(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32)
        update(p, np.array([np.nan, 1e-35, 1], np.float32), m, v, 1e-3, 0.9, 0.999, 1e-8, 1)
        assert np.isnan(p[0]) and np.isnan(m[0]) and np.isnan(v[0]) and np.isfinite(p[1:]).all()


def test_tiny_moments_become_zero_not_subnormal():
    p, m, v = np.ones(2, np.float32), np.array([1e-31, 1.0], np.float32), np.array([1e-33, 1.0], np.float32)
    accel.fused_adam(p)(p, np.zeros(2, np.float32), m, v, 1e-3, 0.9, 0.999, 1e-8, 5)
    assert m[0] == 0 and v[0] == 0 and m[1] == np.float32(0.9) and v[1] == np.float32(0.999)


def test_only_a_contiguous_vector_takes_the_fused_loop():
    assert accel.fused_adam(np.zeros((2, 3), np.float32)) is None
    assert accel.fused_adam(np.zeros(6, np.float32)[::2]) is None
    assert accel.fused_adam(np.zeros(6, np.int64)) is None
    p = np.ones((2, 3), np.float32)
    Adam(0.01).step(p, np.ones((2, 3), np.float32))          # the reference, for any shape
    np.testing.assert_allclose(p, 0.99)


def test_adam_uses_the_fused_update_and_falls_back_when_disabled(monkeypatch):
    calls = []
    monkeypatch.setattr(accel, "_adam_cpu", lambda *args: calls.append("fused"))
    Adam().step(np.zeros(3, np.float32), np.ones(3, np.float32))
    assert calls == ["fused"]
    monkeypatch.setattr(accel, "enabled", False)
    p = np.zeros(3, np.float32)
    Adam(0.01).step(p, np.ones(3, np.float32))
    assert calls == ["fused"] and np.allclose(p, -0.01)


def test_no_fused_update_for_other_namespaces():
    import array_api_strict as xp
    assert accel.fused_adam(xp.zeros(3)) is None


def test_threads_may_step_at_the_same_time():
    """numba's thread pool serves one caller at a time (accel._lock): several threads updating
    their own parameters at once get the same numbers as one after the other."""
    results = [None] * 4

    def work(k):
        results[k] = adam_run(accel.fused_adam(np.zeros(1, np.float32)), np.float32, steps=50, seed=k)[0]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(4):
        np.testing.assert_array_equal(results[k], adam_run(accel.fused_adam(np.zeros(1, np.float32)),
                                                           np.float32, steps=50, seed=k)[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")   # forking is the point
def test_a_forked_child_still_runs_the_fused_update():
    """numba's workqueue pool, which accel.py asks for, survives fork (GNU OpenMP's would abort)."""
    fused = accel.fused_adam(np.zeros(1, np.float32))
    expected = adam_run(fused, np.float32)[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                    # the child: compute, report, leave at once
        try:
            same = np.array_equal(adam_run(accel.fused_adam(np.zeros(1, np.float32)), np.float32)[0], expected)
            os.write(write, b"same" if same else b"different")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 100)
    os.waitpid(pid, 0)
    assert answer == b"same"


def test_with_openmp_threads_already_started_the_loop_keeps_to_one_core():
    """GNU OpenMP's idle threads spin on the cores BLAS needs: where numba's threads were started
    as OpenMP's before digitnet's first update, the loop runs on one core instead (accel.py)."""
    code = ("import numba, numpy as np; numba.set_num_threads(1); from digitnet import accel; "
            "accel.fused_adam(np.zeros(1, np.float32)); "
            "print(numba.threading_layer(), accel._numba_kernel().targetoptions.get('parallel', False))")
    layer, parallel = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout.split()
    assert (parallel == "True") == (layer != "omp")


def test_loops_compile_where_numba_may_not_cache_them(monkeypatch):
    """A package installed read-only (by root) and run by a user without a writable home: numba
    finds nowhere to cache the compiled loops and njit(cache=True) raises. They compile anyway."""
    import numba.core.dispatcher

    def no_locator(py_func):
        raise RuntimeError(f"cannot cache function {py_func.__qualname__!r}: no locator available for file ...")
    monkeypatch.setattr(numba.core.dispatcher, "FunctionCache", no_locator)
    adam, warp = accel._numba_kernel.__wrapped__(), accel._warp_kernel.__wrapped__()
    p, g = np.ones(3, np.float32), np.array([1, -1, 0], np.float32)
    m, v = np.zeros(3, np.float32), np.zeros(3, np.float32)
    adam(p, g, m, v, *np.float32([0.9, 0.999, 0.1, 0.001, 0.1, 1e-8, 1e-30, 0]))
    np.testing.assert_allclose(p, 1 - 0.1 * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-8), rtol=1e-6)
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    out = np.empty((1, 2, 2), np.float32)
    empty = np.zeros((0, 2, 2), np.float32)
    warp(np.pad(image[:, 1:3, 1:3], ((0, 0), (1, 1), (1, 1))), np.eye(2, dtype=np.float32)[None],
         np.zeros((1, 2), np.float32), empty, empty, False, out)
    np.testing.assert_array_equal(out, image[:, 1:3, 1:3])     # the identity map
