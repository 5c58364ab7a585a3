"""Model files: round trip, atomic writes, and a clear error for every kind of bad file."""
import json

import numpy as np
import pytest

from digitnet import MLP
from digitnet.errors import ModelFileError
from digitnet.io import load_model, save_model


@pytest.fixture
def saved(tmp_path):
    model = MLP(sizes=(784, 16, 10), activation="tanh", dropout=0.2, random_state=1)
    path = save_model(model, tmp_path / "m.npz", metrics={"test_accuracy": 0.5})
    return model, path


def test_round_trip(saved):
    model, path = saved
    loaded, meta = load_model(path)
    np.testing.assert_array_equal(loaded.params, model.params)
    assert loaded.config() == model.config()
    assert meta["metrics"] == {"test_accuracy": 0.5} and meta["version"] == 1
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_load_onto_another_device_and_save_from_it(saved, tmp_path):
    import array_api_strict as xp
    model, path = saved
    loaded, _ = load_model(path, device=xp)
    assert loaded.device == "array_api_strict" and type(loaded.params).__module__.startswith("array_api_strict")
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    again, _ = load_model(save_model(loaded, tmp_path / "again.npz"))
    np.testing.assert_array_equal(again.params, model.params)


def test_no_temp_file_left_and_weights_are_float32(saved, tmp_path):
    _, path = saved
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    with np.load(path, allow_pickle=False) as npz:
        assert npz["layers.0.W"].dtype == np.float32


def rewrite(path, change):
    """Load the arrays of a model file, let `change` edit them, write them back."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(path, **arrays)


def edit_meta(edit):
    def change(arrays):
        meta = json.loads(str(arrays["metadata"]))
        edit(meta)
        arrays["metadata"] = np.array(json.dumps(meta))
    return change


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update({"layers.0.W": np.zeros((784, 17), np.float32)}),
     r"array 'layers.0.W' has shape \(784, 17\), expected \(784, 16\)"),
    (lambda a: a.pop("layers.3.b"), "missing array 'layers.3.b'"),
    (lambda a: a.pop("metadata"), "no metadata in this .npz: not a digitnet model file"),
    (lambda a: a.update({"layers.0.b": np.full(16, np.nan, np.float32)}),
     "array 'layers.0.b' contains NaN or infinite values"),
    (lambda a: a.update({"layers.0.b": np.zeros(16, np.int32)}), "has dtype int32, expected float32"),
    (edit_meta(lambda m: m.update(version=7)),
     "model file format version 7 is not supported \\(this digitnet reads version 1\\); retrain"),
    (edit_meta(lambda m: m.update(format="other")), "not a digitnet model file \\(format 'other'\\)"),
    (edit_meta(lambda m: m["model"]["layers"].__setitem__(1, {"type": "Conv2D"})),
     "layer 1 has unknown type 'Conv2D'"),
    (edit_meta(lambda m: m["model"]["layers"][0].update(n_in=10 ** 9)),
     r"array 'layers.0.W' has shape \(784, 16\), expected \(1000000000, 16\)"),
    (lambda a: a.update({"metadata": np.array("{not json")}), "metadata is not valid JSON"),
])
def test_bad_model_files(saved, change, message):
    _, path = saved
    rewrite(path, change)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_not_a_model_file(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"hello, not a zip")
    with pytest.raises(ModelFileError, match="junk.npz: not a digitnet model file"):
        load_model(tmp_path / "junk.npz")
    with pytest.raises(ModelFileError, match="missing.npz: no such model file; train one with"):
        load_model(tmp_path / "missing.npz")


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, metadata=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="evil.npz: not a digitnet model file"):
        load_model(path)


def test_refuses_to_save_nan_model(tmp_path):
    model = MLP(sizes=(4, 2))
    model.params[0] = np.nan
    with pytest.raises(ModelFileError, match="refusing to save a model whose weights contain NaN"):
        save_model(model, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())
