"""The life of an invitation and of a binding (SPEC §2, §3, §7), as pure rules.

    invitation  pending ─accept→ active │ ─decline→ declined │ ─withdraw→ withdrawn
                        ─expire→ expired
                (born active when the helper is the registered parent of a minor)
    binding     active ─unbind→ unbound │ ─end→ ended   (ended: by a policy rule)

Every other move is refused with a code; the states after the arrows are final.
Who may make which move is decided here too, from plain person ids, so the rules
can be read and tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gongji.domain.errors import refuse


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class InvitationEvent(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    EXPIRE = "expire"


class BindingStatus(StrEnum):
    ACTIVE = "active"
    UNBOUND = "unbound"
    ENDED = "ended"


class BindingEvent(StrEnum):
    UNBIND = "unbind"
    END = "end"


INVITATION_MOVES: dict[tuple[str, str], str] = {
    (InvitationStatus.PENDING, InvitationEvent.ACCEPT): InvitationStatus.ACTIVE,
    (InvitationStatus.PENDING, InvitationEvent.DECLINE): InvitationStatus.DECLINED,
    (InvitationStatus.PENDING, InvitationEvent.WITHDRAW): InvitationStatus.WITHDRAWN,
    (InvitationStatus.PENDING, InvitationEvent.EXPIRE): InvitationStatus.EXPIRED,
}

BINDING_MOVES: dict[tuple[str, str], str] = {
    (BindingStatus.ACTIVE, BindingEvent.UNBIND): BindingStatus.UNBOUND,
    (BindingStatus.ACTIVE, BindingEvent.END): BindingStatus.ENDED,
}


def invitation_after(status: str, event: str) -> InvitationStatus:
    """The invitation's next status, or INVITATION_NOT_PENDING."""
    after = INVITATION_MOVES.get((status, event))
    if after is None:
        raise refuse("INVITATION_NOT_PENDING", _STATUS_ZH.get(status, str(status)))
    return InvitationStatus(after)


def binding_after(status: str, event: str) -> BindingStatus:
    """The binding's next status, or BINDING_NOT_ACTIVE."""
    after = BINDING_MOVES.get((status, event))
    if after is None:
        raise refuse("BINDING_NOT_ACTIVE", _STATUS_ZH.get(status, str(status)))
    return BindingStatus(after)


_STATUS_ZH = {InvitationStatus.PENDING: "待确认", InvitationStatus.ACTIVE: "已生效",
              InvitationStatus.DECLINED: "已拒绝", InvitationStatus.WITHDRAWN: "已撤回",
              InvitationStatus.EXPIRED: "已过期", BindingStatus.UNBOUND: "已解绑",
              BindingStatus.ENDED: "已终止"}


def initial_invitation_status(helper_is_parent_of_minor: bool) -> InvitationStatus:
    """A registered parent inviting their minor child needs no second confirmation."""
    return InvitationStatus.ACTIVE if helper_is_parent_of_minor else InvitationStatus.PENDING


# --- expiry: applied lazily, so every reader must judge an invitation the same way ----------


def expiry_of(created_at: datetime, expiry_days: int) -> datetime:
    return created_at + timedelta(days=expiry_days)


def is_overdue(status: str, expires_at: datetime, now: datetime) -> bool:
    """Pending at or past its expiry moment: expired, whether or not it is written yet."""
    return status == InvitationStatus.PENDING and now >= expires_at


def status_seen(status: str, expires_at: datetime, now: datetime) -> str:
    return InvitationStatus.EXPIRED if is_overdue(status, expires_at, now) else status


# --- who may do what --------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationParties:
    """Who an invitation concerns. `parent_ids` are the beneficiary's registered parents;
    they count only while the beneficiary is a minor."""

    helper_id: int
    beneficiary_id: int
    beneficiary_is_minor: bool
    parent_ids: frozenset[int] = frozenset()

    def _is_guardian(self, person_id: int) -> bool:
        return self.beneficiary_is_minor and person_id in self.parent_ids

    def may_see(self, person_id: int) -> bool:
        return person_id in (self.helper_id, self.beneficiary_id) or self._is_guardian(person_id)

    def answering_as(self, person_id: int) -> str:
        """'beneficiary' or 'parent' for whoever may accept or decline; refused otherwise."""
        if self._is_guardian(person_id):
            return "parent"
        if person_id == self.beneficiary_id:
            if self.beneficiary_is_minor:
                raise refuse("MINOR_CANNOT_CONFIRM")
            return "beneficiary"
        raise refuse("FORBIDDEN", "邀请须由被邀请人（或未成年人登记的父母）确认")

    def withdrawing_as(self, person_id: int) -> str:
        if person_id != self.helper_id:
            raise refuse("FORBIDDEN", "只有邀请人可以撤回邀请")
        return "helper"


def binding_side(person_id: int, helper_id: int, beneficiary_id: int) -> str | None:
    """'helper' or 'beneficiary' for a party of the binding, None for anyone else."""
    if person_id == helper_id:
        return "helper"
    if person_id == beneficiary_id:
        return "beneficiary"
    return None


def clerk_may_act(clerk_admdvs: str | None, helper_admdvs: str, beneficiary_admdvs: str) -> bool:
    """A hall serves the persons of its region: a clerk may act on a binding when either
    party belongs to the clerk's region (unbinding removes rights, it never grants them)."""
    return clerk_admdvs is not None and clerk_admdvs in (helper_admdvs, beneficiary_admdvs)


# --- deduction order ----------------------------------------------------------------------------


def new_order(active_ids: Iterable[int], proposed: Sequence[int]) -> list[int]:
    """The beneficiary's new order: every active binding named exactly once, nothing else."""
    active = set(active_ids)
    if len(proposed) != len(set(proposed)) or set(proposed) != active:
        raise refuse("ORDER_MISMATCH")
    return list(proposed)


def positions(ids: Sequence[int]) -> dict[int, int]:
    """Display positions, 1 = charged first."""
    return {binding_id: pos for pos, binding_id in enumerate(ids, start=1)}
