"""Write files all-or-nothing: to a temp file beside the target, then rename.

A crash or Ctrl-C halfway leaves either the old file or none, never half a
file: `os.replace` is atomic on the same filesystem.
"""
import contextlib
import errno
import os
import tempfile
from pathlib import Path


def check_writable(folder):
    """Check, making nothing, that files can be written in `folder` once `atomic_write` makes it: the
    nearest part of it that exists must be a folder that takes a temp file. NotADirectoryError names
    a file in the way; any other OSError is the test write's. A command calls this at its start, so as
    not to fail after its work."""
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(existing))
    tempfile.TemporaryFile(dir=existing).close()


def nearest_existing(folder):
    """`folder`, or the nearest of its parents that exists."""
    folder = Path(folder).absolute()
    return next(p for p in (folder, *folder.parents) if p.exists())


def write_problem(folder, error):
    """What an OSError from writing into `folder` means, in a few words: a file where a folder on the
    way should be, or the error's own."""
    existing = nearest_existing(folder)
    return error.strerror or str(error) if existing.is_dir() else f"{existing} is a file, not a folder"


def usual_mode():
    """The mode a new file gets from open(): 0666 less the umask (read the only way there is: by setting it)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def target(path):
    """The file `atomic_write(path)` replaces: a symbolic link's target (the link kept). A folder there
    is an IsADirectoryError, a device, pipe or socket a FileExistsError: refused, not replaced."""
    path = Path(os.path.realpath(path))
    if path.is_dir():                       # found now, not at the rename, which would name the temp file
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(path))
    if path.exists() and not path.is_file():
        raise FileExistsError(errno.EEXIST, "is not a regular file (a device, pipe or socket)", str(path))
    return path


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Context manager yielding a file object whose contents replace `target(path)` on success."""
    path = target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:200]}.", suffix=".tmp")   # a name's 255 bytes
    os.close(fd)
    os.chmod(tmp, usual_mode())             # mkstemp makes it private (0600)
    try:
        with open(tmp, mode) as f:          # f.name is the temp file's path, for checks before the rename
            yield f
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno and e.filename in (None, tmp):   # named as the user named it
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
