"""What one transaction of a batch (services/batching.py) holds: rows it read set-based
and rows it locked, kept current as the batch's commands move money.

A batch locks, in one statement each and in id order, every personal account and every
fund accumulator its settlements may touch (services/settlement/prelock.py). From then on
the rows are the transaction's: no one else can change them until it commits, so their
current values are what the transaction itself wrote. The commands read them from here
instead of asking the database again, and every write through the journal, the
accumulators and the quotas updates them in the same breath.

Reference rows read for the batch (institutions, patients, their helpers) are read once,
set-based; the commands of a batch do not change them (binding changes and registrations
are other units of work).

`held(conn)` is None outside such a transaction, and for a transaction other than the one
that made it (the memo outlives it in `conn.info`): then every caller queries as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

_KEY = "gongji.held"


@dataclass
class HeldAccount:
    """A locked personal account row, current within the transaction."""

    id: int
    balance_fen: int
    status: str


@dataclass
class Held:
    accounts: dict[int, HeldAccount] = field(default_factory=dict)
    # (person id, year, scene) -> [deductible used, fund paid], locked
    accumulators: dict[tuple[int, int, str], list[int]] = field(default_factory=dict)
    # bindings read as active after the account locks were granted
    active_bindings: set[int] = field(default_factory=set)
    # helpers whose quotas are all known: binding id -> (helper id, remaining)
    quota_helpers: set[int] = field(default_factory=set)
    quotas: dict[int, tuple[int, int]] = field(default_factory=dict)
    institutions: dict[str, object] = field(default_factory=dict)
    persons: dict[str, object] = field(default_factory=dict)  # by psn_no
    helpers: dict[int, list] = field(default_factory=dict)  # beneficiary id -> binding rows
    # (fixmedins_code, msgid) looked up in spent_msgids and in settlements, and found there
    msgids_checked: set[tuple[str, str]] = field(default_factory=set)
    spent: set[tuple[str, str]] = field(default_factory=set)
    settled: set[tuple[str, str]] = field(default_factory=set)
    # (settlement id, journal transaction id) for the batch's settlements, so that their
    # rows are all written behind, none awaited. PostgreSQL: drawn from the sequences for
    # the batch. SQLite: counted on from the largest ids (the batch is the one writer).
    ids: list[tuple[int, int]] = field(default_factory=list)
    last_ids: list[int] | None = None  # SQLite: [settlement id, txn id] handed out last


def held(conn: Connection) -> Held | None:
    """This transaction's held rows, if it is a batch's."""
    memo = conn.info.get(_KEY)
    if memo is None:
        return None
    tx, rows = memo
    if tx is not conn.get_transaction():
        conn.info.pop(_KEY, None)
        return None
    return rows


def hold(conn: Connection) -> Held:
    """Start (or continue) holding rows for this transaction."""
    found = held(conn)
    if found is None:
        found = Held()
        conn.info[_KEY] = (conn.get_transaction(), found)
    return found
