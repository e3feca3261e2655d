"""The middlewares' cheaper ways give what Starlette's objects gave: headers set on a
response start exactly as MutableHeaders sets them, request ids in uuid4().hex's form,
the same metric children, the same JSON log line."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import MutableHeaders

from gongji.api import observability
from gongji.api.headers import put_headers

NAMES = st.sampled_from([b"content-type", b"x-request-id", b"x-frame-options",
                         b"content-security-policy", b"cache-control"])
VALUES = st.sampled_from([b"a", b"b", b"text/html; charset=utf-8", b""])
RAW = st.lists(st.tuples(NAMES, VALUES), max_size=6)


def as_starlette(raw: list, pairs: tuple) -> list:
    message = {"type": "http.response.start", "status": 200, "headers": list(raw)}
    headers = MutableHeaders(scope=message)
    for name, value in pairs:
        headers[name.decode("latin-1")] = value.decode("latin-1")
    return message["headers"]


@given(raw=RAW, pairs=st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=3,
                               unique_by=lambda pair: pair[0]).map(tuple))
def test_put_headers_sets_exactly_what_mutable_headers_sets(raw, pairs):
    given_list = list(raw)
    message = {"type": "http.response.start", "status": 200, "headers": given_list}

    put_headers(message, pairs)

    assert message["headers"] == as_starlette(raw, pairs)
    assert given_list == raw  # the app's own list (a reused response's) is left alone


def test_put_headers_on_a_start_without_headers():
    message = {"type": "http.response.start", "status": 204}
    put_headers(message, ((b"x-request-id", b"r1"),))
    assert message["headers"] == [(b"x-request-id", b"r1")]


def test_made_request_ids_are_uuid4_hex():
    ids = {observability.new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for made in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        parsed = uuid.UUID(hex=made)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


def test_a_metric_child_is_the_one_labels_gives():
    child = observability._child(observability.REQUESTS, ("GET", "/lean-test", 200))
    before = child._value.get()
    observability._child(observability.REQUESTS, ("GET", "/lean-test", 200)).inc()

    assert child is observability.REQUESTS.labels("GET", "/lean-test", "200")
    assert child._value.get() == before + 1


def test_the_json_line_keeps_its_fields_after_configure_logging():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging._srcfile, logging.logThreads,
             logging.logProcesses, logging.logMultiprocessing)
    try:
        observability.configure_logging(as_json=True)
        stream = io.StringIO()
        root.handlers[0].setStream(stream)
        token = observability.REQUEST_ID.set("req-7")
        observability.access_log.info("request", extra={"fields": {
            "route": "/fsi/api/rsfComIfsService/callService", "status": 200,
            "error_code": "余额不足", "amount": 1.5}})
        observability.REQUEST_ID.reset(token)
    finally:
        (root.handlers[:], level, logging._srcfile, logging.logThreads,
         logging.logProcesses, logging.logMultiprocessing) = saved
        root.setLevel(level)

    line = json.loads(stream.getvalue())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line.pop("time"))
    assert line == {"level": "info", "logger": "gongji.access", "message": "request",
                    "request_id": "req-7", "route": "/fsi/api/rsfComIfsService/callService",
                    "status": 200, "error_code": "余额不足", "amount": 1.5}
    assert "余额不足" in stream.getvalue()  # ensure_ascii=False: one line a person can read
