"""The binding and invitation state machines: every move allowed or refused, expiry, and
who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from gongji.domain.errors import DomainError
from gongji.domain.lifecycle import (
    BindingEvent,
    BindingStatus,
    InvitationEvent,
    InvitationParties,
    InvitationStatus,
    binding_after,
    binding_side,
    clerk_may_act,
    expiry_of,
    initial_invitation_status,
    invitation_after,
    is_overdue,
    new_order,
    positions,
    status_seen,
)

ALLOWED_INVITATION_MOVES = {
    ("pending", "accept"): "active",
    ("pending", "decline"): "declined",
    ("pending", "withdraw"): "withdrawn",
    ("pending", "expire"): "expired",
}
ALLOWED_BINDING_MOVES = {("active", "unbind"): "unbound", ("active", "end"): "ended"}


def code_of(call) -> str:  # noqa: ANN001
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


@pytest.mark.parametrize(("status", "event"), list(product(InvitationStatus, InvitationEvent)))
def test_an_invitation_moves_only_from_pending(status, event):
    expected = ALLOWED_INVITATION_MOVES.get((status.value, event.value))
    if expected is None:
        assert code_of(lambda: invitation_after(status, event)) == "INVITATION_NOT_PENDING"
    else:
        assert invitation_after(status, event) == expected


@pytest.mark.parametrize(("status", "event"), list(product(BindingStatus, BindingEvent)))
def test_a_binding_moves_only_from_active(status, event):
    expected = ALLOWED_BINDING_MOVES.get((status.value, event.value))
    if expected is None:
        assert code_of(lambda: binding_after(status, event)) == "BINDING_NOT_ACTIVE"
    else:
        assert binding_after(status, event) == expected


def test_every_allowed_move_is_listed_and_nothing_else():
    allowed_inv = {(s.value, e.value) for s, e in product(InvitationStatus, InvitationEvent)
                   if _allowed(invitation_after, s, e)}
    allowed_bind = {(s.value, e.value) for s, e in product(BindingStatus, BindingEvent)
                    if _allowed(binding_after, s, e)}
    assert allowed_inv == set(ALLOWED_INVITATION_MOVES)
    assert allowed_bind == set(ALLOWED_BINDING_MOVES)


def _allowed(move, status, event) -> bool:  # noqa: ANN001
    try:
        move(status, event)
    except DomainError:
        return False
    return True


@pytest.mark.parametrize(("status", "event"), [("bogus", "accept"), ("pending", "approve"),
                                               ("", ""), ("PENDING", "accept")])
def test_unknown_invitation_states_and_events_are_refused(status, event):
    assert code_of(lambda: invitation_after(status, event)) == "INVITATION_NOT_PENDING"


@pytest.mark.parametrize(("status", "event"), [("bogus", "unbind"), ("active", "delete"),
                                               ("ACTIVE", "unbind")])
def test_unknown_binding_states_and_events_are_refused(status, event):
    assert code_of(lambda: binding_after(status, event)) == "BINDING_NOT_ACTIVE"


def test_the_refusal_message_names_the_status_in_chinese():
    with pytest.raises(DomainError) as caught:
        invitation_after("declined", "accept")
    assert "已拒绝" in caught.value.message and caught.value.status == 409


def test_a_parents_invitation_to_a_minor_child_is_born_active():
    assert initial_invitation_status(True) == "active"
    assert initial_invitation_status(False) == "pending"


T0 = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


def test_an_invitation_expires_exactly_at_its_expiry_moment():
    expires = expiry_of(T0, 7)
    assert expires == T0 + timedelta(days=7)
    assert not is_overdue("pending", expires, expires - timedelta(microseconds=1))
    assert is_overdue("pending", expires, expires)
    assert status_seen("pending", expires, expires) == "expired"
    assert status_seen("pending", expires, T0) == "pending"


@pytest.mark.parametrize("status", ["active", "declined", "withdrawn", "expired"])
def test_an_answered_invitation_never_turns_expired(status):
    late = T0 + timedelta(days=400)
    assert not is_overdue(status, T0, late)
    assert status_seen(status, T0, late) == status


HELPER, CHILD, MOTHER, FATHER, STRANGER = 1, 2, 3, 4, 5


def minor_invitation() -> InvitationParties:
    return InvitationParties(HELPER, CHILD, True, frozenset({MOTHER, FATHER}))


def adult_invitation() -> InvitationParties:
    return InvitationParties(HELPER, CHILD, False, frozenset({MOTHER, FATHER}))


def test_a_minor_cannot_confirm_but_a_registered_parent_can():
    parties = minor_invitation()
    assert code_of(lambda: parties.answering_as(CHILD)) == "MINOR_CANNOT_CONFIRM"
    assert parties.answering_as(MOTHER) == "parent"
    assert parties.answering_as(FATHER) == "parent"


def test_an_adult_answers_alone_and_their_parents_neither_see_nor_answer():
    parties = adult_invitation()
    assert parties.answering_as(CHILD) == "beneficiary"
    assert not parties.may_see(MOTHER)
    assert code_of(lambda: parties.answering_as(MOTHER)) == "FORBIDDEN"


@pytest.mark.parametrize("parties", [minor_invitation(), adult_invitation()])
def test_the_helper_cannot_answer_their_own_invitation_and_a_stranger_sees_nothing(parties):
    assert code_of(lambda: parties.answering_as(HELPER)) == "FORBIDDEN"
    assert code_of(lambda: parties.answering_as(STRANGER)) == "FORBIDDEN"
    assert parties.may_see(HELPER) and parties.may_see(CHILD)
    assert not parties.may_see(STRANGER)


def test_a_parent_who_is_the_helper_may_confirm_for_their_minor_child():
    parties = InvitationParties(MOTHER, CHILD, True, frozenset({MOTHER}))
    assert parties.answering_as(MOTHER) == "parent"


def test_only_the_helper_withdraws():
    parties = minor_invitation()
    assert parties.withdrawing_as(HELPER) == "helper"
    for other in (CHILD, MOTHER, STRANGER):
        assert code_of(lambda o=other: parties.withdrawing_as(o)) == "FORBIDDEN"


def test_binding_sides_and_clerk_regions():
    assert binding_side(HELPER, HELPER, CHILD) == "helper"
    assert binding_side(CHILD, HELPER, CHILD) == "beneficiary"
    assert binding_side(STRANGER, HELPER, CHILD) is None
    assert clerk_may_act("542500", "542500", "451000")
    assert clerk_may_act("451000", "542500", "451000")
    assert not clerk_may_act("451000", "542500", "542500")
    assert not clerk_may_act(None, "542500", "542500")


def test_a_new_order_names_every_active_binding_exactly_once():
    assert new_order([10, 11, 12], [12, 10, 11]) == [12, 10, 11]
    assert new_order([], []) == []
    assert positions([12, 10, 11]) == {12: 1, 10: 2, 11: 3}


@pytest.mark.parametrize("proposed", [[10, 11], [10, 11, 12, 13], [10, 10, 11, 12],
                                      [10, 11, 11], [], [12, 11, 99]])
def test_an_order_that_misses_repeats_or_adds_a_binding_is_refused(proposed):
    assert code_of(lambda: new_order([10, 11, 12], proposed)) == "ORDER_MISMATCH"
