"""Shared fixtures: where the real MNIST files are, and an isolated cache dir."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("DIGITNET_TEST_MNIST", ROOT.parent / "shared" / "data" / "mnist"))
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory of the four real MNIST .gz files (fails, never skips, if absent)."""
    missing = [f for f in MNIST_FILES if not (MNIST_DIR / f).is_file()]
    if missing:
        pytest.fail(
            f"real MNIST files not found in {MNIST_DIR} (missing: {', '.join(missing)}); "
            "put ../shared/data/mnist beside the repository or set DIGITNET_TEST_MNIST"
        )
    return MNIST_DIR


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Never touch the user's cache or model directory from a test."""
    base = tmp_path_factory.mktemp("digitnet-home")
    monkeypatch.setenv("DIGITNET_DATA", str(base / "data"))
    monkeypatch.setenv("DIGITNET_HOME", str(base / "home"))
    return base
