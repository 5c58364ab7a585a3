"""Downloading the four MNIST files, checked against known SHA-256 sums.

MNIST is served by several public mirrors under the same four file names.
We try the mirrors in order and, for each file:

1. let pooch download it (over HTTP with requests, a progress bar, into a
   temporary file that only a complete download replaces), into a private
   folder beside its final place;
2. check the SHA-256 of its *decompressed* bytes (the mirrors' gzip wrappers
   differ, the data inside does not, which is why pooch's own check of the
   file's bytes is not used);
3. only then rename it into place with `os.replace`, which is atomic, so the
   destination never holds a half-written or unverified file.

Network hiccups (timeouts, dropped connections) are retried with a growing
pause; an HTTP error, a bad checksum or a file that is not gzip moves on to
the next mirror. If every mirror fails, `DataError` lists why.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import logging
import os
import re
import socket
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Sequence

from digitnet.atomic import usual_mode, write_problem
from digitnet.data.idx import GZIP_MAGIC
from digitnet.errors import DataError
from digitnet.progress import in_notebook

log = logging.getLogger(__name__)

#: The four files, and the SHA-256 of each one's decompressed bytes.
FILES = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Base URLs tried in order; each serves the four files by the names above.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",       # PyTorch's torchvision
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # CVDF, used by TensorFlow
]

CHUNK = 1 << 16
#: What an OSError while writing means when it is the disk's or the folder's fault, not the network's.
WRITE_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}


class _MirrorFailed(Exception):
    """This mirror cannot give us this file; the message says why."""


def download_mnist(
    dest_dir: str | Path,
    mirrors: Sequence[str] = MIRRORS,
    retries: int = 2,
    timeout: float = 30,
    progress: bool = True,
    backoff: float = 1.0,
) -> Path:
    """Make sure `dest_dir` holds the four verified MNIST .gz files; return it.

    Files already present with the right checksum are kept as they are.
    Each network error is retried `retries` times per mirror, after pauses of
    `backoff`, 2 * `backoff`, 4 * `backoff`... seconds.
    """
    dest = Path(dest_dir)
    created = [p for p in (dest, *dest.parents) if not p.exists()]         # innermost first
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{dest}: cannot create the data directory ({write_problem(dest, e)}); choose another "
                        f"folder") from None
    try:
        for name, sha256 in FILES.items():
            target = dest / name
            if target.is_file():
                if sha256_of_decompressed(target) == sha256:
                    log.info("%s: already present and valid", target)
                    continue
                log.warning("%s: checksum mismatch, downloading it again", target)
            _download_one(name, sha256, target, mirrors, retries, timeout, progress, backoff)
    except BaseException as e:
        for folder in created:              # the folders made for a download that failed: not left behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(e, OSError) and e.errno in WRITE_ERRORS:
            raise DataError(f"{dest}: cannot write the MNIST files there ({write_problem(dest, e)}); free some "
                            f"space, or choose another folder (--data, or $DIGITNET_DATA)") from None
        raise
    return dest


def sha256_of_decompressed(path: str | Path) -> str | None:
    """SHA-256 (hex) of a gzip file's decompressed bytes; None if not valid gzip."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as raw:
            if raw.read(2) != GZIP_MAGIC:
                return None
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as f:
                while chunk := f.read(CHUNK * 16):
                    digest.update(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError):
        return None
    return digest.hexdigest()


def _download_one(name, sha256, target, mirrors, retries, timeout, progress, backoff) -> None:
    """Fetch one file from the first mirror that gives a valid copy."""
    reasons = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + name
        try:
            _fetch_verified(url, sha256, target, retries, timeout, progress, backoff)
            return
        except _MirrorFailed as e:
            log.warning("%s: %s", url, e)
            reasons.append(f"{url}: {e}")
    tried = "; ".join(reasons) or "no mirrors given"
    raise DataError(
        f"{name}: could not download from any mirror ({tried}); "
        "download the MNIST files yourself and pass --data DIR"
    )


def _fetch_verified(url, sha256, target, retries, timeout, progress, backoff) -> None:
    """Download `url` to `target` through a checked file in a private folder, or raise _MirrorFailed."""
    import requests                         # imported when needed, as pooch is (_retrieve)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as folder:
        for attempt in range(retries + 1):
            try:
                path = _retrieve(url, Path(folder), target.name, timeout, progress)
                break
            except requests.HTTPError as e:
                raise _MirrorFailed(f"HTTP {e.response.status_code} {e.response.reason}") from None
            except (requests.RequestException, OSError) as e:
                if getattr(e, "errno", None) in WRITE_ERRORS:        # a full disk: no retry, no other mirror
                    raise
                if attempt == retries:
                    raise _MirrorFailed(f"network error: {_describe(e)}") from None
                pause = backoff * 2**attempt
                log.warning("%s: %s; retrying in %.1f s", url, _describe(e), pause)
                time.sleep(pause)
        found = sha256_of_decompressed(path)
        if found is None:
            raise _MirrorFailed("not a valid gzip file")
        if found != sha256:
            raise _MirrorFailed(f"checksum mismatch (SHA-256 {found[:12]}..., expected {sha256[:12]}...)")
        os.chmod(path, usual_mode())        # pooch's temp file is private (0600)
        os.replace(path, target)


def _retrieve(url, folder, name, timeout, progress) -> Path:
    """pooch's download of `url` into folder/name (pooch's own messages kept out of the way)."""
    import pooch                            # when needed: its import of tqdm.auto warns in a notebook without
                                            # ipywidgets, and takes time
    shown = progress and (sys.stderr.isatty() or in_notebook())      # no bars redrawn into a log file
    downloader = pooch.HTTPDownloader(progressbar=shown, timeout=timeout, headers={"User-Agent": "digitnet"})
    with _quiet(pooch.get_logger()):
        return Path(pooch.retrieve(url, known_hash=None, fname=name, path=folder, downloader=downloader))


@contextlib.contextmanager
def _quiet(logger):
    """pooch logs every download and suggests pinning its hash; our own checksum covers that."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _describe(error: BaseException) -> str:
    """A short one-line description of a network error, from its innermost cause (requests wraps
    urllib3's MaxRetryError, which wraps the socket's error)."""
    while isinstance(inner := getattr(error, "reason", None) or (error.args or [None])[0], BaseException):
        error = inner
    name = type(error).__name__
    if name == "NameResolutionError" or isinstance(error, socket.gaierror):
        return "cannot find the server's address (no internet connection, or a wrong host name)"
    text = re.sub(r"<[^<>]* object at 0x[0-9a-f]+>: ", "", " ".join(str(error).split()))     # urllib3's reprs
    return (text if len(text) <= 200 else text[:200].rsplit(" ", 1)[0] + " ...") or name
