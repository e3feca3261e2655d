"""The visit row as the lock that orders everything done to a visit's fee lines.

Every call that reads or changes a visit's lines, or settles or reverses one of its
batches, takes the visit row first (SELECT … FOR UPDATE on PostgreSQL; on SQLite the
writer lock of the unit of work already serialises writers). So two settlements of one
batch cannot both see it unsettled, and an upload racing a settlement is either in the
batch or refused, never half. The visit lock comes before any account lock, on every path.

Shared by settle.reverse (which frees a reversed batch) and the visit and fee services;
it imports neither, so the settlement modules keep no cycle.
"""

from __future__ import annotations

from sqlalchemy import Connection, Row, bindparam, select, update

from gongji.store.schema import fee_lines, visits

_VISIT = select(visits).where(visits.c.mdtrt_id == bindparam("mdtrt_id"))
_VISIT_LOCKED = _VISIT.with_for_update()


def visit_row(conn: Connection, mdtrt_id: str, *, lock: bool) -> Row | None:
    """The visit, locked for the rest of the unit of work when `lock`."""
    return conn.execute(_VISIT_LOCKED if lock else _VISIT, {"mdtrt_id": mdtrt_id}).first()


def free_lines(conn: Connection, settlement: Row) -> None:
    """A reversed batch may settle again: its lines leave the settlement, under the lock
    of their visit (taken before any account lock, as a settlement takes it)."""
    if settlement.mdtrt_id is None:
        return  # a v1 bill, or a pharmacy's lines: they stay with the settlement as history
    visit_row(conn, settlement.mdtrt_id, lock=True)
    conn.execute(update(fee_lines).where(fee_lines.c.settlement_id == settlement.id,
                                         fee_lines.c.visit_id.is_not(None))
                 .values(settlement_id=None))
