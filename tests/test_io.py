"""Model files: round trip, atomic writes, and a clear error for every kind of bad file."""
import json
import os
import re
import zipfile

import numpy as np
import pytest

from digitnet import MLP
from digitnet.errors import ModelFileError
from digitnet.io import default_model_path, load_model, save_model
from digitnet.layers import ACTIVATIONS


@pytest.fixture
def saved(tmp_path):
    model = MLP(sizes=(784, 16, 10), activation="tanh", dropout=0.2, random_state=1)
    path = save_model(model, tmp_path / "m.npz", metrics={"test_accuracy": 0.5})
    return model, path


def test_round_trip(saved):
    model, path = saved
    loaded = load_model(path)
    meta = loaded.metadata
    np.testing.assert_array_equal(loaded.params, model.params)
    assert loaded.config() == model.config()
    assert meta["metrics"] == {"test_accuracy": 0.5} and meta["version"] == 1
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_survives_a_round_trip(activation, tmp_path):
    model = MLP(sizes=(784, 8, 10), activation=activation, random_state=1)
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    assert loaded.config() == model.config()
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_load_onto_another_device_and_save_from_it(saved, tmp_path):
    import array_api_strict as xp
    model, path = saved
    loaded = load_model(path, device=xp)
    assert loaded.device == "array_api_strict" and type(loaded.params).__module__.startswith("array_api_strict")
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    again = load_model(save_model(loaded, tmp_path / "again.npz"))
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
    (lambda a: a.update({"layers.0.b": np.full(16, 1e300)}),
     r"array 'layers.0.b' contains NaN or infinite values \(or values beyond float32's range\)"),
    (lambda a: a.update({"layers.0.b": np.zeros(16, np.int32)}), "has dtype int32, expected float32"),
    (edit_meta(lambda m: m.update(version=7)),
     "model file format version 7 is not supported \\(this digitnet reads version 1\\); retrain"),
    (edit_meta(lambda m: m.update(format="other")), "not a digitnet model file \\(format 'other'\\)"),
    (edit_meta(lambda m: m["model"]["layers"].__setitem__(1, {"type": "Conv2D"})),
     "layer 1 has unknown type 'Conv2D'"),
    (edit_meta(lambda m: m["model"]["layers"][0].update(n_in=10 ** 9)),
     r"array 'layers.0.W' has shape \(784, 16\), expected \(1000000000, 16\)"),
    (lambda a: a.update({"metadata": np.array("{not json")}), "metadata is not valid JSON"),
    (edit_meta(lambda m: m["model"]["layers"][0].update(n_in=True)),
     r"layer 0 \(Dense\) needs positive integer n_in and n_out"),
    (edit_meta(lambda m: m["model"]["layers"][2].update(rate="x")),
     r"layer 2 \(Dropout\) has bad settings: dropout rate must be a number in \[0, 1\), got 'x'$"),
])
def test_bad_model_files(saved, change, message):
    _, path = saved
    rewrite(path, change)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_load_model_returns_the_model_with_its_metadata(saved):
    model, path = saved
    loaded = load_model(path)
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    assert loaded.score(X, model.predict(X)) == 1.0
    assert loaded.metadata["metrics"] == {"test_accuracy": 0.5} and loaded.metadata["format"] == "digitnet-model"
    assert MLP(sizes=(4, 3)).metadata == {}


def npy_bytes():
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


@pytest.mark.parametrize("content, what", [
    (b"hello, not a zip\n", "it is a text file"),
    (b"", "it is empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "it is a PNG image"),
    (b"\xff\xd8\xff\xe0" + bytes(100), "it is a JPEG image"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(100), "it is a WebP image"),
    (b"\x80\x04\x95" + bytes(50), "it is a Python pickle, which digitnet never loads"),
    (b"PK\x03\x04" + bytes(50), r"it is a zip archive but not a readable .npz \(cut short, damaged, or another "
                                 r"kind of zip\)"),
    (b"\x1f\x8b\x08" + bytes(50), "it is gzip-compressed data"),
    (npy_bytes(), r"it is a single NumPy array \(.npy\), not an .npz"),
    (bytes(range(256)), "it is binary data of a kind digitnet does not know"),
])
def test_a_file_that_is_not_a_model_is_described_in_our_words(tmp_path, content, what):
    path = tmp_path / "fake.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as error:
        load_model(path)
    message = str(error.value)
    assert re.match(rf"{re.escape(str(path))}: not a digitnet model file: {what}; a digitnet model file is "
                    r"the .npz that `digitnet train --out FILE` writes$", message), message
    assert "allow_pickle" not in message and "unsafe" not in message


def test_a_zip_of_other_files_such_as_a_pytorch_model_is_named(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"x")
    with pytest.raises(ModelFileError, match=re.escape(f"{path}: not a digitnet model file: it is a zip archive of "
                                                       "other files (a PyTorch or Keras model, say), not an .npz")):
        load_model(path)


def test_missing_file_or_a_directory_suggest_a_command_that_works(tmp_path):
    with pytest.raises(ModelFileError, match="missing.npz: no such model file; train one with"):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match=re.escape(f"{tmp_path} is a directory, not a model file: name the "
                                                       f"model file in it, or train one with `digitnet train "
                                                       f"--out {tmp_path / 'model.npz'}`")):
        load_model(tmp_path)


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, metadata=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="evil.npz: not a digitnet model file: an .npz of Python objects, "
                                             "which digitnet never unpickles") as error:
        load_model(path)
    assert "allow_pickle" not in str(error.value)


def test_a_damaged_npz_is_named(saved, tmp_path):
    _, path = saved
    damaged = tmp_path / "cut.npz"
    damaged.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ModelFileError, match="cut.npz: (a damaged .npz|not a digitnet model file: it is a zip "
                                             "archive but not a readable .npz)"):
        load_model(damaged)


def test_a_path_that_cannot_be_written_is_named_in_the_users_words(tmp_path):
    (tmp_path / "notes.txt").write_text("a file")
    fix = "; choose a path in a folder you can write to"
    for path, problem in ((tmp_path / "notes.txt" / "sub" / "m.npz", f"{tmp_path / 'notes.txt'} is a file, not a "
                                                                      "folder"),
                          (tmp_path, "is a directory, not a file")):
        with pytest.raises(ModelFileError, match=f"^{re.escape(f'cannot save the model to {path}: {problem}{fix}')}$"):
            save_model(MLP(sizes=(4, 2)), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]            # no temp file left


def test_refuses_to_save_nan_model(tmp_path):
    model = MLP(sizes=(4, 2))
    model.params[0] = np.nan
    with pytest.raises(ModelFileError, match="refusing to save a model whose weights contain NaN"):
        save_model(model, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_metadata_that_could_not_be_read_back_is_never_saved(tmp_path):
    with pytest.raises(ModelFileError, match="refusing to save metadata that cannot be read back: metrics "
                                             "'test_accuracy' is \"high\", not a number"):
        save_model(MLP(sizes=(4, 2)), tmp_path / "m.npz", metrics={"test_accuracy": "high"})
    with pytest.raises(ModelFileError, match="history 'train_loss' is not a list of numbers"):
        save_model(MLP(sizes=(4, 2)), tmp_path / "m.npz", history={"train_loss": [None, 0.5]})
    assert not list(tmp_path.iterdir())
    rich = dict(metrics={"recall": [0.9, 0.8], "test_n": 10.0}, training={"augment": {"kind": "shift"}},
                history={"note": "any other key holds anything", "val_loss": [None]})
    save_model(MLP(sizes=(4, 2)), tmp_path / "m.npz", **rich)           # what digitnet does not show: kept as is
    assert {key: load_model(tmp_path / "m.npz").metadata[key] for key in rich} == rich


def test_saving_through_a_link_replaces_its_target_and_never_a_device_or_pipe(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "m.npz").symlink_to(tmp_path / "models" / "v1.npz")
    save_model(MLP(sizes=(4, 2)), tmp_path / "m.npz")
    assert (tmp_path / "m.npz").is_symlink() and load_model(tmp_path / "models" / "v1.npz").sizes == [4, 2]
    os.mkfifo(tmp_path / "pipe.npz")
    with pytest.raises(ModelFileError, match="pipe.npz: is not a regular file"):
        save_model(MLP(sizes=(4, 2)), tmp_path / "pipe.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "models", "pipe.npz"]


def test_saving_onto_a_directory_names_it_and_writes_nothing(tmp_path):
    (tmp_path / "models").mkdir()
    with pytest.raises(ModelFileError, match=f"{re.escape(str(tmp_path))}/models: is a directory, not a file"):
        save_model(MLP(sizes=(4, 2)), tmp_path / "models")
    assert [p.name for p in tmp_path.iterdir()] == ["models"] and not list((tmp_path / "models").iterdir())


@pytest.mark.parametrize("metadata, message", [
    (dict(version=2), "metadata 'version' is the model file's own entry: give yours another name"),
    (dict(format="mine"), "metadata 'format' is the model file's own entry"),
    (dict(metrics={"test_accuracy": np.float32(0.5)}), "metadata must be plain JSON values"),
])
def test_metadata_that_would_break_the_file_is_refused(tmp_path, metadata, message):
    with pytest.raises(ModelFileError, match=message):
        save_model(MLP(sizes=(4, 2)), tmp_path / "m.npz", **metadata)
    assert not list(tmp_path.iterdir())


def test_digitnet_home_expands_a_tilde_as_digitnet_data_does(tmp_path, monkeypatch):
    """A value written in a .env file or a service's unit keeps its ~ for the program to expand."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DIGITNET_HOME", "~/models")
    assert default_model_path() == tmp_path / "models" / "model.npz"


@pytest.mark.parametrize("path", [None, b"m.npz", "", 3])
def test_what_is_not_a_path_is_refused_in_words(path):
    for call in (lambda: load_model(path), lambda: save_model(MLP(sizes=(4, 3)), path)):
        with pytest.raises(ModelFileError, match=r"^a model file is named by a path \(a str or pathlib.Path\), not "):
            call()


def test_a_path_with_a_tilde_is_the_home_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert save_model(MLP(sizes=(4, 3)), "~/m.npz") == tmp_path / "m.npz"
    assert load_model("~/m.npz").sizes == [4, 3]
