"""共济额度 on SQLite and PostgreSQL, rule by rule (CONTRACT v2): setting a quota and its
refusals, draws within it, the reserve no one else touches, refunds capped at the quota,
premiums, unbinding's release, the reads, the used-up notice and verify's checks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gongji.domain.errors import DomainError
from gongji.services.binding import bindings as binding
from gongji.services.binding import quota, unbinding
from gongji.services.binding.actor import Actor
from gongji.services.money import credits, premium
from gongji.services.operations.verify import verify
from gongji.services.reads import queries
from gongji.store.schema import bindings as bindings_table
from gongji.store.schema import notices, postings, premiums
from quota_support import enable_quotas
from support import ok

ALI, BAISE = "542500", "451000"
HOSPITAL = "H54250001"


@pytest.fixture
def family(world):
    """A helper with 1000 yuan, bound to two resident relatives; quotas on in Ali."""
    enable_quotas(world.ctx, ALI)
    world.institution(HOSPITAL)
    helper = world.person("卓玛", credit="1000.00")
    child = world.person("平措", "390")
    sister = world.person("央金", "390")
    return {"helper": helper, "child": child, "sister": sister,
            "child_binding": world.bind(helper, child, "child"),
            "sister_binding": world.bind(helper, sister, "sibling")}


def set_quota(world, person: dict, binding_id: int, amount: object) -> dict:
    return quota.set_quota(world.ctx, person["psn_no"], binding_id, {"quota": amount})


def refused(call) -> str:  # noqa: ANN001
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


def settle(world, patient: dict, medfee: str) -> dict:
    """A hospital bill all outside the pooled fund: the whole amount is personal burden."""
    return ok(world.settle(HOSPITAL, patient, medfee))["setlinfo"]


def quota_of(world, binding_id: int) -> tuple:
    with world.ctx.read() as uow:
        row = uow.conn.execute(select(bindings_table.c.quota_fen,
                                      bindings_table.c.quota_remaining_fen)
                               .where(bindings_table.c.id == binding_id)).one()
    return tuple(row)


def used_up_notices(world, person: dict) -> list[str]:
    with world.ctx.read() as uow:
        return list(uow.conn.execute(select(notices.c.text).join_from(
            notices, bindings_table, bindings_table.c.helper_id == notices.c.person_id)
            .where(notices.c.kind == "quota_used_up").distinct()).scalars())


# --- setting a quota ------------------------------------------------------------------------


def test_setting_a_quota_answers_it_whole_and_the_reads_show_it(world, family):
    answer = set_quota(world, family["helper"], family["child_binding"], "300.50")
    assert answer == {"binding_id": family["child_binding"], "quota": 300.5,
                      "quota_remaining": 300.5}
    account = queries.account(world.ctx, family["helper"]["psn_no"])
    assert (account["balance"], account["quota_reserved"], account["available"]) == \
        (1000, 300.5, 699.5)
    mine = binding.list_bindings(world.ctx, family["helper"]["psn_no"])["as_helper"]
    assert {b["binding_id"]: (b["quota"], b["quota_remaining"]) for b in mine} == {
        family["child_binding"]: (300.5, 300.5), family["sister_binding"]: (None, None)}
    # the relative sees how much of it is left
    theirs = binding.list_bindings(world.ctx, family["child"]["psn_no"])["as_beneficiary"]
    assert [(b["quota"], b["quota_remaining"]) for b in theirs] == [(300.5, 300.5)]


def test_the_remaining_quotas_must_fit_in_the_balance_and_a_change_replaces(world, family):
    helper = family["helper"]
    set_quota(world, helper, family["child_binding"], 700)
    assert refused(lambda: set_quota(world, helper, family["sister_binding"], "300.01")) == \
        "QUOTA_EXCEEDS_BALANCE"
    assert quota_of(world, family["sister_binding"]) == (None, None)
    set_quota(world, helper, family["child_binding"], 600)  # replaces the 700, adds nothing
    set_quota(world, helper, family["sister_binding"], 400)
    assert queries.account(world.ctx, helper["psn_no"])["available"] == 0


def test_who_and_where_may_set_a_quota(world, family):
    child_binding = family["child_binding"]
    # the relative sees the binding but does not own the money
    assert refused(lambda: set_quota(world, family["child"], child_binding, 10)) == "FORBIDDEN"
    assert refused(lambda: set_quota(world, family["helper"], child_binding, -1)) == \
        "INVALID_AMOUNT"
    assert refused(lambda: set_quota(world, family["helper"], child_binding, "1.001")) == \
        "INVALID_AMOUNT"
    # Baise has not switched the rule on
    baise_helper = world.person("农", region=BAISE, credit="500.00")
    baise_child = world.person("农小", "390", region=BAISE)
    baise_binding = world.bind(baise_helper, baise_child, "child")
    assert refused(lambda: set_quota(world, baise_helper, baise_binding, 10)) == \
        "QUOTA_NOT_ENABLED"
    unbinding.unbind(world.ctx, child_binding, Actor("person", family["helper"]["psn_no"]))
    assert refused(lambda: set_quota(world, family["helper"], child_binding, 10)) == \
        "BINDING_NOT_ACTIVE"
    assert quota_of(world, child_binding) == (None, None)


def test_every_region_ships_with_quotas_off(world):
    world.institution(HOSPITAL)
    helper = world.person("卓玛", credit="1000.00")
    child = world.person("平措", "390")
    binding_id = world.bind(helper, child, "child")
    assert refused(lambda: set_quota(world, helper, binding_id, 10)) == "QUOTA_NOT_ENABLED"


# --- drawing on it --------------------------------------------------------------------------


def test_a_relative_draws_at_most_the_remaining_quota_and_the_helper_is_told(world, family):
    set_quota(world, family["helper"], family["child_binding"], 300)
    first = settle(world, family["child"], "200.00")
    assert (first["acct_mulaid_pay"], first["psn_cash_pay"]) == (200, 0)
    assert quota_of(world, family["child_binding"]) == (30000, 10000)
    assert used_up_notices(world, family["helper"]) == []
    second = settle(world, family["child"], "250.00")
    assert (second["acct_mulaid_pay"], second["psn_cash_pay"]) == (100, 150)
    assert quota_of(world, family["child_binding"]) == (30000, 0)
    assert len(used_up_notices(world, family["helper"])) == 1
    third = settle(world, family["child"], "50.00")  # used up: cash, though money is there
    assert (third["acct_mulaid_pay"], third["psn_cash_pay"]) == (0, 50)
    assert world.balance_fen(family["helper"]) == 70000


def test_a_binding_without_a_quota_never_takes_another_relatives_reserve(world, family):
    set_quota(world, family["helper"], family["child_binding"], 600)
    answer = settle(world, family["sister"], "900.00")
    assert (answer["acct_mulaid_pay"], answer["psn_cash_pay"]) == (400, 500)
    assert world.balance_fen(family["helper"]) == 60000  # the reserve, whole
    child = settle(world, family["child"], "600.00")
    assert child["acct_mulaid_pay"] == 600


def test_the_helpers_own_settlement_leaves_the_reserve_alone(world, family):
    set_quota(world, family["helper"], family["child_binding"], 600)
    own = settle(world, family["helper"], "900.00")
    assert (own["acct_pay"], own["psn_cash_pay"], own["balc"]) == (400, 500, 600)
    assert queries.account(world.ctx, family["helper"]["psn_no"])["available"] == 0


def test_unbinding_releases_what_remains(world, family):
    set_quota(world, family["helper"], family["child_binding"], 600)
    unbinding.unbind(world.ctx, family["child_binding"],
                     Actor("person", family["child"]["psn_no"]))
    account = queries.account(world.ctx, family["helper"]["psn_no"])
    assert (account["quota_reserved"], account["available"]) == (0, 1000)
    assert settle(world, family["helper"], "900.00")["acct_pay"] == 900


# --- refunds ----------------------------------------------------------------------------------


def test_a_reversal_gives_the_draw_back_to_the_quota(world, family):
    set_quota(world, family["helper"], family["child_binding"], 300)
    answer = world.settle(HOSPITAL, family["child"], "300.00")
    assert quota_of(world, family["child_binding"]) == (30000, 0)
    ok(world.reverse(HOSPITAL, answer, family["child"]))
    assert quota_of(world, family["child_binding"]) == (30000, 30000)
    assert world.balance_fen(family["helper"]) == 100000


def test_a_refund_never_raises_the_quota_above_what_is_set(world, family):
    set_quota(world, family["helper"], family["child_binding"], 300)
    answer = world.settle(HOSPITAL, family["child"], "200.00")
    set_quota(world, family["helper"], family["child_binding"], 150)  # remaining 150 anew
    ok(world.reverse(HOSPITAL, answer, family["child"]))
    assert quota_of(world, family["child_binding"]) == (15000, 15000)


# --- premiums ---------------------------------------------------------------------------------


def pay(world, family, who: str) -> dict:
    return premium.pay(world.ctx, family["helper"]["psn_no"],
                       {"beneficiary_certno": family[who]["certno"], "year": 2025})


def money_trail(world) -> tuple:
    with world.ctx.read() as uow:
        return tuple(uow.conn.execute(select(func.count()).select_from(t)).scalar()
                     for t in (premiums, postings, notices))


def test_a_premium_beyond_the_remaining_quota_moves_nothing(world, family):
    set_quota(world, family["helper"], family["child_binding"], 399)  # the premium is 400
    before = money_trail(world)
    assert refused(lambda: pay(world, family, "child")) == "QUOTA_INSUFFICIENT"
    assert money_trail(world) == before
    assert world.balance_fen(family["helper"]) == 100000
    assert quota_of(world, family["child_binding"]) == (39900, 39900)


def test_a_premium_draws_on_the_quota_and_its_reversal_gives_it_back(world, family):
    set_quota(world, family["helper"], family["child_binding"], 400)
    paid = pay(world, family, "child")
    assert quota_of(world, family["child_binding"]) == (40000, 0)
    assert len(used_up_notices(world, family["helper"])) == 1
    premium.reverse(world.ctx, paid["premium_id"])
    assert quota_of(world, family["child_binding"]) == (40000, 40000)


def test_a_premium_without_a_quota_stays_out_of_the_reserve(world, family):
    set_quota(world, family["helper"], family["child_binding"], 700)  # 300 left free
    assert refused(lambda: pay(world, family, "sister")) == "INSUFFICIENT_BALANCE"
    set_quota(world, family["helper"], family["child_binding"], 600)
    assert pay(world, family, "sister")["balance"] == 600


# --- verify -----------------------------------------------------------------------------------


def test_verify_reports_a_reserve_above_the_balance_without_failing(world, family):
    """A credit reversal may take back money a quota reserved: reported, never refused."""
    helper = family["helper"]
    world.credit(helper, "500.00", "extra")
    set_quota(world, helper, family["child_binding"], 1200)
    credits.reverse_credit(world.ctx, "extra")  # balance 1000 < reserve 1200
    results = {r.check.name: r for r in verify(world.ctx)}
    assert [r.check.name for r in results.values() if r.total and not r.check.advisory] == []
    report = results["quota_reserved_within_balance"]
    assert report.check.advisory and report.total == 1
    assert "1200.00" in report.violations[0][1]
    # the quota still caps the draw, now by the balance
    assert settle(world, family["child"], "1500.00")["acct_mulaid_pay"] == 1000
