"""Operations over HTTP: /metrics after settlements and refusals, the request id in
headers and JSON logs, and the operator's credit reversal."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from gongji.api.observability import JsonFormatter
from mother_child import institution, mother_and_child
from support import ok


@pytest.fixture
def family(api):
    """A mother with 500 yuan, her child, a hospital; no binding needed for these tests."""
    family = mother_and_child(api, 21, credit_ref="2025-06-M", bind=False)
    institution(api, "H9", "hospital", name="医院")
    return family | {"inst": api.token("institution", "H9")}


def bill(person: dict, cert_no: str | None = None) -> dict:
    return {"psn_no": person["psn_no"], "mdtrt_cert_type": "02",
            "mdtrt_cert_no": cert_no or person["certno"], "medfee_sumamt": "80.00",
            "fulamt_ownpay_amt": "80.00", "overlmt_selfpay": 0, "preselfpay_amt": 0,
            "inscp_scp_amt": 0, "acct_used_flag": "1"}


def metric(api, name: str, **labels: str) -> float:  # noqa: ANN001
    """The value of one sample on /metrics (0 when it has not appeared yet)."""
    text = api.client.get("/metrics").text
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return float(match[1]) if match else 0.0


def test_metrics_count_settlements_by_infno_and_result_and_refusals_by_code(api, family):
    route = "/fsi/api/rsfComIfsService/callService"

    def samples() -> tuple[float, ...]:
        return (metric(api, "gongji_settlements_total", infno="2207", result="ok"),
                metric(api, "gongji_settlements_total", infno="2207", result="refused"),
                metric(api, "gongji_refusals_total", code="CREDENTIAL_MISMATCH"),
                metric(api, "gongji_refusals_total", code="UNAUTHENTICATED"),
                metric(api, "gongji_http_request_duration_seconds_count", method="POST",
                       route=route))

    before = samples()

    ok(api.gateway(family["inst"], "H9", "2207", bill(family["child"]), "MET-1"))
    refused = api.gateway(family["inst"], "H9", "2207",
                          bill(family["child"], family["mother"]["certno"]), "MET-2")
    assert refused["err_code"] == "CREDENTIAL_MISMATCH"
    assert api.client.get("/api/v1/account").status_code == 401

    after = samples()
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1, 2]
    exposition = api.client.get("/metrics")
    assert exposition.headers["content-type"].startswith("text/plain")
    assert "# TYPE gongji_http_request_duration_seconds histogram" in exposition.text


def test_every_answer_carries_a_request_id_and_a_callers_well_formed_one_is_kept(api):
    mine = api.client.get("/healthz", headers={"X-Request-ID": "hall-7:abc.123"})
    made = api.client.get("/healthz")
    hostile = api.client.get("/healthz", headers={"X-Request-ID": "x" * 65})

    assert mine.headers["x-request-id"] == "hall-7:abc.123"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


@contextmanager
def json_log(name: str, level: int | None = None) -> Iterator[Callable[[], list[dict]]]:
    """What the logger `name` writes while inside, as JsonFormatter's parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    if level is not None:
        logger.setLevel(level)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    finally:
        logger.removeHandler(handler)


def test_a_server_error_answers_and_logs_with_the_request_id(api):
    def boom() -> dict:
        raise RuntimeError("planted fault")

    api.client.app.add_api_route("/test-boom", boom)
    with json_log("gongji.api") as lines:
        with TestClient(api.client.app, raise_server_exceptions=False) as client:
            answer = client.get("/test-boom", headers={"X-Request-ID": "req-500"})

    assert answer.status_code == 500
    assert answer.json()["code"] == "INTERNAL"
    assert answer.headers["x-request-id"] == "req-500"
    logged = lines()[-1]
    assert (logged["message"], logged["request_id"]) == ("unexpected error", "req-500")
    assert "planted fault" in logged["exception"]


def test_the_access_log_is_a_json_line_with_the_request_id(api):
    with json_log("gongji.access", logging.INFO) as lines:
        api.client.get("/api/v1/account", headers={"X-Request-ID": "req-42"})

    line = lines()[-1]
    assert line["request_id"] == "req-42"
    assert (line["message"], line["route"], line["status"], line["error_code"]) == (
        "request", "/api/v1/account", 401, "UNAUTHENTICATED")


def test_the_operator_reverses_a_wrong_credit_once_over_rest(api, family):
    mother = family["mother"]
    path = "/api/v1/credits/2025-06-M/reverse"

    first = api.post(path, None, headers={"Idempotency-Key": "rev-1"})
    replay = api.post(path, None, headers={"Idempotency-Key": "rev-1"})
    again = api.post(path, None)
    unknown = api.post("/api/v1/credits/no-such-ref/reverse", None)
    as_person = api.post(path, None, api.token("person", mother["psn_no"]))

    assert first.status_code == 200, first.text
    assert first.json()["amount"] == 500 and first.json()["balance"] == 0
    assert replay.json() == first.json()
    assert (again.status_code, again.json()["code"]) == (409, "CREDIT_ALREADY_REVERSED")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "CREDIT_NOT_FOUND")
    assert as_person.status_code == 403


def test_a_credit_already_spent_is_not_reversed(api, family):
    assert api.post(f"/api/v1/accounts/{family['mother']['psn_no']}/credits",
                    {"amount": "100.00", "ref": "2025-07-M"}).status_code == 201
    ok(api.gateway(family["inst"], "H9", "2207", bill(family["mother"]) | {
        "medfee_sumamt": "550.00", "fulamt_ownpay_amt": "550.00"}, "SPEND-1"))

    answer = api.post("/api/v1/credits/2025-07-M/reverse", None)

    assert (answer.status_code, answer.json()["code"]) == (409, "CREDIT_SPENT")
    assert "余额 50.00 元" in answer.json()["message"]
