"""load_mnist: the splits the trainer sees, the decoded-array cache, and finding the data."""
import gzip
import re
import shutil

import numpy as np
import pytest

from digitnet.data import MNIST, default_data_dir, find_source, load_mnist, read_idx
from digitnet.data import mnist as mnist_module
from digitnet.errors import DataError


@pytest.fixture(scope="module")
def real(mnist_dir):
    return load_mnist(mnist_dir)


def test_real_splits_shapes_dtypes_and_range(real, mnist_dir):
    assert isinstance(real, MNIST)
    assert real.x_train.shape == (55000, 784) and real.y_train.shape == (55000,)
    assert real.x_val.shape == (5000, 784) and real.y_val.shape == (5000,)
    assert real.x_test.shape == (10000, 784) and real.y_test.shape == (10000,)
    for x in (real.x_train, real.x_val, real.x_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    for y in (real.y_train, real.y_val, real.y_test):
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    test_images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(real.x_test, test_images.reshape(10000, 784) * np.float32(1 / 255))
    assert repr(real) == "MNIST(train=55000, val=5000, test=10000, pixels=784)"


def test_split_is_a_seeded_partition_keeping_train_order(real, mnist_dir):
    labels = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")
    val_idx = np.random.default_rng(0).permutation(60000)[:5000]
    train_idx = np.setdiff1d(np.arange(60000), val_idx)     # sorted: the original order
    np.testing.assert_array_equal(real.y_val, labels[val_idx])
    np.testing.assert_array_equal(real.y_train, labels[train_idx])


def test_same_seed_same_split_other_seed_other_split(real, mnist_dir):
    again = load_mnist(mnist_dir, seed=0)
    np.testing.assert_array_equal(again.x_val, real.x_val)
    np.testing.assert_array_equal(again.y_train, real.y_train)
    other = load_mnist(mnist_dir, seed=1)
    assert not np.array_equal(other.y_val, real.y_val)
    np.testing.assert_array_equal(other.x_test, real.x_test)


def test_validation_size_zero_and_bounds(mnist_dir):
    data = load_mnist(mnist_dir, validation_size=0)
    assert data.x_train.shape == (60000, 784) and data.x_val.shape == (0, 784)
    assert data.y_val.dtype == np.int64
    with pytest.raises(DataError, match=re.escape(
            "validation size 60000 must be less than the 60000 training images: hold out fewer")):
        load_mnist(mnist_dir, validation_size=60000)
    with pytest.raises(DataError, match=re.escape("validation size -1 must be a whole number from 0, e.g. 5000")):
        load_mnist(mnist_dir, validation_size=-1)
    with pytest.raises(DataError, match=re.escape("validation size True must be a whole number from 0")):
        load_mnist(mnist_dir, validation_size=True)


def test_second_load_reads_the_decoded_cache(real, mnist_dir, monkeypatch):
    decoded = default_data_dir() / "decoded"
    (key_dir,) = [d for d in decoded.iterdir() if d.name == mnist_module._cache_key(find_source(mnist_dir))]
    assert sorted(p.name for p in key_dir.iterdir()) == ["x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]

    def no_decoding(*args):
        raise AssertionError("decoded again instead of reading the cache")
    monkeypatch.setattr(mnist_module, "read_idx_pair", no_decoding)
    cached = load_mnist(mnist_dir)
    np.testing.assert_array_equal(cached.x_train, real.x_train)
    np.testing.assert_array_equal(cached.y_val, real.y_val)


def test_cache_key_follows_the_files(tmp_path, mnist_dir):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_dir / name, tmp_path)
    # a raw file, and the dotted spelling some mirrors use
    shutil.copy(mnist_dir / "train-labels-idx1-ubyte.gz", tmp_path / "train-labels.idx1-ubyte.gz")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        gzip.decompress((mnist_dir / "train-images-idx3-ubyte.gz").read_bytes()))
    source = find_source(tmp_path)
    assert source.kind == "idx"
    assert source.paths["train_images"].name == "train-images-idx3-ubyte"
    assert source.paths["train_labels"].name == "train-labels.idx1-ubyte.gz"
    key = mnist_module._cache_key(source)
    assert key != mnist_module._cache_key(find_source(mnist_dir))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").touch()
    assert mnist_module._cache_key(find_source(tmp_path)) != key


def test_a_cache_with_a_label_out_of_range_is_decoded_again(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", str(tmp_path / "home"))
    folder = _small_csv_dir(tmp_path, mnist_dir, 60, 10)
    first = load_mnist(folder, validation_size=0)
    (key_dir,) = (tmp_path / "home" / "decoded").iterdir()
    labels = np.load(key_dir / "y_train.npy")
    labels[7] = 200                                      # a valid .npy whose contents are damaged
    np.save(key_dir / "y_train.npy", labels)
    again = load_mnist(folder, validation_size=0)
    np.testing.assert_array_equal(again.y_train, first.y_train)
    assert np.load(key_dir / "y_train.npy")[7] == first.y_train[7]           # and the cache mended


def test_a_data_folder_that_is_a_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "data").write_text("")
    monkeypatch.setenv("DIGITNET_DATA", str(tmp_path / "data"))
    for download in (True, False):
        with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'data'}: the data folder is a file; set "
                                                      "$DIGITNET_DATA to a folder, or pass --data DIR")):
            load_mnist(download=download)


def test_unwritable_cache_is_skipped(mnist_dir, tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("DIGITNET_DATA", str(blocker))
    data = load_mnist(_small_csv_dir(tmp_path, mnist_dir, 60, 10), validation_size=6)
    assert data.x_train.shape == (54, 784)


def _small_csv_dir(tmp_path, mnist_dir, n_train, n_test):
    """mnist_train.csv and mnist_test.csv from the first real test images."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    out = tmp_path / "csv"
    out.mkdir()
    for name, sl in (("mnist_train.csv", slice(0, n_train)), ("mnist_test.csv", slice(n_train, n_train + n_test))):
        rows = np.column_stack([labels[sl], images[sl]])
        np.savetxt(out / name, rows, fmt="%d", delimiter=",", header="label," + ",".join(
            f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)), comments="")
    return out


def test_csv_source(mnist_dir, tmp_path):
    data_dir = _small_csv_dir(tmp_path, mnist_dir, 200, 50)
    assert find_source(data_dir).kind == "csv"
    data = load_mnist(data_dir, validation_size=20, seed=3)
    assert data.x_train.shape == (180, 784) and data.x_val.shape == (20, 784)
    assert data.x_test.shape == (50, 784) and data.x_train.dtype == np.float32
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(data.y_test, labels[200:250])
    val_idx = np.random.default_rng(3).permutation(200)[:20]
    np.testing.assert_array_equal(data.y_val, labels[val_idx])
    with pytest.raises(DataError, match=re.escape(
            "validation size 200 must be less than the 200 training images: hold out fewer")):
        load_mnist(data_dir, validation_size=200)


def test_missing_directory(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match=f"^{re.escape(str(missing))}: directory not found; pass --data DIR"):
        load_mnist(missing)


def test_directory_without_data(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    message = (
        f"{tmp_path}: no MNIST data found; expected train-images-idx3-ubyte[.gz], "
        "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] "
        "or mnist_train.csv and mnist_test.csv"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        load_mnist(tmp_path)


def test_incomplete_directory_says_what_it_found(tmp_path, mnist_dir):
    shutil.copy(mnist_dir / "t10k-labels-idx1-ubyte.gz", tmp_path)
    with pytest.raises(DataError, match=re.escape(
            f"{tmp_path}: incomplete MNIST data (found only t10k-labels-idx1-ubyte.gz); expected")):
        find_source(tmp_path)


def test_default_dir_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache"
    with pytest.raises(DataError, match=re.escape(
            f"{tmp_path / 'cache'}: MNIST is not downloaded yet; run `digitnet download` or pass --data DIR")):
        load_mnist(download=False)


def test_default_dir_downloads_when_empty(tmp_path, monkeypatch, mnist_dir):
    calls = []

    def fake_download(dest, progress):
        calls.append(dest)
        dest.mkdir(parents=True)
        for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            (dest / name).symlink_to(mnist_dir / name)
        return dest
    monkeypatch.setenv("DIGITNET_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist_module, "download_mnist", fake_download)
    data = load_mnist(validation_size=100, progress=False)
    assert calls == [tmp_path / "cache"]
    assert data.x_train.shape == (59900, 784)
    load_mnist(validation_size=100)         # files present now: no second download
    assert len(calls) == 1
