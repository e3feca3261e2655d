"""The reads of a batch's prepare step (prelock.py), in two stages of one round trip each.

PostgreSQL: each stage is a psycopg pipeline of plain SQL, fixed text with array
parameters (`= ANY(...)`, sent in binary: `%b`): nothing is compiled on this side per
batch, and the server plans each statement for the arrays it is given (not prepared: see
_pipelined).
SQLite: the same text, each set passed as one JSON array (in process, a round trip costs
nothing; building and expanding IN lists per batch did).

Stage 1, before any lock: institutions, patients, their helpers in deduction order, the
msgids a 2601 spent or that settled before, and PostgreSQL's ids for the batch.
Stage 2, the locks: personal accounts in id order, then (under them) the bindings of
those helpers that are still active with their quotas, then the fund accumulators in key
order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date

from sqlalchemy import Connection, Date, TextClause, bindparam, select, text, tuple_

from gongji.domain.lifecycle import BindingStatus
from gongji.store.pgerrors import as_sqlalchemy_errors
from gongji.store.schema import fund_accumulators as acc_table
from gongji.store.schema import institutions
from gongji.store.types import UtcDateTime


@dataclass
class Before:
    institutions: list
    patients: list
    helpers: list
    marks: list  # (kind "spent" | "settled", fixmedins_code, msgid)
    ids: list  # PostgreSQL: (settlement id, journal transaction id) per settlement


@dataclass
class Locked:
    accounts: list  # (id, balance_fen, status), id order
    bindings: list  # (id, helper_id, quota_remaining_fen): active, of the helpers
    accumulators: list  # (person_id, year, scene, deductible_used_fen, fund_paid_fen)
    policy_rows: list | None = None  # the policy version rows asked for, if any


def before_locks(conn: Connection, codes: list[str], psn_nos: list[str],
                 msgids: list[str], n: int) -> Before:
    if conn.dialect.name == "postgresql":
        insts, patients, helpers, marks, ids = _pipelined(conn, [
            (_PG_INSTITUTIONS, {"codes": codes}), (_PG_PATIENTS, {"psn": psn_nos}),
            (_PG_HELPERS, {"psn": psn_nos}),
            (_PG_MARKS, {"codes": codes, "msgids": msgids}), (_PG_IDS, {"n": n})])
        return Before(_utc(insts, "created_at"), patients, _utc(helpers, "activated_at"), marks,
                      [tuple(r) for r in ids])
    psn = _json(psn_nos)
    return Before(conn.execute(_SQ_INSTITUTIONS, {"codes": _json(codes)}).all(),
                  conn.execute(_SQ_PATIENTS, {"psn": psn}).all(),
                  conn.execute(_SQ_HELPERS, {"psn": psn}).all(),
                  [tuple(r) for r in conn.execute(
                      _SQ_MARKS, {"codes": _json(codes), "msgids": _json(msgids)})],
                  [])


def take_locks(conn: Connection, account_ids: list[int], helper_ids: list[int],
               keys: list[tuple[int, int, str]],
               policy: tuple[list[str], date] | None = None) -> Locked:
    """PostgreSQL: with the locks, the missing accumulators are made (no existing row is
    touched: ON CONFLICT DO NOTHING) and, when `policy` names admdvs and a day, their
    policy version rows are read, all in the one round trip."""
    if conn.dialect.name == "postgresql":
        key_arrays = {"p": [k[0] for k in keys], "y": [k[1] for k in keys],
                      "s": [k[2] for k in keys]}
        queries = [(_PG_LOCK_ACCOUNTS, {"ids": account_ids}),
                   (_PG_ACTIVE_BINDINGS, {"helpers": helper_ids}),
                   (_PG_MAKE_ACCUMULATORS, key_arrays),
                   (_PG_LOCK_ACCUMULATORS, key_arrays)]
        if policy:
            queries.append((_PG_POLICY_ROWS, {"names": policy[0], "day": policy[1]}))
        found = _pipelined(conn, queries)
        return Locked(found[0], found[1], found[3],
                      _utc(found[4], "published_at") if policy else None)
    return Locked(conn.execute(_SQ_ACCOUNTS, {"ids": _json(account_ids)}).all(),
                  conn.execute(_SQ_ACTIVE_BINDINGS, {"helpers": _json(helper_ids)}).all(),
                  conn.execute(_SQ_ACCUMULATORS, {"keys": _json(keys)}).all(),
                  conn.execute(_SQ_POLICY_ROWS, {"names": _json(policy[0]), "day": policy[1]})
                  .all() if policy else None)


def accumulators_of(keys: list[tuple[int, int, str]]):
    """The accumulators of these keys, in key order, locked on PostgreSQL."""
    query = (select(acc_table.c.person_id, acc_table.c.year, acc_table.c.scene,
                    acc_table.c.deductible_used_fen, acc_table.c.fund_paid_fen)
             .where(tuple_(acc_table.c.person_id, acc_table.c.year,
                           acc_table.c.scene).in_(keys))
             .order_by(acc_table.c.person_id, acc_table.c.year, acc_table.c.scene))
    return query.with_for_update()  # SQLite's compiler leaves FOR UPDATE out


def _pipelined(conn: Connection, queries: list[tuple[str, dict]]) -> list[list]:
    """Send every query, then wait once for all their rows (a psycopg pipeline). A
    database error is raised as SQLAlchemy's own (DataError etc.), as from any statement."""
    from psycopg.rows import namedtuple_row

    raw = conn.connection.driver_connection
    cursors = []
    with as_sqlalchemy_errors(), raw.pipeline():
        for sql, params in queries:
            cursor = raw.cursor(row_factory=namedtuple_row)
            # Planned for the arrays at hand, each batch: a generic plan, made once per
            # connection, can be a scan chosen while a table was still small
            # (settlements, early in a database's life), kept as it grows.
            cursor.execute(sql, params, prepare=False)
            cursors.append(cursor)
    return [cursor.fetchall() if cursor.description is not None else []
            for cursor in cursors]


def _utc(rows: list, column: str) -> list:
    """Timestamps are stored naive UTC (store/types.UtcDateTime): make them aware."""
    return [row._replace(**{column: getattr(row, column).replace(tzinfo=UTC)}) for row in rows]


# --- PostgreSQL: fixed text, arrays for sets -------------------------------------------------

_INSTITUTION_COLUMNS = ", ".join(c.name for c in institutions.c)
_PG_INSTITUTIONS = (f"SELECT {_INSTITUTION_COLUMNS} FROM institutions "
                    "WHERE fixmedins_code = ANY(%(codes)b)")
_PG_PATIENTS = """
SELECT p.id, p.psn_no, p.certno, p.psn_name, p.insutype, p.insuplc_admdvs, p.psn_insu_stas,
       p.card_no, a.id AS account_id, a.status AS account_status, a.balance_fen
FROM persons p LEFT JOIN accounts a ON a.person_id = p.id
WHERE p.psn_no = ANY(%(psn)b)"""
_PG_HELPERS = f"""
SELECT b.id, b.beneficiary_id, b.relation, b.activated_at, p.id AS helper_id, p.psn_no,
       p.psn_name, p.certno, p.psn_insu_stas, p.insutype, p.insuplc_admdvs,
       a.id AS account_id, a.status
FROM bindings b JOIN persons p ON p.id = b.helper_id
     LEFT JOIN accounts a ON a.person_id = p.id
WHERE b.beneficiary_id IN (SELECT id FROM persons WHERE psn_no = ANY(%(psn)b))
  AND b.status = '{BindingStatus.ACTIVE.value}'
ORDER BY b.beneficiary_id, b.order_pos, b.activated_at, b.id"""
_PG_MARKS = """
SELECT 'spent' AS kind, i.fixmedins_code, s.msgid FROM spent_msgids s
  JOIN institutions i ON i.id = s.institution_id
  WHERE i.fixmedins_code = ANY(%(codes)b) AND s.msgid = ANY(%(msgids)b)
UNION ALL
SELECT 'settled', i.fixmedins_code, s.msgid FROM settlements s
  JOIN institutions i ON i.id = s.institution_id
  WHERE i.fixmedins_code = ANY(%(codes)b) AND s.msgid = ANY(%(msgids)b)"""
_PG_IDS = ("SELECT nextval(pg_get_serial_sequence('settlements', 'id')) AS settlement_id, "
           "nextval('journal_txn_ids') AS txn_id FROM generate_series(1, %(n)b)")
_PG_LOCK_ACCOUNTS = ("SELECT id, balance_fen, status FROM accounts WHERE id = ANY(%(ids)b) "
                     "ORDER BY id FOR UPDATE")
_PG_ACTIVE_BINDINGS = (f"SELECT id, helper_id, quota_remaining_fen FROM bindings "
                       f"WHERE helper_id = ANY(%(helpers)b) "
                       f"AND status = '{BindingStatus.ACTIVE.value}'")
_PG_MAKE_ACCUMULATORS = """
INSERT INTO fund_accumulators (person_id, year, scene, deductible_used_fen, fund_paid_fen)
SELECT person_id, year, scene, 0, 0
FROM unnest(%(p)b::bigint[], %(y)b::int[], %(s)b::text[]) AS k(person_id, year, scene)
ORDER BY person_id, year, scene
ON CONFLICT DO NOTHING"""
_PG_POLICY_ROWS = """
SELECT id, admdvs, effective_from, published_at FROM policy_versions
WHERE admdvs = ANY(%(names)b) AND effective_from <= %(day)b
ORDER BY effective_from, id"""
_PG_LOCK_ACCUMULATORS = """
SELECT f.person_id, f.year, f.scene, f.deductible_used_fen, f.fund_paid_fen
FROM fund_accumulators f
JOIN unnest(%(p)b::bigint[], %(y)b::int[], %(s)b::text[]) AS k(person_id, year, scene)
  USING (person_id, year, scene)
ORDER BY f.person_id, f.year, f.scene
FOR UPDATE OF f"""

# --- SQLite: the same text, sets as one JSON array each (json_each) ---------------------------
# One parameter per set, so the statement and its parameters are the same shape whatever the
# batch holds: nothing is expanded or rebuilt per batch (an IN list of binds cost more CPU
# than the reads themselves, bench/, profiled).


def _json(values: list) -> str:
    return json.dumps(values, ensure_ascii=False)


def _sqlite(sql: str, **types) -> TextClause:
    """The PostgreSQL text with `= ANY(%(x)b)` read from a JSON array `:x`; `types` for
    the columns that need one (UTC times)."""
    text_ = re.sub(r"= ANY\(%\((\w+)\)b\)", r"IN (SELECT value FROM json_each(:\1))", sql)
    return text(text_).columns(**types) if types else text(text_)


_SQ_INSTITUTIONS = _sqlite(_PG_INSTITUTIONS, created_at=UtcDateTime)
_SQ_PATIENTS = _sqlite(_PG_PATIENTS)
_SQ_HELPERS = _sqlite(_PG_HELPERS, activated_at=UtcDateTime)
_SQ_MARKS = _sqlite(_PG_MARKS)
_SQ_ACCOUNTS = _sqlite(_PG_LOCK_ACCOUNTS.removesuffix(" FOR UPDATE"))
_SQ_ACTIVE_BINDINGS = _sqlite(_PG_ACTIVE_BINDINGS)
_SQ_POLICY_ROWS = (text(_PG_POLICY_ROWS.replace("= ANY(%(names)b)",
                                                 "IN (SELECT value FROM json_each(:names))")
                        .replace("%(day)b", ":day"))
                   .bindparams(bindparam("day", type_=Date))
                   .columns(effective_from=Date, published_at=UtcDateTime))
_SQ_ACCUMULATORS = text("""
SELECT f.person_id, f.year, f.scene, f.deductible_used_fen, f.fund_paid_fen
FROM fund_accumulators f
WHERE (f.person_id, f.year, f.scene) IN (
  SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(:keys))
ORDER BY f.person_id, f.year, f.scene""")
