"""Downloading from mirrors, against a local HTTP server with good and bad mirrors.

The server answers under five prefixes:

* /good/     the real files;
* /missing/  404 for everything;
* /corrupt/  bytes of the right length, but wrong (a damaged gzip stream);
* /flaky/    drops the connection on the first request for each file, then good;
* /slow/     a trickle of 100 bytes every 50 ms, then the connection closed.
"""
import collections
import http.server
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from digitnet.atomic import usual_mode
from digitnet.data import FILES, MIRRORS, download_mnist
from digitnet.data.download import _describe, sha256_of_decompressed
from digitnet.errors import DataError


class Mirror(http.server.ThreadingHTTPServer):
    def __init__(self, files):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files = files                  # name -> bytes, read once
        self.requests = collections.Counter()
        self.lock = threading.Lock()

    def url(self, prefix):
        return f"http://127.0.0.1:{self.server_address[1]}/{prefix}/"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        _, prefix, name = self.path.split("/", 2)
        with server.lock:
            server.requests[self.path] += 1
            count = server.requests[self.path]
        body = server.files.get(name)
        if prefix == "missing" or body is None:
            self.send_error(404)
            return
        if prefix == "corrupt":
            body = body[:20] + bytes(len(body) - 20)
        if prefix == "flaky" and count == 1:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:1000])   # then hang up mid-file
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if prefix == "slow":                # a trickle, for as long as a test needs to stop the download
            for start in range(0, min(len(body), 200 * 100), 100):
                self.wfile.write(body[start:start + 100])
                time.sleep(0.05)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(mnist_dir):
    return {name: (mnist_dir / name).read_bytes() for name in FILES}


@pytest.fixture
def mirror(served):
    server = Mirror(served)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def assert_complete(dest):
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)
    for name, sha in FILES.items():
        assert sha256_of_decompressed(dest / name) == sha


def test_mirrors_are_the_public_ones():
    assert MIRRORS == ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                       "https://storage.googleapis.com/cvdf-datasets/mnist/"]
    assert sorted(FILES) == sorted(["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])


def test_bad_mirrors_are_skipped(mirror, tmp_path):
    dest = tmp_path / "data"
    mirrors = [mirror.url("missing"), mirror.url("corrupt"), mirror.url("good")]
    assert download_mnist(dest, mirrors=mirrors, backoff=0, progress=False) == dest
    assert_complete(dest)       # also: no .part files left behind
    assert {(dest / name).stat().st_mode & 0o777 for name in FILES} == {usual_mode()}     # not private
    for name in FILES:
        for prefix in ("missing", "corrupt", "good"):
            assert mirror.requests[f"/{prefix}/{name}"] == 1


def test_no_bars_are_drawn_where_nobody_watches(mirror, tmp_path, capfd):
    """A first `digitnet train > log 2>&1` downloads MNIST: progress=True draws bars in a terminal or a
    notebook only, not into a log file (here stderr is pytest's capture, no terminal)."""
    download_mnist(tmp_path, mirrors=[mirror.url("good")], backoff=0, progress=True)
    assert_complete(tmp_path)
    assert "\r" not in capfd.readouterr().err


def test_network_errors_are_retried(mirror, tmp_path):
    download_mnist(tmp_path, mirrors=[mirror.url("flaky")], retries=1, backoff=0, progress=False)
    assert_complete(tmp_path)
    assert all(mirror.requests[f"/flaky/{name}"] == 2 for name in FILES)


def test_every_mirror_failing_says_why_and_leaves_nothing(mirror, tmp_path):
    missing, corrupt = mirror.url("missing"), mirror.url("corrupt")
    message = (
        f"train-images-idx3-ubyte.gz: could not download from any mirror ("
        f"{missing}train-images-idx3-ubyte.gz: HTTP 404 Not Found; "
        f"{corrupt}train-images-idx3-ubyte.gz: not a valid gzip file); "
        "download the MNIST files yourself and pass --data DIR"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        download_mnist(tmp_path / "new" / "data", mirrors=[missing, corrupt], backoff=0, progress=False)
    assert list(tmp_path.iterdir()) == []                             # the folders it made are gone too


def test_a_full_disk_is_no_network_error(mirror, tmp_path, monkeypatch):
    """Writing the download fails: no retry, no other mirror, no advice to download by hand."""
    import errno
    from digitnet.data import download

    calls = []

    def full(url, folder, name, *args):
        calls.append(url)
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / name))
    monkeypatch.setattr(download, "_retrieve", full)
    dest = tmp_path / "new"
    with pytest.raises(DataError, match=rf"^{re.escape(str(dest))}: cannot write the MNIST files there \(No space "
                                        r"left on device\); free some space, or choose another folder"):
        download_mnist(dest, mirrors=[mirror.url("good"), mirror.url("good")], backoff=0, progress=False)
    assert len(calls) == 1 and not dest.exists()


def test_network_errors_exhausting_retries(mirror, tmp_path):
    dead = "http://127.0.0.1:9/"        # the discard port: connection refused
    with pytest.raises(DataError, match=r"^train-images-idx3-ubyte\.gz: could not download from any mirror \("
                                        r"http://127\.0\.0\.1:9/train-images-idx3-ubyte\.gz: network error: .+\); "
                                        r"download the MNIST files yourself and pass --data DIR$"):
        download_mnist(tmp_path, mirrors=[dead], retries=2, backoff=0, progress=False, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_network_error_is_told_by_its_innermost_cause_in_whole_words():
    import requests
    from urllib3.exceptions import MaxRetryError
    offline = requests.ConnectionError(MaxRetryError(None, "/mnist/x.gz", reason=socket.gaierror(-2, "Name unknown")))
    assert _describe(offline) == "cannot find the server's address (no internet connection, or a wrong host name)"
    long = _describe(OSError("the server said " + "something very long " * 20))
    assert len(long) <= 204 and long.endswith("long ...")


def test_sigterm_mid_download_leaves_nothing_behind(mirror, tmp_path):
    """As Ctrl-C does: the partial file, its private folder and the folder the command made are gone."""
    target = tmp_path / "new" / "mnist"
    process = subprocess.Popen([sys.executable, "-m", "digitnet", "download", "--dir", str(target), "--mirror",
                                mirror.url("slow"), "--only"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (target.is_dir() and any(target.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.02)                                # until the download's temporary folder exists
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143 and stderr.strip().endswith("digitnet: stopped by SIGTERM"), stderr
    assert list(tmp_path.iterdir()) == []


def test_valid_files_are_not_downloaded_again(mirror, mnist_dir, tmp_path):
    shutil.copy(mnist_dir / "train-images-idx3-ubyte.gz", tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the real thing")
    download_mnist(tmp_path, mirrors=[mirror.url("good")], progress=False)
    assert_complete(tmp_path)
    assert mirror.requests["/good/train-images-idx3-ubyte.gz"] == 0
    assert mirror.requests["/good/t10k-labels-idx1-ubyte.gz"] == 1   # invalid, so replaced
    assert sum(mirror.requests.values()) == 3


def test_download_command(mirror, tmp_path):
    """`digitnet download --mirror URL --only`: the command line end to end, against the local mirrors."""
    import subprocess
    import sys

    def download(dest, *prefixes):
        args = [a for p in prefixes for a in ("--mirror", mirror.url(p))]
        return subprocess.run([sys.executable, "-m", "digitnet", "download", "--data", str(dest), *args, "--only"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)

    ok = download(tmp_path / "ok", "missing", "corrupt", "good")
    assert ok.returncode == 0 and f"MNIST is in {tmp_path / 'ok'}" in ok.stdout, ok.stderr
    assert "\r" not in ok.stderr                                  # no progress bars redrawn into a pipe
    assert_complete(tmp_path / "ok")
    bad = download(tmp_path / "bad", "missing", "corrupt")
    errors = [line for line in bad.stderr.splitlines() if line.startswith("digitnet: error:")]
    assert bad.returncode == 2 and len(errors) == 1 and "Traceback" not in bad.stderr
    assert not any((tmp_path / "bad").glob("*.gz"))
