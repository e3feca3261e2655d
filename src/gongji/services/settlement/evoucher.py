"""医保电子凭证 (credential type 01): short-lived, single-use tokens a person shows as a QR code."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from gongji.domain.codes import CertType
from gongji.domain.errors import refuse
from gongji.services.clock import iso
from gongji.services.context import Context
from gongji.store import repo
from gongji.store.schema import evouchers

TTL = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(conn: Connection, person_id: int, now: datetime) -> tuple[str, datetime]:
    """A new e-voucher; only its hash is stored."""
    token = "EV" + secrets.token_urlsafe(24)
    expires_at = now + TTL
    conn.execute(insert(evouchers).values(token_hash=_hash(token), person_id=person_id,
                                          created_at=now, expires_at=expires_at))
    return token, expires_at


def resolve(conn: Connection, token: str, now: datetime) -> int:
    """The person an unexpired, unused e-voucher belongs to."""
    row = conn.execute(select(evouchers.c.person_id, evouchers.c.expires_at, evouchers.c.used_at)
                       .where(evouchers.c.token_hash == _hash(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise refuse("EVOUCHER_INVALID")
    return row.person_id


def mark_used(conn: Connection, token: str, settlement_id: int, now: datetime) -> None:
    """Single use per settlement: the guarded update fails for a voucher used meanwhile."""
    done = conn.execute(update(evouchers).where(
        evouchers.c.token_hash == _hash(token), evouchers.c.used_at.is_(None),
    ).values(used_at=now, settlement_id=settlement_id)).rowcount
    if done != 1:
        raise refuse("EVOUCHER_INVALID")


def issue_for(ctx: Context, psn_no: str) -> dict:
    """POST /evoucher: a fresh e-voucher for the person themself, shown as a QR code."""
    now = ctx.now()
    with ctx.uow() as uow:
        person = repo.known_person(uow.conn, psn_no)
        token, expires_at = issue(uow.conn, person.id, now)
        uow.commit()
    return {"token": token, "mdtrt_cert_type": CertType.EVOUCHER.value,
            "expires_at": iso(expires_at),
            "ttl_s": int(TTL.total_seconds())}
