"""Two cores, two processes: the machinery that lets training use both at once.

A training step does a lot of small element-wise work (ReLU, softmax, the Adam
update) that NumPy runs on one core, and Python threads cannot share it out:
they take turns holding the interpreter. So `fit` cuts every batch of 128
examples or more (training.SPLIT_AT) into two halves, and on a machine with
two CPUs it forks a second process. Each
process works through one half (forward and backward, its own BLAS thread),
then each updates one half of the parameter vector. Both read and write the
same memory: the arrays the step shares are made by `shared_zeros`, which maps
memory that a forked child sees too.

    rank 0 (this process)              rank 1 (forked child)
    ---------------------              ---------------------
    forward/backward of rows [:h]      forward/backward of rows [h:]
                     --- barrier: both gradients written ---
    update params[:k]                  update params[k:]
                     --- barrier: all parameters updated ---

Both processes run the same loop: the child was forked with the same random
generators, so it draws the same shuffles without being told. The barrier is
a spin wait on two counters, one written by each process: handing over by
sleeping and waking costs ~50 µs on these virtual machines, spinning ~1 µs.
That needs the processor to make one process's writes visible to the other in
order, which x86-64 guarantees, so two processes are used only on Linux on
x86-64 with at least two CPUs to run on; everywhere else rank 0 runs both
halves in turn, with the same operations (and, with one BLAS thread, the same
numbers). Spinning assumes the two CPUs are otherwise free: on a busy machine
a waiting process sleeps after PATIENCE spins rather than burn its CPU.

Reading (prediction, validation) needs no second process: each batch of rows
is a long, independent piece of work, so `two_threads` gives half of the rows
to a helper thread.
"""
import contextlib
import contextvars
import mmap
import os
import platform
import sys
import threading
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from threadpoolctl import ThreadpoolController

from .errors import DigitnetError

CHECK_EVERY = 2000      # spins between checks that the other process is still there
PATIENCE = 50_000       # spins (a few milliseconds) before waiting turns to sleeping
GIVE_UP = 600           # seconds without the child at a barrier before the parent stops waiting
THREAD_ROWS = 1024      # inputs of at least this many rows are read in two threads (two_threads)
_blas = []              # a ThreadpoolController, made once: finding the BLAS libraries takes ~1.5 ms
_helper = []            # the one helper thread, once made (ThreadPoolExecutor is imported above, not
                        # when first needed: at exit, that import fails)
_helping = threading.local()                   # .now is True in the helper thread while it works
_one_thread = {"users": 0, "limiter": None}   # the contexts now in _one_blas_thread, and their limit
_one_thread_lock = threading.Lock()


@contextlib.contextmanager
def _one_blas_thread():
    """A context in which BLAS runs one thread per calling thread. The limit is the whole
    process's: the first context to enter sets it and the last to leave restores it, so that
    threads entering and leaving in any order leave BLAS as they found it."""
    with _one_thread_lock:
        if _one_thread["users"] == 0:
            if not _blas:
                _blas.append(ThreadpoolController())
            _one_thread["limiter"] = _blas[0].limit(limits=1, user_api="blas")
        _one_thread["users"] += 1
    try:
        yield
    finally:
        with _one_thread_lock:
            _one_thread["users"] -= 1
            if _one_thread["users"] == 0:
                _one_thread["limiter"].restore_original_limits()


def _forget_other_threads():
    """In a forked child: only the thread that forked exists there. The parent's helper thread
    and whatever other threads held (the lock, their places in the BLAS limit) are not the
    child's; the limit itself stays as the fork left it."""
    global _one_thread_lock
    _helper.clear()
    _one_thread.update(users=0, limiter=None)
    _one_thread_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_other_threads)


def shared_zeros(shape, dtype=np.float32):
    """A zero-filled array in memory that a forked child process shares with its parent."""
    count = int(np.prod(shape))
    buffer = mmap.mmap(-1, max(count * np.dtype(dtype).itemsize, 1))   # anonymous, MAP_SHARED
    return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape)


def two_processes_possible():
    """True where a second process can take half of each step (see the module docstring)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64") and cpus >= 2


def two_threads(work, n, step=1):
    """Run work(0, slice(0, h)) here and work(1, slice(h, n)) in a helper thread, with h the
    multiple of `step` nearest to n / 2 (so that batches of `step` rows do not straddle it).

    For reading many rows at once (prediction, validation): the matrix
    products already use both cores through BLAS, but the element-wise passes
    between them run on one. Split in two threads with one BLAS thread each,
    both kinds of work use both cores; NumPy lets go of the interpreter lock
    inside its loops, so the threads do not take turns. While they run, BLAS
    keeps to one thread in the whole process. The helper works in the caller's
    context (its np.errstate, for one). work(0, slice(0, n)) runs here alone
    below THREAD_ROWS rows (a hand-over to a thread costs ~50 µs), with one
    CPU, when `step` >= n, inside the helper itself, and once the interpreter
    is shutting down.
    """
    middle = round(n / 2 / step) * step
    if n < THREAD_ROWS or not 0 < middle < n or getattr(_helping, "now", False) or _cpus() < 2:
        work(0, slice(0, n))
        return
    with _one_blas_thread():
        try:
            if not _helper:
                _helper.append(ThreadPoolExecutor(1, "digitnet-reader"))
            second = _helper[0].submit(_help, contextvars.copy_context(), work, slice(middle, n))
        except RuntimeError:                   # shutting down: threads take no new work
            work(0, slice(0, n))
            return
        try:
            work(0, slice(0, middle))
        except BaseException:
            wait([second])                     # let it finish before its buffers are used again
            raise
        second.result()                        # raises the helper's error, if it had one


def _cpus():
    """The number of CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _help(context, work, rows):
    """What the helper thread runs: work(1, rows) in the caller's context."""
    _helping.now = True
    try:
        context.run(work, 1, rows)
    finally:
        _helping.now = False


class Pair:
    """`with Pair(parallel, halves) as pair:` runs its body in two processes (or one).

    Inside, `pair.ranks` are the halves this process works on: (0,) or (1,)
    in two processes, (0, 1) in one, or (0,) when the batch is not cut at
    all (halves=1). `pair.barrier()` waits until the other process has
    reached the same barrier. Only rank 0 leaves the block: the child exits
    at its end, and an error in either process stops both.
    """

    def __init__(self, parallel, halves=2):
        self.parallel, self.rank, self.child_pid = parallel and halves == 2, 0, None
        self.ranks = (0,) if self.parallel else tuple(range(halves))
        self._counts = shared_zeros((2, 16), np.int64)   # one counter per process, 128 bytes apart
        self._message = shared_zeros(1000, np.uint8)      # the child's error, if it fails
        self._arrived = 0
        self._limits = contextlib.ExitStack()

    @property
    def is_main(self):
        return self.rank == 0

    def __enter__(self):
        if not self.parallel:
            return self
        self._limits.enter_context(_one_blas_thread())   # one core each
        self.parent_pid = os.getpid()
        try:
            with warnings.catch_warnings():    # Python 3.12+ warns about forking with threads running
                # (tqdm keeps a monitor thread). The child takes none of their locks: it runs
                # NumPy and this loop, draws no progress bar and leaves by os._exit.
                warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
                pid = os.fork()
        except OSError:                        # no second process to be had: do both halves here
            self._limits.close()
            self.parallel, self.ranks = False, (0, 1)
            return self
        if pid == 0:
            self.rank, self.ranks = 1, (1,)
        else:
            self.child_pid = pid
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.rank == 1:                     # the child never returns from the block
            if exc_type is not None:
                text = "".join(traceback.format_exception_only(exc_type, exc)).strip().encode()[:999]
                self._message[:len(text)] = np.frombuffer(text, np.uint8)
            os._exit(0 if exc_type is None else 1)
        if self.child_pid is not None:
            if exc_type is not None:           # the child may be waiting at a barrier: stop it
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.child_pid, 9)
            with contextlib.suppress(ChildProcessError):    # SIGCHLD ignored: already reaped
                os.waitpid(self.child_pid, 0)
            self.child_pid = None
        self._limits.close()
        return False

    def my_part(self, n):
        """The slice of range(n) this process updates: all of it, or its half.

        The halves meet at a multiple of 16 elements (64 bytes for float32), so
        both start on a cache line and SIMD loads stay aligned: splitting at an
        odd element made the second half's update 20% slower."""
        if not self.parallel:
            return slice(0, n)
        middle = n // 2 // 16 * 16
        return slice(0, middle) if self.rank == 0 else slice(middle, n)

    def barrier(self):
        """Wait until the other process has arrived here too (no-op in one process)."""
        if not self.parallel:
            return
        self._arrived += 1
        self._counts[self.rank, 0] = self._arrived
        other, spins, since = self._counts[1 - self.rank], 0, time.monotonic()
        while other[0] < self._arrived:
            spins += 1
            if spins % CHECK_EVERY == 0:
                self._check_other(since)
            if spins > PATIENCE:                   # a long wait (the other is validating, say):
                time.sleep(1e-4)                   # stop burning a core on it

    def _check_other(self, since):
        """Leave if the other process is gone; the parent also gives up on a child that stopped moving.

        The child only ever waits for work the parent does too, so a parent
        waiting GIVE_UP seconds at one barrier has a child that hangs."""
        if self.rank == 1:
            if os.getppid() != self.parent_pid:     # the parent is gone: nobody needs this half
                os._exit(1)
            return
        try:
            pid, status = os.waitpid(self.child_pid, os.WNOHANG)
        except ChildProcessError:                   # SIGCHLD ignored: the kernel reaped it already
            pid, status = self.child_pid, "unknown"
        if pid:
            self.child_pid = None
            message = bytes(self._message).rstrip(b"\0").decode(errors="replace") or f"exit status {status}"
        elif time.monotonic() - since > GIVE_UP:
            message = f"it has not answered for {GIVE_UP} s"
        else:
            return
        raise DigitnetError(f"the second training process stopped: {message}; "
                            f"train in one process with --jobs 1 (n_jobs=1)")
