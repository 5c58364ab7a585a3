"""`digitnet serve` as a command: its processes, its sockets, and what it says when it cannot start."""
import os
import socket
import subprocess
import sys
import time
import types
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from digitnet.web import server
from digitnet.web.server import no_delay
from test_cli import assert_one_line_error, digitnet
from test_serve import free_port


@contextmanager
def serving(model, port, workers):
    """`digitnet serve` running until the block ends, once every worker listens; yields its first line."""
    process = subprocess.Popen([sys.executable, "-m", "digitnet", "serve", "--model", str(model), "--port", str(port),
                                "--workers", workers], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        for _ in range(200):
            if len(tcp_sockets(port, "0A")) == int(workers):              # 0A: LISTEN
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the server never listened: {process.stderr.read() if process.poll() else ''}")
        yield line
    finally:
        process.terminate()
        process.wait(10)


def tcp_sockets(port, state):
    """The inodes of this machine's TCP sockets on local `port` in `state` (hex, as /proc/net/tcp has it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def connections_per_process(port):
    """{pid: how many connections on local `port` it holds} over the processes this user can see."""
    established, counts = tcp_sockets(port, "01"), {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            counts[int(fd_dir.parent.name)] = sum(os.readlink(fd) in established for fd in fd_dir.iterdir())
        except OSError:                                    # another user's process, or one that ended
            continue
    return counts


def test_serve_without_a_model_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITNET_HOME", str(tmp_path))                    # no model saved there yet
    assert_one_line_error(digitnet("serve", check=False), r"no model at .*: train one with `digitnet train`")


@pytest.mark.parametrize("package", ["fastapi", "httptools", "orjson"])
def test_serve_without_the_web_extra_says_what_to_install(small_model_file, tmp_path, monkeypatch, package):
    (tmp_path / f"{package}.py").write_text(f"raise ModuleNotFoundError(name={package!r})")   # as if missing
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert_one_line_error(digitnet("serve", "--model", small_model_file, check=False),
                          rf"needs the web extra \({package} is missing\): pip install .*'\.\[web\]'")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_command_prints_its_address_and_answers(small_model_file, workers):
    port = free_port()
    with serving(small_model_file, port, workers) as line:
        assert f"at http://127.0.0.1:{port}/" in line
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").json() == {"status": "ok"}


def test_connections_get_tcp_nodelay_even_from_a_listener_bound_with_protocol_0():
    """uvicorn's --workers binds its socket with protocol 0, so asyncio leaves Nagle's algorithm on and
    each kept-alive answer waits 40 ms for the client's delayed ACK (uvicorn issue #3149)."""
    with socket.socket() as listener:                                   # protocol 0, as uvicorn binds it
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()), listener.accept()[0] as connection:
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            no_delay(types.SimpleNamespace(get_extra_info={"socket": connection}.get))
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


@pytest.mark.skipif(not server.SPREAD, reason="SO_REUSEPORT spreads connections on Linux only")
def test_workers_share_the_connections_and_the_port_is_theirs(small_model_file):
    """uvicorn's workers all accepting from one socket let one of them take every connection opened at
    once; with a socket each on the port (SO_REUSEPORT) the kernel shares them out. A second server on
    the port is refused."""
    port = free_port()
    with serving(small_model_file, port, "2"):
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        try:
            for client in clients:
                client.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert all(client.recv(4096).startswith(b"HTTP/1.1 200") for client in clients)
            held = [n for n in connections_per_process(port).values() if n]
            assert len(held) == 2 and sum(held) == 32, held          # both workers, none left out
        finally:
            for client in clients:
                client.close()
        assert_one_line_error(digitnet("serve", "--model", small_model_file, "--port", str(port), "--workers", "2",
                                       check=False), rf"port {port} is in use on 127.0.0.1")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_named_in_one_line(small_model_file, workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_one_line_error(digitnet("serve", "--model", small_model_file, "--port", str(port), "--workers", workers,
                                       check=False), rf"port {port} is in use on 127.0.0.1: .* --port")
