"""docs/math.md names real functions; explain prints what its tables say; the examples and the
notebook run."""
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from conftest import MNIST_FILES
from digitnet import MLP, SGD
from digitnet.explain import explain_step
from digitnet.init import INITIALIZERS
from digitnet.layers import ACTIVATIONS
from digitnet.losses import LOSSES
from digitnet.optimizers import OPTIMIZERS
from digitnet.schedules import SCHEDULES

ROOT = Path(__file__).resolve().parents[1]
MATH = (ROOT / "docs" / "math.md").read_text(encoding="utf-8")
MODULES = ("backend", "layers", "losses", "init", "network", "optimizers", "accel", "training", "gradcheck",
           "explain", "schedules", "augment", "earlystopping")
NAMES = sorted(set(re.findall(rf"`((?:{'|'.join(MODULES)})\.[A-Za-z_][\w.]*)`", MATH)))


def test_math_md_names_a_function_in_every_section():
    sections = re.split(r"\n## ", MATH)[1:]
    for section in sections:
        if section.startswith(("1.", "10.")):
            continue
        assert re.search(rf"`(?:{'|'.join(MODULES)})\.\w", section), f"§{section[:40]!r} names no function"
    assert len(NAMES) >= 40


@pytest.mark.parametrize("name", NAMES)
def test_every_name_in_math_md_exists(name):
    module, *attributes = name.split(".")
    target = importlib.import_module(f"digitnet.{module}")
    for attribute in attributes:
        assert hasattr(target, attribute), f"docs/math.md names digitnet.{name}, which does not exist"
        target = getattr(target, attribute)


def test_math_md_covers_every_entry_of_the_tables():
    """A new activation, loss, optimizer, initialiser or schedule needs its place in docs/math.md."""
    named = [("layers", cls.__name__) for cls in ACTIVATIONS.values()] + \
            [("losses", cls.__name__) for cls in LOSSES.values()] + \
            [("optimizers", type(make(0.1)).__name__) for make in OPTIMIZERS.values()] + \
            [("init", name) for name in INITIALIZERS]
    for module, name in named:
        assert f"`{module}.{name}" in MATH, f"docs/math.md does not name {module}.{name}"
    for schedule in SCHEDULES:
        assert f"`{schedule}`" in MATH, f"docs/math.md does not describe the schedule {schedule}"


def math_table(sizes):
    """The rows of docs/math.md §11's table for `sizes`: (stage, row name, row shape, column name, shape)."""
    block = MATH.split(f"`{'-'.join(map(str, sizes))}`, batch 4:")[1].split("\n\n")[1]
    rows = [line.strip("|").split("|") for line in block.splitlines()[2:]]
    return [tuple(cell.strip().strip("`") for cell in row) for row in rows]


@pytest.mark.parametrize("sizes", [(784, 10, 10), (784, 256, 128, 10)])
def test_explain_prints_the_names_and_shapes_of_math_md(sizes):
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 784), dtype=np.float32), rng.integers(0, 10, 4)
    row = explain_step(MLP(sizes=sizes), SGD(0.1), x, y)
    column = explain_step(MLP(sizes=sizes), SGD(0.1), x, y, column=True)
    printed = [(r.stage, r.name, str(r.shape), c.name, str(c.shape)) for r, c in zip(row, column)]
    assert printed == math_table(sizes)


def test_explain_records_the_real_step():
    """The recorded tensors are the step's own: dz2 = (p - Y) / batch, dW2 = a1.T @ dz2, and
    the update is -lr * the gradient."""
    rng = np.random.default_rng(1)
    x, y = rng.random((5, 784), dtype=np.float32), rng.integers(0, 10, 5)
    model = MLP(sizes=(784, 10, 10), random_state=1)
    step = {t.name: t.value for t in explain_step(model, SGD(0.1), x, y)}
    np.testing.assert_allclose(step["dz2"], (step["p"] - np.eye(10)[y]) / 5, atol=1e-7)
    np.testing.assert_allclose(step["dW2"], step["a1"].T @ step["dz2"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(step["ΔW1"], -0.1 * step["dW1"], rtol=1e-4, atol=1e-8)
    assert "forward" not in vars(model.layers[0])               # the recorder has let go of the layers


def test_explain_writes_true_equations_through_dropout_masks():
    """With dropout every printed equation holds for the printed numbers: the next layer reads a1'
    (x' with input dropout), and the gradient goes back through the mask; with l2 the update
    also takes l2 * W."""
    rng = np.random.default_rng(1)
    x, y = rng.random((5, 784), dtype=np.float32), rng.integers(0, 10, 5)
    model = MLP(sizes=(784, 10, 10), input_dropout=0.2, dropout=0.5, random_state=1)
    W1 = model.dense[0].W.copy()
    tensors = explain_step(model, SGD(0.1), x, y, l2=0.5)
    step = {t.name: t.value for t in tensors}
    assert [t.name for t in tensors][:6] == ["x", "x'", "z1", "a1", "a1'", "z2"]
    close = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(step["z1"], step["x'"] @ W1 + model.dense[0].b - step["Δb1"], **close)
    np.testing.assert_allclose(step["dW2"], step["a1'"].T @ step["dz2"], **close)
    alive = step["a1"] > 0                                       # where the mask can be read off a1' / a1
    np.testing.assert_allclose(step["da1"][alive], (step["da1'"] * step["a1'"])[alive] / step["a1"][alive], **close)
    np.testing.assert_allclose(step["dz1"], step["da1"] * (step["z1"] > 0), **close)
    np.testing.assert_allclose(step["dW1"], step["x'"].T @ step["dz1"], **close)
    np.testing.assert_allclose(step["ΔW1"], -0.1 * (step["dW1"] + 0.5 * W1), rtol=1e-4, atol=1e-7)


@pytest.fixture(scope="module")
def data_home(mnist_dir, tmp_path_factory):
    """A DIGITNET_DATA folder holding the MNIST files, as `digitnet download` leaves it."""
    home = tmp_path_factory.mktemp("mnist-home")
    for name in MNIST_FILES:
        (home / name).symlink_to(mnist_dir / name)
    return home


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_runs(example, data_home, tmp_path):
    env = {**os.environ, "DIGITNET_DATA": str(data_home), "DIGITNET_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_the_new_activation_example_tells_right_from_wrong(data_home, tmp_path):
    env = {**os.environ, "DIGITNET_DATA": str(data_home), "DIGITNET_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "new_activation.py")], capture_output=True,
                         text=True, env=env, check=True, timeout=120).stdout
    assert re.search(r"^softplus .*: right$", out, re.M) and re.search(r"^wrong_softplus .*: WRONG$", out, re.M)


NOTEBOOK = ROOT / "docs" / "notebooks" / "backprop.ipynb"


def test_the_notebook_is_kept_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_the_notebook_runs(data_home, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", str(data_home))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()       # raises on an error
    text = "".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "dz2 = (p - Y) / 4" in text and "test accuracy:" in text
    images = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if "image/png" in o.get("data", {})]
    assert len(images) == 2                               # the training curves and the predictions


def test_the_readme_python_runs_and_prints_the_figures_it_states(mnist_dir, tmp_path):
    """README's Python blocks, in order, as one script; each `print(...)  # about X` prints X to its last digit."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8").replace("../shared/data/mnist", str(mnist_dir))
    code = "\n".join(re.findall(r"```python\n(.*?)```", readme, re.S))
    from digitnet import save_model                               # the model file a block loads
    save_model(MLP(sizes=(784, 16, 10)), tmp_path / "m.npz", metrics={"test_accuracy": 0.1})
    (tmp_path / "readme.py").write_text("import matplotlib\nmatplotlib.use('Agg')\n" + code)
    result = subprocess.run([sys.executable, "readme.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    stated = [figure for line in code.splitlines() if line.startswith("print(")
              for figure in re.findall(r"# about (\d\.\d+)$", line)]
    printed = [line for line in result.stdout.splitlines() if re.fullmatch(r"0\.\d+", line)]
    assert len(stated) == len(printed) == 3, (stated, printed)
    for figure, value in zip(stated, printed):
        assert round(float(value), len(figure) - 2) == float(figure), (figure, value)
