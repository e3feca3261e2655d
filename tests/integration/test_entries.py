"""使用明细: keyset pagination over thousands of entries, periods in Asia/Shanghai days,
and the PostgreSQL plan that proves the query walks ix_postings_account_at."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from gongji.domain.errors import DomainError
from gongji.services.clock import iso
from gongji.services.reads import entries
from gongji.services.reads.paging import decode_cursor, parse_period
from gongji.store import repo
from gongji.store.journal import new_txn_id
from gongji.store.schema import accounts, journal_txns, postings
from support import World, ok

START = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)


def seed_credits(world: World, person: dict, count: int, *, step_s: int = 3600,
                 per_moment: int = 3) -> None:
    """`count` balanced credit transactions written in bulk (the journal's triggers still
    check each one), `per_moment` of them at each instant, so the (time, id) order has
    ties that only the id breaks."""
    with world.ctx.uow() as uow:
        conn = uow.conn
        account_id = repo.person_by_psn_no(conn, person["psn_no"]).account_id
        source = repo.system_account(conn, "contrib:542500", "contribution")
        balance = repo.lock_accounts(conn, [account_id])[account_id].balance_fen
        legs, txns = [], []
        for i, txn_id in enumerate(txn_ids(conn, count)):
            amount = 100 + i % 7
            balance += amount
            at = START + timedelta(seconds=step_s * (i // per_moment))
            common = {"txn_id": txn_id, "at": at, "kind": "credit"}
            legs += [common | {"account_id": source, "amount_fen": -amount},
                     common | {"account_id": account_id, "amount_fen": amount,
                               "balance_after_fen": balance}]
            txns.append({"id": txn_id, "kind": "credit", "created_at": at, "posting_count": 2})
        conn.execute(insert(postings), legs)
        conn.execute(insert(journal_txns), txns)
        conn.execute(update(accounts).where(accounts.c.id == account_id)
                     .values(balance_fen=balance))
        uow.commit()


def txn_ids(conn, count: int) -> list[int]:  # noqa: ANN001
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text(
            "SELECT nextval('journal_txn_ids') FROM generate_series(1, :n)"), {"n": count}
        ).scalars())
    first = new_txn_id(conn)
    return list(range(first, first + count))


def all_pages(world: World, person: dict, limit: int, **period: object) -> list[dict]:
    found, cursor = [], None
    while True:
        page = entries.list_entries(world.ctx, person["psn_no"], period.get("date_from"),
                                    period.get("date_to"), cursor, limit)
        assert len(page["entries"]) <= limit
        found += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def stored_order(world: World, person: dict) -> list[int]:
    with world.ctx.read() as uow:
        account_id = repo.person_by_psn_no(uow.conn, person["psn_no"]).account_id
        return list(uow.conn.execute(select(postings.c.id).where(
            postings.c.account_id == account_id).order_by(postings.c.at.desc(),
                                                          postings.c.id.desc())).scalars())


def test_pages_over_thousands_of_entries_lose_and_repeat_nothing(world):
    helper = world.person("卓玛")
    neighbour = world.person("达瓦")
    seed_credits(world, helper, 4000)
    seed_credits(world, neighbour, 500)
    expected = stored_order(world, helper)
    assert len(expected) == 4000
    for limit in (500, 97):
        ids = [e["entry_id"] for e in all_pages(world, helper, limit)]
        assert ids == expected, f"limit {limit}"
    times = [e["time"] for e in all_pages(world, helper, 500)]
    assert times == sorted(times, reverse=True)


def test_an_entry_added_between_pages_does_not_shift_the_next_page(world):
    helper = world.person("卓玛")
    seed_credits(world, helper, 120)
    first = entries.list_entries(world.ctx, helper["psn_no"], limit=50)
    world.credit(helper, "5.00", "late")  # newer than everything: belongs before page one
    rest = all_pages_from(world, helper, first["next_cursor"])
    ids = [e["entry_id"] for e in first["entries"] + rest]
    assert len(ids) == len(set(ids)) == 120


def all_pages_from(world: World, person: dict, cursor: str) -> list[dict]:
    found = []
    while cursor:
        page = entries.list_entries(world.ctx, person["psn_no"], cursor=cursor, limit=50)
        found += page["entries"]
        cursor = page["next_cursor"]
    return found


def test_the_period_is_inclusive_in_shanghai_days(world):
    helper = world.person("卓玛")
    # One credit an hour through 2025-01-01 .. 2025-01-03 (UTC): 72 entries.
    seed_credits(world, helper, 72, per_moment=1)
    day = all_pages(world, helper, 500, date_from="2025-01-02", date_to="2025-01-02")
    # Shanghai 2025-01-02 is 2025-01-01T16:00Z .. 2025-01-02T16:00Z: exactly 24 entries.
    assert len(day) == 24
    assert day[0]["time"] == "2025-01-02T23:00:00+08:00"
    assert day[-1]["time"] == "2025-01-02T00:00:00+08:00"
    assert len(all_pages(world, helper, 500, date_to="2025-01-01")) == 16
    assert len(all_pages(world, helper, 500, date_from=date(2025, 1, 3))) == 72 - 16 - 24


@pytest.mark.parametrize(("kwargs", "what"), [
    ({"date_from": "2025-13-01"}, "from"), ({"date_to": "20250101"}, "to"),
    ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "to"),
    ({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": "MTIzNDU2Nzg5MDEyMzQ1Njc4OS4x"}, "cursor"),
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "ten"}, "limit"),
])
def test_bad_periods_cursors_and_limits_are_refused_with_a_code(world, kwargs, what):
    helper = world.person("卓玛")
    with pytest.raises(DomainError) as caught:
        entries.list_entries(world.ctx, helper["psn_no"], **kwargs)
    assert caught.value.code == "INVALID_INPUT" and what in caught.value.message


def test_a_resident_member_without_an_account_has_no_entries(world):
    child = world.person("平措", insutype="390")
    assert entries.list_entries(world.ctx, child["psn_no"]) == {"entries": [],
                                                              "next_cursor": None}


def test_every_kind_of_entry_names_its_institution_relative_and_settlement(world):
    world.institution("H54250001")
    mother = world.person("卓玛", credit="500.00")
    child = world.person("平措", insutype="390")
    binding_id = world.bind(mother, child, "child")
    settled = ok(world.settle("H54250001", child, "100.00"))
    world.clock.advance(minutes=1)
    ok(world.reverse("H54250001", {"output": settled}, child))
    shown = entries.list_entries(world.ctx, mother["psn_no"])["entries"]
    assert [e["kind"] for e in shown] == ["reversal", "settlement", "credit"]
    reversal, settlement, credit = shown
    assert (settlement["amount"], reversal["amount"], credit["amount"]) == (-100, 100, 500)
    for entry in (settlement, reversal):
        assert entry["setl_id"] == settled["setlinfo"]["setl_id"]
        assert entry["fixmedins_code"] == "H54250001" and entry["binding_id"] == binding_id
        assert entry["relation"] == "child" and entry["beneficiary_name"] == "平*"
    assert credit["beneficiary_certno"] is None and credit["setl_id"] is None
    assert settlement["time"] == iso(datetime(2025, 6, 1, 2, 0, tzinfo=UTC))


# --- the plan on PostgreSQL -----------------------------------------------------------------------


class Explain(Executable, ClauseElement):
    """EXPLAIN of a Core statement, bound parameters processed as for the statement."""

    inherit_cache = False

    def __init__(self, statement: ClauseElement):
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler, **kw) -> str:  # noqa: ANN001
    return "EXPLAIN " + compiler.process(element.statement, **kw)


def test_the_entries_query_walks_the_account_time_index_on_postgresql(pg_url):
    world = World(pg_url)
    try:
        people = [world.person(f"甲{i}") for i in range(5)]
        for person in people:
            seed_credits(world, person, 2000)
        helper = people[2]
        with world.ctx.uow() as uow:
            uow.conn.execute(text("ANALYZE postings"))
            uow.commit()
        second_page = entries.list_entries(world.ctx, helper["psn_no"], limit=50)["next_cursor"]
        with world.ctx.read() as uow:
            account_id = repo.person_by_psn_no(uow.conn, helper["psn_no"]).account_id
            cases = {
                "first page": (parse_period(None, None), None),
                "next page": (parse_period(None, None), decode_cursor(second_page)),
                "a period": (parse_period("2025-01-10", "2025-02-10"), None),
            }
            for name, (period, cursor) in cases.items():
                plan = "\n".join(uow.conn.execute(Explain(entries.entries_statement(
                    account_id, period, cursor, 51))).scalars())
                print(f"\n-- {name}\n{plan}")
                assert "ix_postings_account_at" in plan, plan
                assert "Index" in plan and "Seq Scan on postings" not in plan, plan
    finally:
        world.close()
