"""Idempotency records: (scope, key) -> hash of the request -> the stored answer.

The claim is the first write of the unit of work. On PostgreSQL a concurrent
claim of the same key waits on the unique index until the first commits, then
sees its answer; on SQLite writers are serialised. Either way one request runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.domain.money import json_default
from gongji.store.schema import idempotency
from gongji.store.writebehind import defer


@dataclass(frozen=True)
class Stored:
    request_hash: str
    response: dict


def request_hash(payload: object) -> str:
    """Hash of the canonical JSON of a request: equal JSON, equal hash.

    Numbers parsed exactly (Decimal) are written by money.json_default: 1.5 and 1.50 hash
    alike, and as they did when they were parsed as floats. As before, an integer token
    (100) and a fraction token (100.0) hash apart."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Built once (they run on every money-moving call).
_CLAIM = {name: insert_fn(idempotency).on_conflict_do_nothing(index_elements=["scope", "key"])
          .returning(idempotency.c.key)
          for name, insert_fn in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_EARLIER = select(idempotency.c.request_hash, idempotency.c.response).where(
    idempotency.c.scope == bindparam("w_scope"), idempotency.c.key == bindparam("w_key"))
_STORE = update(idempotency).where(
    idempotency.c.scope == bindparam("w_scope"), idempotency.c.key == bindparam("w_key"),
).values(response=bindparam("w_response"))


def claim(conn: Connection, scope: str, key: str, req_hash: str, at: datetime) -> Stored | None:
    """Claim the key for this request; return the earlier answer if it was claimed before."""
    return _claim_or_earlier(conn, scope, key, req_hash, "", at)


# The request hash of a key that 2601 冲正 claimed for a message that had not (yet) run: not
# a sha256 hex digest, so no request ever hashes to it. The original, arriving later, finds
# it in place of a first answer and is refused (MSG_REVERSED).
SPENT = "spent-by-2601"


def spend(conn: Connection, scope: str, key: str, at: datetime) -> Stored | None:
    """Claim `key` for good on behalf of a correction, first thing in its unit of work.

    Returns the earlier record if the key was claimed before (by the original message, or
    by an earlier correction). On PostgreSQL this insert waits on the unique index for an
    original still running with the key, so the two serialise: the correction sees either
    the original's committed work or a key the original can no longer claim."""
    return _claim_or_earlier(conn, scope, key, SPENT, "{}", at)


def _claim_or_earlier(conn: Connection, scope: str, key: str, req_hash: str, response: str,
                      at: datetime) -> Stored | None:
    """Insert the key's record (None), or, if it is there already, read the earlier one."""
    claimed = conn.execute(_CLAIM[conn.dialect.name], {
        "scope": scope, "key": key, "request_hash": req_hash, "response": response,
        "created_at": at}).first()
    if claimed is not None:
        return None
    row = conn.execute(_EARLIER, {"w_scope": scope, "w_key": key}).one()
    return Stored(row.request_hash, json.loads(row.response))


_MARK_SPENT = update(idempotency).where(
    idempotency.c.scope == bindparam("w_scope"), idempotency.c.key == bindparam("w_key"),
).values(request_hash=SPENT)


def mark_spent(conn: Connection, scope: str, key: str) -> None:
    """A key whose message a correction undid: a retry of that message is refused from now
    on (MSG_REVERSED), not answered with the settlement the correction reversed."""
    conn.execute(_MARK_SPENT, {"w_scope": scope, "w_key": key})


def store(conn: Connection, scope: str, key: str, response: dict) -> None:
    """Keep the answer; it is written with the commit's round trip (writebehind)."""
    defer(conn, _STORE, {"w_scope": scope, "w_key": key,
                         "w_response": json.dumps(response, ensure_ascii=False,
                                                  default=json_default)})


def claim_many(conn: Connection, claims: list[tuple[str, str, str, datetime]],
               ) -> dict[tuple[str, str], Stored]:
    """Claim many (scope, key, request hash, time) at once, in (scope, key) order - so that two
    batches claiming overlapping keys wait for each other in one order, never in a cycle.
    Returns the earlier records of the keys that were claimed before (one read for all)."""
    if not claims:
        return {}
    ordered = sorted(claims)
    claimed = {(row.scope, row.key) for row in conn.execute(
        _CLAIM_MANY[conn.dialect.name],
        [{"scope": s, "key": k, "request_hash": h, "response": "", "created_at": at}
         for s, k, h, at in ordered])}
    taken = [(s, k) for s, k, _, _ in ordered if (s, k) not in claimed]
    return _earlier_many(conn, taken)


_CLAIM_MANY = {name: insert_fn(idempotency).on_conflict_do_nothing(
    index_elements=["scope", "key"]).returning(idempotency.c.scope, idempotency.c.key)
    for name, insert_fn in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def _earlier_many(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Stored]:
    if not keys:
        return {}
    rows = conn.execute(select(idempotency.c.scope, idempotency.c.key, idempotency.c.request_hash,
                               idempotency.c.response)
                        .where(tuple_(idempotency.c.scope, idempotency.c.key).in_(keys))).all()
    return {(r.scope, r.key): Stored(r.request_hash, json.loads(r.response) if r.response else {})
            for r in rows}


def forget_many(conn: Connection, keys: list[tuple[str, str]]) -> None:
    """Take back claims whose command was refused: a refusal keeps no record, so its retry
    runs again (as run_once's rollback gives it)."""
    if keys:
        conn.execute(delete(idempotency).where(
            tuple_(idempotency.c.scope, idempotency.c.key).in_(keys)))
