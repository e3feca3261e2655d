"""代缴居民医保费 on SQLite and PostgreSQL: every refusal moves nothing, a payment is
once per beneficiary and year, and the operator's reversal refunds once."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select, update

from gongji.domain.errors import DomainError
from gongji.domain.idcard import make_certno
from gongji.services.money import notices, premium
from gongji.services.reads import entries
from gongji.services.registry.reference import patch_person
from gongji.store.schema import accounts, bindings, postings, premiums
from gongji.store.schema import notices as notices_table
from support import World


@pytest.fixture
def family(world):
    """Mother (310, 1000 yuan) bound to her resident child and to her employee husband."""
    mother = world.person("卓玛", credit="1000.00")
    father = world.person("达瓦", credit="1000.00")
    child = world.person("平措", insutype="390")
    mother_child = world.bind(mother, child, "child")
    world.bind(father, child, "child")
    world.bind(mother, father, "spouse")
    return {"mother": mother, "father": father, "child": child, "mother_child": mother_child}


def pay(world, payer: dict, beneficiary: dict, year: object = 2025, key: str | None = None):
    return premium.pay(world.ctx, payer["psn_no"],
                       {"beneficiary_certno": beneficiary["certno"], "year": year}, key)


def refusal(world, payer, beneficiary, year=2025) -> str:
    with pytest.raises(DomainError) as caught:
        pay(world, payer, beneficiary, year)
    return caught.value.code


def money_trail(world) -> tuple:
    """Everything a premium writes: premium rows, postings, notices."""
    with world.ctx.read() as uow:
        return tuple(uow.conn.execute(select(func.count()).select_from(table)).scalar()
                     for table in (premiums, postings, notices_table))


def test_pays_the_beneficiary_regions_amount_from_the_helpers_account(world, family):
    answer = pay(world, family["mother"], family["child"])
    assert answer["amount"] == 400 and answer["balance"] == 600
    assert answer["beneficiary_certno"] != family["child"]["certno"]
    assert world.balance_fen(family["mother"]) == 60000
    with world.ctx.read() as uow:
        legs = uow.conn.execute(select(accounts.c.code, postings.c.amount_fen).join(
            accounts, accounts.c.id == postings.c.account_id).where(
            postings.c.premium_id == answer["premium_id"]).order_by(postings.c.id)).all()
    assert [tuple(leg) for leg in legs] == [(f"psn:{family['mother']['psn_no']}", -40000),
                                            ("premium:542500", 40000)]


def test_a_premium_appears_in_the_helpers_usage_details(world, family):
    paid = pay(world, family["mother"], family["child"])
    [entry, *_] = entries.list_entries(world.ctx, family["mother"]["psn_no"])["entries"]
    assert entry["kind"] == "premium" and entry["amount"] == -400
    assert entry["premium_id"] == paid["premium_id"] and entry["relation"] == "child"
    assert entry["binding_id"] == paid["binding_id"] and entry["balance_after"] == 600
    certno = family["child"]["certno"]
    assert entry["beneficiary_certno"] == certno[:6] + "********" + certno[-4:]


def test_the_helper_is_notified_of_a_premium(world, family):
    pay(world, family["mother"], family["child"])
    listed = notices.list_notices(world.ctx, family["mother"]["psn_no"])
    assert listed["unread"] == 1
    [notice] = listed["notices"]
    assert notice["kind"] == "premium" and notice["amount"] == -400
    assert "平*" in notice["text"] and "平措" not in notice["text"] and "2025" in notice["text"]


@pytest.mark.parametrize("year", [2024, 2027])
def test_a_year_the_policy_has_not_opened_is_refused(world, family, year):
    before = money_trail(world)
    assert refusal(world, family["mother"], family["child"], year) == "PREMIUM_YEAR_CLOSED"
    assert money_trail(world) == before


def test_a_relative_who_is_not_bound_is_refused(world, family):
    cousin = world.person("格桑", insutype="390")
    before = money_trail(world)
    assert refusal(world, family["mother"], cousin) == "PREMIUM_NOT_BOUND"
    assert money_trail(world) == before


def test_an_unknown_id_number_reads_as_not_bound(world, family):
    stranger = {"certno": make_certno("110101", date(1990, 3, 7), 1)}
    assert refusal(world, family["mother"], stranger) == "PREMIUM_NOT_BOUND"


def test_a_binding_that_has_ended_no_longer_allows_a_premium(world, family):
    with world.ctx.uow() as uow:
        uow.conn.execute(update(bindings).where(bindings.c.id == family["mother_child"]).values(
            status="unbound", ended_at=world.clock.now, ended_reason="unbound"))
        uow.commit()
    assert refusal(world, family["mother"], family["child"]) == "PREMIUM_NOT_BOUND"


def test_a_bound_employee_member_is_not_a_resident_and_is_refused(world, family):
    before = money_trail(world)
    assert refusal(world, family["mother"], family["father"]) == "PREMIUM_NOT_RESIDENT"
    assert money_trail(world) == before


def test_a_second_payment_for_the_same_year_is_refused_whoever_pays(world, family):
    pay(world, family["mother"], family["child"])
    before = money_trail(world)
    assert refusal(world, family["mother"], family["child"]) == "PREMIUM_ALREADY_PAID"
    assert refusal(world, family["father"], family["child"]) == "PREMIUM_ALREADY_PAID"
    assert money_trail(world) == before
    assert world.balances(family["mother"], family["father"]) == [60000, 100000]
    assert pay(world, family["father"], family["child"], 2026)["amount"] == 400


def test_a_short_balance_is_refused_without_a_partial_payment(world):
    helper = world.person("卓玛", credit="399.99")
    child = world.person("平措", insutype="390")
    world.bind(helper, child, "child")
    before = money_trail(world)
    with pytest.raises(DomainError) as caught:
        pay(world, helper, child)
    assert caught.value.code == "INSUFFICIENT_BALANCE" and caught.value.status == 409
    assert money_trail(world) == before and world.balance_fen(helper) == 39999


def test_an_exact_balance_pays_down_to_zero(world):
    helper = world.person("卓玛", credit="400.00")
    child = world.person("平措", insutype="390")
    world.bind(helper, child, "child")
    assert pay(world, helper, child)["balance"] == 0


def test_a_frozen_account_is_refused(world, family):
    patch_person(world.ctx, family["mother"]["psn_no"], {"account_status": "frozen"})
    before = money_trail(world)
    assert refusal(world, family["mother"], family["child"]) == "ACCOUNT_FROZEN"
    assert money_trail(world) == before


def test_the_database_refuses_a_second_payment_the_check_missed(world, family, monkeypatch):
    """The race the pre-check can lose: the partial unique index answers with the code."""
    pay(world, family["mother"], family["child"])
    monkeypatch.setattr(premium, "_paid", lambda conn, beneficiary_id, year: False)
    before = money_trail(world)
    with pytest.raises(DomainError) as caught:
        pay(world, family["father"], family["child"])
    assert caught.value.code == "PREMIUM_ALREADY_PAID" and caught.value.status == 409
    assert money_trail(world) == before and world.balance_fen(family["father"]) == 100000


def test_an_idempotency_key_retry_returns_the_first_answer_and_moves_nothing(world, family):
    first = pay(world, family["mother"], family["child"], key="k-1")
    again = pay(world, family["mother"], family["child"], key="k-1")
    assert again == first and world.balance_fen(family["mother"]) == 60000
    with pytest.raises(DomainError) as caught:
        pay(world, family["mother"], family["child"], 2026, key="k-1")
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"


def test_the_operator_reverses_a_premium_once(world, family):
    paid = pay(world, family["mother"], family["child"])
    reversal = premium.reverse(world.ctx, paid["premium_id"])
    assert reversal["reversed"] and reversal["balance"] == 1000
    assert world.balance_fen(family["mother"]) == 100000
    with pytest.raises(DomainError) as caught:
        premium.reverse(world.ctx, paid["premium_id"])
    assert caught.value.code == "PREMIUM_ALREADY_REVERSED" and caught.value.status == 409
    assert world.balance_fen(family["mother"]) == 100000
    kinds = [e["kind"] for e in entries.list_entries(world.ctx, family["mother"]["psn_no"])[
        "entries"]]
    assert kinds[:2] == ["premium_reversal", "premium"]
    texts = [n["text"] for n in notices.list_notices(world.ctx,
                                                     family["mother"]["psn_no"])["notices"]]
    assert "撤销" in texts[0]


def test_a_reversed_year_can_be_paid_again(world, family):
    paid = pay(world, family["mother"], family["child"])
    premium.reverse(world.ctx, paid["premium_id"])
    assert pay(world, family["father"], family["child"])["balance"] == 600


def test_reversing_an_unknown_premium_is_not_found(world):
    with pytest.raises(DomainError) as caught:
        premium.reverse(world.ctx, 424242)
    assert caught.value.code == "PREMIUM_NOT_FOUND" and caught.value.status == 404


def test_both_sides_list_the_premium_masked(world, family):
    pay(world, family["mother"], family["child"])
    paid = premium.list_premiums(world.ctx, family["mother"]["psn_no"])["paid"]
    received = premium.list_premiums(world.ctx, family["child"]["psn_no"])["received"]
    assert [p["amount"] for p in paid] == [400] and [p["year"] for p in received] == [2025]
    assert received[0]["counterpart_name"] == "卓*"


def test_two_helpers_paying_at_the_same_moment_pay_once(pg_url):
    world = World(pg_url)
    try:
        for round_no in range(4):
            mother = world.person("卓玛", credit="1000.00")
            father = world.person("达瓦", credit="1000.00")
            child = world.person("平措", insutype="390")
            world.bind(mother, child, "child")
            world.bind(father, child, "child")
            gate = threading.Barrier(2)
            outcomes: list[str] = []

            def attempt(payer: dict) -> None:
                gate.wait()
                try:
                    pay(world, payer, child)
                    outcomes.append("paid")
                except DomainError as error:
                    outcomes.append(error.code)

            threads = [threading.Thread(target=attempt, args=(p,)) for p in (mother, father)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(outcomes) == ["PREMIUM_ALREADY_PAID", "paid"], (round_no, outcomes)
            assert sum(world.balances(mother, father)) == 200000 - 40000
    finally:
        world.close()
