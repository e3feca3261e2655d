"""Bindings (授权绑定): verification, activation with its deduction position, the
deduction order, who may see a binding, and the audit log every change writes.

Invitations (services/invitations.py) and unbinding (services/unbinding.py) build on
`verify`, `activate` and `audit`. Every change to one beneficiary's bindings holds that
beneficiary's person row (repo.lock_person), so positions and the one-active-binding-per-pair
rule never race; settlements read bindings without waiting on it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gongji.domain.codes import Channel
from gongji.domain.eligibility import Party, verify_pair
from gongji.domain.errors import refuse
from gongji.domain.idcard import mask_certno, mask_name, validate_certno
from gongji.domain.kinship import Relation, parse_relation
from gongji.domain.lifecycle import (
    BindingStatus,
    binding_side,
    clerk_may_act,
    new_order,
    positions,
)
from gongji.domain.money import to_yuan
from gongji.domain.policy import RegionPolicy
from gongji.domain.text import check_printable
from gongji.services.binding.actor import Actor, AuditEvent, record
from gongji.services.clock import iso, local_date
from gongji.services.context import Context
from gongji.services.policy.versions import policy_on
from gongji.services.reads.views import account_status, relation_to_you
from gongji.store import repo
from gongji.store.schema import bindings, persons


def party(row: Row) -> Party:
    return Party(row.id, row.insutype, row.insuplc_admdvs, row.psn_insu_stas,
                 account_status(row), row.balance_fen or 0)


def verify(conn: Connection, helper: Row, beneficiary: Row, relation: Relation,
           now: datetime) -> str:
    """All binding checks against the current data, including an active twin; both
    regions' policies as in force today (Asia/Shanghai)."""
    day = local_date(now)
    verification = verify_pair(
        party(helper), party(beneficiary), relation,
        repo.registered_relation(conn, helper.id, beneficiary.id),
        policy_on(conn, helper.insuplc_admdvs, day),
        policy_on(conn, beneficiary.insuplc_admdvs, day))
    if active_binding(conn, helper.id, beneficiary.id) is not None:
        raise refuse("BINDING_EXISTS")
    return verification


def active_binding(conn: Connection, helper_id: int, beneficiary_id: int) -> Row | None:
    return conn.execute(select(bindings).where(
        bindings.c.helper_id == helper_id, bindings.c.beneficiary_id == beneficiary_id,
        bindings.c.status == BindingStatus.ACTIVE)).first()


def activate(conn: Connection, helper: Row, beneficiary: Row, relation: Relation,
             verification: str, actor: Actor, now: datetime, *, channel: str,
             invitation_id: int | None = None, documents: dict | None = None) -> int:
    """Create an active binding; it goes last in the beneficiary's deduction order."""
    repo.lock_person(conn, beneficiary.id)
    last = conn.execute(select(func.max(bindings.c.order_pos)).where(
        bindings.c.beneficiary_id == beneficiary.id,
        bindings.c.status == BindingStatus.ACTIVE)).scalar()
    try:
        binding_id = conn.execute(insert(bindings).values(
            helper_id=helper.id, beneficiary_id=beneficiary.id, relation=relation.value,
            status=BindingStatus.ACTIVE, channel=channel, verification=verification,
            invitation_id=invitation_id,
            clerk_id=actor.actor_id if actor.role == "clerk" else None,
            documents=json.dumps(documents, ensure_ascii=False) if documents else None,
            order_pos=(last or 0) + 1, activated_at=now,
        ).returning(bindings.c.id)).scalar_one()
    except IntegrityError:  # the one-active-binding-per-pair index: a twin got there first
        raise refuse("BINDING_EXISTS") from None
    record(conn, AuditEvent(now, "binding", binding_id, "activate", actor, helper.id,
                            beneficiary.id, after=BindingStatus.ACTIVE,
                            detail={"verification": verification, "channel": channel,
                                    "invitation_id": invitation_id, "documents": documents}))
    return binding_id


def person_for_clerk(conn: Connection, certno: object, actor: Actor, now: datetime) -> Row:
    """A person a clerk may act for: found by ID number, and of the clerk's region.

    A person of another region is answered exactly as an ID number nobody holds
    (PERSON_NOT_FOUND), so a clerk cannot learn who is registered outside their region."""
    row = repo.person_by_certno(conn, validate_certno(certno, local_date(now)))
    if row is None or actor.admdvs is None or actor.admdvs != row.insuplc_admdvs:
        raise refuse("PERSON_NOT_FOUND")
    return row


HALL_DOCUMENTS = ("helper_id_card", "helper_ss_card", "beneficiary_id_card",
                  "beneficiary_ss_card")


def hall_bind(ctx: Context, data: dict, actor: Actor) -> dict:
    """窗口办理: both parties present ID and social-security card; active at once."""
    if data.get("documents_checked") is not True:
        raise refuse("DOCUMENTS_NOT_CHECKED")
    relation = parse_relation(data.get("relation"))
    note = data.get("note")
    if note is not None:
        check_printable(str(note), "备注")
    now = ctx.now()
    with ctx.uow() as uow:
        conn = uow.conn
        helper = person_for_clerk(conn, data.get("helper_certno"), actor, now)
        beneficiary = person_for_clerk(conn, data.get("beneficiary_certno"), actor, now)
        verification = verify(conn, helper, beneficiary, relation, now)
        documents = {"checked": list(HALL_DOCUMENTS), "clerk_id": actor.actor_id,
                     "note": note}
        binding_id = activate(conn, helper, beneficiary, relation, verification,
                              Actor(actor.role, actor.actor_id, Channel.HALL, actor.admdvs),
                              now, channel=Channel.HALL, documents=documents)
        uow.commit()
    return {"binding_id": binding_id, "status": BindingStatus.ACTIVE.value}


def check_channel(channel: object, policy: RegionPolicy) -> str:
    """A channel the person's region offers; the hall is the clerk's, never a person's."""
    if (not isinstance(channel, str) or channel not in policy.channels
            or channel == Channel.HALL):
        offered = "、".join(c for c in policy.channels if c != Channel.HALL)
        raise refuse("CHANNEL_NOT_ALLOWED", f"{str(channel)[:16]}（可用：{offered}）")
    return channel


def caller_person(conn: Connection, psn_no: str) -> Row:
    person = repo.known_person(conn, psn_no)
    return person


def person_actor(conn: Connection, psn_no: str, channel: object | None,
                 now: datetime) -> tuple[Row, Actor]:
    """The calling person and how they act; a channel, when stated, must be one of their
    region's (policy in force today)."""
    person = caller_person(conn, psn_no)
    stated = None if channel is None else check_channel(
        channel, policy_on(conn, person.insuplc_admdvs, local_date(now)))
    return person, Actor("person", psn_no, stated)


# --- seeing one binding -------------------------------------------------------------------------

_helper = persons.alias("helper")
_beneficiary = persons.alias("beneficiary")


def visible_binding(conn: Connection, binding_id: int, actor: Actor,
                    caller_id: int | None = None) -> Row:
    """The binding, if the caller is a party to it or a clerk of either party's region.
    Anyone else gets the same answer as for a binding that does not exist."""
    row = conn.execute(
        select(bindings, _helper.c.insuplc_admdvs.label("helper_admdvs"),
               _beneficiary.c.insuplc_admdvs.label("beneficiary_admdvs"))
        .join(_helper, _helper.c.id == bindings.c.helper_id)
        .join(_beneficiary, _beneficiary.c.id == bindings.c.beneficiary_id)
        .where(bindings.c.id == binding_id)).first()
    if row is None or not _may_see(row, actor, caller_id):
        raise refuse("BINDING_NOT_FOUND")
    return row


def _may_see(row: Row, actor: Actor, caller_id: int | None) -> bool:
    if actor.role == "person":
        return caller_id is not None and binding_side(
            caller_id, row.helper_id, row.beneficiary_id) is not None
    if actor.role == "clerk":
        return clerk_may_act(actor.admdvs, row.helper_admdvs, row.beneficiary_admdvs)
    return actor.role == "operator"


def get_binding(ctx: Context, binding_id: int, actor: Actor) -> dict:
    """One binding as a party or a clerk of the region sees it (ID numbers masked)."""
    with ctx.read() as uow:
        conn = uow.conn
        caller_id = _caller_id(conn, actor)
        row = visible_binding(conn, binding_id, actor, caller_id)
        people = repo.persons_by_ids(conn, [row.helper_id, row.beneficiary_id])
        order = active_order(conn, row.beneficiary_id)
    helper, beneficiary = people[row.helper_id], people[row.beneficiary_id]
    return {"binding_id": row.id, "status": row.status, "relation": row.relation,
            "helper_certno": mask_certno(helper.certno), "helper_name": mask_name(helper.psn_name),
            "beneficiary_certno": mask_certno(beneficiary.certno),
            "beneficiary_name": mask_name(beneficiary.psn_name),
            # each party as the other says it, for the hall's receipt: "母亲", "儿子"
            "beneficiary_is": relation_to_you(row.relation, True, beneficiary.certno),
            "helper_is": relation_to_you(row.relation, False, helper.certno),
            "order": positions(order).get(row.id), "channel": row.channel,
            "verification": row.verification, "activated_at": iso(row.activated_at),
            "ended_at": iso(row.ended_at), "ended_reason": row.ended_reason,
            **quota_view(row)}


def _caller_id(conn: Connection, actor: Actor) -> int | None:
    if actor.role != "person":
        return None
    return caller_person(conn, actor.actor_id).id


def quota_view(row: Row) -> dict:
    """共济额度 as both parties see it (null: none set); an ended binding reserves nothing,
    and shows what was left when it ended."""
    return {"quota": None if row.quota_fen is None else to_yuan(row.quota_fen),
            "quota_remaining": (None if row.quota_remaining_fen is None
                                else to_yuan(row.quota_remaining_fen))}


# --- deduction order ----------------------------------------------------------------------------


def active_order(conn: Connection, beneficiary_id: int) -> list[int]:
    """The beneficiary's active bindings, first charged first: the order settlement uses."""
    return list(conn.execute(select(bindings.c.id).where(
        bindings.c.beneficiary_id == beneficiary_id, bindings.c.status == BindingStatus.ACTIVE)
        .order_by(bindings.c.order_pos, bindings.c.activated_at, bindings.c.id)).scalars())


def set_order(ctx: Context, psn_no: str, binding_ids: list[int],
              channel: str | None = None) -> dict:
    """扣款顺序: the beneficiary names every active binding once; it holds from the next
    settlement on (a settlement reads the order in one statement, all old or all new)."""
    now = ctx.now()
    with ctx.uow() as uow:
        conn = uow.conn
        person, actor = person_actor(conn, psn_no, channel, now)
        repo.lock_person(conn, person.id)
        before = positions(active_order(conn, person.id))
        after = positions(new_order(before, binding_ids))
        for binding_id, pos in after.items():
            conn.execute(update(bindings).where(bindings.c.id == binding_id)
                         .values(order_pos=pos))
        helpers = dict(conn.execute(select(bindings.c.id, bindings.c.helper_id)
                                    .where(bindings.c.id.in_(list(after)))).all())
        for binding_id, pos in after.items():
            if before[binding_id] != pos:
                record(conn, AuditEvent(now, "binding", binding_id, "reorder", actor,
                                        helpers[binding_id], person.id,
                                        str(before[binding_id]), str(pos),
                                        {"order": list(after)}))
        uow.commit()
    return {"binding_ids": list(after)}


def list_bindings(ctx: Context, psn_no: str) -> dict:
    """Both sides of a person's bindings, counterparts masked, order for active ones."""
    with ctx.read() as uow:
        conn = uow.conn
        person = repo.known_person(conn, psn_no)
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
    active = [r.id for r in rows if r.status == BindingStatus.ACTIVE]
    items = []
    for row in rows:
        item = {"binding_id": row.id, "status": row.status, "relation": row.relation,
                "relation_to_you": relation_to_you(row.relation, side == "helper", row.certno),
                "counterpart_certno": mask_certno(row.certno),
                "counterpart_name": mask_name(row.psn_name), "channel": row.channel,
                "activated_at": iso(row.activated_at), "ended_at": iso(row.ended_at),
                "order": None, **quota_view(row)}
        if side == "beneficiary" and row.status == BindingStatus.ACTIVE:
            item["order"] = active.index(row.id) + 1
        items.append(item)
    return items
