"""How `fit` shows its progress, after Keras's `verbose`:

    verbose=0       nothing
    verbose=1       a progress bar during each epoch, then the epoch's line
    verbose=2       the epoch's line only
    verbose="auto"  1 in a terminal or a Jupyter notebook, 2 elsewhere (a log file, CI)

The epoch's line is printed (stdout): training loss and accuracy, validation
loss and accuracy, seconds. The bar is tqdm's: in a notebook its widget where
ipywidgets is installed, else its text bar (tqdm.auto would warn there about a
missing IProgress, at import).
"""
import importlib
import sys

from .errors import DigitnetError

LEVELS = (0, 1, 2, "auto")


def check_verbose(verbose):
    if verbose not in LEVELS or isinstance(verbose, bool):
        raise DigitnetError(f"verbose {verbose!r} must be 0 (silent), 1 (a bar and a line per epoch), "
                            f"2 (a line per epoch) or 'auto'")


def level(verbose):
    """0, 1 or 2: what `verbose` means here."""
    if verbose != "auto":
        return verbose
    return 1 if in_notebook() or sys.stderr.isatty() else 2


def bar(verbose, total, description):
    """A tqdm bar over `total` batches, shown only at level 1 and gone when the epoch ends."""
    kind = _tqdm_class()
    return kind(total=total, desc=description, leave=False, unit="batch", disable=verbose != 1)


def epoch_line(record, epochs):
    """The line for one epoch's history record; None for the epochs left out of long runs
    (with more than 50 epochs, every epochs/20-th and the last)."""
    every = max(1, epochs // 20) if epochs > 50 else 1
    if record["epoch"] % every and record["epoch"] != epochs:
        return None
    line = (f"epoch {record['epoch']:>3}/{epochs}  train loss {record['train_loss']:.4f} "
            f"acc {100 * record['train_accuracy']:.2f}%")
    if record["val_loss"] is not None:
        line += f"  val loss {record['val_loss']:.4f} acc {100 * record['val_accuracy']:.2f}%"
    return line + f"  {record['seconds']:.1f}s"


def in_notebook():
    """Whether this runs in a Jupyter kernel (IPython's ZMQ shell, Colab's too)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


def _tqdm_class():
    if in_notebook():
        try:
            importlib.import_module("ipywidgets")          # tqdm's widget bar needs it
            from tqdm.notebook import tqdm
            return tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm
    return tqdm
