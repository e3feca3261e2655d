"""Who acts, and the audit event every change of a binding or invitation writes.

Shared by every binding service (and by imports, the registry and the API's
dependencies), so it sits in a module of its own that imports no other service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert

from gongji.store.schema import audit_log


@dataclass(frozen=True)
class Actor:
    role: str  # person | clerk | operator | system
    actor_id: str  # psn_no, clerk id or "operator"
    channel: str | None = None
    admdvs: str | None = None  # a clerk's region


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit log: what happened to which entity, by whom, from which state
    to which; `detail` is kept as JSON."""

    at: datetime
    entity: str  # binding | invitation | person
    entity_id: int
    action: str
    actor: Actor
    helper_id: int | None = None
    beneficiary_id: int | None = None
    before: str | None = None
    after: str | None = None
    detail: dict | None = None


def record(conn: Connection, event: AuditEvent) -> None:
    """Write the event in the caller's unit of work."""
    conn.execute(insert(audit_log).values(
        at=event.at, entity=event.entity, entity_id=event.entity_id,
        helper_id=event.helper_id, beneficiary_id=event.beneficiary_id, action=event.action,
        actor_role=event.actor.role, actor_id=event.actor.actor_id,
        channel=event.actor.channel, before=event.before, after=event.after,
        detail=json.dumps(event.detail, ensure_ascii=False) if event.detail else None))
