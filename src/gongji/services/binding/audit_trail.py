"""The audit log read back for the operator: every change of a person's bindings and
invitations, on either side, and every time a clerk looked the person up at the hall,
oldest first, with who, in which role, through which channel, when, and the status
before and after."""

from __future__ import annotations

import json

from sqlalchemy import and_, or_, select

from gongji.domain.errors import refuse
from gongji.services.binding.invitations import expire_overdue
from gongji.services.clock import iso
from gongji.services.context import Context
from gongji.store import repo
from gongji.store.schema import audit_log

PAGE_MAX = 500


def person_audit(ctx: Context, psn_no: str, after_id: int = 0, limit: int = 100) -> dict:
    """One page of the person's audit entries after the cursor `after_id`."""
    if not 1 <= limit <= PAGE_MAX:
        raise refuse("INVALID_INPUT", f"limit 须在 1–{PAGE_MAX} 之间")
    with ctx.read() as uow:
        person = repo.known_person(uow.conn, psn_no)
    expire_overdue(ctx, person.id)  # lazy expiry: the log shows what every reader sees
    with ctx.read() as uow:
        conn = uow.conn
        rows = conn.execute(select(audit_log).where(
            or_(audit_log.c.helper_id == person.id, audit_log.c.beneficiary_id == person.id,
                and_(audit_log.c.entity == "person", audit_log.c.entity_id == person.id)),
            audit_log.c.id > after_id).order_by(audit_log.c.id).limit(limit + 1)).all()
        psn_nos = {r.id: r.psn_no for r in repo.persons_by_ids(conn, [
            pid for row in rows for pid in (row.helper_id, row.beneficiary_id) if pid]).values()}
    page = rows[:limit]
    return {"psn_no": psn_no,
            "entries": [_entry(row, psn_nos) for row in page],
            "next_cursor": page[-1].id if len(rows) > limit else None}


def _entry(row, psn_nos: dict[int, str]) -> dict:  # noqa: ANN001
    return {"id": row.id, "at": iso(row.at), "entity": row.entity, "entity_id": row.entity_id,
            "action": row.action, "actor_role": row.actor_role, "actor_id": row.actor_id,
            "channel": row.channel, "before": row.before, "after": row.after,
            "helper_psn_no": psn_nos.get(row.helper_id),
            "beneficiary_psn_no": psn_nos.get(row.beneficiary_id),
            "detail": json.loads(row.detail) if row.detail else None}
