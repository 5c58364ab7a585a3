"""`digitnet serve` as a command: its processes, its sockets, and what it says when it cannot start."""
import asyncio
import multiprocessing.reduction
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from digitnet.web import server
from test_cli import assert_one_line_error, digitnet
from test_serve import free_port


@contextmanager
def serving(model, port, workers, stopped=None, stop=signal.SIGTERM, flags=()):
    """`digitnet serve` (with `flags`) running until the block ends, once every worker listens; yields its
    first line. The signal `stop` ends it; `stopped`, a list, then gets its exit status and stderr."""
    command = [sys.executable, "-m", "digitnet", "serve", "--model", str(model), "--port", str(port), "--workers",
               workers, *flags]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline()
            for _ in range(600):                                              # 30 s: a busy machine
                if len(tcp_sockets(port, "0A")) == int(workers):              # 0A: LISTEN
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"the server never listened: {process.stderr.read() if process.poll() else ''}")
            yield line
        finally:
            process.send_signal(stop)
            if stopped is not None:
                stopped += [process.wait(timeout=30), process.stderr.read()]


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


def test_a_collect_folder_that_cannot_be_used_is_named_at_the_start(small_model_file, tmp_path):
    a_file = tmp_path / "drawings"
    a_file.write_text("")
    assert_one_line_error(digitnet("serve", "--model", small_model_file, "--collect", a_file, check=False),
                          rf"--collect {a_file}: {a_file} is a file, not a folder; choose a folder you can write to")
    assert_one_line_error(digitnet("serve", "--model", small_model_file, "--collect", a_file / "mine", check=False),
                          rf"--collect {a_file / 'mine'}: {a_file} is a file, not a folder")
    assert_one_line_error(digitnet("serve", "--model", small_model_file, "--collect", "/proc/mine", check=False),
                          r"--collect /proc/mine: cannot write into /proc, to make /proc/mine \(.*\); "
                          r"choose a folder you can")
    assert not (a_file.parent / "mine").exists()


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


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_and_ctrl_c_shut_the_server_down_with_status_0(small_model_file, workers):
    for stop in (signal.SIGTERM, signal.SIGINT):
        stopped = []
        with serving(small_model_file, free_port(), workers, stopped, stop):
            pass
        assert stopped[0] == 0 and "Traceback" not in stopped[1], (stop, stopped)


@pytest.mark.parametrize("workers", [1, 2])
def test_connections_get_tcp_nodelay(workers):
    """asyncio turns Nagle's algorithm off only for a listening socket that says IPPROTO_TCP; uvicorn's
    shared socket says 0, and each kept-alive answer then waits 40 ms for the client's delayed ACK
    (uvicorn issue #3149). Ours, and each worker's copy of it, say IPPROTO_TCP."""
    parent = server.listen_on("127.0.0.1", 0, workers)
    sock = pickle.loads(multiprocessing.reduction.ForkingPickler.dumps(parent)) if workers > 1 else parent
    assert sock.proto == socket.IPPROTO_TCP                             # a worker's copy, with 2 workers

    async def accept_one():
        accepted = asyncio.get_running_loop().create_future()

        class Accept(asyncio.Protocol):
            def connection_made(self, transport):
                accepted.set_result(transport)

        listener = await asyncio.get_running_loop().create_server(Accept, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        transport = await accepted
        option = transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        transport.close()
        listener.close()
        return option

    assert asyncio.run(accept_one()) == 1
    parent.close()


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


def test_serving_the_whole_network_says_so(small_model_file, tmp_path):
    """--host 0.0.0.0, for a classroom: the page and the API are open to anyone who can reach it."""
    told = "digitnet: open to your network: anyone who can reach this machine can use the page and the API"
    for flags, warned in (((), False), (("--host", "0.0.0.0", "--collect", str(tmp_path)), True)):
        stopped = []
        with serving(small_model_file, free_port(), "1", stopped, flags=flags):
            pass
        assert (f"{told}, and save drawings into {tmp_path}; there is no password" in stopped[1]) == warned
        assert (told in stopped[1]) == warned


def test_on_this_machine_only_the_server_answers_to_its_names_only(small_model_file):
    """On 127.0.0.1 (the default) a request through another name, a web page's way in by DNS rebinding,
    is refused; on 0.0.0.0, where any address of the machine is a fair name for it, it is answered."""
    def status(port, host):
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(f"GET /api/model HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            return client.recv(4096).split(b"\r\n")[0]
    for flags, answered in (((), False), (("--host", "0.0.0.0"), True)):
        port = free_port()
        with serving(small_model_file, port, "1", flags=flags):
            assert status(port, f"localhost:{port}") == b"HTTP/1.1 200 OK"
            assert status(port, f"rebound.example:{port}") == (b"HTTP/1.1 200 OK" if answered else
                                                                 b"HTTP/1.1 403 Forbidden")


def test_a_request_that_does_not_arrive_whole_in_time_loses_its_connection(small_model_file, monkeypatch):
    """uvicorn times only the wait between requests: a connection that sent nothing, half a header or
    half a body (a phone gone mid-upload, or slowloris) was held for ever. Now for REQUEST_SECONDS, here
    2; a request that arrives whole in time is answered, however slowly it came."""
    from digitnet import load_model
    from digitnet.web.app import create_app
    from test_serve import Server
    monkeypatch.setattr(server, "REQUEST_SECONDS", 2)
    model = load_model(small_model_file)
    with Server(create_app(model, model.metadata)) as url:
        port = int(url.rsplit(":", 1)[1])
        starts = [b"", b"GET /api/health HTTP/1.1\r\nHo",
                  b"POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"pix"]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in starts]
        slow = socket.create_connection(("127.0.0.1", port))
        for client, start in zip(clients, starts):
            client.sendall(start)
        for piece in (b"GET /api/he", b"alth HTTP/1.1\r\nHost: local", b"host\r\n\r\n"):   # 0.6 s in all
            slow.sendall(piece)
            time.sleep(0.2)
        assert slow.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(2)
        for client in clients + [slow]:
            client.settimeout(5)
        assert [client.recv(4096) for client in clients] == [b""] * 3         # closed by the server
        slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")  # kept alive: a new request
        assert slow.recv(4096).startswith(b"HTTP/1.1 200")
        for client in clients + [slow]:
            client.close()
