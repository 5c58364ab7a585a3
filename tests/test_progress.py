"""What `fit` shows while it trains (progress.py): in a script, a terminal and a Jupyter notebook."""
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from digitnet import MLP, DigitnetError, fit

TRAIN = """
import numpy as np
from digitnet import MLP, fit
rng = np.random.default_rng(0)
y = rng.integers(0, 3, 300)
x = (rng.standard_normal((300, 4)) * 0.3 + np.eye(3, 4)[y] * 2).astype(np.float32)
history = fit(MLP(sizes=(4, 8, 3)), x, y, x_val=x[:50], y_val=y[:50], epochs=2, batch_size=32{verbose})
"""


def blobs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    return (rng.standard_normal((300, 4)) * 0.3 + np.eye(3, 4)[y] * 2).astype(np.float32), y


@pytest.mark.parametrize("verbose, lines, bar", [(0, 0, False), (1, 2, True), (2, 2, False)])
def test_the_three_levels(capsys, verbose, lines, bar):
    x, y = blobs()
    fit(MLP(sizes=(4, 8, 3)), x, y, x_val=x[:50], y_val=y[:50], epochs=2, batch_size=32, verbose=verbose)
    out, err = capsys.readouterr()
    shown = out.splitlines()
    assert len(shown) == lines
    if lines:
        assert shown[0].startswith("epoch   1/2  train loss ") and " val loss " in shown[0]
    assert ("epoch 1/2" in err) == bar                      # tqdm's bar, on stderr


def test_bad_verbose_is_named():
    x, y = blobs()
    with pytest.raises(DigitnetError, match="verbose 3 must be 0 .silent., 1 .a bar and a line per epoch., 2"):
        fit(MLP(sizes=(4, 3)), x, y, verbose=3)


def test_a_script_writing_to_a_file_gets_a_line_per_epoch():
    """verbose="auto" without a terminal (a log, a pipe, CI): the lines, no bar."""
    result = subprocess.run([sys.executable, "-c", TRAIN.format(verbose="")], capture_output=True, text=True,
                            check=True, stdin=subprocess.DEVNULL)
    assert [line[:10] for line in result.stdout.splitlines()] == ["epoch   1/", "epoch   2/"]
    assert result.stderr == ""


def run_notebook(cells):
    """The outputs of each cell of a notebook run in a fresh Jupyter kernel (this Python)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    return [cell.outputs for cell in notebook.cells]


def texts(outputs, name=None):
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and name in (None, o.name))


@pytest.mark.parametrize("widgets", [True, False])
def test_in_a_notebook_import_is_quiet_and_fit_shows_its_progress(widgets):
    hide = "" if widgets else "import sys; sys.modules['ipywidgets'] = None   # as if not installed"
    imported, trained = run_notebook([f"{hide}\nimport digitnet", TRAIN.format(verbose="")])
    assert imported == []                                  # no TqdmWarning, nothing at all
    lines = texts(trained, "stdout").splitlines()
    assert [line[:10] for line in lines] == ["epoch   1/", "epoch   2/"]
    assert "TqdmWarning" not in texts(trained, "stderr")
    has_widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in trained)
    assert has_widget == widgets                             # tqdm's widget bar, or its text bar
    if not widgets:
        assert "epoch 1/2" in texts(trained, "stderr")
