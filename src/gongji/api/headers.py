"""Security headers on every answer: nosniff, no framing, and a Content-Security-Policy.

- The pages (/, /portal, /hall, /counter, /inpatient) load only their own /static scripts and styles
  (no inline script or style, no third party), draw QR codes from /web/qr.svg and call the
  API on the same origin: "self" only.
- /docs and /redoc (Swagger UI and ReDoc) load their bundles from this server
  (/docs-static, api/openapi.py), no CDN, and start with one inline script: they get
  "self" plus the SHA-256 of the inline scripts of the very page sent, computed here, so no
  'unsafe-inline' script. Their styles are set inline by the bundles themselves
  (ReDoc's page has a <style> too): 'unsafe-inline' styles there only. ReDoc runs its
  search in a worker made from a blob: URL.
- Anything else (JSON, CSV, SVG, CSS) is never a document to run: default-src 'none'.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
_DOCS_CSP = ("default-src 'none'; script-src 'self'{hashes}; "
             "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
             "worker-src blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
             "frame-ancestors 'none'")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def docs_csp(html: bytes) -> str:
    hashes = "".join(
        " 'sha256-%s'" % base64.b64encode(hashlib.sha256(script).digest()).decode()
        for script in _INLINE_SCRIPT.findall(html))
    return _DOCS_CSP.format(hashes=hashes)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, docs_paths: tuple[str, ...] = ()):
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["path"] in self.docs_paths:
            await self.app(scope, receive, _DocsPage(send).send)
        else:
            await self.app(scope, receive, _with_headers(send))


def _encoded(csp: str) -> tuple[tuple[bytes, bytes], ...]:
    """The raw header list an answer gets: the base headers, then its policy."""
    pairs = {**BASE_HEADERS, "Content-Security-Policy": csp}
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1"))
                 for name, value in pairs.items())


# Built once: every answer gets one of these two, except the docs pages.
_PAGE_HEADERS, _OTHER_HEADERS = _encoded(PAGE_CSP), _encoded(OTHER_CSP)


def _protect(message: Message, csp: str | None) -> None:
    if csp is not None:
        put_headers(message, _encoded(csp))
        return
    is_html = _header(message, b"content-type").startswith(b"text/html")
    put_headers(message, _PAGE_HEADERS if is_html else _OTHER_HEADERS)


def _header(message: Message, name: bytes) -> bytes:
    """The first value of a header of a response start, as Headers.get finds it."""
    for key, value in message.get("headers") or ():
        if key == name:
            return value
    return b""


def put_headers(message: Message, pairs: tuple[tuple[bytes, bytes], ...]) -> None:
    """Set raw (lower-case) headers on a response start, exactly as MutableHeaders'
    `headers[name] = value` does for each, in a new list (the app's own is left alone):
    a header not there yet is appended, one already there is replaced in its place. The
    common case (none there yet) is one scan and one list, with no Headers object."""
    raw = message.get("headers") or []
    names = [name for name, _ in pairs]
    for key, _ in raw:
        if key in names:
            headers = MutableHeaders(scope=message)
            for name, value in pairs:
                headers[name.decode("latin-1")] = value.decode("latin-1")
            return
    message["headers"] = [*raw, *pairs]


def _with_headers(send: Send) -> Send:
    async def send_protected(message: Message) -> None:
        if message["type"] == "http.response.start":
            _protect(message, None)
        await send(message)

    return send_protected


class _DocsPage:
    """Holds the (small, generated) docs page until it is whole, to hash its scripts."""

    def __init__(self, send: Send):
        self._send = send
        self._start: Message | None = None
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self._body)
        _protect(self._start, docs_csp(body))
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": body})
