"""Shared fixtures: where the real MNIST files are, and an isolated cache dir."""
import importlib
import os
from pathlib import Path

import pytest

from digitnet import MLP, fit, load_mnist, load_model, save_model
from hypothesis import settings

# Property tests (test_properties.py): a fixed, bounded set of examples in CI; more, and new ones, locally
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

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


@pytest.fixture(scope="session")
def session_home(tmp_path_factory) -> Path:
    """One cache and model directory for the whole run (decoded MNIST is cached once)."""
    return tmp_path_factory.mktemp("digitnet-home")


@pytest.fixture(scope="session", autouse=True)
def isolated_dirs_for_session(session_home):
    """The same isolation for session- and module-scoped fixtures, which run before `isolated_dirs`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DIGITNET_DATA", str(session_home / "data"))
        mp.setenv("DIGITNET_HOME", str(session_home / "home"))
        yield


@pytest.fixture(autouse=True)
def isolated_dirs(session_home, monkeypatch):
    """Never touch the user's cache or model directory from a test."""
    monkeypatch.setenv("DIGITNET_DATA", str(session_home / "data"))
    monkeypatch.setenv("DIGITNET_HOME", str(session_home / "home"))
    return session_home


@pytest.fixture(params=["numpy", "array_api_strict"])
def xp(request):
    """The array namespace the core runs on: NumPy, and array_api_strict, which has nothing beyond
    the Array API standard (a NumPy-only call in the core fails there, as it would on CuPy).
    A missing array_api_strict is an error, not a skip: pip install -e '.[test]'."""
    return importlib.import_module(request.param)


@pytest.fixture(scope="session")
def small_model_file(mnist_dir, tmp_path_factory):
    """A 784-64-10 network trained for 4 epochs (about 97%), saved with its test accuracy."""
    data = load_mnist(mnist_dir, progress=False)
    model = MLP(sizes=(784, 64, 10), random_state=0)
    fit(model, data.x_train, data.y_train, learning_rate=6e-3, batch_size=512, epochs=4, schedule="cosine",
        verbose=0)
    return save_model(model, tmp_path_factory.mktemp("serve") / "m.npz",
                      metrics={"test_accuracy": model.score(data.x_test, data.y_test)})


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The folder where the page's corrections go (serve --collect)."""
    return tmp_path_factory.mktemp("collected")


@pytest.fixture(scope="module")
def url(small_model_file, collected):
    """The address of the app serving the small model, collecting into `collected` (test_serve.Server)."""
    from digitnet.web.app import create_app
    from test_serve import Server
    model = load_model(small_model_file)
    with Server(create_app(model, model.metadata, collected)) as address:
        yield address
