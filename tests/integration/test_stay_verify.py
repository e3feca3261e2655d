"""`gongji verify` checks a stay against its visit and settlements (stay_consistent): clean
through a settled, reversed and cancelled stay, flagged after each kind of tampering."""

from __future__ import annotations

from sqlalchemy import update

from gongji.services.operations.report import monthly
from gongji.services.operations.verify import verify
from gongji.store.schema import settlements, stays, visits
from support import World, ok
from test_stay_races import discharged_stay, stay_bill
from test_visit_races import HOSPITAL, send, settle_input, visit_with_lines


def flagged(world: World) -> list:
    return [subject for subject, _ in
            {r.check.name: r for r in verify(world.ctx)}["stay_consistent"].violations]


def tamper(world: World, statement) -> None:  # noqa: ANN001
    with world.ctx.uow() as uow:
        uow.conn.execute(statement)
        uow.commit()


def test_verify_finds_a_stay_that_disagrees_with_its_settlements(world):
    world.institution(HOSPITAL)
    patient = world.person("患者", credit="100.00")
    mdtrt_id = discharged_stay(world, patient, 1)
    ok(send(world, "2304", stay_bill(mdtrt_id, patient, "30.00"), "S1"))
    visit = visit_with_lines(world, patient, 2)
    ok(send(world, "2207", settle_input(visit, patient, "30.00"), "S2"))
    assert flagged(world) == []
    subject = f"就诊 {mdtrt_id}（inpatient）"

    # settled, yet stored as in hospital
    tamper(world, update(stays).values(status="admitted", endtime=None))
    assert flagged(world) == [subject]
    tamper(world, update(stays).values(status="discharged", endtime=visits.c.begntime)
           .where(stays.c.visit_id == visits.c.id))
    assert flagged(world) == []
    # the stay's settlement under another fund scene, and an outpatient one as inpatient
    tamper(world, update(settlements).where(settlements.c.mdtrt_id == mdtrt_id)
           .values(fund_scene="hospital"))
    tamper(world, update(settlements).where(settlements.c.mdtrt_id == visit)
           .values(fund_scene="inpatient"))
    assert sorted(flagged(world)) == sorted([subject, f"就诊 {visit}（outpatient）"])


def test_the_monthly_report_counts_stays_as_their_own_scene(world):
    """Mutual-aid use of a stay is 住院, apart from the same hospital's outpatient use."""
    world.institution(HOSPITAL)
    helper = world.person("共济人", credit="1000.00")
    patient = world.person("患者", insutype="390")
    world.bind(helper, patient, "child")
    ok(send(world, "2304", stay_bill(discharged_stay(world, patient, 1), patient, "30.00"),
            "S1"))
    ok(send(world, "2207", settle_input(visit_with_lines(world, patient, 2), patient,
                                        "30.00"), "S2"))
    scenes = {line.item: (line.count, line.amount_fen)
              for line in monthly(world.ctx, "542500", "2025-06").scenes}
    assert scenes["住院（定点医院）"] == (1, 3000)
    assert scenes["门诊（定点医院）"] == (1, 3000)
