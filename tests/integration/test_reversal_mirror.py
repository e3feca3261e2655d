"""A reversal mirrors what its settlement wrote, not what today's reference data says:
after the patient moved to another pooling region, the fund that paid is refunded."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gongji.services.money import premium
from gongji.services.operations.verify import verify
from gongji.services.registry import reference
from gongji.store.schema import accounts, notices, postings, settlements
from support import ok

ALI, BAISE = "542500", "451000"


@pytest.fixture
def moved(world):
    """A child of Ali, helped by her mother, settled at an Ali hospital, then moved to Baise."""
    mother = world.person("卓玛", credit="1000")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    binding_id = world.bind(mother, child, "child")
    hospital = world.institution()
    answer = world.settle(hospital, child, "1500", "1400")
    reference.patch_person(world.ctx, child["psn_no"], {"insuplc_admdvs": BAISE})
    return {"mother": mother, "child": child, "hospital": hospital, "answer": answer,
            "binding_id": binding_id}


def _fund_fen(world, region: str) -> int:
    """A pooled fund's balance: the sum of its postings (system accounts keep none)."""
    with world.ctx.read() as uow:
        return uow.conn.execute(
            select(func.coalesce(func.sum(postings.c.amount_fen), 0))
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(accounts.c.code == f"fund:{region}")).scalar_one()


def _violations(world) -> dict[str, list]:
    return {r.check.name: r.violations for r in verify(world.ctx) if r.total}


def test_a_reversal_after_the_patient_moved_refunds_the_fund_that_paid(world, moved):
    setlinfo = ok(moved["answer"])["setlinfo"]
    assert setlinfo["fund_pay_sumamt"] == 720.00
    assert _fund_fen(world, ALI) == -72000

    reversal = ok(world.reverse(moved["hospital"], moved["answer"], moved["child"]))

    assert reversal["setlinfo"]["fund_pay_sumamt"] == -720.00
    assert (_fund_fen(world, ALI), _fund_fen(world, BAISE)) == (0, 0)
    assert world.balances(moved["mother"]) == [100000]
    assert _violations(world) == {}


def test_the_reversal_postings_mirror_the_settlement_postings_leg_by_leg(world, moved):
    ok(world.reverse(moved["hospital"], moved["answer"], moved["child"]))
    setl_id = moved["answer"]["output"]["setlinfo"]["setl_id"]
    p = postings.c
    with world.ctx.read() as uow:
        txn_id, reversal_txn_id = uow.conn.execute(
            select(settlements.c.txn_id, settlements.c.reversal_txn_id)
            .where(settlements.c.setl_id == setl_id)).one()

        def legs(txn: int) -> list[tuple]:
            return [tuple(row) for row in uow.conn.execute(
                select(p.account_id, p.amount_fen, p.counterpart_id, p.binding_id,
                       p.institution_id).where(p.txn_id == txn).order_by(p.id))]

        original, mirrored = legs(txn_id), legs(reversal_txn_id)

    assert mirrored == [(a, -amount, c, b, i) for a, amount, c, b, i in original]


def test_the_reversal_tells_the_helper_what_came_back(world, moved):
    ok(world.reverse(moved["hospital"], moved["answer"], moved["child"]))

    with world.ctx.read() as uow:
        amounts = uow.conn.execute(select(notices.c.kind, notices.c.amount_fen)
                                   .order_by(notices.c.id)).all()
    assert [tuple(a) for a in amounts] == [("settlement", -78000), ("reversal", 78000)]


def test_a_reversal_refunds_the_patients_own_account_after_a_move(world):
    patient = world.person("次仁", credit="100")
    hospital = world.institution()
    answer = world.settle(hospital, patient, "300", "0")
    reference.patch_person(world.ctx, patient["psn_no"], {"insuplc_admdvs": BAISE})

    reversal = ok(world.reverse(hospital, answer, patient))

    assert reversal["setlinfo"]["acct_pay"] == -100.00
    assert reversal["setlinfo"]["balc"] == 100.00
    assert world.balances(patient) == [10000]
    assert _violations(world) == {}


def test_a_premium_reversal_after_the_beneficiary_moved_still_balances(world):
    mother = world.person("卓玛", credit="1000")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    world.bind(mother, child, "child")
    paid = premium.pay(world.ctx, mother["psn_no"],
                       {"beneficiary_certno": child["certno"], "year": 2025})
    reference.patch_person(world.ctx, child["psn_no"], {"insuplc_admdvs": BAISE})

    undone = premium.reverse(world.ctx, paid["premium_id"])

    assert undone["balance"] == 1000.00
    assert _violations(world) == {}


def test_a_reversal_in_the_next_year_gives_back_to_the_year_and_scene_that_paid(world, moved):
    assert world.accumulator(moved["child"]) == (20000, 72000)
    world.clock.advance(days=220)  # 2026-01-07: another fund year, another region

    ok(world.reverse(moved["hospital"], moved["answer"], moved["child"]))

    assert world.accumulator(moved["child"], 2025) == (0, 0)
    assert world.accumulator(moved["child"], 2026) == (0, 0)
    assert _violations(world) == {}
