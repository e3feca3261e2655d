"""Outpatient as a HIS sends it, over HTTP (CONTRACT v2): 2201 挂号, 2203 就诊信息, 2204
fee lines classified by the catalogue, 2206/2207 of a batch, 2208, 2205, 2202, 5203, and
every refusal the contract names, with nothing changed by a refusal."""

from __future__ import annotations

import pytest

from v2_world import LINES, PARTS, TOTAL, Family, fee_line


@pytest.fixture
def family(api, clock):
    return Family(api, clock)


def register(family: Family, his=None, patient=None) -> str:  # noqa: ANN001
    his = his or family.his
    patient = patient or family.child
    out = his.must("2201", {"data": {
        "psn_no": patient["psn_no"], "insutype": patient["insutype"],
        "begntime": "2025-06-01 09:05:00", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": patient["certno"], "ipt_otp_no": "MZ20250601001", "atddr_no": "D001",
        "dr_name": "王医生", "dept_code": "A03", "dept_name": "内科", "caty": "A03"}})
    assert out["data"]["psn_no"] == patient["psn_no"]
    assert out["data"]["ipt_otp_no"] == "MZ20250601001"
    return out["data"]["mdtrt_id"]


def upload(family: Family, mdtrt_id: str, batch: str = "B1", sns: str = "F", lines=LINES,
           his=None) -> dict:  # noqa: ANN001
    his = his or family.his
    feedetail = [fee_line(f"{sns}{i}", spec, mdtrt_id=mdtrt_id, psn_no=family.child["psn_no"],
                          chrg_bchno=batch) for i, (spec, _) in enumerate(lines, start=1)]
    return his.send("2204", {"feedetail": feedetail})


def settle_data(family: Family, mdtrt_id: str, batch: str = "B1", total: str = TOTAL,
                **parts) -> dict:  # noqa: ANN003
    """2206/2207 input.data as a HIS sends it; the four parts as "" unless given."""
    child = family.child
    return {"data": {"psn_no": child["psn_no"], "mdtrt_cert_type": "02",
                     "mdtrt_cert_no": child["certno"], "med_type": "11",
                     "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
                     "chrg_bchno": batch, "insutype": "390", "acct_used_flag": "1",
                     "fulamt_ownpay_amt": "", "overlmt_selfpay": "", "preselfpay_amt": "",
                     "inscp_scp_amt": ""} | {k: v for k, v in parts.items()}}


def test_lines_are_classified_by_the_catalogue_line_by_line(family):
    mdtrt_id = register(family)
    answer = upload(family, mdtrt_id)
    assert answer["infcode"] == 0, answer
    result = answer["output"]["result"]
    assert [r["feedetl_sn"] for r in result] == ["F1", "F2", "F3", "F4", "F5"]
    for item, (spec, (own, over, pre, inscp, lv)) in zip(result, LINES, strict=True):
        assert (item["fulamt_ownpay_amt"], item["overlmt_amt"], item["preselfpay_amt"],
                item["inscp_scp_amt"], item["chrgitm_lv"]) == (own, over, pre, inscp, lv), item
        assert item["det_item_fee_sumamt"] == float(spec[3])
    assert result[1]["cnt"] == 3 and result[1]["pric"] == 3.3333
    assert result[1]["selfpay_prop"] == 0.1 and result[2]["pric_uplmt_amt"] == 10
    assert result[4]["pric_uplmt_amt"] is None and result[4]["selfpay_prop"] == 1


def test_a_batch_settles_once_is_reversed_and_settles_again(family):
    his = family.his
    mdtrt_id = register(family)
    his.must("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": family.child["psn_no"],
                                    "med_type": "11", "begntime": "2025-06-01 09:05:00",
                                    "main_cond_dscr": "咳嗽"},
                      "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_code": "J06.9",
                                    "diag_name": "急性上呼吸道感染", "diag_dept": "内科",
                                    "dise_dor_no": "D001", "dise_dor_name": "王医生",
                                    "diag_time": "2025-06-01 09:20:00", "vali_flag": "1"}]})
    assert upload(family, mdtrt_id)["infcode"] == 0
    pre = his.must("2206", settle_data(family, mdtrt_id))
    assert pre["setlinfo"]["setl_id"] is None
    assert {k: pre["setlinfo"][k] for k in PARTS} == PARTS
    assert pre["setlinfo"]["medfee_sumamt"] == 70 and family.helper_balance() == 500

    first = his.send("2207", settle_data(family, mdtrt_id, **{k: str(v) for k, v in
                                                             PARTS.items()}))
    setl = first["output"]["setlinfo"]
    assert first["infcode"] == 0 and setl["setl_id"]
    assert (setl["mdtrt_id"], setl["med_type"], setl["medins_setl_id"]) == (
        mdtrt_id, "11", his.last_msgid)
    assert setl["psn_name"] == "平措" and setl["insutype"] == "390"
    assert setl["hifp_pay"] == setl["fund_pay_sumamt"]
    # the hospital deductible (200.00 in 540000's rules) takes all 50.00 in policy scope
    assert setl["act_pay_dedc"] == 50 and setl["fund_pay_sumamt"] == 0
    assert setl["fund_pay_sumamt"] + setl["psn_part_amt"] == 70
    assert setl["acct_pay"] + setl["acct_mulaid_pay"] + setl["psn_cash_pay"] == \
        setl["psn_part_amt"]
    detail = first["output"]["setldetail"]
    assert detail == ([{"fund_pay_type": "390100", "fund_payamt": setl["fund_pay_sumamt"],
                        "fund_pay_type_name": "城乡居民基本医疗保险基金"}]
                      if setl["fund_pay_sumamt"] else [])
    drawn = setl["acct_mulaid_pay"]
    assert drawn > 0 and family.helper_balance() == 500 - drawn

    # the batch is held: no second settlement, no new or deleted line, no cancellation
    assert his.send("2207", settle_data(family, mdtrt_id))["err_code"] == "BATCH_SETTLED"
    assert his.send("2206", settle_data(family, mdtrt_id))["err_code"] == "BATCH_SETTLED"
    late = upload(family, mdtrt_id, sns="G", lines=LINES[:1])
    assert late["err_code"] == "BATCH_SETTLED"
    gone = his.send("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B1",
                                      "psn_no": family.child["psn_no"]}})
    assert gone["err_code"] == "BATCH_SETTLED"
    cancel = his.send("2202", {"data": {"mdtrt_id": mdtrt_id, "psn_no": family.child["psn_no"],
                                        "ipt_otp_no": "MZ20250601001"}})
    assert cancel["err_code"] == "VISIT_SETTLED"
    assert family.helper_balance() == 500 - drawn

    # 2208 naming another visit is not this settlement's; naming its own reverses it
    ref = {"setl_id": setl["setl_id"], "psn_no": family.child["psn_no"]}
    wrong = his.send("2208", {"data": ref | {"mdtrt_id": "M20250601FFFFFFFFFFFF"}})
    assert wrong["err_code"] == "SETTLEMENT_NOT_FOUND"
    his.must("2208", {"data": ref | {"mdtrt_id": mdtrt_id}})
    assert family.helper_balance() == 500

    again = his.must("2207", settle_data(family, mdtrt_id))["setlinfo"]
    assert again["setl_id"] != setl["setl_id"] and again["medfee_sumamt"] == 70
    assert family.helper_balance() == 500 - again["acct_mulaid_pay"]

    # 5203: the first as settled and reversed, the second live
    asked = his.must("5203", {"data": ref | {"mdtrt_id": mdtrt_id}})
    assert asked["setlinfo"]["refd_setl_flag"] == "1"
    assert asked["setlinfo"]["acct_mulaid_pay"] == drawn
    assert asked["setlinfo"]["medins_setl_id"] == setl["medins_setl_id"]
    assert asked["setldetail"] == detail
    live = his.must("5203", {"data": {"setl_id": again["setl_id"],
                                      "psn_no": family.child["psn_no"], "mdtrt_id": ""}})
    assert live["setlinfo"]["refd_setl_flag"] == "0" and live["setlinfo"]["mdtrt_id"] == mdtrt_id


def test_5203_answers_only_the_institutions_own_settlements(family):
    mdtrt_id = register(family)
    upload(family, mdtrt_id)
    setl = family.his.must("2207", settle_data(family, mdtrt_id))["setlinfo"]
    ref = {"data": {"setl_id": setl["setl_id"], "psn_no": family.child["psn_no"]}}
    assert family.other_his.send("5203", ref)["err_code"] == "SETTLEMENT_NOT_FOUND"
    assert family.pharmacy.send("5203", ref)["err_code"] == "SETTLEMENT_NOT_FOUND"
    wrong_patient = {"data": ref["data"] | {"psn_no": family.mother["psn_no"]}}
    assert family.his.send("5203", wrong_patient)["err_code"] == "SETTLEMENT_NOT_FOUND"
    wrong_visit = {"data": ref["data"] | {"mdtrt_id": "M0"}}
    assert family.his.send("5203", wrong_visit)["err_code"] == "SETTLEMENT_NOT_FOUND"
    assert family.his.must("5203", ref)["setlinfo"]["setl_id"] == setl["setl_id"]


def test_a_v1_settlement_answers_the_v2_fields_too(family):
    child = family.child
    bill = {"psn_no": child["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": child["certno"],
            "medfee_sumamt": "10.00", "fulamt_ownpay_amt": "10.00", "overlmt_selfpay": 0,
            "preselfpay_amt": 0, "inscp_scp_amt": 0, "acct_used_flag": "1", "insutype": "390"}
    out = family.his.must("2207", {"data": bill})
    assert out["setlinfo"]["mdtrt_id"] is None and out["setldetail"] == []
    assert out["setlinfo"]["medins_setl_id"] == family.his.last_msgid
    assert out["setlinfo"]["psn_name"] == "平措" and out["setlinfo"]["insutype"] == "390"
    assert out["setlinfo"]["acct_mulaid_pay"] == 10
    asked = family.his.must("5203", {"data": {"setl_id": out["setlinfo"]["setl_id"],
                                              "psn_no": child["psn_no"]}})
    assert asked["setlinfo"]["refd_setl_flag"] == "0" and asked["setlinfo"]["medfee_sumamt"] == 10


@pytest.mark.parametrize(("name", "change", "code"), [
    ("total not the lines'", {"total": "69.99"}, "AMOUNT_MISMATCH"),
    ("a part not the computed one", {"preselfpay_amt": "4.00"}, "AMOUNT_MISMATCH"),
    ("an empty batch", {"batch": "B9"}, "NO_FEE_DETAIL"),
    ("another's credential", {"cert": "stranger"}, "CREDENTIAL_MISMATCH"),
    ("an unknown visit", {"mdtrt_id": "M20250601000000000000"}, "VISIT_NOT_FOUND"),
])
def test_a_bad_batch_settlement_is_refused_and_moves_nothing(family, name, change, code):
    mdtrt_id = register(family)
    assert upload(family, mdtrt_id)["infcode"] == 0
    data = settle_data(family, change.get("mdtrt_id", mdtrt_id), change.get("batch", "B1"),
                       change.get("total", TOTAL),
                       **{k: v for k, v in change.items() if k in PARTS})
    if change.get("cert") == "stranger":
        data["data"]["mdtrt_cert_no"] = family.stranger["certno"]
    for infno in ("2206", "2207"):
        answer = family.his.send(infno, data)
        assert answer["infcode"] == -1 and answer["err_code"] == code, (infno, answer)
    assert family.helper_balance() == 500
    family.his.must("2207", settle_data(family, mdtrt_id))  # the batch itself still settles


def test_an_upload_is_all_or_nothing(family):
    mdtrt_id = register(family)
    bad = [LINES[0], (("B02", "3.3333", "3", "9.99"), None)]  # 9.9999 is 10.00, not 9.99
    answer = upload(family, mdtrt_id, lines=bad)
    assert answer["err_code"] == "AMOUNT_MISMATCH", answer
    assert family.his.send("2206", settle_data(family, mdtrt_id, total="25.00"))[
        "err_code"] == "NO_FEE_DETAIL"


def test_upload_refusals(family):
    mdtrt_id = register(family)
    child = family.child
    twice = [fee_line("S1", LINES[0][0], mdtrt_id=mdtrt_id, psn_no=child["psn_no"],
                      chrg_bchno="B1")] * 2
    assert family.his.send("2204", {"feedetail": twice})["err_code"] == "FEEDETL_SN_DUPLICATE"
    assert upload(family, mdtrt_id)["infcode"] == 0
    again = upload(family, mdtrt_id, batch="B2", lines=LINES[:1])  # F1 is the visit's already
    assert again["err_code"] == "FEEDETL_SN_DUPLICATE"
    assert family.his.send("2204", {"feedetail": []})["err_code"] == "INVALID_INPUT"
    many = [fee_line(f"N{i}", LINES[0][0], mdtrt_id=mdtrt_id, psn_no=child["psn_no"],
                     chrg_bchno="B3") for i in range(1001)]
    assert family.his.send("2204", {"feedetail": many})["err_code"] == "INVALID_INPUT"
    # another hospital's visit is not revealed; nor is a visit named with another patient
    theirs = upload(family, mdtrt_id, batch="B4", sns="O", his=family.other_his)
    assert theirs["err_code"] == "VISIT_NOT_FOUND"
    stranger = [fee_line("Z1", LINES[0][0], mdtrt_id=mdtrt_id,
                         psn_no=family.stranger["psn_no"], chrg_bchno="B5")]
    assert family.his.send("2204", {"feedetail": stranger})["err_code"] == "VISIT_NOT_FOUND"
    assert family.pharmacy.send("2204", {"feedetail": twice[:1]})["err_code"] == \
        "INSTITUTION_TYPE"


def test_deleting_batches(family):
    his, child = family.his, family.child
    mdtrt_id = register(family)
    upload(family, mdtrt_id, batch="B1", sns="F")
    upload(family, mdtrt_id, batch="B2", sns="G")
    upload(family, mdtrt_id, batch="B3", sns="H")
    his.must("2207", settle_data(family, mdtrt_id, batch="B1"))
    ref = {"mdtrt_id": mdtrt_id, "psn_no": child["psn_no"]}
    assert his.must("2205", {"data": ref | {"chrg_bchno": "B2"}})["data"]["deleted_cnt"] == 5
    assert his.send("2206", settle_data(family, mdtrt_id, batch="B2"))[
        "err_code"] == "NO_FEE_DETAIL"
    assert his.send("2205", {"data": ref | {"chrg_bchno": "B2"}})["err_code"] == "NO_FEE_DETAIL"
    # "0000": every unsettled line (B3's), never the settled batch's
    assert his.must("2205", {"data": ref | {"chrg_bchno": "0000"}})["data"]["deleted_cnt"] == 5
    assert his.send("2207", settle_data(family, mdtrt_id, batch="B1"))[
        "err_code"] == "BATCH_SETTLED"
    assert his.send("2206", settle_data(family, mdtrt_id, batch="B3"))[
        "err_code"] == "NO_FEE_DETAIL"


def test_registration_and_cancellation(family):
    his, child = family.his, family.child
    msgid = his.next_msgid()
    data = {"psn_no": child["psn_no"], "insutype": "390", "begntime": "2025-06-01 09:05:00",
            "mdtrt_cert_type": "02", "mdtrt_cert_no": child["certno"], "ipt_otp_no": "MZ1"}
    first = his.must("2201", {"data": data}, msgid=msgid)
    assert his.must("2201", {"data": data}, msgid=msgid) == first  # a retry: the same visit
    mdtrt_id = first["data"]["mdtrt_id"]
    assert mdtrt_id.startswith("M20250601")
    stranger = his.send("2201", {"data": data | {"mdtrt_cert_no": family.stranger["certno"]}})
    assert stranger["err_code"] == "CREDENTIAL_MISMATCH"
    assert family.pharmacy.send("2201", {"data": data})["err_code"] == "INSTITUTION_TYPE"
    ref = {"mdtrt_id": mdtrt_id, "psn_no": child["psn_no"], "ipt_otp_no": "MZ1"}
    assert his.send("2202", {"data": ref | {"ipt_otp_no": "MZ2"}})["err_code"] == \
        "VISIT_NOT_FOUND"
    assert family.other_his.send("2202", {"data": ref})["err_code"] == "VISIT_NOT_FOUND"
    his.must("2202", {"data": ref})
    assert his.send("2202", {"data": ref})["err_code"] == "VISIT_CANCELLED"
    assert upload(family, mdtrt_id)["err_code"] == "VISIT_CANCELLED"
    info = {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": child["psn_no"], "med_type": "11"},
            "diseinfo": []}
    assert his.send("2203", info)["err_code"] == "VISIT_CANCELLED"


def test_2203_bounds_the_diagnoses(family):
    mdtrt_id = register(family)
    info = {"mdtrt_id": mdtrt_id, "psn_no": family.child["psn_no"], "med_type": "14"}
    many = [{"diag_code": f"J{i:02d}"} for i in range(51)]
    assert family.his.send("2203", {"mdtrtinfo": info, "diseinfo": many})[
        "err_code"] == "INVALID_INPUT"
    out = family.his.must("2203", {"mdtrtinfo": info, "diseinfo": many[:3]})
    assert out["data"]["med_type"] == "14"
    upload(family, mdtrt_id)
    # the visit's 医疗类别 is the settlement's when the 2207 does not name one
    data = settle_data(family, mdtrt_id)
    data["data"]["med_type"] = ""
    assert family.his.must("2207", data)["setlinfo"]["med_type"] == "14"
