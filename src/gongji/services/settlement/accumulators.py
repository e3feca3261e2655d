"""Per person-year pooled-fund accumulators: shared state, locked like the accounts."""

from __future__ import annotations

from sqlalchemy import Connection, Row, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.domain.fund import Accumulator, give_back
from gongji.store.held import held
from gongji.store.schema import fund_accumulators as acc_table
from gongji.store.writebehind import defer


def _key(person_id: int, year: int, scene: str):  # noqa: ANN202
    return (acc_table.c.person_id == person_id, acc_table.c.year == year,
            acc_table.c.scene == scene)


def _create_or_lock(insert_fn):  # noqa: ANN001, ANN202
    """INSERT a zero row, or on conflict "update" the existing one to itself: either way
    the row is held until commit and its current values come back, in one round trip."""
    statement = insert_fn(acc_table)
    return statement.on_conflict_do_update(
        index_elements=["person_id", "year", "scene"],
        set_={"deductible_used_fen": acc_table.c.deductible_used_fen},
    ).returning(acc_table.c.deductible_used_fen, acc_table.c.fund_paid_fen)


_CREATE_OR_LOCK = {"postgresql": _create_or_lock(pg_insert),
                   "sqlite": _create_or_lock(sqlite_insert)}


def read(conn: Connection, person_id: int, year: int, scene: str, *, lock: bool) -> Accumulator:
    """The accumulator; with lock, the row is created if missing and held until commit.

    Taken after the account locks, in every command, so the lock order is fixed. A batch
    that locked it already (store/held.py) has its current values."""
    rows = held(conn)
    if rows is not None and (person_id, year, scene) in rows.accumulators:
        return Accumulator(*rows.accumulators[(person_id, year, scene)])
    if lock:
        row = conn.execute(_CREATE_OR_LOCK[conn.dialect.name], {
            "person_id": person_id, "year": year, "scene": scene, "deductible_used_fen": 0,
            "fund_paid_fen": 0}).one()
        return Accumulator(row.deductible_used_fen, row.fund_paid_fen)
    query = select(acc_table.c.deductible_used_fen, acc_table.c.fund_paid_fen).where(
        *_key(person_id, year, scene))
    row = conn.execute(query).first()
    return Accumulator(row.deductible_used_fen, row.fund_paid_fen) if row else Accumulator()


_WRITE = update(acc_table).where(
    acc_table.c.person_id == bindparam("w_person"), acc_table.c.year == bindparam("w_year"),
    acc_table.c.scene == bindparam("w_scene"))


def write(conn: Connection, person_id: int, year: int, scene: str, acc: Accumulator) -> None:
    rows = held(conn)
    if rows is not None and (person_id, year, scene) in rows.accumulators:
        rows.accumulators[(person_id, year, scene)] = [acc.deductible_used_fen,
                                                       acc.fund_paid_fen]
    defer(conn, _WRITE, {"w_person": person_id, "w_year": year, "w_scene": scene,
                         "deductible_used_fen": acc.deductible_used_fen,
                         "fund_paid_fen": acc.fund_paid_fen})


def give_back_settlement(conn: Connection, settlement: Row) -> None:
    """Return to the accumulator exactly what a reversed settlement took from it."""
    key = (settlement.person_id, settlement.fund_year, settlement.fund_scene)
    acc = read(conn, *key, lock=True)
    write(conn, *key, give_back(acc, settlement.deductible_applied_fen,
                                settlement.fund_pay_sumamt_fen))
