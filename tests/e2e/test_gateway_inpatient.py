"""Inpatient stays as a HIS sends them, over HTTP (CONTRACT v2 "Inpatient"), on SQLite and
PostgreSQL: 2401 admission, 2301/2302 lines, 2402/2405 discharge, 2303/2304 settlement of
every unsettled line by fund_rules.inpatient and the waterfall (own account, helper 1,
helper 2, cash), 2305 and 2601 reversals refunding every account, 5203, 3201 clr_type 21,
2404 cancellation, and every refusal of the stay's state machine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gongji.domain.idcard import make_certno
from reference_client import ReferenceClient
from v2_world import CATALOGUE, HOSPITAL, OTHER_HOSPITAL, PHARMACY, REGION, fee_line

# (code, pric, cnt, total): 3,000.00 in scope (甲类), 8.00 own-pay (丙类)
WARD_LINES = [("A01", "1000.00", "3", "3000.00"), ("C03", "8.00", "1", "8.00")]
TOTAL = "3008.00"
# fund_rules.inpatient of 540000 (example values): deductible 500, 80 %:
# fund (3000 − 500) × 80 % = 2,000.00; the personal burden 1,008.00 =
# own 100 + son 200 + daughter 500 + cash 208
FUND, BURDEN = 2000, 1008


class Ward:
    """A father (employee, own account 100.00) helped by his son (200.00) then his
    daughter (500.00); a hospital, a second hospital and a pharmacy."""

    def __init__(self, api, clock):  # noqa: ANN001
        self.api = api
        self.father = self._person("次仁", make_certno("542521", date(1950, 2, 3), 11))
        self.son = self._person("扎西", make_certno("542521", date(1978, 4, 5), 13))
        self.daughter = self._person("央金", make_certno("542521", date(1980, 6, 7), 12))
        clerk = api.token("clerk", "clerk-7", REGION)
        for helper, credit in ((self.son, "200.00"), (self.daughter, "500.00")):
            self._credit(helper, credit)
            assert api.post("/api/v1/kinships", {
                "certno": helper["certno"], "relative_certno": self.father["certno"],
                "relation": "parent"}).status_code == 201
            bound = api.post("/api/v1/bindings", {
                "helper_certno": helper["certno"], "beneficiary_certno": self.father["certno"],
                "relation": "parent", "documents_checked": True}, clerk)
            assert bound.status_code == 201, bound.text
        self._credit(self.father, "100.00")
        assert api.post("/api/v1/catalogue", {"items": [
            {"admdvs": "540000"} | item for item in CATALOGUE]}).status_code == 200
        self.his = self._institution(HOSPITAL, "阿里地区人民医院", "hospital", clock)
        self.other_his = self._institution(OTHER_HOSPITAL, "阿里地区第二医院", "hospital", clock)
        self.pharmacy = self._institution(PHARMACY, "狮泉河药店", "pharmacy", clock)

    def _person(self, name: str, certno: str) -> dict:
        answer = self.api.post("/api/v1/persons", {"certno": certno, "psn_name": name,
                                                   "insutype": "310", "insuplc_admdvs": REGION})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def _credit(self, person: dict, amount: str) -> None:
        assert self.api.post(f"/api/v1/accounts/{person['psn_no']}/credits",
                             {"amount": amount, "ref": f"2025-01-{person['psn_no']}"}
                             ).status_code == 201

    def _institution(self, code: str, name: str, kind: str, clock) -> ReferenceClient:  # noqa: ANN001
        assert self.api.post("/api/v1/institutions", {
            "fixmedins_code": code, "fixmedins_name": name, "fixmedins_type": kind,
            "admdvs": REGION}).status_code == 201
        return ReferenceClient(self.api, self.api.token("institution", code), code, name,
                               REGION, clock)

    def balances(self) -> tuple[float, float, float]:
        return tuple(self.api.get("/api/v1/account", self.api.token("person", p["psn_no"]))
                     .json()["balance"] for p in (self.father, self.son, self.daughter))

    # --- the HIS's messages -----------------------------------------------------------------

    def admit(self) -> str:
        out = self.his.must("2401", self.admission())
        assert out["result"]["ipt_no"] == "ZY20250601001"
        return out["result"]["mdtrt_id"]

    def admission(self) -> dict:
        return {
            "mdtrtinfo": {"psn_no": self.father["psn_no"], "insutype": "310",
                          "begntime": "2025-06-01 08:00:00", "mdtrt_cert_type": "02",
                          "mdtrt_cert_no": self.father["certno"], "med_type": "21",
                          "ipt_no": "ZY20250601001", "atddr_no": "D001",
                          "chfpdr_name": "王医生", "adm_dept_codg": "A03",
                          "adm_dept_name": "内科", "adm_bed": "12"},
            "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_code": "J18.900",
                          "diag_name": "肺炎", "adm_cond_type": "1"}]}

    def upload(self, mdtrt_id: str, sns: str = "F", lines=WARD_LINES, his=None,  # noqa: ANN001
               batch: str | None = "IPT1") -> dict:
        feedetail = [fee_line(f"{sns}{i}", spec, mdtrt_id=mdtrt_id,
                              psn_no=self.father["psn_no"], chrg_bchno=batch)
                     for i, spec in enumerate(lines, start=1)]
        if batch is None:  # as many HIS send a 2301 line: no 收费批次号 at all
            feedetail = [{k: v for k, v in line.items() if k != "chrg_bchno"}
                         for line in feedetail]
        return (his or self.his).send("2301", {"feedetail": feedetail})

    def ref(self, mdtrt_id: str) -> dict:
        return {"data": {"mdtrt_id": mdtrt_id, "psn_no": self.father["psn_no"]}}

    def discharge(self, mdtrt_id: str, endtime: str = "2025-06-05 10:00:00") -> dict:
        return self.his.send("2402", {
            "dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": self.father["psn_no"],
                         "endtime": endtime, "dscg_way": "1", "dscg_dept_codg": "A03"},
            "diseinfo": [{"diag_code": "J18.900", "diag_name": "肺炎", "maindiag_flag": "1"}]})

    def bill(self, mdtrt_id: str, total: str = TOTAL, **more: str) -> dict:
        return {"data": {"psn_no": self.father["psn_no"], "mdtrt_cert_type": "02",
                         "mdtrt_cert_no": self.father["certno"], "medfee_sumamt": total,
                         "psn_setlway": "01", "mdtrt_id": mdtrt_id, "insutype": "310",
                         "acct_used_flag": "1", "mid_setl_flag": "0"} | more}


@pytest.fixture
def ward(api, clock):
    return Ward(api, clock)


def err(answer: dict) -> str:
    return answer["err_code"]


def test_the_whole_stay_pays_from_four_sources_and_reversal_refunds_every_account(ward):
    his = ward.his
    mdtrt_id = ward.admit()
    assert err(his.send("2303", ward.bill(mdtrt_id))) == "STAY_STATE"  # not discharged
    result = ward.upload(mdtrt_id)["output"]["result"]
    assert [(r["inscp_scp_amt"], r["fulamt_ownpay_amt"]) for r in result] == [(3000, 0), (0, 8)]
    # a line removed and sent again under a new feedetl_sn
    removed = his.must("2302", {"data": {"mdtrt_id": mdtrt_id, "feedetl_sn": "F2",
                                         "psn_no": ward.father["psn_no"]}})
    assert removed["result"]["deleted_cnt"] == 1
    assert ward.upload(mdtrt_id, sns="G", lines=WARD_LINES[1:])["infcode"] == 0
    assert ward.discharge(mdtrt_id)["output"]["result"]["stay_status"] == "discharged"

    pre = his.must("2303", ward.bill(mdtrt_id))["setlinfo"]
    assert (pre["setl_id"], pre["fund_pay_sumamt"], pre["psn_part_amt"]) == (None, FUND, BURDEN)
    assert ward.balances() == (100, 200, 500)
    assert err(his.send("2304", ward.bill(mdtrt_id, "3000.00"))) == "AMOUNT_MISMATCH"
    mid = his.send("2304", ward.bill(mdtrt_id, mid_setl_flag="1"))
    assert err(mid) == "MID_SETTLEMENT_UNSUPPORTED"

    settled = his.must("2304", ward.bill(mdtrt_id))
    setl = settled["setlinfo"]
    settle_msgid = his.last_msgid
    assert (setl["mdtrt_id"], setl["med_type"]) == (mdtrt_id, "21")
    assert (setl["fund_pay_sumamt"], setl["act_pay_dedc"]) == (FUND, 500)
    assert (setl["acct_pay"], setl["acct_mulaid_pay"], setl["psn_cash_pay"]) == (100, 700, 208)
    assert [(d["helper_psn_no"], d["amount"]) for d in settled["mulaid_detail"]] == [
        (ward.son["psn_no"], 200), (ward.daughter["psn_no"], 500)]
    assert ward.balances() == (0, 0, 0)
    # the readers see an inpatient settlement: the patient's list, the helper's entries,
    # export and notice
    api = ward.api
    father_token = api.token("person", ward.father["psn_no"])
    son_token = api.token("person", ward.son["psn_no"])
    mine = api.get("/api/v1/settlements", father_token).json()["settlements"]
    assert [(s["setl_id"], s["fund_scene"]) for s in mine] == [(setl["setl_id"], "inpatient")]
    entries = api.get("/api/v1/account/entries", son_token).json()["entries"]
    assert entries[0]["fund_scene"] == "inpatient" and entries[0]["amount"] == -200
    exported = api.client.get("/api/v1/account/entries.csv", headers=api.as_(son_token))
    assert ",住院" in exported.content.decode("utf-8-sig").splitlines()[1]
    notices = api.get("/api/v1/notices", son_token).json()["notices"]
    assert "住院使用共济资金 200.00 元" in notices[0]["text"]

    # settled: nothing changes the stay but a reversal
    for infno, body in (("2301", None), ("2302", {"data": {
            "mdtrt_id": mdtrt_id, "feedetl_sn": "0000", "psn_no": ward.father["psn_no"]}}),
            ("2405", ward.ref(mdtrt_id)), ("2404", ward.ref(mdtrt_id)),
            ("2304", ward.bill(mdtrt_id)), ("2303", ward.bill(mdtrt_id))):
        answer = ward.upload(mdtrt_id, sns="H") if body is None else his.send(infno, body)
        assert err(answer) == "STAY_STATE", (infno, answer)
        assert "已结算" in answer["err_msg"]
    assert err(ward.discharge(mdtrt_id)) == "STAY_STATE"
    outpatient = his.send("2207", ward.bill(mdtrt_id, chrg_bchno="IPT1", med_type="21"))
    assert err(outpatient) == "NOT_OUTPATIENT"

    # 5203 and 3201 clr_type 21 count it as an inpatient settlement
    asked = his.must("5203", {"data": {"setl_id": setl["setl_id"],
                                       "psn_no": ward.father["psn_no"], "mdtrt_id": mdtrt_id}})
    assert asked["setlinfo"]["refd_setl_flag"] == "0"
    assert asked["setlinfo"]["acct_mulaid_pay"] == 700
    totals = {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01",
              "medfee_sumamt": TOTAL, "fund_pay_sumamt": "2000.00", "acct_pay": "100.00",
              "acct_mulaid_pay": "700.00", "fixmedins_setl_cnt": 1, "refd_setl_flag": "0"}
    assert his.must("3201", {"data": totals | {"clr_type": "21"}})["stmt_rslt"] == "0"
    outpatient_only = his.must("3201", {"data": totals | {"clr_type": "11"}})
    assert outpatient_only["stmt_rslt"] == "1" and outpatient_only["fixmedins_setl_cnt"] == 0

    # 2208 is not a stay's reversal; 2305 refunds every account, once
    assert err(his.send("2208", {"data": {"mdtrt_id": mdtrt_id, "setl_id": setl["setl_id"],
                                          "psn_no": ward.father["psn_no"]}})) == \
        "SETTLEMENT_NOT_FOUND"
    back = his.must("2305", {"data": {"mdtrt_id": mdtrt_id, "setl_id": setl["setl_id"],
                                      "psn_no": ward.father["psn_no"]}})
    assert back["setlinfo"]["acct_mulaid_pay"] == -700
    assert ward.balances() == (100, 200, 500)
    again = his.send("2305", {"data": {"mdtrt_id": mdtrt_id, "setl_id": setl["setl_id"],
                                       "psn_no": ward.father["psn_no"]}})
    assert err(again) == "ALREADY_REVERSED"
    assert err(his.send("2601", {"data": {"psn_no": ward.father["psn_no"],
                                          "omsgid": settle_msgid, "oinfno": "2304"}})) == \
        "ALREADY_REVERSED"

    # discharged again: it settles again, and a 2601 of that 2304 reverses it
    his.must("2304", ward.bill(mdtrt_id))
    lost = his.last_msgid
    assert ward.balances() == (0, 0, 0)
    corrected = his.must("2601", {"data": {"psn_no": ward.father["psn_no"], "omsgid": lost,
                                           "oinfno": "2304"}})
    assert corrected["setlinfo"]["reversed"] is True
    assert ward.balances() == (100, 200, 500)

    # back in hospital, then the admission cancelled: the stay allows nothing more
    assert his.must("2405", ward.ref(mdtrt_id))["result"]["stay_status"] == "admitted"
    assert his.must("2404", ward.ref(mdtrt_id))["result"]["stay_status"] == "cancelled"
    for answer in (his.send("2404", ward.ref(mdtrt_id)), ward.discharge(mdtrt_id),
                   ward.upload(mdtrt_id, sns="K")):
        assert err(answer) == "STAY_STATE" and "入院已撤销" in answer["err_msg"]


def test_inpatient_settlements_are_their_own_fund_scene(ward, api):
    """The inpatient deductible is the stay's own: an outpatient settlement first does not
    use it up (the hospital scene has its own accumulator)."""
    his = ward.his
    mdtrt_id = ward.admit()
    ward.upload(mdtrt_id)
    ward.discharge(mdtrt_id)
    setl = his.must("2304", ward.bill(mdtrt_id))["setlinfo"]
    second = ward.admit()
    assert ward.upload(second, sns="S")["infcode"] == 0
    ward.discharge(second)
    pre = his.must("2303", ward.bill(second))["setlinfo"]
    # the deductible was met by the first stay of the year: 80 % of all 3,000.00
    assert (setl["act_pay_dedc"], pre["act_pay_dedc"], pre["fund_pay_sumamt"]) == (500, 0, 2400)


def test_every_refusal_of_a_stay(ward):
    his, other = ward.his, ward.other_his
    mdtrt_id = ward.admit()
    father = ward.father["psn_no"]
    # a 2401 retried after a lost answer is the same stay, never a second one
    first = his.must("2401", ward.admission(), msgid="H54250001ADMIT0001")
    assert his.must("2401", ward.admission(), msgid="H54250001ADMIT0001") == first
    assert first["result"]["mdtrt_id"] != mdtrt_id
    # a pharmacy does not admit; another hospital does not see the stay
    assert err(ward.pharmacy.send("2401", ward.admission())) == "INSTITUTION_TYPE"
    assert err(ward.pharmacy.send("2404", ward.ref(mdtrt_id))) == "INSTITUTION_TYPE"
    assert err(his.send("2401", {"mdtrtinfo": {}, "diseinfo": []})) == "INVALID_INPUT"
    assert err(other.send("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": father,
                                                "endtime": "2025-06-05 10:00:00"}})) == \
        "STAY_NOT_FOUND"
    assert err(ward.upload(mdtrt_id, his=other)) == "STAY_NOT_FOUND"
    assert err(his.send("2404", {"data": {"mdtrt_id": "Z000", "psn_no": father}})) == \
        "STAY_NOT_FOUND"
    # a stay is not an outpatient visit, and the other way round
    assert err(his.send("2204", {"feedetail": [fee_line(
        "F1", WARD_LINES[0], mdtrt_id=mdtrt_id, psn_no=father, chrg_bchno="B1")]})) == \
        "NOT_OUTPATIENT"
    visit = his.must("2201", {"data": {
        "psn_no": father, "insutype": "310", "begntime": "2025-06-01 09:05:00",
        "mdtrt_cert_type": "02", "mdtrt_cert_no": ward.father["certno"],
        "ipt_otp_no": "MZ1"}})["data"]["mdtrt_id"]
    assert err(ward.upload(visit)) == "NOT_A_STAY"
    assert err(his.send("2402", {"dscginfo": {"mdtrt_id": visit, "psn_no": father,
                                              "endtime": "2025-06-05 10:00:00"}})) == "NOT_A_STAY"
    # the state machine: admitted
    for infno in ("2405", "2303", "2304"):
        body = ward.ref(mdtrt_id) if infno == "2405" else ward.bill(mdtrt_id)
        answer = his.send(infno, body)
        assert err(answer) == "STAY_STATE" and "在院" in answer["err_msg"], infno
    assert err(his.send("2305", {"data": {"mdtrt_id": mdtrt_id, "setl_id": "S1",
                                          "psn_no": father}})) == "SETTLEMENT_NOT_FOUND"
    assert err(ward.discharge(mdtrt_id, "2025-05-30 10:00:00")) == "INVALID_INPUT"
    assert err(his.send("2302", {"data": {"mdtrt_id": mdtrt_id, "feedetl_sn": "F9",
                                          "psn_no": father}})) == "NO_FEE_DETAIL"
    # discharged, no lines: nothing to settle; cancelling the admission needs 2405 first
    assert ward.discharge(mdtrt_id)["infcode"] == 0
    assert err(his.send("2304", ward.bill(mdtrt_id))) == "NO_FEE_DETAIL"
    assert err(his.send("2404", ward.ref(mdtrt_id))) == "STAY_STATE"
    assert err(ward.discharge(mdtrt_id)) == "STAY_STATE"
    # the credential must be the patient's own
    son_card = ward.bill(mdtrt_id, mdtrt_cert_no=ward.son["certno"])
    ward.upload(mdtrt_id)
    assert err(his.send("2304", son_card)) == "CREDENTIAL_MISMATCH"
    assert ward.balances() == (100, 200, 500)
    # 2302 "0000": every unsettled line goes
    gone = his.must("2302", {"data": {"mdtrt_id": mdtrt_id, "feedetl_sn": "0000",
                                      "psn_no": father}})
    assert gone["result"]["deleted_cnt"] == 2


def test_an_inpatient_day_as_the_reference_client_sends_it(ward):
    """Signed in, the card read, a stay from admission to settlement, signed out: every
    envelope carries the day's sign_no, fields as a HIS fills them."""
    his, father = ward.his, ward.father
    his.sign_in()
    assert his.read_card(father["certno"])["baseinfo"]["psn_no"] == father["psn_no"]
    diagnoses = [("J18.900", "肺炎")]
    mdtrt_id = his.admit(father, "ZY20250601007", "2025-06-01 08:00:00", diagnoses)
    result = his.stay_lines(father, mdtrt_id, [
        his.line(f"D{i}", codg, pric, cnt, total, "2025-06-02 09:00:00")
        for i, (codg, pric, cnt, total) in enumerate(WARD_LINES, start=1)])
    assert [r["chrgitm_lv"] for r in result] == ["01", "03"]
    assert his.discharge(father, mdtrt_id, "2025-06-05 10:00:00", diagnoses)[
        "result"]["stay_status"] == "discharged"
    assert his.must("2303", his.stay_bill(father, mdtrt_id, TOTAL))["setlinfo"][
        "fund_pay_sumamt"] == FUND
    settled = his.must("2304", his.stay_bill(father, mdtrt_id, TOTAL))["setlinfo"]
    assert (settled["psn_part_amt"], settled["psn_cash_pay"]) == (BURDEN, 208)
    his.sign_out()


def test_stay_lines_may_come_without_a_batch_number_and_settle_together(ward):
    mdtrt_id = ward.admit()
    assert ward.upload(mdtrt_id, sns="A", batch=None)["infcode"] == 0
    assert ward.upload(mdtrt_id, sns="B", batch="")["infcode"] == 0
    assert ward.discharge(mdtrt_id)["infcode"] == 0
    one_upload = ward.his.send("2303", ward.bill(mdtrt_id))
    assert err(one_upload) == "AMOUNT_MISMATCH"  # the bill is every line of the stay
    both = f"{2 * Decimal(TOTAL):.2f}"
    settled = ward.his.send("2304", ward.bill(mdtrt_id, total=both))
    assert settled["infcode"] == 0, settled
    assert settled["output"]["setlinfo"]["medfee_sumamt"] == float(both)
