"""The CSV reader: Kaggle's layout, with or without a header, and each kind of bad line."""
import re

import numpy as np
import pytest

from digitnet.data import read_csv, read_idx
from digitnet.data import csv as csv_module
from digitnet.errors import DataError

HEADER = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))


def csv_text(images, labels, header=False) -> str:
    rows = np.column_stack([labels, images.reshape(len(images), -1)])
    lines = [",".join(map(str, row)) for row in rows.tolist()]
    return "\n".join(([HEADER] if header else []) + lines) + "\n"


@pytest.fixture
def sample():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=10, dtype=np.uint8)
    return images, labels


def write(tmp_path, text, name="mnist_test.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("header", [True, False])
def test_reads_with_and_without_header(tmp_path, sample, header):
    images, labels = sample
    x, y = read_csv(write(tmp_path, csv_text(images, labels, header=header)))
    assert x.dtype == np.uint8 and x.shape == (10, 28, 28)
    assert y.dtype == np.uint8 and y.shape == (10,)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_a_header_of_pandas_column_numbers_is_a_header(tmp_path, sample):
    """DataFrame.to_csv with a "label" column and pixel columns named 0 to 783."""
    images, labels = sample
    pandas_header = "label," + ",".join(map(str, range(784)))
    x, y = read_csv(write(tmp_path, pandas_header + "\n" + csv_text(images, labels)))
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_real_images_round_trip_through_csv(mnist_dir, tmp_path):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:25]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:25]
    x, y = read_csv(write(tmp_path, csv_text(images, labels, header=True)))
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_windows_line_endings_and_no_final_newline(tmp_path, sample):
    images, labels = sample
    text = csv_text(images, labels, header=True).rstrip("\n").replace("\n", "\r\n")
    x, y = read_csv(write(tmp_path, text))
    np.testing.assert_array_equal(x, images)


@pytest.mark.parametrize("header", [True, False])
def test_a_byte_order_mark_is_skipped(tmp_path, sample, header):
    images, labels = sample
    path = tmp_path / "mnist_test.csv"
    path.write_text(csv_text(images, labels, header=header), encoding="utf-8-sig")
    x, y = read_csv(path)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_many_blocks(tmp_path, monkeypatch, sample):
    """Blocks are stitched back in order; a bad line in a later block is found."""
    monkeypatch.setattr(csv_module, "BLOCK_LINES", 3)
    images, labels = sample
    path = write(tmp_path, csv_text(images, labels, header=True))
    x, y = read_csv(path)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    lines = path.read_text().splitlines()
    lines[8] = lines[8].replace(",", ",x", 1)
    path.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"^mnist_test\.csv line 9, column 2: 'x\d+' is not a number$"):
        read_csv(path)


def test_lenient_but_valid_cells_take_the_slow_path(tmp_path, sample):
    images, labels = sample
    text = csv_text(images, labels)
    lines = text.splitlines()
    cells = lines[0].split(",")
    cells[1], cells[2] = " 007 ", f"{cells[2]}.0"
    lines[0] = ",".join(cells)
    x, _ = read_csv(write(tmp_path, "\n".join(lines)))
    assert x[0, 0, 0] == 7
    np.testing.assert_array_equal(x[0].ravel()[1:], images[0].ravel()[1:])


def bad_line(sample, line_index, edit):
    """CSV text with a header and data line `line_index` (0-based, after the header) edited."""
    images, labels = sample
    lines = csv_text(images, labels, header=True).splitlines()
    cells = lines[1 + line_index].split(",")
    lines[1 + line_index] = ",".join(edit(cells))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("edit, message", [
    (lambda c: c[:-5], "mnist_test.csv line 7: 780 columns, expected 785 (label + 784 pixels)"),
    (lambda c: c + ["0"], "mnist_test.csv line 7: 786 columns, expected 785 (label + 784 pixels)"),
    (lambda c: ["12"] + c[1:], "mnist_test.csv line 7: label 12 is not a digit 0-9"),
    (lambda c: ["-1"] + c[1:], "mnist_test.csv line 7: label -1 is not a digit 0-9"),
    (lambda c: c[:3] + ["256"] + c[4:], "mnist_test.csv line 7, column 4: pixel value 256 is outside 0-255"),
    (lambda c: c[:3] + ["-3"] + c[4:], "mnist_test.csv line 7, column 4: pixel value -3 is outside 0-255"),
    (lambda c: c[:3] + ["99999999999"] + c[4:],
     "mnist_test.csv line 7, column 4: pixel value 99999999999 is outside 0-255"),
    (lambda c: c[:3] + ["abc"] + c[4:], "mnist_test.csv line 7, column 4: 'abc' is not a number"),
    (lambda c: c[:3] + [""] + c[4:], "mnist_test.csv line 7, column 4: '' is not a number"),
    (lambda c: c[:3] + ["12.5"] + c[4:], "mnist_test.csv line 7, column 4: '12.5' is not an integer"),
    (lambda c: ["3.5"] + c[1:], "mnist_test.csv line 7, column 1: '3.5' is not an integer"),
    (lambda c: c[:3] + ["2_5"] + c[4:], "mnist_test.csv line 7, column 4: '2_5' is not a number"),
])
def test_bad_line_is_named_by_line_number(tmp_path, sample, edit, message):
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        read_csv(write(tmp_path, bad_line(sample, 5, edit)))


def test_line_numbers_without_header(tmp_path, sample):
    images, labels = sample
    lines = csv_text(images, labels).splitlines()
    lines[2] = "1,2,3"
    with pytest.raises(DataError, match=re.escape("mnist_test.csv line 3: 3 columns, expected 785")):
        read_csv(write(tmp_path, "\n".join(lines)))


def test_blank_line_in_the_middle(tmp_path, sample):
    images, labels = sample
    lines = csv_text(images, labels, header=True).splitlines()
    lines.insert(4, "")
    with pytest.raises(DataError, match=re.escape(
            "mnist_test.csv line 5: empty line, expected a label and 784 pixel values")):
        read_csv(write(tmp_path, "\n".join(lines)))


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path, text):
    with pytest.raises(DataError, match=re.escape(
            "mnist_test.csv: empty file; expected lines of a label and 784 pixel values")):
        read_csv(write(tmp_path, text))


def test_header_only(tmp_path):
    with pytest.raises(DataError, match=re.escape("mnist_train.csv: no data lines after the header")):
        read_csv(write(tmp_path, HEADER + "\n", name="mnist_train.csv"))


def test_missing_file(tmp_path):
    path = tmp_path / "mnist_train.csv"
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}: file not found$"):
        read_csv(path)
