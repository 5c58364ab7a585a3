"""Ctrl-C and SIGTERM during training: finish the batch, then stop cleanly.

`with StopRequests() as stop:` catches SIGINT and SIGTERM for the duration of
training (in the main thread; elsewhere signals cannot be caught and nothing
changes). A signal only sets `stop.signal`; the training loop looks at it
after every step, so the weights are never left half-updated, writes a
checkpoint if it has somewhere to, and raises `TrainingInterrupted`. A second
Ctrl-C before that stops at once, as usual. The previous handlers come back
when the block ends.

Outside training, the `digitnet` command (`terminate_like_interrupt`) turns SIGTERM into
`Terminated`, an exception raised wherever the program is, as Ctrl-C raises KeyboardInterrupt:
a file half-written is then removed (atomic.py, the download's temporary folder), where the
default SIGTERM would kill the process on the spot and leave it.
"""
import contextlib
import signal
import threading


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped at a signal, after a whole step; `checkpoint` is where it was saved (or None)."""

    def __init__(self, signal_number, where, checkpoint=None):
        super().__init__(f"training stopped by {signal.Signals(signal_number).name} at {where}")
        self.signal, self.where, self.checkpoint = signal_number, where, checkpoint

    @property
    def exit_status(self):
        """128 + the signal's number, as a shell reports a process stopped by it: 130, 143."""
        return 128 + self.signal


class StopRequests:
    """While active, SIGINT, SIGTERM and SIGHUP (the terminal closed) ask training to stop after the
    current step."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())

    def __init__(self):
        self.signal, self._previous = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                if signal.getsignal(number) is not signal.SIG_IGN:   # nohup's SIGHUP, `cmd &`'s SIGINT: left so
                    self._previous[number] = signal.signal(number, self._ask)
        return self

    def __exit__(self, *exc):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        return False

    def _ask(self, number, frame):
        if self.signal is not None:                  # asked twice: the user does not want to wait
            raise KeyboardInterrupt
        self.signal = number


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception so that what is being written is cleaned up as for Ctrl-C."""

    exit_status = 128 + signal.SIGTERM


@contextlib.contextmanager
def terminate_like_interrupt():
    """While active, SIGTERM raises Terminated (in the main thread; elsewhere nothing changes)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _terminated(number, frame):
    raise Terminated
