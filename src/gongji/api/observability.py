"""Operations: Prometheus metrics at /metrics and JSON logs that carry a request id.

The middleware honours a well-formed X-Request-ID (or makes one), returns it in the
response header, and logs one JSON line per request. Refusals are counted by the
stable code the error handlers and the gateway leave in `request.state.error_code`;
gateway settlement transactions by infno and result, for the codes whose row in
gateway_codes carries a metrics label. With `serve --workers N` each
worker process exposes its own counters.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gongji.api.headers import put_headers

REQUEST_ID: ContextVar[str | None] = ContextVar("gongji_request_id", default=None)
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# A path segment logged as is: a word, at most one digit ("v1", "callService"). Anything
# else (ID numbers, psn_no, setl_id, names) is masked in an unmatched path.
_PLAIN_SEGMENT = re.compile(r"^[A-Za-z._-]{1,32}\d?$")
CLIENT_CLOSED = 499  # nginx's status for a client that hung up before its answer

SETTLEMENTS = Counter("gongji_settlements", "Gateway settlement transactions (pre-settle, "
                      "settle, reverse) by infno and result (ok | refused)",
                      ["infno", "result"])
REFUSALS = Counter("gongji_refusals", "Refused requests by stable error code", ["code"])
REQUESTS = Counter("gongji_http_requests", "HTTP requests by method, route and status",
                   ["method", "route", "status"])
LATENCY = Histogram("gongji_http_request_duration_seconds", "HTTP request latency",
                    ["method", "route"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))

access_log = logging.getLogger("gongji.access")
router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def count_gateway(label: str | None, error_code: str | None) -> None:
    """Called by the gateway for every envelope it answers, with its code's metrics label
    (gateway_codes.Code.metric): None for codes that are not settlements, and for an
    envelope whose code is unknown or unreadable."""
    if label is not None:
        SETTLEMENTS.labels(label, "refused" if error_code else "ok").inc()


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _GOOD_ID.match(text):
                return text
    return new_request_id()


# A version-4 UUID's fixed bits (RFC 9562): what uuid.uuid4().hex writes, without building a
# UUID object, which costs several times the 16 random bytes themselves.
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A fresh id in uuid4().hex's form: 32 hex digits, 122 of its bits from os.urandom."""
    return f"{int.from_bytes(os.urandom(16)) & _V4_CLEAR | _V4_SET:032x}"


def _route(scope: Scope) -> str:
    """The route template, never the raw path: metric labels stay few."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestObserver:
    """ASGI middleware: request id, access log line, latency and refusal metrics."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id  # for the 500 handler
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                put_headers(message, ((b"x-request-id", request_id.encode("latin-1")),))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # Raised where a body is read past the body guard: the client's doing, and
            # nobody is left to answer. Not a 500, not a stack trace.
            status = CLIENT_CLOSED
            access_log.info("client closed the request")
        finally:
            self._record(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        method, route = scope["method"], _route(scope)
        code = (scope.get("state") or {}).get("error_code")
        _child(LATENCY, (method, route)).observe(seconds)
        _child(REQUESTS, (method, route, status)).inc()
        if code:
            _child(REFUSALS, (code,)).inc()
        fields = {"method": method, "route": route, "status": status,
                  "duration_ms": round(seconds * 1000, 2), "error_code": code}
        if route == "unmatched":  # the template says it all otherwise; never identifiers
            fields["path"] = masked_path(scope["path"])
        access_log.info("request", extra={"fields": fields})


# Each metric's children by their labels: `.labels()` checks and converts its arguments and
# takes a lock on every call; the child it returns is the same object each time (nothing
# here ever removes one), so it is looked up once. As many entries as the metric has series.
_CHILDREN: dict[tuple[object, tuple], object] = {}


def _child(metric: Counter | Histogram, labels: tuple):  # noqa: ANN202
    found = _CHILDREN.get((metric, labels))
    if found is None:
        found = _CHILDREN[(metric, labels)] = metric.labels(*(str(v) for v in labels))
    return found


def masked_path(path: str) -> str:
    """The path with every segment that may be an identifier replaced by '*'."""
    return "/".join(part if not part or _PLAIN_SEGMENT.match(part) else "*"
                    for part in path.split("/"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(
                     timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage(), "request_id": REQUEST_ID.get()}
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _JSON.encode(entry)


_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # json.dumps would make one per line


def configure_logging(as_json: bool = True, level: int = logging.INFO) -> None:
    """Log to stderr, as JSON lines (or plain text for a person at a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Neither format prints the caller's file and line, thread or process: not collecting
    # them (the logging manual's "Optimization") halves the cost of the access log line.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
