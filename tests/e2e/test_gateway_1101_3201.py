"""1101 with the interface's fields, and 3201 with its own filters (insutype, clr_type,
setl_optins), over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.domain.idcard import make_certno
from reference_client import ReferenceClient


def _person(api, name: str, certno: str, insutype: str, region: str, **extra) -> dict:  # noqa: ANN001
    created = api.post("/api/v1/persons", {"certno": certno, "psn_name": name,
                                           "insutype": insutype, "insuplc_admdvs": region,
                                           **extra})
    assert created.status_code == 201, created.text
    return created.json()


@pytest.fixture
def town(api, clock):
    """Three patients (310 of Lhasa's 542500, 390 of 542500, 310 of Guangxi's 451000), a
    hospital and a pharmacy in 542500."""
    people = {
        "worker": _person(api, "次仁", make_certno("542521", date(1985, 3, 4), 41), "310",
                          "542500", card_no="CARD41"),
        "resident": _person(api, "央金", make_certno("542521", date(2010, 9, 1), 42), "390",
                            "542500"),
        "visitor": _person(api, "韦明", make_certno("451002", date(1970, 1, 2), 43), "310",
                           "451000"),
    }
    clients = {}
    for code, kind in (("H1", "hospital"), ("P1", "pharmacy")):
        api.post("/api/v1/institutions", {"fixmedins_code": code, "fixmedins_name": code,
                                          "fixmedins_type": kind, "admdvs": "542500"})
        clients[code] = ReferenceClient(api, api.token("institution", code), code, code,
                                        "542500", clock)
        clients[code].sign_in()
    return people | clients


# --- 1101 -----------------------------------------------------------------------------------------


def test_1101_answers_the_interfaces_fields(town):
    worker = town["worker"]
    out = town["H1"].read_card(worker["certno"])
    assert out["baseinfo"] == {
        "psn_no": worker["psn_no"], "psn_cert_type": "01", "certno": worker["certno"],
        "psn_name": "次仁", "gend": "1" if int(worker["certno"][16]) % 2 else "2",
        "brdy": "1985-03-04", "age": 40}
    [insu] = out["insuinfo"]
    assert {k: insu[k] for k in ("insutype", "balc", "insuplc_admdvs", "psn_insu_stas")} == {
        "insutype": "310", "balc": 0, "insuplc_admdvs": "542500", "psn_insu_stas": "1"}
    assert out["idetinfo"] == []
    assert town["H1"].insuplc_admdvs == "542500"  # the client sends the region from now on


def test_1101_by_card_names_the_same_person(town):
    answer = town["P1"].must("1101", {"data": {"mdtrt_cert_type": "03",
                                               "mdtrt_cert_no": "CARD41"}})
    assert answer["baseinfo"]["psn_no"] == town["worker"]["psn_no"]


# --- 3201 -----------------------------------------------------------------------------------------


def _settle(client: ReferenceClient, patient: dict, amount: str, infno: str) -> None:
    client.must(infno, {"data": {
        "psn_no": patient["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": patient["certno"],
        "medfee_sumamt": amount, "fulamt_ownpay_amt": amount, "overlmt_selfpay": "0",
        "preselfpay_amt": "0", "inscp_scp_amt": "0", "acct_used_flag": "0"}})


def _totals(client: ReferenceClient, medfee: str, count: int, **filters: str) -> dict:
    return client.must("3201", {"data": {
        "stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01", "medfee_sumamt": medfee,
        "fund_pay_sumamt": "0", "acct_pay": "0", "acct_mulaid_pay": "0",
        "fixmedins_setl_cnt": count, "refd_setl_flag": "0", **filters}})


@pytest.mark.parametrize("filters, medfee, count", [
    ({}, "60.00", 3),
    ({"insutype": "", "clr_type": "", "setl_optins": ""}, "60.00", 3),
    ({"insutype": "310"}, "40.00", 2),
    ({"insutype": "390"}, "20.00", 1),
    ({"setl_optins": "451000"}, "30.00", 1),
    ({"setl_optins": "542500", "insutype": "310"}, "10.00", 1),
    ({"clr_type": "11"}, "60.00", 3),
    ({"clr_type": "41"}, "0", 0),
    ({"clr_type": "11", "insutype": "310", "setl_optins": "451000"}, "30.00", 1),
])
def test_3201_filters_by_the_interfaces_own_fields(town, filters, medfee, count):
    his = town["H1"]
    for who, amount in (("worker", "10.00"), ("resident", "20.00"), ("visitor", "30.00")):
        _settle(his, town[who], amount, "2207")
    out = _totals(his, medfee, count, **filters)
    assert (out["stmt_rslt"], out["fixmedins_setl_cnt"]) == ("0", count), out
    assert out["stmtinfo"]["stmt_rslt"] == "0"
    assert out["stmtinfo"]["setl_optins"] == (filters.get("setl_optins") or "542500")


def test_3201_clr_type_41_is_the_pharmacys(town):
    _settle(town["P1"], town["worker"], "12.34", "2102")
    assert _totals(town["P1"], "12.34", 1, clr_type="41")["stmt_rslt"] == "0"
    assert _totals(town["P1"], "12.34", 1, clr_type="11")["stmt_rslt"] == "1"


@pytest.mark.parametrize("filters", [
    {"clr_type": "99"}, {"clr_type": 11}, {"insutype": "31"}, {"setl_optins": "5425"},
    {"setl_optins": "54250A"},
])
def test_3201_bad_filters_are_refused(town, filters):
    answer = town["H1"].send("3201", {"data": {
        "stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01", "medfee_sumamt": "0",
        "fund_pay_sumamt": "0", "acct_pay": "0", "acct_mulaid_pay": "0",
        "fixmedins_setl_cnt": 0, **filters}})
    assert answer["err_code"] == "INVALID_INPUT"
