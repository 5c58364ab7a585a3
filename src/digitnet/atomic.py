"""Write files all-or-nothing: to a temp file beside the target, then rename.

A crash or Ctrl-C halfway leaves either the old file or none, never half a
file: `os.replace` is atomic on the same filesystem.
"""
import contextlib
import os
import tempfile
from pathlib import Path


def ensure_writable(folder):
    """Make `folder` if need be and check, by writing a temp file there, that files can be written in
    it: OSError if not. A command calls this at its start, rather than fail after its work."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tempfile.TemporaryFile(dir=folder).close()


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Context manager yielding a file object whose contents replace `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)           # mkstemp makes it private (0600); give it the usual mode
    try:
        with open(tmp, mode) as f:          # f.name is the temp file's path, for checks before the rename
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
