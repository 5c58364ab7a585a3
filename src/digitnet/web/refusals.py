"""How the API says no: every refusal is JSON {"error": "..."} that names the problem, whoever raises
it. Our own (`BadRequest`, 400 unless said), Starlette's (404 for a path it has no route for, 405 for
a method a route does not take) and FastAPI's (a path parameter that is not a number) alike, a
body over 2 MB gets 413 before it is read whole (`BodyLimit`), and a server that listens on this
machine only refuses a request addressed to another name with 403 (`LocalOnly`)."""
import ipaddress
from http import HTTPStatus

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from ..errors import DigitnetError

MAX_BODY = 2 * 1024 * 1024


class BadRequest(DigitnetError):
    """A request the API cannot answer: answered with `status` (400, or 500 where the server fails)
    and the message."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def refusal(error):
    """The answer to a request the API refuses: {"error": message}, with the error's status (400)."""
    return JSONResponse({"error": str(error)}, status_code=getattr(error, "status", 400))


def add_refusals(app):
    """Answer every refusal on `app` as {"error": ...}: ours, Starlette's and FastAPI's."""

    @app.exception_handler(DigitnetError)
    async def refuse(request, error):
        return refusal(error)

    @app.exception_handler(HTTPException)                  # FastAPI's own would say {"detail": ...}
    async def not_here(request, error):
        return JSONResponse({"error": http_message(request, error)}, error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)         # FastAPI's own would say 422 {"detail": [...]}
    async def invalid(request, error):
        return refusal(BadRequest(validation_message(error)))


def http_message(request, error):
    """Starlette's HTTPException, said plainly: what was asked for, and what to do instead. Starlette's
    own 404 and 405 carry only the status's name, which says neither."""
    path, plain = request.url.path, error.detail == HTTPStatus(error.status_code).phrase
    if error.status_code == 404 and plain:
        return f"{path}: no such page or API route (the API's routes are listed at /docs)"
    if error.status_code == 405 and plain:
        allowed = (error.headers or {}).get("Allow")
        return f"{request.method} is not allowed on {path}" + (f": use {allowed}" if allowed else "")
    return str(error.detail)


def validation_message(error):
    """FastAPI's RequestValidationError (a path parameter that is not a whole number), said plainly."""
    problems = [f"{(e.get('loc') or ['request'])[-1]} {e.get('input')!r}: {e.get('msg')}" for e in error.errors()]
    return "; ".join(problems) + " (the API's routes and their parameters are listed at /docs)"


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is answered 413 before it is read whole, and
    a client that leaves before sending its whole body ends the request quietly (no one is left to
    answer; uvicorn would otherwise log it as an error of the application)."""

    def __init__(self, app, limit=MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _too_large(scope, receive, send, self.limit)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BadRequest(f"the body is over {self.limit // 1024 // 1024} MB: send a smaller image", 413)
            return message

        try:
            await self.app(scope, counted, send)
        except BadRequest:
            await _too_large(scope, receive, send, self.limit)
        except ClientDisconnect:
            pass


async def _too_large(scope, receive, send, limit):
    response = JSONResponse({"error": f"the body is over {limit // 1024 // 1024} MB: send a smaller image"}, 413)
    await response(scope, receive, send)


class LocalOnly:
    """ASGI middleware for a server that listens on this machine only: a request whose Host header
    names something else than this machine (localhost, *.localhost, a loopback address) is refused
    with 403. Otherwise a web page the user visits could reach the server through a name of its own
    that it points at 127.0.0.1 (DNS rebinding), read the API's answers and fill the --collect folder.
    A request without a Host header (HTTP/1.0, never a browser's) is answered."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        host = dict(scope["headers"]).get(b"host") if scope["type"] == "http" else None
        if host is not None and not is_local(host.decode("latin-1")):
            port = (scope.get("server") or ("", 8000))[1]
            error = BadRequest(f"Host {host.decode('latin-1')!r} is not this machine: this server listens on "
                               f"this machine only and answers at http://localhost:{port}/", 403)
            return await refusal(error)(scope, receive, send)
        await self.app(scope, receive, send)


def is_local(host):
    """Whether `host`, a Host header ("localhost:8000", "127.0.0.1", "[::1]:8000"), names this machine."""
    name = host[1:host.find("]")] if host.startswith("[") else host.split(":")[0]
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):       # RFC 6761: always this machine
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:                                          # a name: anybody's DNS may point it here
        return False
