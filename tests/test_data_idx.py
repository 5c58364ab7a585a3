"""The IDX reader: real MNIST files, and every way a file can be broken."""
import gzip
import re

import numpy as np
import pytest

from digitnet.data import read_idx, read_idx_pair
from digitnet.errors import DataError


def idx_bytes(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    """The IDX encoding of a uint8 array: 00 00, type, ndim, big-endian dims, data."""
    header = bytes([0, 0, type_byte, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path, array, compress=True, **kw):
    data = idx_bytes(array, **kw)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)


@pytest.fixture
def labels():
    return np.array([0, 9, 3, 3, 7], dtype=np.uint8)


def test_real_mnist_shapes_dtypes_and_sanity_figures(mnist_dir):
    x, y = read_idx_pair(mnist_dir / "train-images-idx3-ubyte.gz", mnist_dir / "train-labels-idx1-ubyte.gz")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert x.flags.writeable and x.flags.c_contiguous
    assert set(np.unique(y)) == set(range(10))
    # mean and std of pixels / 255, exactly, from a histogram of the 256 pixel values
    counts = np.bincount(x.ravel(), minlength=256)
    values = np.arange(256) / 255
    mean = (counts * values).sum() / counts.sum()
    std = np.sqrt((counts * (values - mean) ** 2).sum() / counts.sum())
    assert round(mean, 4) == 0.1307
    assert round(std, 4) == 0.3081
    xt, yt = read_idx_pair(mnist_dir / "t10k-images-idx3-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)


def test_raw_file_reads_like_gzip(mnist_dir, tmp_path):
    gz = mnist_dir / "t10k-labels-idx1-ubyte.gz"
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress(gz.read_bytes()))
    np.testing.assert_array_equal(read_idx(raw), read_idx(gz))


def test_gzip_is_detected_by_content_not_name(tmp_path, images):
    odd = write_idx(tmp_path / "images.bin", images, compress=True)
    np.testing.assert_array_equal(read_idx(odd), images)
    plain = write_idx(tmp_path / "images.gz", images, compress=False)
    np.testing.assert_array_equal(read_idx(plain), images)


def test_synthetic_pair_round_trip(tmp_path, images, labels):
    x, y = read_idx_pair(write_idx(tmp_path / "x.gz", images), write_idx(tmp_path / "y.gz", labels))
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_truncated_gzip_stream(mnist_dir, tmp_path):
    data = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    cut = tmp_path / "t10k-labels-idx1-ubyte.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"^t10k-labels-idx1-ubyte\.gz: the gzip data is truncated or corrupt; "
                                        r"delete the file and download it again$"):
        read_idx(cut)


def test_corrupt_gzip_stream(tmp_path, labels):
    data = bytearray(gzip.compress(idx_bytes(labels)))
    data[12:20] = b"\xff" * 8
    bad = tmp_path / "labels.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"^labels\.gz: the gzip data is truncated or corrupt"):
        read_idx(bad)


def test_wrong_magic(tmp_path, labels):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(b"\x01\x02" + idx_bytes(labels)[2:]))
    message = "labels.gz: wrong magic number: starts with bytes 01 02, an IDX file starts with 00 00"
    with pytest.raises(DataError, match=re.escape(message)):
        read_idx(path)


def test_wrong_type_byte(tmp_path, labels):
    path = write_idx(tmp_path / "labels.gz", labels, type_byte=0x0D)
    with pytest.raises(DataError, match=re.escape(
            "labels.gz: IDX data type 0x0d (float) is not supported; expected 0x08 (unsigned byte)")):
        read_idx(path)


def test_data_shorter_than_header_says(tmp_path, images):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)[:-10]))
    with pytest.raises(DataError, match=re.escape(
            "images.gz: truncated: expected 3920 bytes of data, found 3910; re-download the file")):
        read_idx(path)


def test_trailing_bytes(tmp_path, labels):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(labels) + b"\x00\x00\x00")
    with pytest.raises(DataError, match=re.escape(
            "labels: 3 unexpected trailing bytes after 5 bytes of data; the file is corrupt, re-download it")):
        read_idx(path)


def test_header_cut_short(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(DataError, match=re.escape(
            "images: truncated: the header needs 16 bytes for 3 dimensions, the file has 6")):
        read_idx(path)


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "train-images-idx3-ubyte.gz"
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}: file not found$"):
        read_idx(path)


def test_label_count_mismatch(tmp_path, images, labels):
    x = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    y = write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:4])
    with pytest.raises(DataError, match=re.escape(
            "t10k-labels-idx1-ubyte.gz: 4 labels but 5 images in t10k-images-idx3-ubyte.gz")):
        read_idx_pair(x, y)


def test_label_out_of_range(tmp_path, images, labels):
    labels[3] = 12
    x = write_idx(tmp_path / "x.gz", images)
    y = write_idx(tmp_path / "y.gz", labels)
    with pytest.raises(DataError, match=re.escape("y.gz: label 12 at index 3 is not a digit 0-9")):
        read_idx_pair(x, y)


def test_images_must_be_28x28(tmp_path, labels):
    x = write_idx(tmp_path / "x.gz", np.zeros((5, 14, 14), np.uint8))
    y = write_idx(tmp_path / "y.gz", labels)
    message = "x.gz: expected images of shape (n, 28, 28), found shape (5, 14, 14)"
    with pytest.raises(DataError, match=re.escape(message)):
        read_idx_pair(x, y)


def test_a_file_of_no_images_is_refused(tmp_path):
    x = write_idx(tmp_path / "x.gz", np.zeros((0, 28, 28), np.uint8))
    y = write_idx(tmp_path / "y.gz", np.zeros(0, np.uint8))
    with pytest.raises(DataError, match=re.escape("x.gz: holds no images (its header declares 0); the file is "
                                                  "corrupt, re-download it")):
        read_idx_pair(x, y)


def test_labels_must_be_1d(tmp_path, images):
    x = write_idx(tmp_path / "x.gz", images)
    y = write_idx(tmp_path / "y.gz", np.zeros((5, 2), np.uint8))
    with pytest.raises(DataError, match=re.escape("y.gz: expected labels of shape (n,), found shape (5, 2)")):
        read_idx_pair(x, y)
