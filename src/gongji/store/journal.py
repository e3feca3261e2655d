"""The double-entry journal: balanced transactions, written once.

Personal balances change only here, in the same database transaction as the
postings that explain them; the caller has locked those account rows first.
`post` writes a transaction of a few legs (a settlement, a credit); `post_batch` one
of many legs (a bulk import's batch of credits), set-based.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    null,
    select,
    text,
    update,
)

from gongji.domain.errors import ensure
from gongji.store import repo
from gongji.store.held import Held, held
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
    rows = held(conn)
    if rows is not None and conn.dialect.name == "sqlite":
        return batch_ids(conn, rows, settlement=False)[1]
    return conn.execute(select(_NEXT_TXN_ID[conn.dialect.name])).scalar_one()


def batch_ids(conn: Connection, rows: Held, *, settlement: bool = True) -> tuple[int, int]:
    """In a batch: (settlement id, journal transaction id) for a row written behind.

    SQLite: the batch is the one writer, and its queued rows are not in the tables yet, so
    ids are counted on from the largest in the tables when first asked. PostgreSQL: from
    the ids the batch drew from the sequences (settlement/prelock.py), else drawn now."""
    if conn.dialect.name == "sqlite":
        if rows.last_ids is None:
            rows.last_ids = list(conn.execute(_LAST_IDS).one())
        rows.last_ids[1] += 1
        if settlement:
            rows.last_ids[0] += 1
        return rows.last_ids[0], rows.last_ids[1]
    if not rows.ids:
        rows.ids.extend(tuple(r) for r in conn.execute(_MORE_IDS))
    return rows.ids.pop()


_LAST_IDS = text("SELECT (SELECT coalesce(max(id), 0) FROM settlements), "
                 "(SELECT coalesce(max(id), 0) FROM journal_txns)")
_MORE_IDS = text("SELECT nextval(pg_get_serial_sequence('settlements', 'id')), "
                 "nextval('journal_txn_ids')")


def next_txn_id_sql_by_dialect() -> dict[str, ColumnElement[int]]:
    """new_txn_id as an SQL expression per dialect, to allocate the id inside another
    INSERT (one round trip fewer)."""
    return dict(_NEXT_TXN_ID)


def post(conn: Connection, txn_id: int, kind: str, legs: list[Leg], at: datetime, *,
         ref: str | None = None, settlement_id: int | None = None,
         premium_id: int | None = None) -> None:
    """Write a balanced transaction and move the personal balances it touches."""
    legs = _balanced(legs)
    # Balances first: their guards need an answer; the rows after need none, so they
    # go with the unit of work's next round trip (store/writebehind.py), postings
    # before their transaction row, as the triggers require.
    _move_balances(conn, legs)
    defer(conn, _INSERT_POSTINGS, _posting_rows(txn_id, kind, legs, at, settlement_id,
                                                premium_id))
    defer(conn, _INSERT_TXN, {"id": txn_id, "kind": kind, "ref": ref, "created_at": at,
                              "posting_count": len(legs)})


def post_batch(conn: Connection, txn_id: int, kind: str, legs: list[Leg], at: datetime, *,
               txn_kind: str | None = None, ref: str | None = None) -> None:
    """`post` for many legs: one guarded, set-based balance move and one multi-row insert
    of postings, whatever the number of legs (a statement per leg would cost a bulk
    import a round trip per credit).

    An account may stand in several legs; each leg carries the balance right after it,
    in leg order. Postings take `kind`, the transaction row `txn_kind` (default `kind`).
    Refused before anything moves: an unbalanced batch, a balance that would go below
    zero, a chain of balances that does not add up."""
    legs = _balanced(legs)
    moves = _net_moves(legs)
    rows = held(conn)
    if rows is not None and moves and all(m["m_account"] in rows.accounts for m in moves):
        _move_held(conn, rows, moves)  # a batch's held balances must follow the move
        moves = []
    if conn.dialect.name == "postgresql":
        _move_set(conn, moves)
        defer(conn, _INSERT_POSTINGS_SET, _posting_arrays(txn_id, kind, legs, at))
    else:  # SQLite: in process, a prepared statement per row costs no round trip
        _move_each(conn, moves)
        defer(conn, _INSERT_POSTINGS, _posting_rows(txn_id, kind, legs, at, None, None))
    defer(conn, _INSERT_TXN, {"id": txn_id, "kind": txn_kind or kind, "ref": ref,
                              "created_at": at, "posting_count": len(legs)})


def _balanced(legs: list[Leg]) -> list[Leg]:
    legs = [leg for leg in legs if leg.amount_fen != 0]
    ensure(len(legs) >= 2, "a journal transaction has at least two legs")
    ensure(sum(leg.amount_fen for leg in legs) == 0, "journal legs sum to zero")
    return legs


def _posting_rows(txn_id: int, kind: str, legs: list[Leg], at: datetime,
                  settlement_id: int | None, premium_id: int | None) -> list[dict]:
    return [{"txn_id": txn_id, "account_id": leg.account_id, "amount_fen": leg.amount_fen,
             "balance_after_fen": leg.balance_after_fen, "at": at, "kind": kind,
             "counterpart_id": leg.counterpart_id, "binding_id": leg.binding_id,
             "institution_id": leg.institution_id, "settlement_id": settlement_id,
             "premium_id": premium_id}
            for leg in legs]


def _move_balances(conn: Connection, legs: list[Leg]) -> None:
    tracked = [{"m_account": leg.account_id, "m_amount": leg.amount_fen,
                "m_after": leg.balance_after_fen}
               for leg in legs if leg.balance_after_fen is not None]
    rows = held(conn)
    if rows is not None and all(m["m_account"] in rows.accounts for m in tracked):
        _move_held(conn, rows, tracked)
        return
    for move in tracked:
        result = conn.execute(_MOVE_BALANCE, move)
        ensure(result.rowcount == 1, f"account {move['m_account']} moved under a held lock")


# A batch's move of a row it holds: no answer is awaited (written behind), so the guard
# cannot be a row count; a balance that is not the one expected becomes NULL instead,
# which ck_accounts_personal_has_balance refuses, failing the batch at its next round trip.
_MOVE_HELD = (update(accounts)
              .where(accounts.c.id == bindparam("m_account"))
              .values(balance_fen=case(
                  (accounts.c.balance_fen + bindparam("m_amount") == bindparam("m_after"),
                   bindparam("m_after")), else_=null())))


def _move_held(conn: Connection, rows: Held, moves: list[dict]) -> None:
    """Moves on accounts the batch holds (store/held.py): checked against the held
    balance, which follows them, and written behind with the rest."""
    for move in moves:
        account = rows.accounts[move["m_account"]]
        ensure(account.balance_fen + move["m_amount"] == move["m_after"] >= 0,
               f"account {account.id} moved under a held lock")
        account.balance_fen = move["m_after"]
    if moves:
        defer(conn, _MOVE_HELD, moves)


def _net_moves(legs: list[Leg]) -> list[dict]:
    """One move per personal account, in id order: the legs' net amount and the balance
    after the last of them. The guard in the database sees only the net, so the chain
    of balances between the legs is checked here."""
    last: dict[int, list[int]] = {}  # account -> [net, balance after]
    for leg in legs:  # tens of thousands of legs: no message is formatted unless refused
        after = leg.balance_after_fen
        if after is None:
            continue
        if after < 0:
            ensure(False, f"account {leg.account_id} would go below zero")
        moved = last.get(leg.account_id)
        if moved is None:
            last[leg.account_id] = [leg.amount_fen, after]
            continue
        if moved[1] + leg.amount_fen != after:
            ensure(False, f"account {leg.account_id}: its balances after do not add up")
        moved[0] += leg.amount_fen
        moved[1] = after
    return [{"m_account": account, "m_amount": net, "m_after": after}
            for account, (net, after) in sorted(last.items())]


def _move_each(conn: Connection, moves: list[dict]) -> None:
    if moves:
        moved = conn.execute(_MOVE_BALANCE, moves).rowcount
        ensure(moved == len(moves), "a batch's accounts moved under a held lock")


# PostgreSQL: the whole batch as three arrays, one statement, guarded as _MOVE_BALANCE.
_MOVE_BALANCE_SET = text("""
UPDATE accounts AS a SET balance_fen = a.balance_fen + m.amount
FROM unnest(CAST(:accounts AS bigint[]), CAST(:amounts AS bigint[]),
            CAST(:afters AS bigint[])) AS m(id, amount, after)
WHERE a.id = m.id AND a.balance_fen + m.amount = m.after
""")


def _move_set(conn: Connection, moves: list[dict]) -> None:
    if moves:
        moved = conn.execute(_MOVE_BALANCE_SET, {
            "accounts": _bigint_array(m["m_account"] for m in moves),
            "amounts": _bigint_array(m["m_amount"] for m in moves),
            "afters": _bigint_array(m["m_after"] for m in moves)}).rowcount
        ensure(moved == len(moves), "a batch's accounts moved under a held lock")


# Ordinality keeps posting ids in leg order: one account's entries read in that order.
_INSERT_POSTINGS_SET = text("""
INSERT INTO postings (txn_id, account_id, amount_fen, balance_after_fen, at, kind,
                      counterpart_id, binding_id, institution_id)
SELECT :txn_id, l.account_id, l.amount_fen, l.after_fen, :at, :kind,
       l.counterpart_id, l.binding_id, l.institution_id
FROM unnest(CAST(:accounts AS bigint[]), CAST(:amounts AS bigint[]),
            CAST(:afters AS bigint[]), CAST(:counterparts AS bigint[]),
            CAST(:bindings AS bigint[]), CAST(:institutions AS bigint[]))
     WITH ORDINALITY AS l(account_id, amount_fen, after_fen, counterpart_id, binding_id,
                          institution_id, n)
ORDER BY l.n
""").bindparams(bindparam("at", type_=postings.c.at.type))


def _posting_arrays(txn_id: int, kind: str, legs: list[Leg], at: datetime) -> dict:
    return {"txn_id": txn_id, "kind": kind, "at": at,
            "accounts": _bigint_array(leg.account_id for leg in legs),
            "amounts": _bigint_array(leg.amount_fen for leg in legs),
            "afters": _bigint_array(leg.balance_after_fen for leg in legs),
            "counterparts": _bigint_array(leg.counterpart_id for leg in legs),
            "bindings": _bigint_array(leg.binding_id for leg in legs),
            "institutions": _bigint_array(leg.institution_id for leg in legs)}


def _bigint_array(values: Iterable[int | None]) -> str:
    """A bigint[] literal. psycopg dumps a list element by element in Python, which cost
    a bulk import more than the statements themselves; one string is the same data.
    (str(None) is "None", which no integer's digits contain.)"""
    return "{" + ",".join(map(str, values)).replace("None", "NULL") + "}"


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
