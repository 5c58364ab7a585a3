"""Property-based tests (Hypothesis): whatever bytes or arrays arrive, the readers, the image
preprocessing and the model loader answer with a result or with digitnet's own error, never with
anything else. The "ci" profile (conftest.py) bounds the examples and fixes their seed."""
import gzip
import io
import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from digitnet import MLP, DigitnetError, load_model, save_model
from digitnet.data.csv import read_csv
from digitnet.data.idx import read_idx
from digitnet.preprocess import preprocess

SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow])


def written(content, name):
    """`content` in a fresh file called `name`."""
    path = Path(tempfile.mkdtemp()) / name
    path.write_bytes(content)
    return path


def answers(read, path):
    """read(path)'s result, or None when it raised DigitnetError; any other exception fails."""
    try:
        return read(path)
    except DigitnetError:
        return None


def idx_bytes(array):
    return b"\x00\x00\x08" + bytes([array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


@SETTINGS
@given(st.binary(max_size=3000), st.booleans())
def test_idx_reader_takes_any_bytes(content, compressed):
    answers(read_idx, written(gzip.compress(content) if compressed else content, "x-idx3-ubyte"))


@SETTINGS
@given(arrays(np.uint8, st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple)),
       st.booleans(), st.data())
def test_idx_reader_reads_any_valid_file_and_survives_any_damage(array, compressed, data):
    content = idx_bytes(array)
    content = gzip.compress(content) if compressed else content
    np.testing.assert_array_equal(read_idx(written(content, "ok.gz" if compressed else "ok")), array)
    at = data.draw(st.integers(0, len(content) - 1))
    damaged = content[:at] + bytes([content[at] ^ data.draw(st.integers(1, 255))]) + content[at + 1:]
    answers(read_idx, written(damaged[:data.draw(st.integers(0, len(damaged)))], "damaged"))


@SETTINGS
@given(st.binary(max_size=3000))
def test_csv_reader_takes_any_bytes(content):
    answers(read_csv, written(content, "mnist_train.csv"))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 9), st.lists(st.integers(0, 255), min_size=784, max_size=784)),
                min_size=1, max_size=3), st.booleans(), st.data())
def test_csv_reader_reads_any_valid_file_and_survives_any_damage(rows, header, data):
    lines = ["label," + ",".join(f"p{i}" for i in range(784))] if header else []
    lines += [",".join(map(str, [label, *pixels])) for label, pixels in rows]
    content = ("\n".join(lines) + "\n").encode()
    images, labels = read_csv(written(content, "mnist_train.csv"))
    np.testing.assert_array_equal(labels, [label for label, _ in rows])
    np.testing.assert_array_equal(images.reshape(len(rows), -1), [pixels for _, pixels in rows])
    at = data.draw(st.integers(0, len(content) - 1))
    answers(read_csv, written(content[:at] + data.draw(st.binary(max_size=5)) + content[at + 1:], "mnist_test.csv"))


@SETTINGS
@given(st.binary(max_size=2000))
def test_preprocessing_takes_any_bytes_as_an_image_file(content):
    answers(preprocess, written(content, "drawing.png"))


@SETTINGS
@given(arrays(st.sampled_from([np.uint8, np.float32, np.float64]),
              st.tuples(st.integers(1, 60), st.integers(1, 60)) | st.tuples(st.integers(1, 30), st.integers(1, 30),
                                                                                 st.sampled_from([3, 4]))))
def test_preprocessing_takes_any_array(array):
    if array.dtype.kind == "f":
        assume(np.isfinite(array).all())
    result = answers(preprocess, array)
    if result is not None:
        assert result.shape == (28, 28) and result.dtype == np.float32
        assert 0 <= result.min() and result.max() <= 1


def model_bytes():
    buffer = io.BytesIO()
    path = Path(tempfile.mkdtemp()) / "m.npz"
    save_model(MLP(sizes=(6, 4, 3)), path)
    buffer.write(path.read_bytes())
    return buffer.getvalue()


MODEL = model_bytes()


@SETTINGS
@given(st.binary(max_size=2000))
def test_model_loader_takes_any_bytes(content):
    answers(load_model, written(content, "m.npz"))


@SETTINGS
@given(st.data())
def test_model_loader_survives_any_damage_to_a_model_file(data):
    at = data.draw(st.integers(0, len(MODEL) - 1))
    damaged = MODEL[:at] + bytes([MODEL[at] ^ data.draw(st.integers(1, 255))]) + MODEL[at + 1:]
    model = answers(load_model, written(damaged[:data.draw(st.integers(1, len(damaged)))], "m.npz"))
    if model is not None:
        assert np.isfinite(model.params).all()
