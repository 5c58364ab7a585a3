"""The one acceleration module: two element-wise hot spots, each fused into a single loop.

The Adam update. `optimizers.adam_update` updates the parameters in plain
array operations: about fifteen passes over memory, one core, a temporary
array at every operation. On a wide network (784-1024-1024-10, 1.86 M
parameters) that is most of a training step. Here the same arithmetic runs
once per element:

    CPU (NumPy arrays): a numba loop, compiled on first use (and cached on
                        disk), its iterations shared among the CPU's cores;
    GPU (CuPy arrays):  a CuPy ElementwiseKernel, one CUDA thread per element.

The bias corrections are folded into two numbers per step,
lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t) and eps_t = eps * sqrt(1 - beta2**t),
which gives exactly the textbook update; the CPU loop also sets moments too
small to matter to zero (TINY). tests/test_accel.py (CPU) and tests/test_gpu.py
(GPU) compare the loops with `adam_update`; benchmarks/README.md has what they buy.
`fused_adam(params)` returns None where neither applies (another array
namespace, numba not importable), and the caller then runs the reference.

The warp of data augmentation. `augment.warp` finds every output pixel's
source point and reads it bilinearly in some thirty array operations over the
batch; `fused_warp(x)` gives the same computation as one numba loop over the
pixels (NumPy arrays only; elsewhere None, and the caller runs augment.warp).
"""
import functools
import math
import os
import threading

import numpy as np

enabled = True                  # False: always the reference (benchmarks compare the two)
# Moments below TINY are set to zero in the CPU loop. m shrinks by beta1 = 0.9 at every step its
# gradient is 0, and within a few hundred steps reaches the subnormal numbers (below 1.2e-38 in
# float32), which x86 processors compute many times slower (benchmarks/README.md). At 1e-30 a
# moment moves no weight (a step of at most lr * 1e-30 / eps).
TINY = 1e-30
_lock = threading.Lock()        # numba's "workqueue" threads serve one caller at a time


def fused_adam(params):
    """The fused update for arrays like `params` (same signature as optimizers.adam_update), or None.

    The CPU loop takes a contiguous vector (a network's flat parameters); any
    other NumPy array gets the reference."""
    if not enabled:
        return None
    if isinstance(params, np.ndarray):
        vector = params.ndim == 1 and params.flags.c_contiguous and params.dtype in (np.float32, np.float64)
        return _adam_cpu if vector and _numba_kernel() is not None else None
    if type(params).__module__.startswith("cupy"):
        return _adam_gpu
    return None


def _folded(lr, beta1, beta2, eps, t):
    """(lr_t, eps_t): the step size and epsilon with both bias corrections folded in."""
    correction2 = math.sqrt(1 - beta2 ** t)
    return lr * correction2 / (1 - beta1 ** t), eps * correction2


def _adam_cpu(p, g, m, v, lr, beta1, beta2, eps, t):
    lr_t, eps_t = _folded(lr, beta1, beta2, eps, t)
    c = p.dtype.type            # every number in the arrays' type: float32 arithmetic, in SIMD registers
    with _lock:
        _numba_kernel()(p, g, m, v, c(beta1), c(beta2), c(1 - beta1), c(1 - beta2), c(lr_t), c(eps_t), c(TINY),
                        c(0))


def _adam_gpu(p, g, m, v, lr, beta1, beta2, eps, t):
    lr_t, eps_t = _folded(lr, beta1, beta2, eps, t)
    _cupy_kernel()(g, lr_t, beta1, beta2, eps_t, p, m, v)


@functools.cache
def _numba_kernel():
    """The compiled CPU loop, or None without numba."""
    try:
        import numba
        from numba import prange
    except ImportError:
        return None

    def adam_loop(p, g, m, v, beta1, beta2, one_minus_beta1, one_minus_beta2, lr_t, eps_t, tiny, zero):
        for i in prange(p.shape[0]):
            m_i = beta1 * m[i] + one_minus_beta1 * g[i]
            v_i = beta2 * v[i] + one_minus_beta2 * g[i] * g[i]
            m[i] = zero if abs(m_i) < tiny else m_i        # no subnormal numbers (see TINY); NaN stays NaN
            v[i] = zero if v_i < tiny else v_i
            p[i] -= lr_t * m[i] / (math.sqrt(v[i]) + eps_t)

    return _compiled(adam_loop, numba)


def _compiled(loop, numba):
    """`loop` compiled by numba: its prange parallel over numba's threads, and cached on disk for the
    next run where numba finds a place it may write (beside this file, else under the home folder)."""
    # error_model="numpy": IEEE arithmetic as in NumPy (x / 0 is inf, not an exception), which also
    # lets the loop use SIMD instructions
    if _openmp_threads(numba):
        return numba.njit(error_model="numpy")(loop)        # prange is range: one core, no thread pool
    try:
        return numba.njit(parallel=True, cache=True, error_model="numpy")(loop)
    except RuntimeError:            # "no locator available": a read-only install without a writable home
        return numba.njit(parallel=True, error_model="numpy")(loop)


def _openmp_threads(numba):
    """Whether numba's threads are GNU OpenMP's, which spin when idle, on the very cores BLAS
    needs next (benchmarks/README.md). Numba's own pool ("workqueue") sleeps instead, so
    accel.py asks for it unless numba's threads have started already or the user chose a pool
    (NUMBA_THREADING_LAYER). The choice is the process's, for any numba code run after this;
    workqueue also survives fork."""
    try:
        return numba.threading_layer() == "omp"             # already started
    except ValueError:                                      # not started yet
        if "NUMBA_THREADING_LAYER" in os.environ:
            return os.environ["NUMBA_THREADING_LAYER"] == "omp"
        numba.config.THREADING_LAYER = "workqueue"
        return False


@functools.cache
def _cupy_kernel():
    import cupy
    return cupy.ElementwiseKernel(
        "T g, T lr_t, T beta1, T beta2, T eps_t", "T p, T m, T v",
        """
        m = beta1 * m + (1 - beta1) * g;
        v = beta2 * v + (1 - beta2) * g * g;
        p -= lr_t * m / (sqrt(v) + eps_t);
        """,
        "digitnet_adam")


def fused_warp(x):
    """The warp loop for NumPy float32 batches (signature of augment.warp), or None."""
    if not enabled or not isinstance(x, np.ndarray) or x.dtype != np.float32 or _warp_kernel() is None:
        return None
    return _warp_cpu


def _warp_cpu(x, a, t, dr=None, dc=None):
    batch, side = x.shape[0], math.isqrt(x.shape[1])
    padded = np.zeros((batch, side + 2, side + 2), np.float32)         # a zero border, as in augment.bilinear
    padded[:, 1:-1, 1:-1] = x.reshape(batch, side, side)
    field = dr is not None
    dr, dc = (dr, dc) if field else (np.zeros((0, side, side), np.float32),) * 2
    out = np.empty((batch, side, side), np.float32)
    with _lock:
        _warp_kernel()(padded, np.asarray(a, np.float32), np.asarray(t, np.float32),
                       np.ascontiguousarray(dr, np.float32), np.ascontiguousarray(dc, np.float32), field, out)
    return out.reshape(batch, side * side)


@functools.cache
def _warp_kernel():
    """The compiled warp loop, or None without numba: augment.warp's arithmetic, pixel by pixel, on
    images with a zero border (source points clamped into it, as augment.bilinear does)."""
    try:
        import numba
        from numba import prange
    except ImportError:
        return None

    def warp_loop(padded, a, t, dr, dc, field, out):
        side, one = out.shape[1], np.float32(1)
        centre, top_edge = np.float32((side - 1) / 2), np.float32(side + 1)
        for i in prange(out.shape[0]):
            for r in range(side):
                for c in range(side):
                    y, x = np.float32(r) - centre, np.float32(c) - centre
                    rows = a[i, 0, 0] * y + a[i, 0, 1] * x + (t[i, 0] + centre)
                    cols = a[i, 1, 0] * y + a[i, 1, 1] * x + (t[i, 1] + centre)
                    if field:
                        rows, cols = rows + dr[i, r, c], cols + dc[i, r, c]
                    rows = min(max(rows + one, np.float32(0)), top_edge)       # in the bordered image
                    cols = min(max(cols + one, np.float32(0)), top_edge)
                    r0, c0 = min(int(rows), side), min(int(cols), side)       # int() is floor: rows >= 0
                    fr, fc = rows - np.float32(r0), cols - np.float32(c0)
                    upper = padded[i, r0, c0] * (one - fc) + padded[i, r0, c0 + 1] * fc
                    lower = padded[i, r0 + 1, c0] * (one - fc) + padded[i, r0 + 1, c0 + 1] * fc
                    out[i, r, c] = upper * (one - fr) + lower * fr

    return _compiled(warp_loop, numba)
