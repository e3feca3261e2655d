"""Request bodies at the edge: the token is checked before any body byte is read, bodies
over the route's limit are refused by Content-Length and while streaming, a client that
hangs up mid-body is the client's error (499), and JSON numbers are read exactly."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from datetime import date

import pytest

from gongji.domain.idcard import make_certno
from mother_child import institution, mother_and_child
from support import ok
from test_operations import json_log, metric

GATEWAY = "/fsi/api/rsfComIfsService/callService"
CHUNK = 64 * 1024
MB = 1024 * 1024


class Sent:
    """What an ASGI call answered, and how many body bytes the app asked for."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.body = b""
        self.read_bytes = 0
        self.receive_calls = 0


def asgi_post(app, path: str, headers: dict[str, str], chunks: Iterator[bytes], *,  # noqa: ANN001
              hang_up: bool = False) -> Sent:
    """POST `chunks` to the app as a server would, without a socket; `hang_up` ends the
    body with http.disconnect instead of its last message."""
    sent = Sent()

    async def receive() -> dict:
        sent.receive_calls += 1
        chunk = next(chunks, None)
        if chunk is None:
            if hang_up:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": b"", "more_body": False}
        sent.read_bytes += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80), "state": {},
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(app(scope, receive, send))
    return sent


def stream(total: int, first: bytes = b'{"x": "') -> Iterator[bytes]:
    """`total` bytes of one long JSON string, in 64 KB chunks, made as they are asked for."""
    yield first
    left = total - len(first)
    while left > 0:
        yield b"a" * min(CHUNK, left)
        left -= CHUNK


@pytest.fixture
def family(api):
    return load_family(api)


def load_family(api) -> dict:  # noqa: ANN001
    """A mother with 500 yuan bound to her child at the hall, and the hospital H7."""
    family = mother_and_child(api, 31, credit_ref="EDGE-M", clerk="clerk-9")
    institution(api, "H7", "hospital", name="医院")
    return family | {"inst": api.token("institution", "H7")}


def balance(api, family) -> float:  # noqa: ANN001
    return api.get("/api/v1/account", family["mother_token"]).json()["balance"]


# --- the token before the body ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/persons", GATEWAY])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_an_unauthenticated_body_is_refused_before_a_byte_is_read(api, path, authorization):
    headers = {"content-type": "application/json", "content-length": str(60 * MB)}
    if authorization:
        headers["authorization"] = authorization
    sent = asgi_post(api.client.app, path, headers, stream(60 * MB))

    assert sent.status == 401
    assert sent.read_bytes == 0
    body = sent.body.decode()
    assert re.fullmatch(r'\{"code":"UNAUTHENTICATED","message":"[^"]+"\}', body)


# --- limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "size"), [("/api/v1/persons", 1 * MB + 1),
                                            (GATEWAY, 2 * MB + 1)])
def test_a_body_over_the_limit_is_refused_by_its_content_length_unread(api, family, path, size):
    token = api.admin if path != GATEWAY else api.as_(family["inst"])
    headers = {"content-type": "application/json", "content-length": str(size)} | {
        k.lower(): v for k, v in token.items()}
    sent = asgi_post(api.client.app, path, headers, stream(size))

    assert (sent.status, sent.read_bytes) == (413, 0)
    assert sent.body.decode() == '{"code":"TOO_LARGE","message":"请求过大"}'


@pytest.mark.parametrize(("path", "limit"), [("/api/v1/persons", 1 * MB), (GATEWAY, 2 * MB)])
def test_a_streamed_body_is_cut_off_at_the_limit(api, family, path, limit):
    token = api.admin if path != GATEWAY else api.as_(family["inst"])
    headers = {"content-type": "application/json"} | {k.lower(): v for k, v in token.items()}
    sent = asgi_post(api.client.app, path, headers, stream(8 * MB))

    assert sent.status == 413
    assert sent.read_bytes <= limit + CHUNK
    assert b'"TOO_LARGE"' in sent.body


def test_a_large_body_under_the_limit_is_still_served(api, family):
    """A 900 KB REST body (its JSON parsed off the event loop) and a 1.5 MB 3202 envelope."""
    certno = make_certno("542521", date(1990, 5, 6), 33)
    person = {"certno": certno, "psn_name": "次仁", "insutype": "310",
              "insuplc_admdvs": "542500", "pad": "x" * 900_000}
    assert api.post("/api/v1/persons", person).status_code == 201

    items = [{"setl_id": f"S20250601{i:016X}", "medfee_sumamt": "99999999.99",
              "fund_pay_sumamt": "99999999.99", "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
              "pad": "x" * 150} for i in range(5_000)]
    data = {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-02", "detail": items}
    answer = api.gateway(family["inst"], "H7", "3202", data, "EDGE-3202")
    assert answer["err_code"] != "TOO_LARGE" and answer["infcode"] == 0


# --- a client that hangs up -------------------------------------------------------------------


def test_a_client_hanging_up_mid_body_is_a_499_not_a_500(api, family):
    def count(status: str) -> float:
        return metric(api, "gongji_http_requests_total", method="POST", route=GATEWAY,
                      status=status)

    headers = {"content-type": "application/json", "content-length": "100000"} | {
        k.lower(): v for k, v in api.as_(family["inst"]).items()}
    before = count("499"), count("500")
    with json_log("gongji.api") as errors, json_log("gongji.access", logging.INFO) as access:
        sent = asgi_post(api.client.app, GATEWAY, headers, stream(50_000), hang_up=True)

    assert sent.status in (None, 499)
    assert (count("499") - before[0], count("500") - before[1]) == (1, 0)
    assert not [line for line in errors() if line["level"] in ("error", "critical")]
    line = access()[-1]
    assert (line["status"], line["route"]) == (499, GATEWAY)
    assert line["level"] in ("info", "warning")


# --- exact JSON numbers ----------------------------------------------------------------------


def envelope(family: dict, infno: str, msgid: str, data: str) -> bytes:
    return ('{"infno": "%s", "msgid": "%s", "mdtrtarea_admvs": "542500", '
            '"insuplc_admdvs": "542500", "fixmedins_code": "H7", "opter": "1", '
            '"inf_time": "2025-06-01 10:00:00", "input": {"data": %s}}'
            % (infno, msgid, data)).encode()


def raw_bill(child: dict, amount: str, flag: str = '"1"') -> str:
    return ('{"psn_no": "%s", "mdtrt_cert_type": "02", "mdtrt_cert_no": "%s", '
            '"medfee_sumamt": %s, "fulamt_ownpay_amt": %s, "overlmt_selfpay": 0, '
            '"preselfpay_amt": 0, "inscp_scp_amt": 0, "acct_used_flag": %s}'
            % (child["psn_no"], child["certno"], amount, amount, flag))


def post_raw(api, family: dict, body: bytes) -> dict:  # noqa: ANN001
    response = api.client.post(GATEWAY, content=body, headers=api.as_(family["inst"]) | {
        "content-type": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("amount", ["100.0000000000000001", "99.999999999999999999",
                                    "100.001", "1.00000000000000000000001e2"])
def test_a_gateway_amount_with_more_than_two_decimals_is_refused(api, family, amount):
    answer = post_raw(api, family, envelope(family, "2207", "EDGE-D",
                                            raw_bill(family["child"], amount)))
    assert (answer["infcode"], answer["err_code"]) == (-1, "INVALID_AMOUNT")
    assert balance(api, family) == 500


def test_a_gateway_amount_as_an_exponent_number_is_read_exactly(api, family):
    answer = ok(post_raw(api, family, envelope(family, "2207", "EDGE-E",
                                               raw_bill(family["child"], "1e2"))))
    assert answer["setlinfo"]["acct_mulaid_pay"] == 100
    assert balance(api, family) == 400


def test_equal_json_numbers_are_the_same_message(api, family):
    """1.5 and 1.50 are the same number: a retry that writes it otherwise is a retry."""
    first = ok(post_raw(api, family, envelope(family, "2207", "EDGE-R",
                                              raw_bill(family["child"], "1.5"))))
    again = ok(post_raw(api, family, envelope(family, "2207", "EDGE-R",
                                              raw_bill(family["child"], "1.50"))))
    assert again == first
    other = post_raw(api, family, envelope(family, "2207", "EDGE-R",
                                           raw_bill(family["child"], "1.51")))
    assert other["err_code"] == "IDEMPOTENCY_CONFLICT"
    assert balance(api, family) == 498.5


@pytest.mark.parametrize("flag", ["true", "1.0", "1", "false", "0.0", "0", '"yes"', "null"])
def test_only_the_contracts_flag_values_are_accepted(api, family, flag):
    answer = post_raw(api, family, envelope(family, "2207", "EDGE-F",
                                            raw_bill(family["child"], '"100.00"', flag)))
    assert (answer["infcode"], answer["err_code"]) == (-1, "INVALID_INPUT")
    assert balance(api, family) == 500


@pytest.mark.parametrize(("flag", "drawn"), [('"1"', 100), ('"0"', 0)])
def test_the_contracts_flag_values_still_work(api, family, flag, drawn):
    answer = ok(post_raw(api, family, envelope(family, "2207", "EDGE-G",
                                               raw_bill(family["child"], '"100.00"', flag))))
    assert answer["setlinfo"]["acct_mulaid_pay"] == drawn


def credit_raw(api, family: dict, amount: str, ref: str):  # noqa: ANN001, ANN201
    body = '{"amount": %s, "ref": "%s"}' % (amount, ref)
    return api.client.post(f"/api/v1/accounts/{family['mother']['psn_no']}/credits",
                           content=body.encode(),
                           headers=api.admin | {"content-type": "application/json"})


@pytest.mark.parametrize("amount", ["0.29999999999999999", "10.0000000000000001",
                                    "0.001", "1e-3"])
def test_a_rest_amount_with_more_than_two_decimals_is_refused(api, family, amount):
    answer = credit_raw(api, family, amount, "EDGE-C1")
    assert answer.status_code == 422 and answer.json()["code"] == "INVALID_AMOUNT"
    assert balance(api, family) == 500


def test_rest_amounts_as_json_numbers_are_read_exactly(api, family):
    assert credit_raw(api, family, "0.3", "EDGE-C2").json()["amount"] == 0.3
    assert credit_raw(api, family, "1e2", "EDGE-C3").status_code == 201
    assert credit_raw(api, family, "12.50", "EDGE-C4").status_code == 201
    assert credit_raw(api, family, "12.5", "EDGE-C4").status_code == 201  # the same credit
    assert balance(api, family) == 612.8
