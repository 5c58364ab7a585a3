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

Most operations make fresh arrays (the standard has no `out=` buffers); the
few in-place writes are named (`+=`, `dW[...] =`, the optimizers' updates). On
a GPU CuPy's memory pool makes fresh arrays cheap; on the CPU the step's time
is in the matrix products and the update (benchmarks/README.md).
"""
import array_api_compat
import numpy as np

from .errors import DigitnetError

DEVICES = ("cpu", "gpu")
GPU_INSTALL = "pip install cupy-cuda12x (in a checkout of digitnet: pip install -e '.[gpu]')"


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
    if device == "gpu" or getattr(device, "__name__", None) == "cupy":
        _cupy()
        import array_api_compat.cupy
        return array_api_compat.cupy
    if hasattr(device, "asarray") and hasattr(device, "zeros"):         # a namespace, e.g. array_api_strict
        return namespace(device.zeros(0))                                # (numpy itself for numpy)
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
    if hasattr(x, "__dlpack__"):                  # an array of another namespace, on the CPU
        return np.from_dlpack(x)
    return np.asarray(x)


def random_generator(seed, xp):
    """A generator of uniform numbers on xp's device, `rng.random(shape, dtype=...)`, from `seed`
    (an int or a np.random.SeedSequence).

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
        single = dtype == self.xp.float32
        return self.xp.asarray(self.rng.random(shape, dtype=np.float32 if single else np.float64))


_gpu_ready = []                                   # [True] once the GPU has answered


def _cupy():
    """The cupy module, with a usable GPU, or a DigitnetError saying what is missing."""
    try:
        import cupy
    except ModuleNotFoundError:
        raise DigitnetError(f"--device gpu needs CuPy, which is not installed: {GPU_INSTALL}") from None
    except ImportError as e:                      # installed, but for another CUDA, or its libraries missing
        raise DigitnetError(f"--device gpu: CuPy is installed but does not load ({e}); "
                            f"reinstall the wheel for your CUDA version (see CuPy's install guide)") from None
    if not _gpu_ready:
        try:                                      # a matrix product and a kernel: cuBLAS and the compiler
            a = cupy.ones((2, 2), dtype=cupy.float32)
            float((a @ a + 1).sum())
        except Exception as e:                    # no driver, no device, no CUDA libraries: CuPy's own errors
            raise DigitnetError(f"--device gpu: CuPy cannot use a GPU here ({type(e).__name__}: {e}); "
                                f"use --device cpu") from None
        _gpu_ready.append(True)
    return cupy

