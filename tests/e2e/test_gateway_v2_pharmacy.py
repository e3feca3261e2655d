"""Pharmacy as a pharmacy system sends it, over HTTP (CONTRACT v2): 2101/2102 with
druginfo + drugdetail classified by the patient's region catalogue, answered with
detlcutinfo; the lines kept with the settlement; the v1 input.data form unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from gongji.store.schema import fee_lines
from v2_world import LINES, PARTS, TOTAL, Family, fee_line


@pytest.fixture
def family(api, clock):
    return Family(api, clock)


def drugs(family: Family, total: str = TOTAL, lines=LINES, **info) -> dict:  # noqa: ANN001, ANN003
    child = family.child
    druginfo = {"psn_no": child["psn_no"], "mdtrt_cert_type": "02",
                "mdtrt_cert_no": child["certno"], "begntime": "2025-06-01 09:40:00",
                "medfee_sumamt": total, "insutype": "390", "acct_used_flag": "1",
                "med_type": "41", "psn_setlway": "01", "ipt_otp_no": "YD0001",
                "atddr_no": "", "dr_name": ""} | info
    return {"druginfo": druginfo,
            "drugdetail": [fee_line(f"D{i}", spec) for i, (spec, _) in enumerate(lines, 1)]}


def stored_lines(db_url: str) -> list:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(fee_lines.c.settlement_id, func.count())
                                .group_by(fee_lines.c.settlement_id)).all()
    finally:
        engine.dispose()


def test_a_pharmacy_bill_of_lines_is_classified_settled_and_kept(family, db_url):
    pharmacy = family.pharmacy
    pre = pharmacy.must("2101", drugs(family))
    assert pre["setlinfo"]["setl_id"] is None
    assert {k: pre["setlinfo"][k] for k in PARTS} == PARTS
    assert [d["feedetl_sn"] for d in pre["detlcutinfo"]] == ["D1", "D2", "D3", "D4", "D5"]
    assert stored_lines(db_url) == [] and family.helper_balance() == 500

    out = pharmacy.must("2102", drugs(family))
    setl = out["setlinfo"]
    assert setl["medfee_sumamt"] == 70 and setl["med_type"] == "41"
    assert setl["mdtrt_id"] is None and setl["medins_setl_id"] == pharmacy.last_msgid
    for item, (_, (own, over, pre_, inscp, lv)) in zip(out["detlcutinfo"], LINES, strict=True):
        assert (item["fulamt_ownpay_amt"], item["overlmt_amt"], item["preselfpay_amt"],
                item["inscp_scp_amt"], item["chrgitm_lv"]) == (own, over, pre_, inscp, lv)
    # the pharmacy rules have no deductible: the fund pays part of the 50.00 in scope
    assert 0 < setl["fund_pay_sumamt"] <= 50
    assert out["setldetail"] == [{"fund_pay_type": "390100",
                                  "fund_payamt": setl["fund_pay_sumamt"],
                                  "fund_pay_type_name": "城乡居民基本医疗保险基金"}]
    assert family.helper_balance() == 500 - setl["acct_mulaid_pay"]
    (settlement_id, count), = stored_lines(db_url)
    assert settlement_id is not None and count == 5

    pharmacy.must("2103", {"data": {"setl_id": setl["setl_id"], "psn_no": family.child["psn_no"]}})
    assert family.helper_balance() == 500
    asked = pharmacy.must("5203", {"data": {"setl_id": setl["setl_id"],
                                            "psn_no": family.child["psn_no"]}})
    assert asked["setlinfo"]["refd_setl_flag"] == "1"


@pytest.mark.parametrize(("name", "input_", "code"), [
    ("total not the lines'", lambda f: drugs(f, total="70.01"), "AMOUNT_MISMATCH"),
    ("a line not pric × cnt", lambda f: drugs(f, lines=[(("A01", "12.50", "2", "25.01"),
                                                          None)], total="25.01"),
     "AMOUNT_MISMATCH"),
    ("a part not the computed one", lambda f: drugs(f, inscp_scp_amt="49.00"),
     "AMOUNT_MISMATCH"),
    ("a feedetl_sn twice", lambda f: drugs(f) | {"drugdetail": drugs(f)["drugdetail"][:1] * 2},
     "FEEDETL_SN_DUPLICATE"),
    ("no lines", lambda f: drugs(f) | {"drugdetail": []}, "INVALID_INPUT"),
    ("a count with five decimals", lambda f: drugs(f, lines=[(("A01", "1", "0.00001", "0.00"),
                                                              None)], total="0.00"),
     "INVALID_INPUT"),
    ("neither data nor druginfo", lambda f: {"drugdetail": []}, "INVALID_INPUT"),
    ("another's credential", lambda f: drugs(f, mdtrt_cert_no=f.stranger["certno"]),
     "CREDENTIAL_MISMATCH"),
])
def test_a_bad_pharmacy_bill_is_refused_and_moves_nothing(family, db_url, name, input_, code):
    for infno in ("2101", "2102"):
        answer = family.pharmacy.send(infno, input_(family))
        assert answer["infcode"] == -1 and answer["err_code"] == code, (infno, answer)
    assert family.helper_balance() == 500 and stored_lines(db_url) == []


def test_the_v1_form_still_settles_and_hospitals_cannot_send_it(family):
    child = family.child
    bill = {"psn_no": child["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": child["certno"],
            "medfee_sumamt": "20.00", "fulamt_ownpay_amt": "20.00", "overlmt_selfpay": 0,
            "preselfpay_amt": 0, "inscp_scp_amt": 0, "acct_used_flag": "1"}
    out = family.pharmacy.must("2102", {"data": bill})
    assert out["setlinfo"]["acct_mulaid_pay"] == 20 and "detlcutinfo" not in out
    assert family.pharmacy.send("2102", {"data": []})["err_code"] == "INVALID_INPUT"
    assert family.his.send("2102", drugs(family))["err_code"] == "INSTITUTION_TYPE"
    assert family.helper_balance() == 480
