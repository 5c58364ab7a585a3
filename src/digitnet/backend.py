"""Where the arrays live: NumPy on the CPU, CuPy on an NVIDIA GPU, one code path for both.

Layers, losses, optimizers and the training loop never import NumPy to
compute. They ask the arrays they are given for their namespace,

    xp = namespace(x)          # numpy for NumPy arrays, CuPy's namespace for CuPy arrays
    z = xp.matmul(x, W)

and use only functions of the Python Array API standard, which NumPy, CuPy
and others share. The tests run the core on array_api_strict too, a
namespace with nothing beyond the standard, so that a NumPy-only call fails
in CI rather than on somebody's GPU.

A device is "cpu" (NumPy), "gpu" (CuPy, installed with `pip install -e .[gpu]`)
or, for tests, an Array API module such as array_api_strict.
"""
import ctypes
import os
import platform

import array_api_compat
import numpy as np

from .errors import DigitnetError

DEVICES = ("cpu", "gpu")
GPU_INSTALL = "pip install 'digitnet[gpu]' (CuPy for CUDA 12; see README)"


def namespace(*arrays):
    """The array namespace (xp) of `arrays`: numpy itself for NumPy arrays (NumPy 2 follows the
    standard), array_api_compat's wrapper for CuPy, and a strict namespace's own module."""
    if all(isinstance(a, np.ndarray) for a in arrays):
        return np
    return array_api_compat.array_namespace(*arrays)


def array_module(device):
    """The namespace that holds arrays on `device`: "cpu", "gpu" or an Array API module."""
    if device == "cpu":
        return np
    if device == "gpu":
        _cupy()
        import array_api_compat.cupy
        return array_api_compat.cupy
    if hasattr(device, "asarray") and hasattr(device, "matmul"):       # a namespace, e.g. array_api_strict
        return device
    raise DigitnetError(f"unknown device {device!r}: choose cpu or gpu")


def device_name(xp):
    """"cpu", "gpu" or the module's name, for messages and model metadata."""
    if xp is np:
        return "cpu"
    return "gpu" if "cupy" in xp.__name__ else xp.__name__


def to_device(x, xp):
    """`x` as an array of namespace `xp`; no copy when it is one already."""
    if xp is np:
        return to_numpy(x)
    return xp.asarray(x)


def to_numpy(x):
    """`x` as a NumPy array, copied from the GPU where it lives there."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def random_generator(seed, xp):
    """A generator of uniform numbers on xp's device: `rng.random(shape, dtype=...)`.

    NumPy and CuPy each have their own (the same seed gives different numbers
    on the two). Any other namespace gets NumPy's numbers copied into it."""
    if xp is np:
        return np.random.default_rng(seed)
    if "cupy" in xp.__name__:
        return _cupy().random.default_rng(seed)           # CuPy's own generator: no copy per draw
    return _Copied(np.random.default_rng(seed), xp)


class _Copied:
    """A NumPy generator whose arrays are handed over to another namespace."""

    def __init__(self, rng, xp):
        self.rng, self.xp = rng, xp

    def random(self, shape, dtype=np.float64):
        return self.xp.asarray(self.rng.random(shape, dtype=np.dtype(str(dtype).split(".")[-1])))


def _cupy():
    """The cupy module, with a usable GPU, or a DigitnetError saying what is missing."""
    try:
        import cupy
    except ImportError:
        raise DigitnetError(f"--device gpu needs CuPy, which is not installed: {GPU_INSTALL}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:                        # no driver, no device: CuPy raises its own runtime errors
        raise DigitnetError(f"--device gpu: CuPy finds no usable NVIDIA GPU ({e}); use --device cpu") from None
    if count == 0:
        raise DigitnetError("--device gpu: CuPy finds no NVIDIA GPU; use --device cpu")
    return cupy


_malloc = {"done": False}


def keep_freed_memory():
    """Ask glibc to keep freed memory for reuse instead of handing it back to the system.

    A training step makes new arrays (activations, gradients) and frees them
    again; by default glibc returns large freed blocks to the kernel, and the
    next step page-faults them back in, a third of the step on the CPU
    (benchmarks/README.md). With these two settings the same memory is reused
    from step to step. They last for the life of the process, are set once,
    and only on Linux with glibc, and not when the user set MALLOC_* variables."""
    if _malloc["done"]:
        return
    _malloc["done"] = True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    if any(name.startswith("MALLOC_") for name in os.environ):
        return
    libc = ctypes.CDLL(None)
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3          # from glibc's malloc.h
    libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)             # blocks up to 32 MiB come from the heap ...
    libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)            # ... which keeps up to 256 MiB free for reuse
