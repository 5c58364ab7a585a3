"""The HTTP protocol `digitnet serve` runs: uvicorn's httptools parser, with Nagle's algorithm off.

asyncio turns TCP_NODELAY on for a connection only when its listening socket says IPPROTO_TCP.
uvicorn's `--workers N` binds that socket with protocol 0 (uvicorn issue #3149), so with more than
one worker every answer on a kept-alive connection waits for the client's delayed ACK: 40 ms on
Linux. Setting the option on each connection ourselves makes one worker and many behave alike.
"""
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def no_delay(transport):
    """Send small writes at once on this TCP connection (turn Nagle's algorithm off)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, with TCP_NODELAY set on every connection."""

    def connection_made(self, transport):
        no_delay(transport)
        super().connection_made(transport)


# what `digitnet serve` (and the tests' server) hands uvicorn: this protocol, and asyncio's own event
# loop rather than uvloop, which keeps p99 close to p50 under load (benchmarks/README.md)
UVICORN_SETTINGS = {"http": NoDelayHttpTools, "loop": "asyncio"}
