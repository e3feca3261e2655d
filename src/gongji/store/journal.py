"""The double-entry journal: balanced transactions, written once.

Personal balances change only here, in the same database transaction as the
postings that explain them; the caller has locked those account rows first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)

from gongji.domain.errors import ensure
from gongji.store import repo
from gongji.store.schema import accounts, journal_txns, postings
from gongji.store.writebehind import defer


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount_fen: int  # + into the account, - out of it
    balance_after_fen: int | None = None  # for personal accounts, from the locked balance
    counterpart_id: int | None = None
    binding_id: int | None = None
    institution_id: int | None = None


_NEXT_TXN_ID = {"postgresql": literal_column("nextval('journal_txn_ids')", BigInteger),
                # SQLite writers are serialised (BEGIN IMMEDIATE), so max + 1 cannot race.
                "sqlite": select(func.coalesce(func.max(journal_txns.c.id), 0) + 1)
                .scalar_subquery()}
_INSERT_POSTINGS = insert(postings).inline()  # inline: no implicit RETURNING of the id
_INSERT_TXN = insert(journal_txns).inline()
# Guarded: the CHECK refuses a negative result, and the expected balance after must
# match what the caller computed from the locked row.
_MOVE_BALANCE = (update(accounts)
                 .where(accounts.c.id == bindparam("m_account"),
                        accounts.c.balance_fen + bindparam("m_amount") == bindparam("m_after"))
                 .values(balance_fen=accounts.c.balance_fen + bindparam("m_amount")))


def new_txn_id(conn: Connection) -> int:
    """Allocate the id first: postings are written before their transaction row."""
    return conn.execute(select(_NEXT_TXN_ID[conn.dialect.name])).scalar_one()


def next_txn_id_sql_by_dialect() -> dict[str, ColumnElement[int]]:
    """new_txn_id as an SQL expression per dialect, to allocate the id inside another
    INSERT (one round trip fewer)."""
    return dict(_NEXT_TXN_ID)


def post(conn: Connection, txn_id: int, kind: str, legs: list[Leg], at: datetime, *,
         ref: str | None = None, settlement_id: int | None = None,
         premium_id: int | None = None) -> None:
    """Write a balanced transaction and move the personal balances it touches."""
    legs = [leg for leg in legs if leg.amount_fen != 0]
    ensure(len(legs) >= 2, "a journal transaction has at least two legs")
    ensure(sum(leg.amount_fen for leg in legs) == 0, "journal legs sum to zero")
    # Balances first: their guards need an answer; the rows after need none, so they
    # go with the unit of work's next round trip (store/writebehind.py), postings
    # before their transaction row, as the triggers require.
    _move_balances(conn, legs)
    defer(conn, _INSERT_POSTINGS, [
        {"txn_id": txn_id, "account_id": leg.account_id, "amount_fen": leg.amount_fen,
         "balance_after_fen": leg.balance_after_fen, "at": at, "kind": kind,
         "counterpart_id": leg.counterpart_id, "binding_id": leg.binding_id,
         "institution_id": leg.institution_id, "settlement_id": settlement_id,
         "premium_id": premium_id}
        for leg in legs
    ])
    defer(conn, _INSERT_TXN, {"id": txn_id, "kind": kind, "ref": ref, "created_at": at,
                              "posting_count": len(legs)})


def _move_balances(conn: Connection, legs: list[Leg]) -> None:
    tracked = [{"m_account": leg.account_id, "m_amount": leg.amount_fen,
                "m_after": leg.balance_after_fen}
               for leg in legs if leg.balance_after_fen is not None]
    for move in tracked:
        result = conn.execute(_MOVE_BALANCE, move)
        ensure(result.rowcount == 1, f"account {move['m_account']} moved under a held lock")


def mark_reversed(conn: Connection, key_column, key, txn_id: int,  # noqa: ANN001
                  at: datetime) -> bool:
    """The exactly-once gate of every reversal: flip `reversed_at` on the row whose
    `key_column` equals `key`, only if it is not yet set. True for the one winner."""
    table = key_column.table
    return conn.execute(update(table).where(
        key_column == key, table.c.reversed_at.is_(None),
    ).values(reversed_at=at, reversal_txn_id=txn_id)).rowcount == 1


_ORIGINAL_LEGS = (select(postings.c.account_id, postings.c.amount_fen,
                         postings.c.balance_after_fen, postings.c.counterpart_id,
                         postings.c.binding_id, postings.c.institution_id)
                  .where(postings.c.txn_id == bindparam("txn_id")).order_by(postings.c.id))


def mirror_legs(conn: Connection, original_txn_id: int) -> list[Leg]:
    """The legs that undo a transaction: its postings negated, leg by leg, with the same
    accounts, counterpart, binding and institution; personal balances are taken under
    lock (ascending account id, as every command locks them) and advanced per leg.

    Every reversal is built from this, never from today's reference data: a patient who
    moved region since, or a binding ended since, still gets back into the very accounts
    that paid, and the pooled fund that paid is the one refunded."""
    originals = conn.execute(_ORIGINAL_LEGS, {"txn_id": original_txn_id}).all()
    personal = [o.account_id for o in originals if o.balance_after_fen is not None]
    balances = {account_id: row.balance_fen
                for account_id, row in repo.lock_accounts(conn, personal).items()}
    legs = []
    for o in originals:
        after = None
        if o.account_id in balances:
            balances[o.account_id] -= o.amount_fen
            after = balances[o.account_id]
        legs.append(Leg(o.account_id, -o.amount_fen, after, counterpart_id=o.counterpart_id,
                        binding_id=o.binding_id, institution_id=o.institution_id))
    return legs
