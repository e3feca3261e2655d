"""Every refusal of the binding lifecycle over HTTP: a coded 4xx, and both parties' bindings,
invitations and balances exactly as before."""

from __future__ import annotations

from datetime import date

import pytest

from binding_family import Family, refused
from gongji.domain.idcard import make_certno
from gongji.services.clock import local_date
from policy_support import publish_http


@pytest.fixture
def fam(api):
    """An Ali household: 强巴 (310, 100 yuan) and his wife 央金 (390), registered as spouses."""
    f = Family(api)
    helper = f.person("helper", "强巴", credit="100.00")
    wife = f.person("wife", "央金", "390")
    f.kin(helper, wife, "spouse")
    return f


# --- inviting -----------------------------------------------------------------------------------

INVITE_REFUSALS = [
    # (case, body change, status, code)
    ("ID number with a wrong check digit", "bad_check_digit", 422, "INVALID_CERTNO"),
    # an unknown ID number answers as any person the registry does not tie to the helper
    ("ID number nobody holds", "unknown_certno", 422, "KINSHIP_NOT_VERIFIED"),
    ("name that is not the registered one", {"beneficiary_name": "央宗"}, 422, "NAME_MISMATCH"),
    ("relation outside the closed set", {"relation": "cousin"}, 422, "INVALID_INPUT"),
    ("relation the registry contradicts", {"relation": "sibling"}, 422, "KINSHIP_NOT_VERIFIED"),
    ("the service hall as an online channel", {"channel": "hall"}, 422, "CHANNEL_NOT_ALLOWED"),
    ("a channel Ali does not offer", {"channel": "wechat"}, 422, "CHANNEL_NOT_ALLOWED"),
    ("an unknown channel", {"channel": "fax"}, 422, "CHANNEL_NOT_ALLOWED"),
    ("no channel", {"channel": None}, 422, "INVALID_INPUT"),
]


@pytest.mark.parametrize(("case", "change", "status", "code"), INVITE_REFUSALS,
                         ids=[r[0] for r in INVITE_REFUSALS])
def test_a_bad_invitation_is_refused_with_a_code_and_changes_nothing(api, fam, case, change,
                                                                     status, code):
    helper, wife = fam["helper"], fam["wife"]
    body = {"beneficiary_certno": wife["certno"], "beneficiary_name": wife["psn_name"],
            "relation": "spouse", "channel": "national_app"}
    if change == "bad_check_digit":
        last = wife["certno"][-1]
        change = {"beneficiary_certno": wife["certno"][:-1] + ("1" if last != "1" else "2")}
    elif change == "unknown_certno":
        change = {"beneficiary_certno": make_certno("542521", date(1979, 9, 9), 998)}
    body = {k: v for k, v in (body | change).items() if v is not None}
    before = fam.snapshot(helper, wife)
    refused(api.post("/api/v1/invitations", body, helper["token"]), status, code)
    assert fam.snapshot(helper, wife) == before


def test_inviting_oneself_is_refused(api, fam):
    helper = fam["helper"]
    before = fam.snapshot(helper)
    refused(fam.invite(helper, helper, "spouse"), 422, "SELF_BINDING")
    assert fam.snapshot(helper) == before


def test_a_relative_missing_from_the_registry_cannot_be_invited(api, fam):
    cousin = fam.person("cousin", "次旦", "390")
    before = fam.snapshot(fam["helper"], cousin)
    refused(fam.invite(fam["helper"], cousin, "sibling"), 422, "KINSHIP_NOT_VERIFIED")
    assert fam.snapshot(fam["helper"], cousin) == before


def test_a_relation_the_policy_does_not_admit_is_refused(api, fam, clock):
    grandchild = fam.person("grandchild", "格桑", "390", born=date(2001, 5, 5))
    fam.kin(fam["helper"], grandchild, "grandchild")
    publish_http(api, "542500", {"admitted_relations": [
        "spouse", "parent", "child", "sibling", "grandparent"]}, local_date(clock()))
    before = fam.snapshot(fam["helper"], grandchild)
    refused(fam.invite(fam["helper"], grandchild, "grandchild"), 422, "RELATION_NOT_ADMITTED")
    assert fam.snapshot(fam["helper"], grandchild) == before


@pytest.mark.parametrize(("case", "helper_kwargs", "after", "detail"), [
    ("a resident (390) member has no account to share", {"insutype": "390"}, {}, "职工医保"),
    ("an Ali helper with a zero balance", {}, {}, "余额"),
    ("a frozen account", {"credit": "10.00"}, {"account_status": "frozen"}, "账户状态"),
    ("suspended insurance", {"credit": "10.00"}, {"psn_insu_stas": "2"}, "参保状态"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_an_ineligible_helper_is_refused(api, fam, case, helper_kwargs, after, detail):
    helper = fam.person("sister", "德吉", **helper_kwargs)
    fam.kin(helper, fam["wife"], "sibling")
    if after:
        fam.patch(helper, **after)
    before = fam.snapshot(helper, fam["wife"])
    response = fam.invite(helper, fam["wife"], "sibling")
    refused(response, 422, "HELPER_NOT_ELIGIBLE")
    assert detail in response.json()["message"]
    assert fam.snapshot(helper, fam["wife"]) == before


def test_a_beneficiary_whose_insurance_is_suspended_is_refused(api, fam):
    fam.patch(fam["wife"], psn_insu_stas="2")
    before = fam.snapshot(fam["helper"], fam["wife"])
    refused(fam.invite(fam["helper"], fam["wife"], "spouse"), 422, "BENEFICIARY_NOT_ELIGIBLE")
    assert fam.snapshot(fam["helper"], fam["wife"]) == before


def test_a_second_active_binding_for_the_same_pair_is_refused_but_the_reverse_pair_is_not(
        api, fam):
    helper, wife = fam["helper"], fam["wife"]
    fam.bind(helper, wife, "spouse")
    before = fam.snapshot(helper, wife)
    refused(fam.invite(helper, wife, "spouse"), 409, "BINDING_EXISTS")
    assert fam.snapshot(helper, wife) == before
    # the pair is directed: a wife with her own account may help her husband too
    earner = fam.person("earner", "拉姆", credit="50.00")
    fam.kin(earner, helper, "spouse")
    fam.bind(earner, helper, "spouse")
    fam.bind(helper, earner, "spouse")
    assert len(fam.bindings(helper)["as_helper"]) == 2
    assert len(fam.bindings(helper)["as_beneficiary"]) == 1


def test_a_second_pending_invitation_for_the_same_pair_is_refused(api, fam):
    helper, wife = fam["helper"], fam["wife"]
    assert fam.invite(helper, wife, "spouse").status_code == 201
    before = fam.snapshot(helper, wife)
    refused(fam.invite(helper, wife, "spouse", "mini_program"), 409, "INVITATION_EXISTS")
    assert fam.snapshot(helper, wife) == before


# --- answering ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [
    ("accept", "accept"), ("accept", "decline"), ("accept", "withdraw"),
    ("decline", "accept"), ("decline", "decline"), ("decline", "withdraw"),
    ("withdraw", "accept"), ("withdraw", "decline"), ("withdraw", "withdraw"),
])
def test_an_invitation_that_is_no_longer_pending_cannot_be_answered_again(api, fam, first,
                                                                          second):
    helper, wife = fam["helper"], fam["wife"]
    invitation_id = fam.invite(helper, wife, "spouse").json()["invitation_id"]
    actor = {"withdraw": helper}.get(first, wife)
    assert fam.answer(actor, invitation_id, first).status_code == 200
    before = fam.snapshot(helper, wife)
    refused(fam.answer(helper if second == "withdraw" else wife, invitation_id, second),
            409, "INVITATION_NOT_PENDING")
    assert fam.snapshot(helper, wife) == before


def test_an_unanswered_invitation_expires_after_the_policy_days(api, fam, clock):
    helper, wife = fam["helper"], fam["wife"]
    invitation_id = fam.invite(helper, wife, "spouse").json()["invitation_id"]
    clock.advance(days=7, seconds=-1)
    assert fam.invitations(wife)["received"][0]["status"] == "pending"
    clock.advance(seconds=1)
    assert fam.invitations(wife)["received"][0]["status"] == "expired"
    assert fam.invitations(helper)["sent"][0]["status"] == "expired"
    before = fam.snapshot(helper, wife)
    for who, action in ((wife, "accept"), (wife, "decline"), (helper, "withdraw")):
        refused(fam.answer(who, invitation_id, action), 409, "INVITATION_NOT_PENDING")
    assert fam.snapshot(helper, wife) == before
    expiries = [e for e in fam.audit(wife) if e["action"] == "expire"]
    assert [(e["actor_role"], e["before"], e["after"]) for e in expiries] == [
        ("system", "pending", "expired")]
    # once expired, the helper may invite again
    again = fam.invite(helper, wife, "spouse")
    assert again.status_code == 201 and again.json()["status"] == "pending"


def test_eligibility_is_checked_again_at_acceptance(api, fam):
    helper, wife = fam["helper"], fam["wife"]
    invitation_id = fam.invite(helper, wife, "spouse").json()["invitation_id"]
    fam.patch(helper, account_status="frozen")
    before = fam.snapshot(helper, wife)
    refused(fam.answer(wife, invitation_id, "accept"), 422, "HELPER_NOT_ELIGIBLE")
    assert fam.snapshot(helper, wife) == before
    assert fam.invitations(wife)["received"][0]["status"] == "pending"
    fam.patch(helper, account_status="normal")
    assert fam.answer(wife, invitation_id, "accept").status_code == 200


def test_a_binding_made_at_the_hall_meanwhile_makes_acceptance_a_conflict(api, fam):
    helper, wife = fam["helper"], fam["wife"]
    invitation_id = fam.invite(helper, wife, "spouse").json()["invitation_id"]
    clerk = api.token("clerk", "clerk-1", "542500")
    hall = api.post("/api/v1/bindings", {"helper_certno": helper["certno"],
                                         "beneficiary_certno": wife["certno"],
                                         "relation": "spouse", "documents_checked": True}, clerk)
    assert hall.status_code == 201
    before = fam.snapshot(helper, wife)
    refused(fam.answer(wife, invitation_id, "accept"), 409, "BINDING_EXISTS")
    assert fam.snapshot(helper, wife) == before


def test_the_helper_cannot_accept_and_the_invitee_cannot_withdraw(api, fam):
    helper, wife = fam["helper"], fam["wife"]
    invitation_id = fam.invite(helper, wife, "spouse").json()["invitation_id"]
    before = fam.snapshot(helper, wife)
    refused(fam.answer(helper, invitation_id, "accept"), 403, "FORBIDDEN")
    refused(fam.answer(helper, invitation_id, "decline"), 403, "FORBIDDEN")
    refused(fam.answer(wife, invitation_id, "withdraw"), 403, "FORBIDDEN")
    refused(fam.answer(wife, invitation_id, "accept", {"channel": "hall"}), 422,
            "CHANNEL_NOT_ALLOWED")
    assert fam.snapshot(helper, wife) == before


# --- minors -------------------------------------------------------------------------------------


@pytest.fixture
def minor(api, fam):
    """A boy of ten, his registered mother (310) and grandfather (310)."""
    boy = fam.person("boy", "平措", "390", born=date(2015, 4, 4))
    mother = fam.person("mother", "卓嘎", credit="80.00")
    grandpa = fam.person("grandpa", "多吉", credit="60.00", born=date(1950, 2, 2))
    fam.kin(mother, boy, "child")
    fam.kin(grandpa, boy, "grandchild")
    return fam


def test_a_minor_cannot_confirm_and_the_registered_parent_confirms_for_them(api, minor):
    boy, mother, grandpa = minor["boy"], minor["mother"], minor["grandpa"]
    invited = minor.invite(grandpa, boy, "grandchild")
    assert invited.status_code == 201 and invited.json()["status"] == "pending"
    invitation_id = invited.json()["invitation_id"]
    before = minor.snapshot(boy, grandpa, mother)
    refused(minor.answer(boy, invitation_id, "accept"), 403, "MINOR_CANNOT_CONFIRM")
    refused(minor.answer(boy, invitation_id, "decline"), 403, "MINOR_CANNOT_CONFIRM")
    assert minor.snapshot(boy, grandpa, mother) == before

    for_mother = minor.invitations(mother)["received"]
    assert [(i["invitation_id"], i["for_minor"]["name"]) for i in for_mother] == [
        (invitation_id, "平*")]
    accepted = minor.answer(mother, invitation_id, "accept")
    assert accepted.status_code == 200
    assert [b["binding_id"] for b in minor.bindings(boy)["as_beneficiary"]] == [
        accepted.json()["binding_id"]]
    accept_entry = [e for e in minor.audit(boy) if e["action"] == "accept"][0]
    assert accept_entry["actor_id"] == mother["psn_no"]
    assert accept_entry["detail"]["as"] == "parent"


def test_a_registered_parent_inviting_their_minor_child_binds_at_once(api, minor):
    boy, mother = minor["boy"], minor["mother"]
    invited = minor.invite(mother, boy, "child", "mini_program")
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["status"] == "active" and body["binding_id"]
    assert [b["binding_id"] for b in minor.bindings(boy)["as_beneficiary"]] == [body["binding_id"]]
    assert minor.invitations(mother)["sent"][0]["status"] == "active"
    assert minor.invitations(mother)["received"] == []  # her own invitation is not hers to answer
    refused(minor.answer(mother, body["invitation_id"], "accept"), 409, "INVITATION_NOT_PENDING")
    invite_entry = minor.audit(boy)[0]
    assert (invite_entry["action"], invite_entry["before"], invite_entry["after"]) == (
        "invite", None, "active")
    assert invite_entry["detail"]["confirmed_by"] == "helper_as_registered_parent"


def test_an_adult_childs_invitations_are_not_their_parents_to_see_or_answer(api, fam):
    son = fam.person("son", "旺堆", "390", born=date(2000, 1, 1))
    fam.kin(fam["helper"], son, "child")
    mother = fam.person("mom", "白玛", credit="5.00")
    fam.kin(mother, son, "child")
    invitation_id = fam.invite(fam["helper"], son, "child").json()["invitation_id"]
    assert fam.invitations(mother)["received"] == []
    before = fam.snapshot(son, mother)
    refused(fam.answer(mother, invitation_id, "accept"), 404, "INVITATION_NOT_FOUND")
    assert fam.snapshot(son, mother) == before


# --- deduction order ----------------------------------------------------------------------------


@pytest.fixture
def two_helpers(api, fam):
    sister = fam.person("sister", "德吉", credit="30.00")
    fam.kin(sister, fam["wife"], "sibling")
    fam.first = fam.bind(fam["helper"], fam["wife"], "spouse")
    fam.second = fam.bind(sister, fam["wife"], "sibling")
    return fam


@pytest.mark.parametrize(("case", "ids"), [
    ("one left out", lambda f: [f.first]),
    ("one named twice", lambda f: [f.first, f.second, f.first]),
    ("a binding that is not hers", lambda f: [f.first, f.second, f.other]),
    ("an unbound binding", lambda f: [f.first, f.second, f.gone]),
    ("an id that does not exist", lambda f: [f.first, 999999]),
    ("nothing", lambda f: []),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_deduction_order_that_does_not_name_every_active_binding_once_is_refused(
        api, two_helpers, case, ids):
    fam = two_helpers
    stranger = fam.person("stranger", "路人", credit="9.00")
    kin = fam.person("kin", "亲戚", "390")
    fam.kin(stranger, kin, "sibling")
    fam.other = fam.bind(stranger, kin, "sibling")
    fam.kin(stranger, fam["wife"], "sibling")
    fam.gone = fam.bind(stranger, fam["wife"], "sibling")
    assert fam.unbind(stranger["token"], fam.gone).status_code == 200
    before = fam.snapshot(fam["wife"], fam["helper"], fam["sister"], stranger)
    refused(fam.order(fam["wife"], ids(fam)), 422, "ORDER_MISMATCH")
    assert fam.snapshot(fam["wife"], fam["helper"], fam["sister"], stranger) == before


def test_a_malformed_order_is_refused(api, two_helpers):
    fam = two_helpers
    before = fam.snapshot(fam["wife"])
    for body in ({"binding_ids": ["x"]}, {"binding_ids": [0]}, {}, {"binding_ids": None},
                 {"binding_ids": [2**63]}):
        response = api.client.put("/api/v1/deduction-order", json=body,
                                  headers=api.as_(fam["wife"]["token"]))
        refused(response, 422, "INVALID_INPUT")
    assert fam.snapshot(fam["wife"]) == before


def test_a_new_binding_goes_last_after_an_order_was_set(api, two_helpers):
    fam = two_helpers
    assert fam.order(fam["wife"], [fam.second, fam.first]).status_code == 200
    brother = fam.person("brother", "次仁", credit="10.00")
    fam.kin(brother, fam["wife"], "sibling")
    third = fam.bind(brother, fam["wife"], "sibling")
    orders = {b["binding_id"]: b["order"] for b in fam.bindings(fam["wife"])["as_beneficiary"]}
    assert orders == {fam.second: 1, fam.first: 2, third: 3}


# --- unbinding ----------------------------------------------------------------------------------


def test_unbinding_twice_is_a_conflict_and_changes_nothing(api, two_helpers):
    fam = two_helpers
    assert fam.unbind(fam["helper"]["token"], fam.first).status_code == 200
    before = fam.snapshot(fam["helper"], fam["wife"])
    refused(fam.unbind(fam["wife"]["token"], fam.first), 409, "BINDING_NOT_ACTIVE")
    refused(fam.unbind(fam["helper"]["token"], fam.first), 409, "BINDING_NOT_ACTIVE")
    assert fam.snapshot(fam["helper"], fam["wife"]) == before
    # the order closes up over the binding that is left
    assert [(b["binding_id"], b["order"]) for b in fam.bindings(fam["wife"])["as_beneficiary"]
            if b["status"] == "active"] == [(fam.second, 1)]


# --- the hall -----------------------------------------------------------------------------------


def test_a_hall_binding_without_the_documents_checked_is_refused(api, fam):
    helper, wife = fam["helper"], fam["wife"]
    clerk = api.token("clerk", "clerk-2", "542500")
    before = fam.snapshot(helper, wife)
    for checked in (False, None):
        body = {"helper_certno": helper["certno"], "beneficiary_certno": wife["certno"],
                "relation": "spouse", "documents_checked": checked}
        response = api.post("/api/v1/bindings", {k: v for k, v in body.items() if v is not None},
                            clerk)
        assert response.status_code == 422
        assert response.json()["code"] in ("DOCUMENTS_NOT_CHECKED", "INVALID_INPUT")
    assert fam.snapshot(helper, wife) == before


def test_a_hall_binding_records_the_clerk_and_both_parties_documents(api, fam):
    helper, wife = fam["helper"], fam["wife"]
    clerk = api.token("clerk", "clerk-2", "542500")
    bound = api.post("/api/v1/bindings", {"helper_certno": helper["certno"],
                                          "beneficiary_certno": wife["certno"],
                                          "relation": "spouse", "documents_checked": True},
                     clerk)
    assert bound.status_code == 201
    entry = fam.audit(wife)[-1]
    assert (entry["action"], entry["actor_role"], entry["actor_id"], entry["channel"]) == (
        "activate", "clerk", "clerk-2", "hall")
    assert entry["detail"]["documents"]["checked"] == [
        "helper_id_card", "helper_ss_card", "beneficiary_id_card", "beneficiary_ss_card"]
    seen = api.get(f"/api/v1/bindings/{bound.json()['binding_id']}", wife["token"]).json()
    assert (seen["channel"], seen["verification"]) == ("hall", "registry")
