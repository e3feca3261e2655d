"""Security headers on every answer, an access log without identifiers in clear, and
read-only gateway calls that keep no idempotency record and take no writer lock."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading

import pytest
from sqlalchemy import func, select

from gongji.api import gateway
from gongji.store.db import writer_lock
from gongji.store.schema import idempotency
from support import ok
from test_edge_bodies import load_family
from test_operations import json_log

PAGES = ["/", "/portal", "/hall", "/counter", "/inpatient"]


@pytest.fixture
def family(api):
    return load_family(api)


def directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}


@pytest.mark.parametrize("path", PAGES)
def test_pages_forbid_framing_sniffing_and_foreign_scripts(api, path):
    page = api.client.get(path)
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    csp = directives(page.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/account", "/static/app.css",
                                  "/metrics", "/nowhere"])
def test_every_answer_says_nosniff_and_deny(api, path):
    answer = api.client.get(path)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_the_docs_page_may_load_swagger_ui_and_run_only_its_own_inline_script(api):
    page = api.client.get("/docs")
    csp = directives(page.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    assert inline, "the Swagger UI page has its start-up script inline"
    hashes = {"'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
              for s in inline}
    assert hashes <= set(csp["script-src"])
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["script-src"][0] == "'self'"  # served from the package: no outside host
    assert not any("http" in source for sources in csp.values() for source in sources)
    assert csp["frame-ancestors"] == ["'none'"]
    assert page.headers["x-frame-options"] == "DENY"


# --- the access log ----------------------------------------------------------------------------


def test_the_access_log_names_routes_never_id_numbers(api, family):
    clerk = api.token("clerk", "clerk-9", "542500")
    certno = family["mother"]["certno"]
    psn_no = family["mother"]["psn_no"]
    with json_log("gongji.access", logging.INFO) as lines:
        assert api.get(f"/api/v1/hall/persons/{certno}/account", clerk).status_code == 200
        assert api.get(f"/api/v1/hall/persons/{certno}", clerk).status_code == 200
        assert api.get(f"/api/v1/hall/nowhere/{certno}/x", clerk).status_code == 404
        api.client.patch(f"/api/v1/persons/{psn_no}", json={"psn_insu_stas": "1"},
                         headers=api.admin)

    logged = lines()
    text = json.dumps(logged, ensure_ascii=False)
    assert certno not in text and certno[:14] not in text and psn_no not in text
    routes = [line["route"] for line in logged]
    assert routes == ["/api/v1/hall/persons/{certno}/account", "/api/v1/hall/persons/{certno}",
                      "unmatched", "/api/v1/persons/{psn_no}"]


# --- read-only gateway calls -------------------------------------------------------------------


def records(api) -> int:  # noqa: ANN001
    with api.client.app.state.ctx.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(idempotency)).scalar_one()


def bill(child: dict, medfee: str = "100.00") -> dict:
    return {"psn_no": child["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": child["certno"],
            "medfee_sumamt": medfee, "fulamt_ownpay_amt": medfee, "overlmt_selfpay": "0",
            "preselfpay_amt": "0", "inscp_scp_amt": "0", "acct_used_flag": "1"}


def test_read_only_calls_keep_no_record_and_money_calls_one(api, family):
    inst, child = family["inst"], family["child"]
    before = records(api)
    ok(api.gateway(inst, "H7", "1101", {"mdtrt_cert_type": "02",
                                        "mdtrt_cert_no": child["certno"]}, "R-1"))
    ok(api.gateway(inst, "H7", "2206", bill(child), "R-2"))
    totals = {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01", "medfee_sumamt": 0,
              "fund_pay_sumamt": 0, "acct_pay": 0, "acct_mulaid_pay": 0, "fixmedins_setl_cnt": 0}
    ok(api.gateway(inst, "H7", "3201", totals, "R-3"))
    ok(api.gateway(inst, "H7", "3202", {"stmt_begndate": "2025-06-01",
                                        "stmt_enddate": "2025-06-01", "detail": []}, "R-4"))
    assert records(api) == before

    settled = ok(api.gateway(inst, "H7", "2207", bill(child), "R-5"))
    assert records(api) == before + 1
    reverse = {"setl_id": settled["setlinfo"]["setl_id"], "psn_no": child["psn_no"]}
    reused = api.gateway(inst, "H7", "2208", reverse, "R-5")
    assert reused["err_code"] == "IDEMPOTENCY_CONFLICT"  # money calls stay unique
    ok(api.gateway(inst, "H7", "2208", reverse, "R-6"))
    assert records(api) == before + 2


def test_a_read_only_msgid_is_not_spent(api, family):
    """A pre-settlement's msgid may be settled with: the read moved nothing and kept nothing."""
    inst, child = family["inst"], family["child"]
    pre = ok(api.gateway(inst, "H7", "2206", bill(child), "R-7"))
    again = ok(api.gateway(inst, "H7", "2206", bill(child, "50.00"), "R-7"))
    assert (pre["setlinfo"]["medfee_sumamt"], again["setlinfo"]["medfee_sumamt"]) == (100, 50)
    settled = ok(api.gateway(inst, "H7", "2207", bill(child), "R-7"))
    assert settled["setlinfo"]["setl_id"]


def test_a_read_only_call_does_not_wait_for_the_writer(api, family):
    ctx = api.client.app.state.ctx
    lock = writer_lock(ctx.engine)
    if lock is None:
        pytest.skip("PostgreSQL has no writer lock")
    envelope = {"infno": "1101", "msgid": "R-8", "fixmedins_code": "H7",
                "input": {"data": {"mdtrt_cert_type": "02",
                                   "mdtrt_cert_no": family["child"]["certno"]}}}
    answers: list = []
    lock.acquire()
    try:
        reader = threading.Thread(target=lambda: answers.append(
            gateway.process(ctx, "H7", json.dumps(envelope).encode())))
        reader.start()
        reader.join(timeout=10)
        assert not reader.is_alive(), "a 1101 waited for the writer lock"
    finally:
        lock.release()
    reader.join()
    assert answers[0][1]["infcode"] == 0
