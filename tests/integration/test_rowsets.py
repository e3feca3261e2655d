"""store/rowsets.py on PostgreSQL: a batch's rows of one INSERT or UPDATE written as few
statements leave exactly what the same rows written one by one leave - in order, a key
changed twice in turn, a guarded balance refused, a too-long string refused, not cut."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.exc import DataError, IntegrityError

from gongji.store import rowsets
from gongji.store.db import make_engine
from gongji.store.types import UtcDateTime

meta = MetaData()
things = Table("rowset_things", meta, Column("id", Integer, primary_key=True),
               Column("name", String(8), nullable=False), Column("n", BigInteger),
               Column("at", UtcDateTime), Column("plain_at", DateTime))
counters = Table("rowset_counters", meta, Column("k", String(8), primary_key=True),
                 Column("v", BigInteger, nullable=False), Column("total", BigInteger))

ADD = (update(counters).where(counters.c.k == bindparam("w_k"))
       .values(v=counters.c.v + bindparam("w_add")))
SET = update(counters).where(counters.c.k == bindparam("w_k"))  # SET from the rows' keys
GUARDED = (update(counters).where(counters.c.k == bindparam("w_k"))
           .values(total=case((counters.c.v == bindparam("w_expect"),
                               bindparam("w_total", type_=BigInteger)), else_=null())))
UNTYPED = (update(counters).where(counters.c.k == bindparam("w_k"))
           .values(total=case((counters.c.v == 1, bindparam("w_total")), else_=null())))
INSERT = insert(things)


@pytest.fixture
def engine(pg_url):
    engine = make_engine(pg_url)
    meta.create_all(engine)
    yield engine
    meta.drop_all(engine)
    engine.dispose()


def _both(engine, statement, rows: list[dict], seed: list[dict] | None = None) -> tuple:
    """(one by one, as rowsets) - each on fresh tables, the tables' rows after."""
    out = []
    for set_based in (False, True):
        with engine.begin() as conn:
            conn.execute(things.delete())
            conn.execute(counters.delete())
            if seed:
                conn.execute(insert(counters), seed)
            if not (set_based and rowsets.write_many(conn, statement, rows)):
                assert not set_based, "the rows did not qualify"
                for row in rows:
                    conn.execute(statement, row)
            out.append(([tuple(r)[1:] for r in  # ids are the sequence's: compare the rest
                         conn.execute(select(things).order_by(things.c.id))],
                        conn.execute(select(counters).order_by(counters.c.k)).all()))
    return tuple(out)


def test_inserted_rows_keep_their_order_and_values(engine):
    at = datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=UTC)
    rows = [{"name": f"第{i}行", "n": i * 10**12, "at": at, "plain_at": None} for i in range(5)]
    rows[2]["n"] = None
    one_by_one, set_based = _both(engine, INSERT, rows)
    assert one_by_one == set_based
    assert [r[0] for r in set_based[0]] == [r["name"] for r in rows]
    assert set_based[0][0][2] == at


def test_a_string_too_long_is_refused_not_cut(engine):
    with engine.begin() as conn, pytest.raises(DataError):
        rowsets.write_many(conn, INSERT, [{"name": "短"}, {"name": "太长了太长了太长了"}])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(-50, 50)), min_size=2, max_size=12))
def test_updates_of_repeated_keys_apply_in_turn(engine, changes):
    seed = [{"k": k, "v": 0, "total": None} for k in "abc"]
    rows = [{"w_k": k, "w_add": add} for k, add in changes]
    one_by_one, set_based = _both(engine, ADD, rows, seed)
    assert one_by_one == set_based


def test_implicit_set_and_guarded_updates(engine):
    seed = [{"k": k, "v": 1, "total": 0} for k in "ab"]
    rows = [{"w_k": "a", "v": 5, "total": 7}, {"w_k": "b", "v": 6, "total": 8},
            {"w_k": "a", "v": 9, "total": 10}]
    one_by_one, set_based = _both(engine, SET, rows, seed)
    assert one_by_one == set_based and set_based[1][0].v == 9
    guarded = [{"w_k": "a", "w_expect": 1, "w_total": 3}, {"w_k": "b", "w_expect": 2, "w_total": 4}]
    one_by_one, set_based = _both(engine, GUARDED, guarded, seed)
    assert one_by_one == set_based
    assert [(r.k, r.total) for r in set_based[1]] == [("a", 3), ("b", None)]


def test_what_does_not_qualify_is_left_alone(engine):
    with engine.begin() as conn:
        assert not rowsets.write_many(conn, INSERT.returning(things.c.id),
                                      [{"name": "x"}, {"name": "y"}])
        assert not rowsets.write_many(conn, INSERT, [{"name": "only one"}])
        assert not rowsets.write_many(conn, ADD, [{"w_k": "a"}, {"w_k": "b"}])  # w_add unbound
        assert not rowsets.write_many(conn, UNTYPED, [{"w_k": "a", "w_total": 1}] * 2)
        by_value = update(counters).where(counters.c.v == bindparam("w_v"))  # not a key: a
        assert not rowsets.write_many(conn, by_value, [{"w_v": 1, "total": 2}] * 2)  # row each
        by_range = update(counters).where(counters.c.k > bindparam("w_k"))
        assert not rowsets.write_many(conn, by_range, [{"w_k": "a", "total": 2}] * 2)
        assert conn.execute(select(things)).all() == []


def test_a_constraint_is_still_checked(engine):
    with engine.begin() as conn, pytest.raises(IntegrityError):
        rowsets.write_many(conn, insert(counters), [{"k": "a", "v": 1}, {"k": "a", "v": 2}])


def test_a_batch_of_settlements_sends_each_kind_of_row_as_one_statement(pg_world, monkeypatch):
    """Every grouped write of a batch of bills qualifies (none falls back to a command per
    row), and the batch settles as bills settle one by one."""
    from gongji.services import batching
    from support import ledger_violations, settlement_job

    world = pg_world
    world.institution("H54250001", "hospital")
    helper = world.person("共济人", credit="500.00")
    patients = [world.person(f"亲属{i}", "390") for i in range(3)]
    for patient in patients:
        world.bind(helper, patient, "child")
    sent: list[tuple[str, int, bool]] = []
    real = rowsets.write_many

    def spy(conn, statement, rows, **options):  # noqa: ANN001, ANN003, ANN202
        done = real(conn, statement, rows, **options)
        sent.append((str(statement.table), len(rows), done))
        return done

    monkeypatch.setattr(rowsets, "write_many", spy)
    jobs = [settlement_job(world, "H54250001", patient, "40.00", f"R-{i}")
            for i, patient in enumerate(patients * 2)]
    outcome = batching.run_batch(world.ctx.engine, jobs)
    assert not outcome.errors and len(outcome.answers) == 6
    grouped = [(table, n, done) for table, n, done in sent if n > 1]
    assert {table for table, _, _ in grouped} >= {
        "postings", "journal_txns", "settlements", "accounts", "fund_accumulators",
        "idempotency", "notices", "settlement_mulaid"}
    assert all(done for _, _, done in grouped), grouped
    assert world.balance_fen(helper) == 50000 - 6 * 4000
    assert ledger_violations(world) == {}
