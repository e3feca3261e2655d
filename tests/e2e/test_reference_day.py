"""A day at a hospital and at a pharmacy, played by the reference client (envelopes as HIS
and pharmacy systems fill them), on SQLite and PostgreSQL; at the end the money is checked:
the journal balances and every account holds what the day's answers say it should."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gongji.services.operations.verify import verify
from gongji.store.schema import institutions, postings
from mother_child import institution, mother_and_child
from reference_client import LostAnswer, ReferenceClient
from v2_world import CATALOGUE, REGION

MORNING = "2025-06-01 09:30:00"


@pytest.fixture
def town(api, clock):
    """The operator's reference data: a mother (employee, 500.00 yuan) helping her child (a
    resident), the catalogue, a hospital and a pharmacy."""
    family = mother_and_child(api, 51, region=REGION)
    assert api.post("/api/v1/catalogue", {"items": [{"admdvs": "540000"} | item
                                                    for item in CATALOGUE]}).status_code == 200
    clients = {}
    for code, name, kind in (("H54250101", "山南市人民医院", "hospital"),
                             ("P54250101", "山南市便民药店", "pharmacy")):
        institution(api, code, kind, name=name, region=REGION)
        clients[kind] = ReferenceClient(api, api.token("institution", code), code, name,
                                        REGION, clock)
    return family | clients


def hospital_day(town) -> list[dict]:
    """9001, 1101, 2201, 2203, 2204, 2206, a 2207 whose answer is lost and its 2601, the
    2207 again, a second batch settled and reversed by 2208, 5203 of both, 3201, 9002.
    The settlements left standing (their setlinfo)."""
    his, child = town["hospital"], town["child"]
    his.sign_in()
    assert his.read_card(child["certno"])["baseinfo"]["psn_no"] == child["psn_no"]
    mdtrt_id = his.register(child, "MZ20250601001", "2025-06-01 09:05:00")
    assert his.visit_info(child, mdtrt_id, "2025-06-01 09:05:00",
                          [("J06.9", "急性上呼吸道感染")])["data"]["med_type"] == "11"
    result = his.upload(child, mdtrt_id, "B1", [
        his.line("1", "A01", "12.50", "2", "25.00", MORNING),   # 甲类: all in scope
        his.line("2", "B02", "3.3333", "3", "10.00", MORNING),  # 乙类: 1.00 先行自付
        his.line("3", "C03", "8.00", "1", "8.00", MORNING)])    # 丙类: all self-pay
    assert [(r["chrgitm_lv"], r["preselfpay_amt"], r["inscp_scp_amt"]) for r in result] == [
        ("01", 0, 25), ("02", 1, 9), ("03", 0, 0)]
    bill = his.batch_bill(child, mdtrt_id, "B1", "43.00")
    pre = his.must("2206", bill)["setlinfo"]
    assert (pre["setl_id"], pre["fulamt_ownpay_amt"], pre["preselfpay_amt"],
            pre["inscp_scp_amt"]) == (None, 8, 1, 34)
    # the answer of the 2207 is lost: the HIS sends 2601 naming it, then settles again
    with pytest.raises(LostAnswer) as lost:
        his.send("2207", bill, lose_answer=True)
    undone = his.correct(child["psn_no"], lost.value.args[0], "2207")
    assert undone["infcode"] == 0 and undone["output"]["setlinfo"]["reversed"] is True
    kept = his.must("2207", bill)["setlinfo"]
    own = ("setl_id", "setl_time", "medins_setl_id")  # each message's own
    assert {k: kept[k] for k in pre if k not in own} == {k: pre[k] for k in pre if k not in own}
    # a second batch, settled then reversed by 2208
    his.upload(child, mdtrt_id, "B2", [his.line("4", "A01", "12.50", "1", "12.50", MORNING)])
    second = his.must("2207", his.batch_bill(child, mdtrt_id, "B2", "12.50"))["setlinfo"]
    his.must("2208", {"data": {"setl_id": second["setl_id"], "mdtrt_id": mdtrt_id,
                               "psn_no": child["psn_no"]}})
    for setlinfo, flag in ((kept, "0"), (second, "1")):
        found = his.must("5203", {"data": {"psn_no": child["psn_no"], "mdtrt_id": mdtrt_id,
                                           "setl_id": setlinfo["setl_id"]}})["setlinfo"]
        assert found["refd_setl_flag"] == flag
        assert found["acct_mulaid_pay"] == setlinfo["acct_mulaid_pay"]
    _reconcile(his, [kept], "11")
    his.sign_out()
    return [kept]


def pharmacy_day(town) -> list[dict]:
    """9001, 1101, 2101 and 2102 with drugdetail, 2103 of one sale, another sale kept."""
    shop, child = town["pharmacy"], town["child"]
    shop.sign_in()
    shop.read_card(child["certno"])
    lines = [shop.line("D1", "B02", "3.3333", "3", "10.00", MORNING),
             shop.line("D2", "L01", "12", "2", "24.00", MORNING)]  # 4.00 above the limit
    sale = shop.drugs(child, "34.00", lines, MORNING)
    pre = shop.must("2101", sale)
    assert [(d["overlmt_amt"], d["preselfpay_amt"], d["inscp_scp_amt"])
            for d in pre["detlcutinfo"]] == [(0, 1, 9), (4, 4, 16)]
    first = shop.must("2102", sale)["setlinfo"]
    shop.must("2103", {"data": {"setl_id": first["setl_id"], "psn_no": child["psn_no"]}})
    kept = shop.must("2102", shop.drugs(child, "34.00", [
        shop.line("D3", "B02", "3.3333", "3", "10.00", MORNING),
        shop.line("D4", "L01", "12", "2", "24.00", MORNING)], MORNING))["setlinfo"]
    assert (kept["overlmt_selfpay"], kept["preselfpay_amt"], kept["inscp_scp_amt"]) == (4, 5, 25)
    _reconcile(shop, [kept], "41")
    return [kept]


def _reconcile(client: ReferenceClient, live: list[dict], clr_type: str) -> None:
    """3201 with the institution's own totals of the day: they agree."""
    totals = {name: f"{sum(s[name] for s in live):.2f}"
              for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay")}
    out = client.must("3201", {"data": {
        "insutype": "390", "clr_type": clr_type, "setl_optins": REGION,
        "stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01",
        "fixmedins_setl_cnt": len(live), "refd_setl_flag": "0", **totals}})
    assert out["stmt_rslt"] == "0" and out["stmtinfo"]["stmt_rslt"] == "0", out


def test_a_day_at_a_hospital_and_a_pharmacy(api, town):
    standing = {"hospital": hospital_day(town), "pharmacy": pharmacy_day(town)}
    drawn = sum(s["acct_mulaid_pay"] for kept in standing.values() for s in kept)
    assert drawn > 0  # the mother's account did pay for her child
    account = api.get("/api/v1/account", town["mother_token"]).json()
    assert account["balance"] == pytest.approx(500 - drawn, abs=0.001)
    ctx = api.client.app.state.ctx
    with ctx.read() as uow:  # each institution received exactly its standing bills
        for kind, kept in standing.items():
            received = uow.conn.execute(
                select(func.coalesce(func.sum(postings.c.amount_fen), 0))
                .join(institutions, institutions.c.account_id == postings.c.account_id)
                .where(institutions.c.fixmedins_code == town[kind].code)).scalar()
            assert received == round(sum(s["medfee_sumamt"] for s in kept) * 100), kind
    results = verify(ctx)
    assert all(not r.violations for r in results if not r.check.advisory), [
        (r.check.name, r.violations[:3]) for r in results if r.violations]
