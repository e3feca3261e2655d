"""Region policies as dated versions, on SQLite and PostgreSQL: each call uses the version
in force on its own date, a settlement records the one it applied, a province's version
reaches its regions, a bad version changes nothing, and the auto-end rule takes effect
with its version (once, audited)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select, text

from gongji.domain.errors import DomainError
from gongji.domain.idcard import make_certno
from gongji.domain.policy import render_rules
from gongji.domain.policy_files import known_regions, shipped_policy
from gongji.services.binding import invitations
from gongji.services.money import premium
from gongji.services.operations.verify import verify
from gongji.services.registry import policies, reference
from gongji.store.schema import audit_log, bindings, policy_versions, settlements
from policy_support import OPERATOR, publish
from support import World, ok

ALI = "542500"


def ratio(percent: int) -> dict:
    """Ali's fund rules with the hospital ratio changed (a map rule is sent whole)."""
    rules = render_rules(shipped_policy(ALI))["fund_rules"]
    rules["hospital"] = {**rules["hospital"], "ratio_percent": percent}
    return {"fund_rules": rules}


def settle_new_patient(world: World, code: str) -> dict:
    """1000 yuan, all in scope, by a patient with nothing used yet: fund = 800 × ratio."""
    patient = world.person("病人")
    return ok(world.settle(code, patient, "1000.00", "1000.00"))["setlinfo"]


def version_of(world: World, setl_id: str) -> int:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(settlements.c.policy_version)
                                .where(settlements.c.setl_id == setl_id)).scalar_one()


def count_versions(world: World) -> int:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.count()).select_from(policy_versions)).scalar_one()


def test_the_shipped_files_are_the_first_versions(world):
    shown = policies.show(world.ctx, ALI)
    assert shown["effective_from"] == "2000-01-01"
    assert shown["rules"] == render_rules(shipped_policy(ALI))
    assert shown["sources"]["channels"].startswith("seed 000")
    province = policies.show(world.ctx, "540000")
    assert province["rules"]["mutual_aid_area_prefixes"] == ["54"]
    assert ALI in province["regions"]
    assert count_versions(world) == 23  # 2 provinces + 21 regions


def test_a_settlement_applies_and_records_the_version_in_force_on_its_date(world):
    code = world.institution()
    seed = policies.show(world.ctx, ALI)["version"]
    first = settle_new_patient(world, code)
    assert first["fund_pay_sumamt"] == 480  # (1000 − 200) × 60 %
    later = publish(world.ctx, ALI, ratio(90), days_ahead=1)
    second = settle_new_patient(world, code)  # still today: the version of today
    assert second["fund_pay_sumamt"] == 480
    world.clock.advance(days=1)
    third = settle_new_patient(world, code)
    assert third["fund_pay_sumamt"] == 720  # (1000 − 200) × 90 %
    assert [version_of(world, s["setl_id"]) for s in (first, second, third)] == [
        seed, seed, later["version"]]
    assert not [r for r in verify(world.ctx) if r.total and not r.check.advisory]


def test_of_two_versions_of_one_day_the_one_published_last_applies(world):
    code = world.institution()
    publish(world.ctx, ALI, ratio(90))
    last = publish(world.ctx, ALI, ratio(70))
    setl = settle_new_patient(world, code)
    assert setl["fund_pay_sumamt"] == 560 and version_of(world, setl["setl_id"]) == last["version"]


def test_a_province_version_reaches_every_region_that_does_not_set_the_rule(world):
    publish(world.ctx, "540000", {"invitation_expiry_days": 10})
    publish(world.ctx, "450000", {"channels": ["national_app", "hall"]})
    rules = {r: policies.show(world.ctx, r)["rules"] for r in ("540100", ALI, "450100", "451000")}
    assert rules["540100"]["invitation_expiry_days"] == rules[ALI]["invitation_expiry_days"] == 10
    assert rules["450100"]["channels"] == ["national_app", "hall"]
    # 百色 sets its own channels (seed 001): the province's change does not reach them
    assert rules["451000"]["channels"] == ["national_app", "wechat", "website", "hall", "kiosk"]


def test_a_rule_sent_replaces_its_whole_value_and_the_others_keep_theirs(world):
    before = policies.show(world.ctx, ALI)["rules"]
    publish(world.ctx, ALI, {"premium_yuan_by_year": {"2027": 420}})
    after = policies.show(world.ctx, ALI)["rules"]
    assert after["premium_yuan_by_year"] == {"2027": 420}
    assert {k: v for k, v in after.items() if k != "premium_yuan_by_year"} == {
        k: v for k, v in before.items() if k != "premium_yuan_by_year"}


@pytest.mark.parametrize(("admdvs", "body", "message"), [
    (ALI, {"effective_from": "2025-06-01", "rules": {"surprise": 1}}, "surprise：未知规则"),
    (ALI, {"effective_from": "2025-06-01", "rules": {"invitation_expiry_days": 0}},
     "invitation_expiry_days"),
    (ALI, {"effective_from": "2025-05-31", "rules": {"invitation_expiry_days": 9}},
     "effective_from：须为今天（2025-06-01）或以后"),
    (ALI, {"effective_from": "2025-6-1", "rules": {"invitation_expiry_days": 9}},
     "effective_from"),
    (ALI, {"effective_from": "2025-06-01", "rules": {}}, "rules"),
    (ALI, {"effective_from": "2025-06-02", "rules": {"mutual_aid_area_prefixes": ["45"]}},
     "mutual_aid_area_prefixes：须包含本统筹区 542500"),
    ("540000", {"effective_from": "2025-06-01", "rules": {"mutual_aid_area_prefixes": ["5401"]}},
     "540200（2025-06-01 起）：mutual_aid_area_prefixes"),
])
def test_a_bad_version_is_refused_with_the_rule_and_nothing_changes(world, admdvs, body, message):
    before = count_versions(world), policies.show(world.ctx, ALI)
    with pytest.raises(DomainError) as err:
        policies.publish(world.ctx, admdvs, body, OPERATOR)
    assert err.value.code == "INVALID_POLICY" and message in err.value.message
    assert (count_versions(world), policies.show(world.ctx, ALI)) == before
    with world.ctx.read() as uow:
        assert uow.conn.execute(select(audit_log).where(audit_log.c.entity == "policy")).all() == []


def test_a_later_version_that_a_new_one_would_break_refuses_the_new_one(world):
    # a region's own version from next week narrows its area to itself; a province
    # change today is checked on that day too
    publish(world.ctx, "540100", {"mutual_aid_area_prefixes": ["5401"]}, days_ahead=7)
    with pytest.raises(DomainError, match="mutual_aid_area_prefixes"):
        policies.publish(world.ctx, "540100", {"effective_from": "2025-06-01", "rules": {
            "mutual_aid_area_prefixes": ["45"]}}, OPERATOR)


def test_publication_is_audited(world):
    answer = publish(world.ctx, ALI, {"mutual_aid_quota_enabled": True}, days_ahead=3)
    assert answer["effective_from"] == "2025-06-04"
    with world.ctx.read() as uow:
        row = uow.conn.execute(select(audit_log).where(audit_log.c.entity == "policy")).one()
    assert (row.entity_id, row.action, row.actor_role) == (answer["version"], "publish",
                                                          "operator")
    assert json.loads(row.detail) == {"admdvs": ALI, "effective_from": "2025-06-04",
                                      "rules": {"mutual_aid_quota_enabled": True}}


def test_premium_and_invitation_expiry_follow_the_version_of_the_day(world):
    helper = world.person("帮", credit="1000.00")
    child = world.person("孩子", "390")
    world.bind(helper, child, "child")
    publish(world.ctx, ALI, {"premium_yuan_by_year": {"2025": 420.5}})
    paid = premium.pay(world.ctx, helper["psn_no"], {"beneficiary_certno": child["certno"],
                                                      "year": 2025})
    assert paid["amount"] == 420.5


def test_invitation_expiry_and_the_helper_rules_follow_the_version_of_the_day(world):
    publish(world.ctx, ALI, {"invitation_expiry_days": 3, "helper_requires_positive_balance":
                             False})
    helper = world.person("帮")  # balance 0: Ali's shipped rule would refuse this helper
    sister = world.person("妹妹", "390")
    world.kin(helper, sister, "sibling")
    invited = invitations.invite(world.ctx, helper["psn_no"], {
        "beneficiary_certno": sister["certno"], "beneficiary_name": "妹妹",
        "relation": "sibling", "channel": "national_app"})
    assert invited["expires_at"] == "2025-06-04T10:00:00+08:00"
    publish(world.ctx, ALI, {"channels": ["hall"]})
    with pytest.raises(DomainError) as err:
        invitations.invite(world.ctx, helper["psn_no"], {
            "beneficiary_certno": world.person("弟弟", "390")["certno"],
            "beneficiary_name": "弟弟", "relation": "sibling", "channel": "national_app"})
    assert err.value.code == "CHANNEL_NOT_ALLOWED"


def test_a_person_of_every_pooling_region_can_be_registered(world):
    for n, region in enumerate(known_regions()):
        row = reference.create_person(world.ctx, {
            "certno": make_certno("542521", date(1990, 1, 1), 500 + n), "psn_name": "某人",
            "insutype": "310", "insuplc_admdvs": region, "psn_insu_stas": "1"})
        assert row["insuplc_admdvs"] == region
        assert policies.show(world.ctx, region)["rules"]["mutual_aid_area_prefixes"] == [
            region[:2]]


def test_verify_finds_a_settlement_naming_no_existing_version(world):
    setl = settle_new_patient(world, world.institution())
    with world.ctx.uow() as uow:
        uow.conn.execute(text("UPDATE settlements SET policy_version = 999999 WHERE setl_id = :s"),
                         {"s": setl["setl_id"]})
        uow.commit()
    found = {r.check.name: r for r in verify(world.ctx)}["settlement_policy_version"]
    assert found.total == 1 and "999999 不存在" in found.violations[0][1]


# --- auto-end as a rule of the version in force ---------------------------------------------


@pytest.fixture
def families(world):
    """Four Ali pairs; before any switch, 甲 (a helper) is suspended and 丁 (a beneficiary)
    moves to 百色; 己 moved to 百色 before she was bound there."""
    people = {n: world.person(n, credit="50.00") for n in ("甲", "丙", "戊")}
    people |= {n: world.person(n, "390") for n in ("乙", "丁")}
    pairs = {"suspended": world.bind(people["甲"], people["乙"], "spouse"),
             "moved": world.bind(people["丙"], people["丁"], "child"),
             "untouched": world.bind(people["戊"], world.person("庚", "390"), "parent")}
    world.clock.advance(minutes=1)
    reference.patch_person(world.ctx, people["甲"]["psn_no"], {"psn_insu_stas": "2"})
    reference.patch_person(world.ctx, people["丁"]["psn_no"], {"insuplc_admdvs": "451000"})
    moved_first = world.person("己", "390")
    reference.patch_person(world.ctx, moved_first["psn_no"], {"insuplc_admdvs": "451000"})
    world.clock.advance(minutes=1)
    pairs["bound_after_moving"] = world.bind(
        world.person("辛", credit="5.00", region="451000"), moved_first, "sibling")
    return pairs


def statuses(world: World, pairs: dict) -> dict:
    with world.ctx.read() as uow:
        rows = dict(uow.conn.execute(select(bindings.c.id, bindings.c.status)).all())
    return {name: rows[binding_id] for name, binding_id in pairs.items()}


def test_switching_auto_end_on_today_ends_what_has_already_ended_or_moved_once(world, families):
    assert set(statuses(world, families).values()) == {"active"}  # the switch is off
    answer = publish(world.ctx, ALI, {"auto_end_on_insurance_change": True})
    assert sorted(answer["ended_binding_ids"]) == [families["suspended"], families["moved"]]
    assert statuses(world, families) == {"suspended": "ended", "moved": "ended",
                                         "untouched": "active", "bound_after_moving": "active"}
    with world.ctx.read() as uow:
        ends = uow.conn.execute(select(audit_log).where(audit_log.c.action == "end")).all()
    assert {(r.actor_role, r.actor_id) for r in ends} == {("system", "policy")}
    assert {json.loads(r.detail)["policy_version"] for r in ends} == {answer["version"]}
    # once: applying again ends nothing and writes nothing
    assert policies.apply_due(world.ctx) == []
    with world.ctx.read() as uow:
        ends = uow.conn.execute(select(audit_log).where(audit_log.c.action == "end")).all()
    assert len(ends) == 2


def test_a_switch_published_for_a_later_day_takes_effect_on_that_day(world, families):
    answer = publish(world.ctx, "540000", {"auto_end_on_insurance_change": True}, days_ahead=2)
    assert "ended_binding_ids" not in answer
    policies.apply_due_once_a_day(world.ctx)
    assert set(statuses(world, families).values()) == {"active"}
    world.clock.advance(days=2)
    policies.apply_due_once_a_day(world.ctx)  # the first call of that day, whoever makes it
    assert statuses(world, families)["suspended"] == "ended"
    assert statuses(world, families)["moved"] == "ended"
    with world.ctx.read() as uow:
        applied = uow.conn.execute(select(policy_versions.c.applied_at).where(
            policy_versions.c.id == answer["version"])).scalar_one()
    assert applied is not None


def test_a_version_that_does_not_touch_the_switch_ends_nothing(world, families):
    publish(world.ctx, ALI, {"invitation_expiry_days": 9})
    assert policies.apply_due(world.ctx) == []
    assert set(statuses(world, families).values()) == {"active"}


def test_migration_0011_goes_down_and_up_and_gives_old_settlements_their_region_seed(
        world, db_url):
    from alembic import command

    from gongji.store.migrate import config

    setl = settle_new_patient(world, world.institution())
    world.ctx.engine.dispose()
    command.downgrade(config(db_url), "0010")
    command.upgrade(config(db_url), "heads")
    seed = policies.show(world.ctx, ALI)["version"]
    assert version_of(world, setl["setl_id"]) == seed
    assert count_versions(world) == 23
