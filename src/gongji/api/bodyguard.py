"""The body guard: no request body is read for a caller without a valid token, nor beyond
its route's limit, nor kept waiting on once the client has hung up.

An ASGI middleware that wraps `receive`. The first time the app asks for the body (FastAPI
reads it before a route's dependencies run, the gateway after), the guard checks the
bearer token of /api/v1 and /fsi calls with the routes' own decode (auth.caller_of) and
the declared Content-Length; then it counts the bytes as they stream in. A request whose
body nobody asks for (a GET, a 404, a dependency's 401) costs nothing more than before.
Deciding at the first `receive` rather than before routing keeps the route template in
the access log and the metrics of a refused request.

Refusals are raised as HTTPException subclasses: FastAPI's body reading lets those through
(any other exception there becomes a 400), and errors.install answers them with the
contract's {"code", "message"}.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gongji.api.auth import caller_of
from gongji.domain.errors import DomainError, refuse

AUTHENTICATED_PREFIXES = ("/api/v1/", "/fsi/")
# The gateway's envelope: 3202 carries the institution's whole detail list; the gateway
# itself keeps every other infno to 256 KB (gateway_codes.MAX_BODY_BYTES).
GATEWAY_PREFIX = "/fsi/"
GATEWAY_MAX_BYTES = 2 * 1024 * 1024
# REST bodies are small JSON objects (the largest: a deduction order of 100 ids). No route
# takes a file upload (no UploadFile or form anywhere), so none needs more.
REST_MAX_BYTES = 1024 * 1024
# The operator's catalogue load (POST /api/v1/catalogue) is the exception: 5,000 items
# whose names may hold 200 Chinese characters (600 bytes) each come to about 3.8 MB.
CATALOGUE_PATH = "/api/v1/catalogue"
CATALOGUE_MAX_BYTES = 4 * 1024 * 1024


def limit_for(path: str) -> int:
    if path == CATALOGUE_PATH:
        return CATALOGUE_MAX_BYTES
    return GATEWAY_MAX_BYTES if path.startswith(GATEWAY_PREFIX) else REST_MAX_BYTES


class BodyRefused(HTTPException):
    """A refusal decided while reading the body (401, 413), carrying its domain error."""

    def __init__(self, error: DomainError):
        super().__init__(error.status, error.message)
        self.error = error


class ClientGone(HTTPException):
    """The client hung up before its body was complete: its error, not ours (nginx's 499).
    Nobody is left to read the answer; the status is for the access log and the metrics."""

    def __init__(self) -> None:
        error = refuse("CLIENT_CLOSED_REQUEST")
        super().__init__(error.status, error.message)
        self.error = error


class BodyGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, _GuardedBody(scope, receive).receive, send)


class _GuardedBody:
    def __init__(self, scope: Scope, receive: Receive):
        self._scope = scope
        self._receive = receive
        self._limit = limit_for(scope["path"])
        self._checked = False
        self._read = 0
        self._complete = False

    async def receive(self) -> Message:
        if not self._checked:
            self._checked = True
            self._check_before_reading()
        if self._complete:  # after the body: a later disconnect is for the app to see
            return await self._receive()
        message = await self._receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        self._read += len(message.get("body", b""))
        if self._read > self._limit:
            raise BodyRefused(refuse("TOO_LARGE"))
        self._complete = not message.get("more_body", False)
        return message

    def _check_before_reading(self) -> None:
        if self._scope["path"].startswith(AUTHENTICATED_PREFIXES):
            try:
                caller_of(self._scope)
            except DomainError as error:
                raise BodyRefused(error) from None
        declared = _declared_length(self._scope)
        if declared.isdigit() and int(declared) > self._limit:
            raise BodyRefused(refuse("TOO_LARGE"))


def _declared_length(scope: Scope) -> bytes:
    """The first Content-Length, as Headers.get would find it (undecoded: only digits count)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value
    return b""
