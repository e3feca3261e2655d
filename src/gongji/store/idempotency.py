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

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.store.schema import idempotency


@dataclass(frozen=True)
class Stored:
    request_hash: str
    status_code: int
    response: dict


def request_hash(payload: object) -> str:
    """Hash of the canonical JSON of a request: equal JSON, equal hash."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(conn: Connection, scope: str, key: str, req_hash: str, at: datetime) -> Stored | None:
    """Claim the key for this request; return the earlier answer if it was claimed before."""
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert_fn(idempotency).values(
        scope=scope, key=key, request_hash=req_hash, status_code=0, response="", created_at=at
    ).on_conflict_do_nothing(index_elements=["scope", "key"]).returning(idempotency.c.key)
    if conn.execute(statement).first() is not None:
        return None
    row = conn.execute(
        select(idempotency.c.request_hash, idempotency.c.status_code, idempotency.c.response)
        .where(idempotency.c.scope == scope, idempotency.c.key == key)
    ).one()
    return Stored(row.request_hash, row.status_code, json.loads(row.response))


def store(conn: Connection, scope: str, key: str, status_code: int, response: dict) -> None:
    conn.execute(
        update(idempotency)
        .where(idempotency.c.scope == scope, idempotency.c.key == key)
        .values(status_code=status_code, response=json.dumps(response, ensure_ascii=False))
    )
