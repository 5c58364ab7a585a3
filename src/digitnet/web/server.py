"""How `digitnet serve` runs uvicorn: a listening socket for each worker process, and a deadline for
each request to arrive (`HttpProtocol`).

All of uvicorn's `--workers N` share one listening socket, and the worker that wakes first accepts
every connection waiting. A client that opens its connections at once and keeps them alive (a load
balancer, a benchmark, a browser's six) then talks to one worker while the others idle. Here each
worker binds a socket of its own to the same address with SO_REUSEPORT (Linux), and the kernel
spreads new connections over them (uvicorn discussion #2467; nginx's `reuseport`).

The sockets are made with the protocol getaddrinfo gives, IPPROTO_TCP: asyncio turns Nagle's
algorithm off (TCP_NODELAY) only for connections whose listening socket says so. uvicorn's own
shared socket says 0, and every answer on a kept-alive connection then waits for the client's
delayed ACK, 40 ms on Linux (uvicorn issue #3149).

Limits of a socket per worker: connections waiting in the queue of a worker that dies are reset
(uvicorn starts a new worker, with a new socket), and a second `digitnet serve` started on the same
port in the second or two before the first one's workers listen would share the port with it.
"""
import errno
import socket
import sys

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from ..errors import DigitnetError
from ..interrupt import terminate_like_interrupt

SPREAD = sys.platform == "linux"      # elsewhere SO_REUSEPORT does not balance: the workers share one socket


REQUEST_SECONDS = 60       # a request must arrive whole within this time of its first byte (nginx's 60 s)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol (the httptools parser) with a deadline: a connection is closed when no
    request has arrived whole REQUEST_SECONDS after the connection opened or the request's first byte
    came. uvicorn times only the wait between two requests (timeout_keep_alive; uvicorn issue #160), so
    a connection that sent nothing, half a request or a byte a minute (slowloris), or a phone gone
    mid-upload, was held for ever, and with it a file descriptor and, mid-body, a task."""

    deadline = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.start_deadline()

    def on_message_begin(self):
        super().on_message_begin()
        self.start_deadline()

    def on_message_complete(self):
        self.stop_deadline()
        super().on_message_complete()

    def connection_lost(self, exc):
        self.stop_deadline()
        super().connection_lost(exc)

    def start_deadline(self):
        if self.deadline is None:
            self.deadline = self.loop.call_later(REQUEST_SECONDS, self.transport.close)

    def stop_deadline(self):
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None


# what `digitnet serve` (and the tests' server) hands uvicorn: the httptools parser (imported here, so
# that a missing one is named at once) with a deadline for each request, and asyncio's own event loop
# rather than uvloop, which keeps p99 close to p50 under load (benchmarks/README.md)
UVICORN_SETTINGS = {"http": HttpProtocol, "loop": "asyncio"}


class WorkerSocket(socket.socket):
    """A listening socket that becomes, in each worker process it is sent to, that worker's own socket
    on the same address (SO_REUSEPORT), so that the kernel shares the connections out among them."""

    def __reduce__(self):                             # uvicorn sends sockets to its workers by pickling
        return bound_socket, (self.getsockname()[:2], True)


def bound_socket(address, spread=False):
    """A TCP socket bound to `address` (host, port); with `spread`, one of a group on that port."""
    family, _, proto, _, where = socket.getaddrinfo(*address, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = (WorkerSocket if spread else socket.socket)(family, socket.SOCK_STREAM, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)      # a restart need not wait for TIME_WAIT
        if spread:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(where)
    except OSError:
        sock.close()
        raise
    return sock


def listen_on(host, port, workers):
    """The socket to serve on; DigitnetError when the address cannot be had (in use, not this machine's)."""
    try:
        with bound_socket((host, port)):     # without SO_REUSEPORT first: fails if anything listens there
            pass
        return bound_socket((host, port), spread=SPREAD and workers > 1)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise DigitnetError(f"port {port} is in use on {host}: stop what uses it, or choose another "
                                f"port with --port") from None
        raise DigitnetError(f"cannot listen on {host}:{port} ({e.strerror}): check --host and --port") from None


def run(app, sock, workers):
    """Serve the app factory named `app` ("module:function") on `sock` (from `listen_on`) with `workers`
    processes, until Ctrl-C or SIGTERM, after which it shuts down and returns: a server's normal end.
    (One uvicorn process sends itself the signal again once shut down; SIGTERM then raises here too.)"""
    config = uvicorn.Config(app, factory=True, workers=workers, log_level="warning", **UVICORN_SETTINGS)
    try:
        with terminate_like_interrupt():                  # SIGTERM: a KeyboardInterrupt, as Ctrl-C
            if workers == 1:
                uvicorn.Server(config).run(sockets=[sock])
            else:
                Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
