"""Binding lifecycle services on SQLite and PostgreSQL: the auto-end policy switch, the
declaration (承诺制) mode, and lazy expiry written once, by whoever touches it first."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from gongji.domain.errors import DomainError
from gongji.services.binding import invitations
from gongji.services.binding.actor import Actor
from gongji.services.binding.unbinding import end_for_insurance_change
from gongji.services.registry import reference
from gongji.store.schema import audit_log, bindings
from gongji.store.schema import invitations as invitations_table
from policy_support import publish
from support import World, ok


def switch_on(world: World, *regions: str) -> None:
    """Turn the 2026 auto-end rule on for `regions` (off in the shipped policies) with a
    version effective today, as the operator publishes it."""
    for admdvs in regions:
        publish(world.ctx, admdvs, {"auto_end_on_insurance_change": True})


def status_of(world: World, *binding_ids: int) -> list[tuple]:
    with world.ctx.read() as uow:
        rows = uow.conn.execute(select(bindings.c.id, bindings.c.status, bindings.c.ended_reason)
                                .where(bindings.c.id.in_(binding_ids))).all()
    by_id = {r.id: (r.status, r.ended_reason) for r in rows}
    return [by_id[i] for i in binding_ids]


def audit_rows(world: World, **where: object) -> list:
    with world.ctx.read() as uow:
        query = select(audit_log).order_by(audit_log.c.id)
        for column, value in where.items():
            query = query.where(audit_log.c[column] == value)
        return uow.conn.execute(query).all()


@pytest.fixture
def household(world):
    """平措 helps his wife; his sister helps him; an unrelated pair is bound too."""
    pingcuo = world.person("平措", credit="100.00")
    wife = world.person("妻子", "390")
    sister = world.person("姐姐", credit="500.00")
    other_helper = world.person("别人", credit="10.00")
    other_kin = world.person("别人亲属", "390")
    return {
        "pingcuo": pingcuo, "wife": wife, "sister": sister,
        "as_helper": world.bind(pingcuo, wife, "spouse"),
        "as_beneficiary": world.bind(sister, pingcuo, "sibling"),
        "unrelated": world.bind(other_helper, other_kin, "child"),
    }


def test_with_the_switch_on_suspension_ends_the_persons_bindings_on_both_sides(
        world, household):
    switch_on(world, "542500")
    h = household
    view = reference.patch_person(world.ctx, h["pingcuo"]["psn_no"], {"psn_insu_stas": "2"})
    assert view["ended_binding_ids"] == [h["as_helper"], h["as_beneficiary"]]
    assert status_of(world, h["as_helper"], h["as_beneficiary"], h["unrelated"]) == [
        ("ended", "insurance_change"), ("ended", "insurance_change"), ("active", None)]
    ends = audit_rows(world, action="end")
    assert [(r.entity_id, r.actor_role, r.before, r.after) for r in ends] == [
        (h["as_helper"], "operator", "active", "ended"),
        (h["as_beneficiary"], "operator", "active", "ended")]
    detail = json.loads(ends[0].detail)
    assert detail["reason"] == "insurance_change" and detail["psn_insu_stas"] == "2"


def test_with_the_switch_on_moving_region_ends_bindings_and_the_helper_is_not_drawn(
        world, household):
    switch_on(world, "542500")
    h = household
    code = world.institution("H1")
    view = reference.patch_person(world.ctx, h["pingcuo"]["psn_no"], {"insuplc_admdvs": "451000"})
    assert view["ended_binding_ids"] == [h["as_helper"], h["as_beneficiary"]]
    # his sister, still in Ali and able to pay at an Ali hospital, is no longer drawn on
    setl = ok(world.settle(code, h["pingcuo"], "300.00"))["setlinfo"]
    assert (setl["acct_pay"], setl["acct_mulaid_pay"], setl["psn_cash_pay"]) == (100, 0, 200)
    assert world.balance_fen(h["sister"]) == 50000


def test_with_the_switch_off_a_change_keeps_the_bindings(world, household):
    h = household
    view = reference.patch_person(world.ctx, h["pingcuo"]["psn_no"],
                                  {"psn_insu_stas": "2", "insuplc_admdvs": "451000"})
    assert "ended_binding_ids" not in view
    assert status_of(world, h["as_helper"], h["as_beneficiary"]) == [("active", None)] * 2
    assert audit_rows(world, action="end") == []


def test_only_insurance_ending_or_moving_triggers_the_rule(world, household):
    # (A suspension while the switch was off ends the bindings when the switch takes
    # effect: tests/integration/test_policy_versions.py.)
    h = household
    psn_no = h["pingcuo"]["psn_no"]
    switch_on(world, "542500")
    for change in ({"psn_insu_stas": "1"}, {"insuplc_admdvs": "542500"},
                   {"account_status": "frozen"}, {"psn_insu_stas": "1"}):
        assert "ended_binding_ids" not in reference.patch_person(world.ctx, psn_no, change)
    assert status_of(world, h["as_helper"], h["as_beneficiary"]) == [("active", None)] * 2


def test_the_switch_of_the_region_the_person_leaves_decides(world, household):
    switch_on(world, "451000")  # only the region he moves to has the rule
    h = household
    reference.patch_person(world.ctx, h["pingcuo"]["psn_no"], {"insuplc_admdvs": "451000"})
    assert status_of(world, h["as_helper"], h["as_beneficiary"]) == [("active", None)] * 2


def test_ending_for_an_insurance_change_twice_ends_nothing_the_second_time(world, household):
    h = household
    actor = Actor("system", "import-2026-01")
    person_id = _person_id(world, h["pingcuo"])
    with world.ctx.uow() as uow:
        first = end_for_insurance_change(uow.conn, person_id, actor, world.clock())
        second = end_for_insurance_change(uow.conn, person_id, actor, world.clock())
        uow.commit()
    assert first == [h["as_helper"], h["as_beneficiary"]] and second == []
    assert [r.actor_id for r in audit_rows(world, action="end")] == ["import-2026-01"] * 2


def _person_id(world: World, person: dict) -> int:
    from gongji.store.schema import persons

    with world.ctx.read() as uow:
        return uow.conn.execute(select(persons.c.id).where(
            persons.c.psn_no == person["psn_no"])).scalar_one()


# --- declaration (承诺制) ------------------------------------------------------------------------


def test_in_a_declaration_region_an_unregistered_relative_binds_and_the_record_says_so(world):
    publish(world.ctx, "542500", {"kinship_verification": "declaration"})
    helper = world.person("哥哥", credit="10.00")
    brother = world.person("弟弟", "390")
    invited = invitations.invite(world.ctx, helper["psn_no"], {
        "beneficiary_certno": brother["certno"], "beneficiary_name": "弟弟",
        "relation": "sibling", "channel": "national_app"})
    accepted = invitations.accept(world.ctx, brother["psn_no"], invited["invitation_id"])
    with world.ctx.read() as uow:
        verification = uow.conn.execute(select(bindings.c.verification).where(
            bindings.c.id == accepted["binding_id"])).scalar_one()
    assert verification == "declaration"
    invite_row = audit_rows(world, action="invite")[0]
    assert json.loads(invite_row.detail)["verification"] == "declaration"


# --- lazy expiry --------------------------------------------------------------------------------


def invite(world: World, helper: dict, beneficiary: dict, relation: str = "spouse") -> int:
    return invitations.invite(world.ctx, helper["psn_no"], {
        "beneficiary_certno": beneficiary["certno"], "beneficiary_name": beneficiary["psn_name"],
        "relation": relation, "channel": "kiosk"})["invitation_id"]


def stored_status(world: World, invitation_id: int) -> str:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(invitations_table.c.status).where(
            invitations_table.c.id == invitation_id)).scalar_one()


def test_the_first_command_to_touch_an_overdue_invitation_writes_it_expired_once(world, pair):
    helper, wife = pair
    invitation_id = invite(world, helper, wife)
    world.clock.advance(days=7)
    assert stored_status(world, invitation_id) == "pending"  # nobody has looked yet
    for _ in range(2):
        with pytest.raises(DomainError) as refused:
            invitations.accept(world.ctx, wife["psn_no"], invitation_id)
        assert refused.value.code == "INVITATION_NOT_PENDING"
    assert stored_status(world, invitation_id) == "expired"
    expiries = audit_rows(world, action="expire")
    assert [(r.entity_id, r.actor_role, r.actor_id) for r in expiries] == [
        (invitation_id, "system", "invitation_expiry")]


def test_the_sweeper_expires_every_overdue_invitation_and_only_those(world, pair):
    helper, wife = pair
    old = invite(world, helper, wife)
    world.clock.advance(days=3)
    sister = world.person("妹妹", "390", born=date(1990, 1, 1))
    world.kin(helper, sister, "sibling")
    young = invite(world, helper, sister, "sibling")
    world.clock.advance(days=4)
    assert invitations.expire_overdue(world.ctx) == 1
    assert invitations.expire_overdue(world.ctx) == 0
    assert (stored_status(world, old), stored_status(world, young)) == ("expired", "pending")


def test_an_expired_invitation_does_not_block_a_new_one(world, pair):
    helper, wife = pair
    invite(world, helper, wife)
    world.clock.advance(days=8)
    second = invite(world, helper, wife)
    assert invitations.accept(world.ctx, wife["psn_no"], second)["status"] == "active"
