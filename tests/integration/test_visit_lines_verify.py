"""`gongji verify` checks that a settlement made of fee lines is exactly its lines, and that
a reversed batch holds none: clean after settle and reverse, flagged after tampering."""

from __future__ import annotations

from sqlalchemy import select, update

from gongji.services.operations.verify import verify
from gongji.store.schema import fee_lines, settlements
from support import World, ok
from test_visit_races import HOSPITAL, send, settle_input, visit_with_lines


def flagged(world: World) -> list:
    return {r.check.name: r for r in verify(world.ctx)}["settlement_lines"].violations


def tamper(world: World, **values) -> None:  # noqa: ANN003
    with world.ctx.uow() as uow:
        uow.conn.execute(update(fee_lines).where(fee_lines.c.feedetl_sn == "F1").values(**values))
        uow.commit()


def test_verify_finds_lines_that_no_longer_make_their_settlement(world):
    world.institution(HOSPITAL)
    patient = world.person("患者", credit="100.00")
    mdtrt_id = visit_with_lines(world, patient, 1)
    setl = ok(send(world, "2207", settle_input(mdtrt_id, patient, "30.00"), "S1"))["setlinfo"]
    assert flagged(world) == []
    tamper(world, det_item_fee_sumamt_fen=1001, fulamt_ownpay_amt_fen=1001)
    assert [subject for subject, _ in flagged(world)] == [f"结算 {setl['setl_id']}"]
    tamper(world, det_item_fee_sumamt_fen=1000, fulamt_ownpay_amt_fen=1000)
    ok(send(world, "2208", {"data": {"setl_id": setl["setl_id"], "psn_no": patient["psn_no"]}},
            "R1"))
    assert flagged(world) == []  # reversed: its lines were freed
    with world.ctx.read() as uow:
        settlement_id = uow.conn.execute(select(settlements.c.id).where(
            settlements.c.setl_id == setl["setl_id"])).scalar_one()
    tamper(world, settlement_id=settlement_id)  # a reversed batch still holding a line
    [(subject, detail)] = flagged(world)
    assert subject == f"结算 {setl['setl_id']}" and "已撤销仍占用明细" in detail
