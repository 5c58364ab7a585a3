"""Reading MNIST from CSV, the layout of Kaggle's "MNIST in CSV".

Each line is one image: its label (a digit 0-9) and then its 784 pixel values
(0-255, row by row), separated by commas. The first line may be a header such
as ``label,1x1,1x2,...``; we treat it as one when none of its cells is a number, or when its
first cell is ``label`` (pandas names the pixel columns 0 to 783: ``label,0,1,...``).

Parsing 60,000 lines cell by cell in Python would take tens of seconds, so
the reader works in two speeds:

* the fast path parses a block of a few thousand lines at once with NumPy
  (`np.fromstring`) and validates the whole block with array operations;
* only when a block fails does the slow path walk that block line by line,
  cell by cell, to find the first bad line and say exactly what is wrong.

Line numbers in messages are 1-based line numbers in the file, so they match
what a text editor shows.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from digitnet.data.files import read_bytes
from digitnet.errors import DataError

PIXELS = 28 * 28
COLUMNS = 1 + PIXELS            # a label, then the pixels
BLOCK_LINES = 2048              # lines parsed together on the fast path
_ROW_END = -1                   # marker we put at the end of every line
_WHOLE_NUMBER = re.compile(rb"\d+")
_ALLOWED = np.zeros(256, dtype=bool)
_ALLOWED[list(b"0123456789,-")] = True


def read_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST CSV file.

    Returns ``(images, labels)``: uint8 arrays of shape (n, 28, 28) and (n,).
    Raises `DataError` naming the file and line for any malformed line.
    """
    path = Path(path)
    name = path.name
    text = read_bytes(path).removeprefix(b"\xef\xbb\xbf")   # the byte-order mark some editors write
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n")
    text = text.rstrip()
    if not text:
        raise DataError(f"{name}: empty file; expected lines of a label and 784 pixel values")

    lines = text.split(b"\n")
    del text
    first = 1 if _is_header(lines[0]) else 0   # index of the first data line
    n = len(lines) - first
    if n == 0:
        raise DataError(f"{name}: no data lines after the header")

    images = np.empty((n, PIXELS), dtype=np.uint8)
    labels = np.empty(n, dtype=np.uint8)
    for start in range(first, len(lines), BLOCK_LINES):
        block = lines[start:start + BLOCK_LINES]
        rows = _parse_block_fast(block)
        if rows is None:
            rows = _parse_block_slowly(block, first_lineno=start + 1, name=name)
        i = start - first
        labels[i:i + len(block)] = rows[:, 0]
        images[i:i + len(block)] = rows[:, 1:]
    return images.reshape(n, 28, 28), labels


def _is_header(line: bytes) -> bool:
    """A first line is a header when none of its cells is a number, or when its first cell is "label"."""
    cells = line.split(b",")
    return cells[0].strip().strip(b'"').lower() == b"label" or not any(_as_number(cell) is not None for cell in cells)


def _parse_block_fast(lines: list[bytes]) -> np.ndarray | None:
    """Parse well-formed lines into a uint8 array of shape (len(lines), 785).

    Returns None if anything at all looks off; the caller then takes the slow
    path, which finds and reports the exact problem.

    The trick: join the lines with ",-1," so the whole block is one long
    comma-separated list in which -1 marks each line's end, and parse it in
    one call. A block is good when the markers sit exactly every 786 values.
    """
    n = len(lines)
    text = b",-1,".join(lines) + b",-1,"
    chars = np.frombuffer(text, dtype=np.uint8)
    if not _ALLOWED[chars].all():
        return None                 # spaces, decimals, letters, ...: slow path
    digit = (chars >= ord("0")) & (chars <= ord("9"))
    if (digit[:-3] & digit[1:-2] & digit[2:-1] & digit[3:]).any():
        return None                 # 4+ digits: too big for a pixel, or could wrap int16
    if np.count_nonzero(chars == ord("-")) != n or text.startswith(b",") or b",," in text:
        return None                 # a minus sign besides our markers, or an empty cell
    try:
        values = np.fromstring(text, dtype=np.int16, sep=",")
    except ValueError:              # anything else it cannot read (NumPy < 2.3 warns instead: the size check)
        return None
    if values.size != n * (COLUMNS + 1):
        return None
    rows = values.reshape(n, COLUMNS + 1)
    if not (rows[:, -1] == _ROW_END).all():
        return None
    rows = rows[:, :-1]
    if rows.min() < 0 or rows[:, 1:].max() > 255 or rows[:, 0].max() > 9:
        return None
    return rows.astype(np.uint8)


def _parse_block_slowly(lines: list[bytes], first_lineno: int, name: str) -> np.ndarray:
    """Parse lines one cell at a time; raise `DataError` at the first bad cell.

    Also accepts what the fast path declines but is still valid, such as
    spaces around numbers, leading zeros or "3.0".
    """
    rows = np.empty((len(lines), COLUMNS), dtype=np.uint8)
    for offset, line in enumerate(lines):
        rows[offset] = _parse_line(line, f"{name} line {first_lineno + offset}")
    return rows


def _parse_line(line: bytes, where: str) -> list[int]:
    """One line's 785 values, checked; `where` prefixes error messages."""
    if not line.strip():
        raise DataError(f"{where}: empty line, expected a label and 784 pixel values")
    cells = line.split(b",")
    if len(cells) != COLUMNS:
        raise DataError(f"{where}: {len(cells)} columns, expected 785 (label + 784 pixels)")
    values = []
    for column, cell in enumerate(cells, start=1):
        value = _as_number(cell)
        shown = cell.strip().decode("utf-8", "replace")
        if value is None:
            raise DataError(f"{where}, column {column}: {shown!r} is not a number")
        if isinstance(value, float) and not value.is_integer():
            raise DataError(f"{where}, column {column}: {shown!r} is not an integer")
        value = int(value)
        if column == 1 and not 0 <= value <= 9:
            raise DataError(f"{where}: label {value} is not a digit 0-9")
        if column > 1 and not 0 <= value <= 255:
            raise DataError(f"{where}, column {column}: pixel value {value} is outside 0-255")
        values.append(value)
    return values


def _as_number(cell: bytes) -> int | float | None:
    """The cell's numeric value, or None if it is not a number."""
    cell = cell.strip()
    if _WHOLE_NUMBER.fullmatch(cell):
        return int(cell)
    if b"_" in cell:                           # Python's float() reads 2_5 as 25; a CSV file does not
        return None
    try:
        return float(cell)
    except ValueError:
        return None
