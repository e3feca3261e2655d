"""The double-entry journal: balanced transactions, written once.

Personal balances change only here, in the same database transaction as the
postings that explain them; the caller has locked those account rows first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, text, update

from gongji.domain.errors import ensure
from gongji.store.schema import accounts, journal_txns, postings


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount_fen: int  # + into the account, - out of it
    balance_after_fen: int | None = None  # for personal accounts, from the locked balance
    counterpart_id: int | None = None
    binding_id: int | None = None
    institution_id: int | None = None


def new_txn_id(conn: Connection) -> int:
    """Allocate the id first: postings are written before their transaction row."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT nextval('journal_txn_ids')")).scalar_one()
    # SQLite writers are serialised (BEGIN IMMEDIATE), so max + 1 cannot race.
    return conn.execute(select(func.coalesce(func.max(journal_txns.c.id), 0) + 1)).scalar_one()


def post(conn: Connection, txn_id: int, kind: str, legs: list[Leg], at: datetime, *,
         ref: str | None = None, settlement_id: int | None = None,
         premium_id: int | None = None) -> None:
    """Write a balanced transaction and move the personal balances it touches."""
    legs = [leg for leg in legs if leg.amount_fen != 0]
    ensure(len(legs) >= 2, "a journal transaction has at least two legs")
    ensure(sum(leg.amount_fen for leg in legs) == 0, "journal legs sum to zero")
    conn.execute(insert(postings), [
        {"txn_id": txn_id, "account_id": leg.account_id, "amount_fen": leg.amount_fen,
         "balance_after_fen": leg.balance_after_fen, "at": at, "kind": kind,
         "counterpart_id": leg.counterpart_id, "binding_id": leg.binding_id,
         "institution_id": leg.institution_id, "settlement_id": settlement_id,
         "premium_id": premium_id}
        for leg in legs
    ])
    _move_balances(conn, legs)
    conn.execute(insert(journal_txns).values(
        id=txn_id, kind=kind, ref=ref, created_at=at, posting_count=len(legs)))


def _move_balances(conn: Connection, legs: list[Leg]) -> None:
    tracked = [leg for leg in legs if leg.balance_after_fen is not None]
    for leg in tracked:
        # Guarded update: the CHECK refuses a negative result, and the expected
        # balance after must match what the caller computed from the locked row.
        result = conn.execute(
            update(accounts)
            .where(accounts.c.id == leg.account_id,
                   accounts.c.balance_fen + leg.amount_fen == leg.balance_after_fen)
            .values(balance_fen=accounts.c.balance_fen + leg.amount_fen)
        )
        ensure(result.rowcount == 1, f"account {leg.account_id} moved under a held lock")
