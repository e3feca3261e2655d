"""Bindings (授权绑定): verification, activation with its deduction position, audit.

Invitations, unbinding and the deduction order build on `activate`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, func, insert, select

from gongji.domain.eligibility import Party, verify_pair
from gongji.domain.errors import refuse
from gongji.domain.idcard import mask_certno, mask_name, validate_certno
from gongji.domain.kinship import Relation, parse_relation
from gongji.domain.policy import get_policy
from gongji.services.clock import iso
from gongji.services.context import Context
from gongji.services.reference import registered_relation
from gongji.services.views import account_status
from gongji.store import repo
from gongji.store.schema import audit_log, bindings, persons


@dataclass(frozen=True)
class Actor:
    role: str  # person | clerk | operator | system
    actor_id: str  # psn_no, clerk id or "operator"
    channel: str | None = None
    admdvs: str | None = None  # a clerk's region


def party(row: Row) -> Party:
    return Party(row.id, row.insutype, row.insuplc_admdvs, row.psn_insu_stas,
                 account_status(row), row.balance_fen or 0)


def verify(conn: Connection, helper: Row, beneficiary: Row, relation: Relation) -> str:
    """All binding checks against the current data, including an active twin."""
    verification = verify_pair(
        party(helper), party(beneficiary), relation,
        registered_relation(conn, helper.id, beneficiary.id),
        get_policy(helper.insuplc_admdvs), get_policy(beneficiary.insuplc_admdvs))
    if active_binding(conn, helper.id, beneficiary.id) is not None:
        raise refuse("BINDING_EXISTS")
    return verification


def active_binding(conn: Connection, helper_id: int, beneficiary_id: int) -> Row | None:
    return conn.execute(select(bindings).where(
        bindings.c.helper_id == helper_id, bindings.c.beneficiary_id == beneficiary_id,
        bindings.c.status == "active")).first()


def activate(conn: Connection, helper: Row, beneficiary: Row, relation: Relation,
             verification: str, actor: Actor, now: datetime, *, channel: str,
             invitation_id: int | None = None, documents: dict | None = None) -> int:
    """Create an active binding; it goes last in the beneficiary's deduction order."""
    last = conn.execute(select(func.max(bindings.c.order_pos)).where(
        bindings.c.beneficiary_id == beneficiary.id, bindings.c.status == "active")).scalar()
    binding_id = conn.execute(insert(bindings).values(
        helper_id=helper.id, beneficiary_id=beneficiary.id, relation=relation.value,
        status="active", channel=channel, verification=verification,
        invitation_id=invitation_id, clerk_id=actor.actor_id if actor.role == "clerk" else None,
        documents=json.dumps(documents, ensure_ascii=False) if documents else None,
        order_pos=(last or 0) + 1, activated_at=now,
    ).returning(bindings.c.id)).scalar_one()
    audit(conn, now, "binding", binding_id, helper.id, beneficiary.id, "activate", actor,
          None, "active", {"verification": verification, "channel": channel,
                           "invitation_id": invitation_id, "documents": documents})
    return binding_id


def audit(conn: Connection, now: datetime, entity: str, entity_id: int, helper_id: int,
          beneficiary_id: int, action: str, actor: Actor, before: str | None,
          after: str | None, detail: dict | None = None) -> None:
    conn.execute(insert(audit_log).values(
        at=now, entity=entity, entity_id=entity_id, helper_id=helper_id,
        beneficiary_id=beneficiary_id, action=action, actor_role=actor.role,
        actor_id=actor.actor_id, channel=actor.channel, before=before, after=after,
        detail=json.dumps(detail, ensure_ascii=False) if detail else None))


def person_for_clerk(conn: Connection, certno: object, actor: Actor) -> Row:
    """A person a clerk may act for: found by ID number, and of the clerk's region."""
    row = repo.person_by_certno(conn, validate_certno(certno))
    if row is None:
        raise refuse("PERSON_NOT_FOUND")
    if actor.admdvs != row.insuplc_admdvs:
        raise refuse("CLERK_REGION")
    return row


HALL_DOCUMENTS = ("helper_id_card", "helper_ss_card", "beneficiary_id_card",
                  "beneficiary_ss_card")


def hall_bind(ctx: Context, data: dict, actor: Actor) -> dict:
    """窗口办理: both parties present ID and social-security card; active at once."""
    if data.get("documents_checked") is not True:
        raise refuse("DOCUMENTS_NOT_CHECKED")
    relation = parse_relation(data.get("relation"))
    now = ctx.now()
    with ctx.uow() as uow:
        conn = uow.conn
        helper = person_for_clerk(conn, data.get("helper_certno"), actor)
        beneficiary = person_for_clerk(conn, data.get("beneficiary_certno"), actor)
        verification = verify(conn, helper, beneficiary, relation)
        documents = {"checked": list(HALL_DOCUMENTS), "clerk_id": actor.actor_id,
                     "note": data.get("note")}
        binding_id = activate(conn, helper, beneficiary, relation, verification,
                              Actor(actor.role, actor.actor_id, "hall", actor.admdvs), now,
                              channel="hall", documents=documents)
        uow.commit()
    return {"binding_id": binding_id, "status": "active"}


def list_bindings(ctx: Context, psn_no: str) -> dict:
    """Both sides of a person's bindings, counterparts masked, order for active ones."""
    with ctx.read() as uow:
        conn = uow.conn
        person = repo.person_by_psn_no(conn, psn_no)
        if person is None:
            raise refuse("PERSON_NOT_FOUND")
        return {"as_helper": _side(conn, person.id, "helper"),
                "as_beneficiary": _side(conn, person.id, "beneficiary")}


def _side(conn: Connection, person_id: int, side: str) -> list[dict]:
    own_col, other_col = ((bindings.c.helper_id, bindings.c.beneficiary_id) if side == "helper"
                          else (bindings.c.beneficiary_id, bindings.c.helper_id))
    rows = conn.execute(
        select(bindings, persons.c.certno, persons.c.psn_name)
        .join(persons, persons.c.id == other_col)
        .where(own_col == person_id)
        .order_by(bindings.c.status, bindings.c.order_pos, bindings.c.activated_at, bindings.c.id)
    ).all()
    active = [r.id for r in rows if r.status == "active"]
    items = []
    for row in rows:
        item = {"binding_id": row.id, "status": row.status, "relation": row.relation,
                "counterpart_certno": mask_certno(row.certno),
                "counterpart_name": mask_name(row.psn_name), "channel": row.channel,
                "activated_at": iso(row.activated_at), "order": None}
        if side == "beneficiary" and row.status == "active":
            item["order"] = active.index(row.id) + 1
        items.append(item)
    return items
