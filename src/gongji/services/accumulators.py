"""Per person-year pooled-fund accumulators: shared state, locked like the accounts."""

from __future__ import annotations

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.domain.fund import Accumulator, give_back
from gongji.store.schema import fund_accumulators as acc_table


def _key(person_id: int, year: int, scene: str):  # noqa: ANN202
    return (acc_table.c.person_id == person_id, acc_table.c.year == year,
            acc_table.c.scene == scene)


def read(conn: Connection, person_id: int, year: int, scene: str, *, lock: bool) -> Accumulator:
    """The accumulator; with lock, the row is created if missing and held until commit.

    Taken after the account locks, in every command, so the lock order is fixed."""
    if lock:
        insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert_fn(acc_table).values(
            person_id=person_id, year=year, scene=scene, deductible_used_fen=0, fund_paid_fen=0,
        ).on_conflict_do_nothing())
    query = select(acc_table.c.deductible_used_fen, acc_table.c.fund_paid_fen).where(
        *_key(person_id, year, scene))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return Accumulator(row.deductible_used_fen, row.fund_paid_fen) if row else Accumulator()


def write(conn: Connection, person_id: int, year: int, scene: str, acc: Accumulator) -> None:
    conn.execute(update(acc_table).where(*_key(person_id, year, scene)).values(
        deductible_used_fen=acc.deductible_used_fen, fund_paid_fen=acc.fund_paid_fen))


def give_back_settlement(conn: Connection, settlement: Row) -> None:
    """Return to the accumulator exactly what a reversed settlement took from it."""
    key = (settlement.person_id, settlement.fund_year, settlement.fund_scene)
    acc = read(conn, *key, lock=True)
    write(conn, *key, give_back(acc, settlement.deductible_applied_fen,
                                settlement.fund_pay_sumamt_fen))
