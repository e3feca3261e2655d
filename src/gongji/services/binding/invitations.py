"""Invitations (发起绑定邀请): the helper invites, the beneficiary (or the registered parent
of a minor) accepts or declines, the helper may withdraw, and an unanswered invitation
expires after the helper's policy `invitation_expiry_days`.

Expiry is lazy: an invitation pending past its `expires_at` is expired for every reader
(domain.lifecycle.status_seen), and is written as expired, with its audit row, by the
first command that touches it or a list that shows it. Both parties' eligibility is
verified when the helper invites and again when the invitation is accepted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, and_, insert, or_, select, update

from gongji.domain.codes import KinshipVerification
from gongji.domain.eligibility import NamedRelative, check_named_relative, verify_declared
from gongji.domain.errors import refuse
from gongji.domain.idcard import is_minor, mask_certno, mask_name, validate_certno
from gongji.domain.kinship import Relation, parse_relation
from gongji.domain.lifecycle import (
    InvitationEvent,
    InvitationParties,
    InvitationStatus,
    expiry_of,
    initial_invitation_status,
    invitation_after,
    is_overdue,
    status_seen,
)
from gongji.domain.policy import RegionPolicy
from gongji.domain.text import check_name
from gongji.services.binding.actor import Actor, AuditEvent, record
from gongji.services.binding.bindings import (
    activate,
    active_binding,
    caller_person,
    check_channel,
    party,
    person_actor,
    verify,
)
from gongji.services.clock import iso, local_date
from gongji.services.context import Context
from gongji.services.policy.versions import policy_on
from gongji.services.reads.views import relation_to_you
from gongji.store import repo
from gongji.store.schema import invitations, kinships, persons
from gongji.store.uow import UnitOfWork

LIST_LIMIT = 200  # newest first, per side: a person has few; a flood of them shows its head
EXPIRY_ACTOR = Actor("system", "invitation_expiry")
_NOBODY = 0  # no person has id 0: the kinship read of an unknown ID number finds nothing


# --- inviting -----------------------------------------------------------------------------------


def invite(ctx: Context, psn_no: str, data: dict) -> dict:
    """The helper invites a relative, named by ID number and name, through a channel of the
    helper's region. A registered parent inviting their minor child binds at once."""
    now = ctx.now()
    certno = validate_certno(data.get("beneficiary_certno"), local_date(now))
    name = check_name(data.get("beneficiary_name"))
    relation = parse_relation(data.get("relation"))
    with ctx.uow() as uow:
        conn = uow.conn
        helper = caller_person(conn, psn_no)
        policy = policy_on(conn, helper.insuplc_admdvs, local_date(now))
        actor = Actor("person", psn_no, check_channel(data.get("channel"), policy))
        beneficiary, basis = _named_relative(conn, helper, certno, name, policy)
        repo.lock_person(conn, beneficiary.id)
        verification = (verify(conn, helper, beneficiary, relation, now)
                        if basis == KinshipVerification.REGISTRY
                        else _declared(conn, helper, beneficiary, relation, policy))
        _refuse_pending_twin(conn, helper.id, beneficiary.id, now)
        parent_of_minor = _parent_of_minor(conn, helper, beneficiary, now)
        status = initial_invitation_status(parent_of_minor)
        expires_at = expiry_of(now, policy.invitation_expiry_days)
        invitation_id = conn.execute(insert(invitations).values(
            helper_id=helper.id, beneficiary_id=beneficiary.id, relation=relation.value,
            channel=actor.channel, status=status, created_at=now, expires_at=expires_at,
        ).returning(invitations.c.id)).scalar_one()
        record(conn, AuditEvent(
            now, "invitation", invitation_id, "invite", actor, helper.id, beneficiary.id,
            after=status,
            detail={"verification": verification, "relation": relation.value,
                    "expires_at": iso(expires_at),
                    "confirmed_by": "helper_as_registered_parent" if parent_of_minor else None}))
        answer = {"invitation_id": invitation_id, "status": status.value,
                  "expires_at": iso(expires_at)}
        if parent_of_minor:
            binding_id = activate(conn, helper, beneficiary, relation, verification, actor, now,
                                  channel=actor.channel, invitation_id=invitation_id)
            _answered(conn, invitation_id, binding_id, helper.id, now)
            answer = {"invitation_id": invitation_id, "status": status.value,
                      "binding_id": binding_id}
        uow.commit()
    return answer


def _parent_of_minor(conn: Connection, helper: Row, beneficiary: Row, now: datetime) -> bool:
    """The registry says the beneficiary is the helper's child, and the child is a minor."""
    return (is_minor(beneficiary.certno, local_date(now))
            and repo.registered_relation(conn, helper.id, beneficiary.id) == Relation.CHILD)


def _named_relative(conn: Connection, helper: Row, certno: str, name: str,
                    policy: RegionPolicy) -> tuple[Row, str]:
    """The person the helper named and the basis for inviting them, told only as far as the
    helper may know it (domain.eligibility.check_named_relative): a helper with no
    registered kinship to them gets one answer whoever the ID number belongs to. The same
    two reads run whoever is named, and a refusal writes nothing."""
    person = repo.person_by_certno(conn, certno)
    registered = repo.registered_relation(conn, helper.id, person.id if person else _NOBODY)
    basis = check_named_relative(NamedRelative(
        is_self=certno == helper.certno, known=person is not None,
        name_matches=person is not None and person.psn_name == name,
        registered=registered), policy)
    return person, basis


def _declared(conn: Connection, helper: Row, beneficiary: Row, relation: Relation,
              policy: RegionPolicy) -> str:
    """承诺制 without a registry kinship: the helper's side now, the relative's at acceptance
    (so a suspended relative is not told apart from an eligible one)."""
    verification = verify_declared(party(helper), relation, policy)
    if active_binding(conn, helper.id, beneficiary.id) is not None:
        raise refuse("BINDING_EXISTS")
    return verification


def _refuse_pending_twin(conn: Connection, helper_id: int, beneficiary_id: int,
                         now: datetime) -> None:
    """One open invitation per directed pair; an overdue one is expired first."""
    rows = conn.execute(select(invitations).where(
        invitations.c.helper_id == helper_id, invitations.c.beneficiary_id == beneficiary_id,
        invitations.c.status == InvitationStatus.PENDING)).all()
    for row in rows:
        if not expire_if_overdue(conn, row, now):
            raise refuse("INVITATION_EXISTS")


def _answered(conn: Connection, invitation_id: int, binding_id: int, by: int,
              now: datetime) -> None:
    conn.execute(update(invitations).where(invitations.c.id == invitation_id).values(
        binding_id=binding_id, answered_by=by, answered_at=now))


# --- answering ----------------------------------------------------------------------------------


def accept(ctx: Context, psn_no: str, invitation_id: int, channel: str | None = None) -> dict:
    """接受邀请: eligibility is verified again now; the binding goes last in the order."""
    now = ctx.now()
    with ctx.uow() as uow:
        conn = uow.conn
        caller, actor = person_actor(conn, psn_no, channel, now)
        row, parties = _visible(conn, invitation_id, caller.id, now)
        answering_as = parties.answering_as(caller.id)
        _move(uow, row, InvitationEvent.ACCEPT, now)
        people = repo.persons_by_ids(conn, [row.helper_id, row.beneficiary_id])
        helper, beneficiary = people[row.helper_id], people[row.beneficiary_id]
        repo.lock_person(conn, beneficiary.id)
        _guarded(conn, row, InvitationStatus.ACTIVE)  # first, so a racing answer loses here
        relation = Relation(row.relation)
        verification = verify(conn, helper, beneficiary, relation, now)
        binding_id = activate(conn, helper, beneficiary, relation, verification, actor, now,
                              channel=row.channel, invitation_id=row.id)
        _answered(conn, row.id, binding_id, caller.id, now)
        record(conn, AuditEvent(
            now, "invitation", row.id, "accept", actor, row.helper_id, row.beneficiary_id,
            InvitationStatus.PENDING, InvitationStatus.ACTIVE,
            {"binding_id": binding_id, "as": answering_as, "verification": verification}))
        uow.commit()
    return {"invitation_id": invitation_id, "binding_id": binding_id,
            "status": InvitationStatus.ACTIVE.value}


def decline(ctx: Context, psn_no: str, invitation_id: int, channel: str | None = None) -> dict:
    return _close(ctx, psn_no, invitation_id, InvitationEvent.DECLINE, channel)


def withdraw(ctx: Context, psn_no: str, invitation_id: int, channel: str | None = None) -> dict:
    return _close(ctx, psn_no, invitation_id, InvitationEvent.WITHDRAW, channel)


def _close(ctx: Context, psn_no: str, invitation_id: int, event: InvitationEvent,
           channel: str | None) -> dict:
    """Decline (by whoever may answer) or withdraw (by the helper) a pending invitation."""
    now = ctx.now()
    with ctx.uow() as uow:
        conn = uow.conn
        caller, actor = person_actor(conn, psn_no, channel, now)
        row, parties = _visible(conn, invitation_id, caller.id, now)
        acting_as = (parties.withdrawing_as(caller.id) if event == InvitationEvent.WITHDRAW
                     else parties.answering_as(caller.id))
        after = _move(uow, row, event, now)
        _guarded(conn, row, after)
        if event == InvitationEvent.DECLINE:
            conn.execute(update(invitations).where(invitations.c.id == row.id)
                         .values(answered_by=caller.id, answered_at=now))
        record(conn, AuditEvent(now, "invitation", row.id, event.value, actor, row.helper_id,
                                row.beneficiary_id, InvitationStatus.PENDING, after,
                                {"as": acting_as}))
        uow.commit()
    return {"invitation_id": invitation_id, "status": after.value}


def _move(uow: UnitOfWork, row: Row, event: InvitationEvent, now: datetime) -> InvitationStatus:
    """The status `event` leads to. An overdue invitation is written as expired (what every
    reader already sees) and committed before the refusal: nothing the caller sees changes."""
    if expire_if_overdue(uow.conn, row, now):
        uow.commit()
        raise refuse("INVITATION_NOT_PENDING", "已过期")
    return invitation_after(row.status, event)


def _guarded(conn: Connection, row: Row, after: str) -> None:
    """Flip pending → `after` only if still pending: of two racing answers, one wins."""
    flipped = conn.execute(update(invitations).where(
        invitations.c.id == row.id, invitations.c.status == InvitationStatus.PENDING,
    ).values(status=after)).rowcount
    if flipped != 1:
        raise refuse("INVITATION_NOT_PENDING")


# --- who may see an invitation ------------------------------------------------------------------


def _visible(conn: Connection, invitation_id: int, caller_id: int,
             now: datetime) -> tuple[Row, InvitationParties]:
    """The invitation and its parties, if the caller may see it; otherwise not found."""
    row = conn.execute(select(invitations).where(invitations.c.id == invitation_id)).first()
    if row is None:
        raise refuse("INVITATION_NOT_FOUND")
    parties = parties_of(conn, row, now)
    if not parties.may_see(caller_id):
        raise refuse("INVITATION_NOT_FOUND")
    return row, parties


def parties_of(conn: Connection, row: Row, now: datetime) -> InvitationParties:
    certno = conn.execute(select(persons.c.certno).where(
        persons.c.id == row.beneficiary_id)).scalar_one()
    parents = conn.execute(select(kinships.c.relative_id).where(
        kinships.c.person_id == row.beneficiary_id,
        kinships.c.relation == Relation.PARENT)).scalars()
    return InvitationParties(row.helper_id, row.beneficiary_id,
                             is_minor(certno, local_date(now)), frozenset(parents))


def minor_children(conn: Connection, person_id: int, now: datetime) -> list[int]:
    """Registered children of the person who are minors today (a parent answers for them)."""
    rows = conn.execute(select(persons.c.id, persons.c.certno)
                        .join(kinships, kinships.c.relative_id == persons.c.id)
                        .where(kinships.c.person_id == person_id,
                               kinships.c.relation == Relation.CHILD)).all()
    return [r.id for r in rows if is_minor(r.certno, local_date(now))]


# --- expiry -------------------------------------------------------------------------------------


def expire_if_overdue(conn: Connection, row: Row, now: datetime) -> bool:
    """Write an overdue pending invitation as expired, audited; False if it is not overdue."""
    if not is_overdue(row.status, row.expires_at, now):
        return False
    after = invitation_after(row.status, InvitationEvent.EXPIRE)
    flipped = conn.execute(update(invitations).where(
        invitations.c.id == row.id, invitations.c.status == InvitationStatus.PENDING,
    ).values(status=after)).rowcount
    if flipped == 1:  # else a concurrent command wrote it first, with its own audit row
        record(conn, AuditEvent(now, "invitation", row.id, "expire", EXPIRY_ACTOR,
                                row.helper_id, row.beneficiary_id, InvitationStatus.PENDING,
                                after, {"expires_at": iso(row.expires_at)}))
    return True


def expire_overdue(ctx: Context, person_id: int | None = None) -> int:
    """Write every overdue invitation (involving one person, or all) as expired; returns
    how many. A scheduler may call it; no reader depends on it."""
    now = ctx.now()
    query = select(invitations).where(invitations.c.status == InvitationStatus.PENDING,
                                      invitations.c.expires_at <= now)
    if person_id is not None:
        query = query.where(or_(invitations.c.helper_id == person_id,
                                invitations.c.beneficiary_id == person_id))
    with ctx.read() as uow:
        overdue = uow.conn.execute(query.order_by(invitations.c.id)).all()
    return write_expiries(ctx, overdue, now)


def write_expiries(ctx: Context, rows: list[Row], now: datetime) -> int:
    """Expire the overdue ones among `rows` in one unit of work (none: no write at all)."""
    overdue = [r for r in rows if is_overdue(r.status, r.expires_at, now)]
    if not overdue:  # the common case stays a read, without the writer's lock
        return 0
    with ctx.uow() as uow:
        for row in overdue:
            expire_if_overdue(uow.conn, row, now)
        uow.commit()
    return len(overdue)


# --- listing ------------------------------------------------------------------------------------


def list_invitations(ctx: Context, psn_no: str) -> dict:
    """Everything the person sent and received, whatever its status, newest first; for a
    parent, "received" also holds invitations to their minor children."""
    now = ctx.now()
    with ctx.read() as uow:
        conn = uow.conn
        person = repo.known_person(conn, psn_no)
        children = minor_children(conn, person.id, now)
        sent = _rows(conn, invitations.c.helper_id == person.id)
        received = _rows(conn, or_(
            invitations.c.beneficiary_id == person.id,
            and_(invitations.c.beneficiary_id.in_(children),
                 invitations.c.helper_id != person.id)))
        people = repo.persons_by_ids(conn, [r.helper_id for r in received]
                                     + [r.beneficiary_id for r in sent + received])
    write_expiries(ctx, sent + received, now)
    return {"sent": [_item(r, people[r.beneficiary_id], None, now) for r in sent],
            "received": [_received(r, people, person, now) for r in received]}


def _received(row: Row, people: dict, reader: Row, now: datetime) -> dict:
    """A received invitation; for a parent answering for a minor child, the relations are
    said of the child ("您的儿子 平*" and what the helper is to him)."""
    helper, beneficiary = people[row.helper_id], people[row.beneficiary_id]
    item = _item(row, helper, beneficiary, now, on_behalf=row.beneficiary_id != reader.id)
    item["relation_to_you"] = relation_to_you(row.relation, False, helper.certno)
    if item["for_minor"] is not None:
        item["for_minor"]["relation_to_you"] = relation_to_you("child", True,
                                                               beneficiary.certno)
    return item


def _rows(conn: Connection, condition) -> list[Row]:  # noqa: ANN001
    return list(conn.execute(select(invitations).where(condition)
                             .order_by(invitations.c.created_at.desc(), invitations.c.id.desc())
                             .limit(LIST_LIMIT)))


def _item(row: Row, counterpart: Row, beneficiary: Row | None, now: datetime, *,
          on_behalf: bool = False) -> dict:
    item = {"invitation_id": row.id, "status": status_seen(row.status, row.expires_at, now),
            "relation": row.relation, "counterpart_certno": mask_certno(counterpart.certno),
            "counterpart_name": mask_name(counterpart.psn_name), "expires_at": iso(row.expires_at),
            "channel": row.channel, "created_at": iso(row.created_at),
            "relation_to_you": relation_to_you(row.relation, True, counterpart.certno),
            "binding_id": row.binding_id}
    if beneficiary is not None:
        item["for_minor"] = ({"certno": mask_certno(beneficiary.certno),
                              "name": mask_name(beneficiary.psn_name)} if on_behalf else None)
    return item
