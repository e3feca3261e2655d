"""Races on a visit's fee lines, on a real PostgreSQL, many runs each: every call that reads
or changes a visit's lines takes the visit row first (services/settlement/visit_store).

- two 2207s of one batch under different msgids: exactly one settles;
- a 2204 adding lines to a batch racing its 2207: the lines are either in the settled
  batch (then the 2207's total no longer matches and it is refused) or refused, never half.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from gongji.api import gateway
from gongji.services.operations.verify import verify
from gongji.store.schema import fee_lines, settlements
from support import World, ok

RUNS = 25
HOSPITAL = "H54250001"


@pytest.fixture
def patient(pg_world):
    pg_world.institution(HOSPITAL)
    helper = pg_world.person("共济人", credit="10000.00")
    child = pg_world.person("亲属", insutype="390")
    pg_world.bind(helper, child, "child")
    return child


def send(pg_world: World, infno: str, input_: dict, msgid: str) -> dict:
    envelope = {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "542500",
                "insuplc_admdvs": "542500", "fixmedins_code": HOSPITAL, "opter": "0001",
                "opter_type": "1", "infver": "V1.0", "recer_sys_code": "MDY32", "sign_no": "",
                "inf_time": "2025-06-01 10:00:00", "input": input_}
    return gateway.process(pg_world.ctx, HOSPITAL, json.dumps(envelope).encode())[1]


def lines(mdtrt_id: str, patient: dict, batch: str, sns: list[str]) -> dict:
    return {"feedetail": [{"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": patient["psn_no"],
                           "chrg_bchno": batch, "med_list_codg": "X01", "cnt": "1",
                           "pric": "10.00", "det_item_fee_sumamt": "10.00",
                           "fee_ocur_time": "2025-06-01 09:30:00"} for sn in sns]}


def settle_input(mdtrt_id: str, patient: dict, total: str) -> dict:
    return {"data": {"psn_no": patient["psn_no"], "mdtrt_cert_type": "02",
                     "mdtrt_cert_no": patient["certno"], "medfee_sumamt": total,
                     "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1",
                     "fulamt_ownpay_amt": "", "overlmt_selfpay": "", "preselfpay_amt": "",
                     "inscp_scp_amt": ""}}


def visit_with_lines(pg_world: World, patient: dict, run: int) -> str:
    out = ok(send(pg_world, "2201", {"data": {
        "psn_no": patient["psn_no"], "insutype": patient["insutype"], "begntime": "2025-06-01 09:00:00",
        "mdtrt_cert_type": "02", "mdtrt_cert_no": patient["certno"],
        "ipt_otp_no": f"MZ{run}"}}, f"{HOSPITAL}REG{run:04d}"))
    mdtrt_id = out["data"]["mdtrt_id"]
    ok(send(pg_world, "2204", lines(mdtrt_id, patient, "B1", ["F1", "F2", "F3"]),
            f"{HOSPITAL}UPL{run:04d}"))
    return mdtrt_id


def race(*calls):  # noqa: ANN002, ANN201
    """Start the calls together; their answers in order."""
    start = threading.Barrier(len(calls))

    def run(call):  # noqa: ANN001, ANN202
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def settled_batches_are_whole(pg_world: World) -> None:
    """Every live settlement's lines sum to its total; no line of a settled batch is free."""
    with pg_world.ctx.read() as uow:
        conn = uow.conn
        sums = conn.execute(select(settlements.c.medfee_sumamt_fen,
                                   func.sum(fee_lines.c.det_item_fee_sumamt_fen))
                            .join(fee_lines, fee_lines.c.settlement_id == settlements.c.id)
                            .group_by(settlements.c.id, settlements.c.medfee_sumamt_fen)).all()
        assert all(total == lines_total for total, lines_total in sums), sums
        held = select(fee_lines.c.visit_id).where(fee_lines.c.settlement_id.is_not(None))
        loose = conn.execute(select(func.count()).select_from(fee_lines).where(
            fee_lines.c.settlement_id.is_(None), fee_lines.c.visit_id.in_(held))).scalar()
        assert loose == 0
    checked = {r.check.name: r for r in verify(pg_world.ctx)}["settlement_lines"]
    assert checked.total == 0, checked.violations


def test_two_settlements_of_one_batch_settle_it_once(pg_world, patient):
    for run in range(RUNS):
        mdtrt_id = visit_with_lines(pg_world, patient, run)
        data = settle_input(mdtrt_id, patient, "30.00")
        answers = race(lambda: send(pg_world, "2207", data, f"{HOSPITAL}A{run:04d}"),
                       lambda: send(pg_world, "2207", data, f"{HOSPITAL}B{run:04d}"))
        codes = sorted(a["err_code"] for a in answers)
        assert codes == ["", "BATCH_SETTLED"], (run, answers)
    with pg_world.ctx.read() as uow:
        assert uow.conn.execute(select(func.count()).select_from(settlements)).scalar() == RUNS
    settled_batches_are_whole(pg_world)


def test_an_upload_racing_a_settlement_is_in_the_batch_or_refused(pg_world, patient):
    outcomes = set()
    for run in range(RUNS):
        mdtrt_id = visit_with_lines(pg_world, patient, run)
        upload, settle = race(
            lambda: send(pg_world, "2204", lines(mdtrt_id, patient, "B1", ["F4", "F5"]),
                         f"{HOSPITAL}U{run:04d}"),
            lambda: send(pg_world, "2207", settle_input(mdtrt_id, patient, "30.00"),
                         f"{HOSPITAL}S{run:04d}"))
        outcome = (upload["err_code"], settle["err_code"])
        # settled first: the late lines are refused; uploaded first: the 2207's 30.00 is not
        # the batch's 50.00 any more, and the HIS settles again with the right total
        assert outcome in {("BATCH_SETTLED", ""), ("", "AMOUNT_MISMATCH")}, (run, outcome)
        outcomes.add(outcome)
        if settle["err_code"]:
            ok(send(pg_world, "2207", settle_input(mdtrt_id, patient, "50.00"),
                    f"{HOSPITAL}T{run:04d}"))
    settled_batches_are_whole(pg_world)
    print("outcomes seen:", outcomes)
