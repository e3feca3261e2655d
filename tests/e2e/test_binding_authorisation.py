"""Only the parties (or a clerk of either party's region) see or change a binding; anyone
else is told it does not exist, and nothing changes."""

from __future__ import annotations

from datetime import date

import pytest

from binding_family import Family, refused


@pytest.fixture
def fam(api):
    """格桑 (310) helps his wife 梅朵 (390); her sister has invited her; 路人 is nobody to
    them; a clerk of Ali and one of Baise."""
    f = Family(api)
    helper = f.person("helper", "格桑", credit="100.00")
    wife = f.person("wife", "梅朵", "390")
    f.person("stranger", "路人", credit="100.00")
    f.kin(helper, wife, "spouse")
    f.binding = f.bind(helper, wife, "spouse")
    sister = f.person("sister", "德吉", credit="20.00")
    f.kin(sister, wife, "sibling")
    f.invitation = f.invite(sister, wife, "sibling").json()["invitation_id"]
    f.ali_clerk = api.token("clerk", "clerk-ali", "542500")
    f.baise_clerk = api.token("clerk", "clerk-bs", "451000")
    return f


def everyone(fam: Family) -> list:
    return fam.snapshot(fam["helper"], fam["wife"], fam["stranger"], fam["sister"])


def test_the_parties_and_a_clerk_of_the_region_see_the_binding(api, fam):
    for token in (fam["helper"]["token"], fam["wife"]["token"], fam.ali_clerk):
        seen = api.get(f"/api/v1/bindings/{fam.binding}", token)
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert body["status"] == "active" and body["order"] == 1
        assert body["helper_name"] == "格*" and "*" in body["helper_certno"]
        assert body["beneficiary_name"] == "梅*"


def test_a_third_person_is_told_the_binding_does_not_exist_and_changes_nothing(api, fam):
    stranger = fam["stranger"]["token"]
    before = everyone(fam)
    missing = api.get("/api/v1/bindings/999999", stranger)
    refused(missing, 404, "BINDING_NOT_FOUND")
    theirs = api.get(f"/api/v1/bindings/{fam.binding}", stranger)
    assert theirs.status_code == 404 and theirs.json() == missing.json()
    refused(fam.unbind(stranger, fam.binding), 404, "BINDING_NOT_FOUND")
    refused(fam.order(fam["stranger"], [fam.binding]), 422, "ORDER_MISMATCH")
    for action in ("accept", "decline", "withdraw"):
        refused(fam.answer(fam["stranger"], fam.invitation, action), 404, "INVITATION_NOT_FOUND")
    assert fam.invitations(fam["stranger"]) == {"sent": [], "received": []}
    assert fam.bindings(fam["stranger"]) == {"as_helper": [], "as_beneficiary": []}
    assert everyone(fam) == before


def test_a_clerk_of_another_region_neither_sees_nor_unbinds(api, fam):
    before = everyone(fam)
    refused(api.get(f"/api/v1/bindings/{fam.binding}", fam.baise_clerk), 404,
            "BINDING_NOT_FOUND")
    refused(fam.unbind(fam.baise_clerk, fam.binding, {"documents_checked": True}), 404,
            "BINDING_NOT_FOUND")
    refused(api.post("/api/v1/bindings", {"helper_certno": fam["helper"]["certno"],
                                          "beneficiary_certno": fam["sister"]["certno"],
                                          "relation": "sibling", "documents_checked": True},
                     fam.baise_clerk), 404, "PERSON_NOT_FOUND")  # as an unknown ID number
    assert everyone(fam) == before


def test_a_clerk_may_unbind_when_either_party_is_of_the_clerks_region(api, fam):
    moved = fam.person("cousin", "达娃", "390", region="451000", born=date(1990, 3, 3))
    fam.kin(fam["helper"], moved, "sibling")
    binding_id = fam.bind(fam["helper"], moved, "sibling")
    done = fam.unbind(fam.baise_clerk, binding_id, {"documents_checked": True})
    assert done.status_code == 200 and done.json()["status"] == "unbound"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/invitations", {"beneficiary_certno": "x", "beneficiary_name": "x",
                                     "relation": "spouse", "channel": "national_app"}),
    ("GET", "/api/v1/invitations", None),
    ("POST", "/api/v1/invitations/1/accept", None),
    ("POST", "/api/v1/invitations/1/withdraw", None),
    ("PUT", "/api/v1/deduction-order", {"binding_ids": [1]}),
    ("GET", "/api/v1/bindings/1", None),
    ("DELETE", "/api/v1/bindings/1", None),
])
def test_other_roles_are_forbidden_from_a_persons_binding_calls(api, fam, method, path, body):
    institution = api.post("/api/v1/institutions", {"fixmedins_code": "H7",
                                                    "fixmedins_name": "医院",
                                                    "fixmedins_type": "hospital",
                                                    "admdvs": "542500"})
    assert institution.status_code == 201
    before = everyone(fam)
    callers = [api.token("institution", "H7")]
    if path != "/api/v1/bindings/1":  # a clerk may see and unbind, but not act as a person
        callers += [fam.ali_clerk, None]  # None: the operator
    for token in callers:
        headers = api.as_(token) if token else api.admin
        response = api.client.request(method, path, json=body, headers=headers)
        refused(response, 403, "FORBIDDEN")
    refused(api.client.request(method, path, json=body), 401, "UNAUTHENTICATED")
    assert everyone(fam) == before


def test_someone_elses_invitation_looks_exactly_like_a_missing_one(api, fam):
    missing = fam.answer(fam["stranger"], 999999, "accept")
    theirs = fam.answer(fam["stranger"], fam.invitation, "accept")
    assert missing.status_code == theirs.status_code == 404
    assert missing.json() == theirs.json()


def test_the_helper_sees_only_masked_counterparts(api, fam):
    helper_side = fam.bindings(fam["helper"])["as_helper"]
    wife = fam["wife"]
    masked = wife["certno"][:6] + "*" * 8 + wife["certno"][-4:]
    assert helper_side[0]["counterpart_certno"] == masked
    assert helper_side[0]["counterpart_name"] == "梅*"
    sent = fam.invitations(fam["sister"])["sent"][0]
    assert sent["counterpart_name"] == "梅*" and wife["certno"] not in str(sent)
