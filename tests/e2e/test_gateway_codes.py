"""The gateway's transaction codes come from one table (api/gateway_codes.py): what is not
in it is answered INFNO_UNSUPPORTED whatever the input looks like, and what is in it is
documented, counted and refused to the other institution type as its row says."""

from __future__ import annotations

import json

import pytest

from gongji.api import gateway

PATH = "/fsi/api/rsfComIfsService/callService"


def _process(world, envelope: dict, code: str | None = None) -> tuple[int, dict]:
    return gateway.process(world.ctx, code or world.hospital, json.dumps(envelope).encode())


@pytest.mark.parametrize("spoil", [
    lambda e: e.pop("input"), lambda e: e.update(input=[]), lambda e: e.update(input={}),
    lambda e: e.update(input={"data": "x"}), lambda e: e.update(input={"data": []})],
    ids=["no-input", "input-list", "no-data", "data-text", "data-list"])
def test_an_unsupported_code_is_unsupported_whatever_its_input(sqlite_world, spoil):
    # Regression: "9999" without an input.data object used to be answered INVALID_INPUT.
    envelope = sqlite_world.envelope("9999", {})
    spoil(envelope)
    status, answer = _process(sqlite_world, envelope)
    assert status == 200 and answer["infcode"] == -1
    assert answer["err_code"] == "INFNO_UNSUPPORTED", answer


def test_an_unsupported_code_over_http(sqlite_world):
    envelope = sqlite_world.envelope("9999", {})
    del envelope["input"]
    response = sqlite_world.client.post(PATH, json=envelope,
                                        headers=sqlite_world.headers("institution", None))
    assert response.status_code == 200 and response.json()["err_code"] == "INFNO_UNSUPPORTED"


def test_a_supported_code_still_checks_its_input(sqlite_world):
    for infno in ("1101", "2207", "2208", "3201", "3202"):
        envelope = sqlite_world.envelope(infno, {})
        del envelope["input"]
        assert _process(sqlite_world, envelope)[1]["err_code"] == "INVALID_INPUT", infno


def test_another_institutions_envelope_is_refused_before_the_code(sqlite_world):
    envelope = sqlite_world.envelope("9999", {}, code=sqlite_world.pharmacy)
    status, answer = _process(sqlite_world, envelope, code=sqlite_world.hospital)
    assert status == 403 and answer["err_code"] == "INSTITUTION_MISMATCH"


def test_the_other_types_codes_are_refused(sqlite_world):
    child = sqlite_world.child
    bill = sqlite_world.bill(child, "1.00")
    for infno, code in (("2102", sqlite_world.hospital), ("2207", sqlite_world.pharmacy)):
        answer = _process(sqlite_world, sqlite_world.envelope(infno, bill, code), code)[1]
        assert answer["err_code"] == "INSTITUTION_TYPE", (infno, answer)


def test_the_documentation_lists_every_code(sqlite_world):
    from gongji.api.gateway_codes import CODES

    operation = sqlite_world.client.get("/openapi.json").json()["paths"][PATH]["post"]
    infno = operation["requestBody"]["content"]["application/json"]["schema"]["properties"][
        "infno"]
    for row in CODES.values():
        assert row.infno in operation["description"] and row.description in \
            operation["description"]
        assert row.infno in infno["description"]


def test_the_table_is_consistent():
    from gongji.api.gateway_codes import CODES

    v1 = {"1101", "2101", "2102", "2103", "2206", "2207", "2208", "3201", "3202"}
    assert v1 | {"2601", "9001", "9002"} <= set(CODES)  # v2 adds more codes beside these
    for infno, row in CODES.items():
        assert row.infno == infno and row.kind in ("read", "money", "reversal", "session", "record")
        assert row.institution in ("hospital", "pharmacy", "any")
        assert row.exactly_once == (row.kind != "read"), infno
    # the settlement codes are counted, each under its own infno: the six v1 ones as
    # before, and the inpatient 2303/2304/2305
    assert {row.metric for row in CODES.values() if row.metric} == {
        "2101", "2102", "2103", "2206", "2207", "2208", "2303", "2304", "2305"}
