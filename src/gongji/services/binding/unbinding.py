"""Unbinding (解绑) by either party or a clerk, and the policy rule that ends bindings
by themselves when a party's insurance ends or moves (SPEC §7, §10).

Effective for every settlement that starts after the commit: a settlement reads the
active bindings inside its own unit of work (services/settlement.usable_helpers) and
reads their status again once it holds the helpers' account locks; an unbinding takes
the helper's account lock before it reads the clock. So the two serialise on that row,
and a settlement that drew on a binding is never stamped after the binding's end.

Ending a binding releases its 共济额度: money reserved is counted over active bindings
only (store/quotas.py), so the remaining quota stops reserving anything at this commit
and stays on the row for the record.

History stays: the binding row is kept with its status, end time and reason, and a
reversal of an earlier settlement refunds the helper from the settlement's own record,
whatever the binding's status now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, or_, select, update

from gongji.domain.errors import refuse
from gongji.domain.lifecycle import BindingEvent, BindingStatus, binding_after, binding_side
from gongji.domain.text import check_printable
from gongji.services.binding.actor import Actor, AuditEvent, record
from gongji.services.binding.bindings import HALL_DOCUMENTS, person_actor, visible_binding
from gongji.services.context import Context
from gongji.store import repo
from gongji.store.schema import bindings

INSURANCE_CHANGE = "insurance_change"


def unbind(ctx: Context, binding_id: int, actor: Actor, data: dict | None = None) -> dict:
    """解绑 by the helper, the beneficiary, or a clerk of either party's region, who must
    have checked both parties' ID and social-security cards (recorded in the audit row)."""
    data = data or {}
    if actor.role == "clerk" and data.get("documents_checked") is not True:
        raise refuse("DOCUMENTS_NOT_CHECKED")
    if isinstance(data.get("note"), str):
        check_printable(data["note"], "备注")
    with ctx.uow() as uow:
        conn = uow.conn
        caller_id = None
        if actor.role == "person":
            # the channel is checked against the policy of today (the end is stamped below)
            person, actor = person_actor(conn, actor.actor_id, actor.channel, ctx.now())
            caller_id = person.id
        row = visible_binding(conn, binding_id, actor, caller_id)
        # Wait out any settlement drawing on the helper, then read the clock: every
        # settlement that drew on this binding is stamped no later than its end.
        repo.lock_accounts_of(conn, [row.helper_id])
        now = ctx.now()
        side = binding_side(caller_id, row.helper_id, row.beneficiary_id) if caller_id else None
        reason = f"unbound_by_{side}" if side else "unbound_at_hall"
        detail: dict = {"reason": reason}
        if actor.role == "clerk":
            detail["documents"] = {"checked": list(HALL_DOCUMENTS), "clerk_id": actor.actor_id,
                                   "note": data.get("note")}
        close(conn, row, BindingEvent.UNBIND, reason, actor, now, detail)
        uow.commit()
    return {"binding_id": binding_id, "status": BindingStatus.UNBOUND.value}


def close(conn: Connection, row: Row, event: BindingEvent, reason: str, actor: Actor,
          now: datetime, detail: dict) -> None:
    """active → unbound | ended, audited; refused (BINDING_NOT_ACTIVE) if it is not active,
    including when a racing close committed first."""
    after = _flip(conn, row, event, reason, now)
    if after is None:
        raise refuse("BINDING_NOT_ACTIVE")
    record(conn, AuditEvent(now, "binding", row.id, event.value, actor, row.helper_id,
                            row.beneficiary_id, BindingStatus.ACTIVE, after, detail))


def _flip(conn: Connection, row: Row, event: BindingEvent, reason: str,
          now: datetime) -> BindingStatus | None:
    """The guarded update: of two racing closes exactly one changes the row."""
    after = binding_after(row.status, event)
    flipped = conn.execute(update(bindings).where(
        bindings.c.id == row.id, bindings.c.status == BindingStatus.ACTIVE,
    ).values(status=after, ended_at=now, ended_reason=reason)).rowcount
    return after if flipped == 1 else None


def end_for_insurance_change(conn: Connection, person_id: int, actor: Actor,
                             now: datetime) -> list[int]:
    """End every active binding of the person, as helper and as beneficiary ("ended",
    reason insurance_change, audited with the person's status and region as they are now).
    The caller decides whether the region's policy switch applies; returns the ended ids."""
    person = repo.person_by_id(conn, person_id)
    if person is None:
        raise refuse("PERSON_NOT_FOUND")
    rows = conn.execute(select(bindings).where(
        or_(bindings.c.helper_id == person_id, bindings.c.beneficiary_id == person_id),
        bindings.c.status == BindingStatus.ACTIVE).order_by(bindings.c.id)).all()
    detail = {"reason": INSURANCE_CHANGE, "rule": "auto_end_on_insurance_change",
              "psn_no": person.psn_no, "psn_insu_stas": person.psn_insu_stas,
              "insuplc_admdvs": person.insuplc_admdvs}
    repo.lock_accounts_of(conn, [row.helper_id for row in rows])
    ended = []
    for row in rows:
        if _flip(conn, row, BindingEvent.END, INSURANCE_CHANGE, now) is not None:
            record(conn, AuditEvent(now, "binding", row.id, BindingEvent.END.value, actor,
                                    row.helper_id, row.beneficiary_id, BindingStatus.ACTIVE,
                                    BindingStatus.ENDED, detail))
            ended.append(row.id)
    return ended
