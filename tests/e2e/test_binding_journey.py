"""The whole binding journey over HTTP: invite → accept → order → settle → reorder → settle →
unbind → settle (helper not charged) → reverse an earlier settlement (helper refunded), and
the audit log it leaves."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from binding_family import Family, refused
from support import ok


@pytest.fixture
def family(api):
    """A mother (390) and her two children (310, each 500 yuan); a pharmacy in Ali."""
    fam = Family(api)
    mother = fam.person("mother", "次仁央宗", "390", born=date(1955, 3, 1))
    son = fam.person("son", "扎西", credit="500.00")
    daughter = fam.person("daughter", "卓玛", credit="500.00")
    fam.kin(son, mother, "parent")
    fam.kin(daughter, mother, "parent")
    created = api.post("/api/v1/institutions", {"fixmedins_code": "P1", "fixmedins_name": "药房",
                                                "fixmedins_type": "pharmacy", "admdvs": "542500"})
    assert created.status_code == 201
    fam.pharmacy = api.token("institution", "P1")
    return fam


def settle(api, fam: Family, msgid: str) -> dict:  # noqa: ANN001
    mother = fam["mother"]
    bill = {"psn_no": mother["psn_no"], "mdtrt_cert_type": "02",
            "mdtrt_cert_no": mother["certno"], "medfee_sumamt": "100.00",
            "fulamt_ownpay_amt": "100.00", "overlmt_selfpay": "0", "preselfpay_amt": "0",
            "inscp_scp_amt": "0", "acct_used_flag": "1", "insutype": "390"}
    return ok(api.gateway(fam.pharmacy, "P1", "2102", bill, msgid))


def reverse(api, fam: Family, setl: dict, msgid: str) -> dict:  # noqa: ANN001
    data = {"setl_id": setl["setlinfo"]["setl_id"], "psn_no": fam["mother"]["psn_no"]}
    return ok(api.gateway(fam.pharmacy, "P1", "2103", data, msgid))


def balances(api, fam: Family) -> tuple[float, float]:  # noqa: ANN001
    return tuple(api.get("/api/v1/account", fam[k]["token"]).json()["balance"]
                 for k in ("son", "daughter"))


def drawn_from(setl: dict) -> dict[str, float]:
    return {line["helper_psn_no"]: line["amount"] for line in setl["mulaid_detail"]}


def test_the_whole_journey_from_invitation_to_a_refund_after_unbinding(api, family):
    fam, son, daughter, mother = family, family["son"], family["daughter"], family["mother"]

    invited = fam.invite(son, mother, "parent", "national_app")
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert invitation["status"] == "pending"
    assert datetime.fromisoformat(invitation["expires_at"]).utcoffset().total_seconds() == 8 * 3600
    received = fam.invitations(mother)["received"]
    assert [(i["invitation_id"], i["status"], i["counterpart_name"]) for i in received] == [
        (invitation["invitation_id"], "pending", "扎*")]
    assert received[0]["counterpart_certno"] == son["certno"][:6] + "********" + son["certno"][-4:]
    accepted = fam.answer(mother, invitation["invitation_id"], "accept",
                          {"channel": "mini_program"})
    assert accepted.status_code == 200, accepted.text
    son_binding = accepted.json()["binding_id"]
    assert accepted.json()["status"] == "active"
    daughter_binding = fam.bind(daughter, mother, "parent")

    # with no order set, activation time decides: the son first
    as_beneficiary = fam.bindings(mother)["as_beneficiary"]
    assert [(b["binding_id"], b["order"]) for b in as_beneficiary] == [(son_binding, 1),
                                                                      (daughter_binding, 2)]
    first = settle(api, fam, "S1")
    assert drawn_from(first) == {son["psn_no"]: 100}
    assert balances(api, fam) == (400, 500)

    reordered = fam.order(mother, [daughter_binding, son_binding])
    assert reordered.status_code == 200 and reordered.json()["binding_ids"] == [daughter_binding,
                                                                                son_binding]
    assert {b["binding_id"]: b["order"] for b in fam.bindings(mother)["as_beneficiary"]} == {
        daughter_binding: 1, son_binding: 2}
    second = settle(api, fam, "S2")
    assert drawn_from(second) == {daughter["psn_no"]: 100}
    assert balances(api, fam) == (400, 400)

    unbound = fam.unbind(daughter["token"], daughter_binding)  # the helper unbinds
    assert unbound.status_code == 200 and unbound.json()["status"] == "unbound"
    third = settle(api, fam, "S3")
    assert drawn_from(third) == {son["psn_no"]: 100}
    assert balances(api, fam) == (300, 400)

    unbound = fam.unbind(mother["token"], son_binding)  # the beneficiary unbinds
    assert unbound.status_code == 200 and unbound.json()["status"] == "unbound"
    fourth = settle(api, fam, "S4")
    assert fourth["setlinfo"]["acct_mulaid_pay"] == 0 and fourth["setlinfo"]["psn_cash_pay"] == 100
    assert balances(api, fam) == (300, 400)

    # refunds of earlier settlements still go back to the helper who paid, though unbound now
    refund = reverse(api, fam, second, "R2")
    assert drawn_from(refund) == {daughter["psn_no"]: -100}
    assert balances(api, fam) == (300, 500)
    reverse(api, fam, first, "R1")
    assert balances(api, fam) == (400, 500)

    sides = fam.bindings(mother)["as_beneficiary"]
    assert {(b["binding_id"], b["status"], b["order"]) for b in sides} == {
        (son_binding, "unbound", None), (daughter_binding, "unbound", None)}
    assert [b["status"] for b in fam.bindings(daughter)["as_helper"]] == ["unbound"]


def test_the_journey_leaves_an_audit_trail_the_operator_can_read(api, family):
    fam, son, daughter, mother = family, family["son"], family["daughter"], family["mother"]
    son_binding = fam.bind(son, mother, "parent")
    daughter_binding = fam.bind(daughter, mother, "parent")
    assert fam.order(mother, [daughter_binding, son_binding]).status_code == 200
    assert fam.unbind(son["token"], son_binding, {"channel": "kiosk"}).status_code == 200

    trail = [(e["entity"], e["action"], e["actor_role"], e["actor_id"], e["channel"],
              e["before"], e["after"]) for e in fam.audit(mother)]
    assert trail == [
        ("invitation", "invite", "person", son["psn_no"], "national_app", None, "pending"),
        ("binding", "activate", "person", mother["psn_no"], None, None, "active"),
        ("invitation", "accept", "person", mother["psn_no"], None, "pending", "active"),
        ("invitation", "invite", "person", daughter["psn_no"], "national_app", None, "pending"),
        ("binding", "activate", "person", mother["psn_no"], None, None, "active"),
        ("invitation", "accept", "person", mother["psn_no"], None, "pending", "active"),
        ("binding", "reorder", "person", mother["psn_no"], None, "2", "1"),
        ("binding", "reorder", "person", mother["psn_no"], None, "1", "2"),
        ("binding", "unbind", "person", son["psn_no"], "kiosk", "active", "unbound"),
    ]
    entries = fam.audit(mother)
    assert all(datetime.fromisoformat(e["at"]).utcoffset().total_seconds() == 8 * 3600
               for e in entries)
    assert entries[-1]["detail"]["reason"] == "unbound_by_helper"
    assert entries[2]["detail"] == {"binding_id": son_binding, "as": "beneficiary",
                                    "verification": "registry"}
    # the son's own log holds only what concerns him
    assert [e["action"] for e in fam.audit(son)] == ["invite", "activate", "accept", "reorder",
                                                     "unbind"]


def test_the_audit_log_pages_with_a_cursor_and_is_the_operators_alone(api, family):
    fam, son, mother = family, family["son"], family["mother"]
    fam.bind(son, mother, "parent")
    path = f"/api/v1/persons/{mother['psn_no']}/audit"
    first = api.get(f"{path}?limit=2").json()
    assert len(first["entries"]) == 2 and first["next_cursor"] == first["entries"][-1]["id"]
    rest = api.get(f"{path}?limit=2&cursor={first['next_cursor']}").json()
    assert [e["action"] for e in first["entries"] + rest["entries"]] == ["invite", "activate",
                                                                          "accept"]
    assert rest["next_cursor"] is None
    refused(api.get(path, son["token"]), 403, "FORBIDDEN")
    refused(api.get("/api/v1/persons/nobody/audit"), 404, "PERSON_NOT_FOUND")
    refused(api.get(f"{path}?limit=0"), 422, "INVALID_INPUT")


def test_hall_unbinding_by_a_clerk_records_the_documents_checked(api, family):
    fam, son, mother = family, family["son"], family["mother"]
    binding_id = fam.bind(son, mother, "parent")
    clerk = api.token("clerk", "clerk-9", "542500")
    refused(fam.unbind(clerk, binding_id), 422, "DOCUMENTS_NOT_CHECKED")
    refused(fam.unbind(clerk, binding_id, {"documents_checked": False}), 422,
            "DOCUMENTS_NOT_CHECKED")
    seen = api.get(f"/api/v1/bindings/{binding_id}", clerk)
    assert seen.status_code == 200 and seen.json()["status"] == "active"
    done = fam.unbind(clerk, binding_id, {"documents_checked": True, "note": "双方到场"})
    assert done.status_code == 200 and done.json()["status"] == "unbound"
    last = fam.audit(mother)[-1]
    assert (last["action"], last["actor_role"], last["actor_id"], last["channel"]) == (
        "unbind", "clerk", "clerk-9", "hall")
    assert last["detail"]["reason"] == "unbound_at_hall"
    assert last["detail"]["documents"] == {
        "checked": ["helper_id_card", "helper_ss_card", "beneficiary_id_card",
                    "beneficiary_ss_card"], "clerk_id": "clerk-9", "note": "双方到场"}
    ended = api.get(f"/api/v1/bindings/{binding_id}", son["token"]).json()
    assert ended["status"] == "unbound" and ended["ended_reason"] == "unbound_at_hall"
    assert ended["ended_at"] is not None
