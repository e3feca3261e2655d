"""Binding lifecycle over REST: invitations, deduction order, one binding, unbinding, and
the operator's audit log of a person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from gongji.api.auth import Operator, Person, Principal, require
from gongji.api.deps import Ctx, actor_of
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.schemas import ChannelIn, InvitationIn, OrderIn, QuotaIn, UnbindIn
from gongji.services.binding import audit_trail, invitations, quota, unbinding
from gongji.services.binding import bindings as binding

router = APIRouter(prefix="/api/v1", tags=["binding"], route_class=ExactJSONRoute)

PartyOrClerk = Annotated[Principal, Depends(require("person", "clerk"))]
InvitationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
BindingId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/invitations", status_code=201)
def invite(body: InvitationIn, caller: Person, ctx: Ctx) -> dict:
    """发起绑定邀请 by the helper; a registered parent's invitation to a minor child is active
    at once."""
    return invitations.invite(ctx, caller.subject, body.data())


@router.get("/invitations")
def my_invitations(caller: Person, ctx: Ctx) -> dict:
    return invitations.list_invitations(ctx, caller.subject)


@router.post("/invitations/{invitation_id}/accept")
def accept(invitation_id: InvitationId, caller: Person, ctx: Ctx,
           body: ChannelIn | None = None) -> dict:
    """接受邀请 by the beneficiary, or the registered parent of a minor beneficiary."""
    return invitations.accept(ctx, caller.subject, invitation_id, _channel(body))


@router.post("/invitations/{invitation_id}/decline")
def decline(invitation_id: InvitationId, caller: Person, ctx: Ctx,
            body: ChannelIn | None = None) -> dict:
    return invitations.decline(ctx, caller.subject, invitation_id, _channel(body))


@router.post("/invitations/{invitation_id}/withdraw")
def withdraw(invitation_id: InvitationId, caller: Person, ctx: Ctx,
             body: ChannelIn | None = None) -> dict:
    return invitations.withdraw(ctx, caller.subject, invitation_id, _channel(body))


@router.put("/deduction-order")
def deduction_order(body: OrderIn, caller: Person, ctx: Ctx) -> dict:
    """扣款顺序: every active binding of the caller as beneficiary, first = charged first."""
    return binding.set_order(ctx, caller.subject, body.binding_ids, body.channel)


@router.get("/bindings/{binding_id}")
def one_binding(binding_id: BindingId, caller: PartyOrClerk, ctx: Ctx) -> dict:
    return binding.get_binding(ctx, binding_id, actor_of(caller))


@router.delete("/bindings/{binding_id}")
def unbind(binding_id: BindingId, caller: PartyOrClerk, ctx: Ctx,
           body: UnbindIn | None = None) -> dict:
    """解绑 by either party, or by a clerk with `documents_checked: true`."""
    data = body.data() if body else {}
    return unbinding.unbind(ctx, binding_id, actor_of(caller, data.get("channel")), data)


@router.put("/bindings/{binding_id}/quota")
def set_quota(binding_id: BindingId, body: QuotaIn, caller: Person, ctx: Ctx) -> dict:
    """共济额度 by the binding's helper, where the helper's region policy enables it: the
    relative draws at most what remains of it, and it is reserved from the helper's own use."""
    return quota.set_quota(ctx, caller.subject, binding_id, body.data())


@router.get("/persons/{psn_no}/audit")
def person_audit(psn_no: str, caller: Operator, ctx: Ctx,
                 cursor: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                 limit: Annotated[int, Query(ge=1, le=audit_trail.PAGE_MAX)] = 100) -> dict:
    """Every change of the person's bindings and invitations, oldest first."""
    return audit_trail.person_audit(ctx, psn_no, cursor, limit)


def _channel(body: ChannelIn | None) -> str | None:
    return body.channel if body else None
