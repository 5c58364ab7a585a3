"""The one acceleration module: the Adam update fused into a single loop.

`optimizers.adam_update` updates the parameters in plain array operations:
about fifteen passes over memory, one core, a temporary array at every
operation. On a wide network (784-1024-1024-10, 1.86 M parameters) that is
most of a training step. Here the same arithmetic runs once per element:

    CPU (NumPy arrays): a numba loop, compiled on first use (and cached on
                        disk), its iterations shared among the CPU's cores;
    GPU (CuPy arrays):  a CuPy ElementwiseKernel, one CUDA thread per element.

The bias corrections are folded into two numbers per step,
lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t) and eps_t = eps * sqrt(1 - beta2**t),
which gives exactly the textbook update; the CPU loop also sets moments too small
to matter to zero (TINY). tests/test_accel.py compares both
kernels with `adam_update`; benchmarks/README.md has what they buy.
`fused_adam(params)` returns None where neither applies (another array
namespace, numba not importable), and the caller then runs the reference.
"""
import functools
import math
import os
import threading

import numpy as np

enabled = True                  # False: always the reference (benchmarks compare the two)
# Moments below TINY are set to zero in the CPU loop. m shrinks by beta1 = 0.9 at every step its
# gradient is 0, and within a few hundred steps reaches the subnormal numbers (below 1.2e-38 in
# float32), which x86 processors compute 10-100 times slower: after two epochs of the wide net
# 2% of m was subnormal and the update took 3x as long. At 1e-30 a moment moves no weight
# (a step of at most lr * 1e-30 / eps).
TINY = 1e-30
_lock = threading.Lock()        # numba's "workqueue" threads serve one caller at a time


def fused_adam(params):
    """The fused update for arrays like `params` (same signature as optimizers.adam_update), or None."""
    if not enabled:
        return None
    if isinstance(params, np.ndarray):
        return _adam_cpu if _numba_kernel() is not None else None
    if type(params).__module__.startswith("cupy"):
        return _adam_gpu
    return None


def _folded(lr, beta1, beta2, eps, t):
    """(lr_t, eps_t): the step size and epsilon with both bias corrections folded in."""
    correction2 = math.sqrt(1 - beta2 ** t)
    return lr * correction2 / (1 - beta1 ** t), eps * correction2


def _adam_cpu(p, g, m, v, lr, beta1, beta2, eps, t):
    lr_t, eps_t = _folded(lr, beta1, beta2, eps, t)
    with _lock:
        scalar = p.dtype.type                   # float32 numbers with float32 arrays: SIMD, as NumPy computes
        _numba_kernel()(p, g, m, v, scalar(beta1), scalar(beta2), scalar(lr_t), scalar(eps_t))


def _adam_gpu(p, g, m, v, lr, beta1, beta2, eps, t):
    lr_t, eps_t = _folded(lr, beta1, beta2, eps, t)
    _cupy_kernel()(g, lr_t, beta1, beta2, eps_t, p, m, v)


@functools.cache
def _numba_kernel():
    """The compiled CPU loop, or None without numba."""
    try:
        import numba
        from numba import njit, prange
    except ImportError:
        return None
    if "NUMBA_THREADING_LAYER" not in os.environ:
        # numba's own thread pool: its threads sleep when idle, so they do not spin on the cores
        # BLAS needs next (GNU OpenMP's do, which made a step 6x slower), and it survives fork
        numba.config.THREADING_LAYER = "workqueue"

    # error_model="numpy": IEEE arithmetic as in NumPy (x / 0 is inf, not an exception), which also
    # lets the loop use SIMD instructions
    @njit(parallel=True, cache=True, error_model="numpy")
    def adam_loop(p, g, m, v, beta1, beta2, lr_t, eps_t):
        for i in prange(p.shape[0]):
            m_i = beta1 * m[i] + (1 - beta1) * g[i]
            v_i = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            m[i] = m_i if abs(m_i) >= TINY else 0.0        # no subnormal numbers (see TINY)
            v[i] = v_i if v_i >= TINY else 0.0
            p[i] -= lr_t * m[i] / (math.sqrt(v[i]) + eps_t)

    return adam_loop


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
