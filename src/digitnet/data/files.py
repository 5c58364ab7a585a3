"""Reading a data file's bytes, with one clear error when it cannot be read."""
from pathlib import Path

from digitnet.errors import DataError


def read_bytes(path: Path) -> bytes:
    """All of `path`'s bytes; DataError naming the path if it is missing or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from None
