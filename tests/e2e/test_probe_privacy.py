"""Nobody can use an invitation or a hall lookup to find out who is registered, under which
name, with which insurance status, or in which region.

- A person inviting someone the kinship registry does not tie to them gets ONE answer
  (422 KINSHIP_NOT_VERIFIED, same message) whether the ID number is unknown, the name wrong
  or right, the person suspended or of another region; nothing is written either way.
- In a 承诺制 (declaration) region an unregistered relative named with the right ID number
  and name is invited (pending): suspended or not, the helper gets the same answer, and
  eligibility is checked when the relative accepts.
- A clerk asking about a person of another region gets exactly the answer an ID number
  nobody holds gets (404 PERSON_NOT_FOUND), for lookups and hall binding alike, and the
  lookup leaves no trace in that person's audit trail.
Every answer is compared with every other, pairwise."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from binding_family import Family, refused
from gongji.domain.idcard import make_certno
from gongji.services.clock import local_date
from policy_support import publish_http

UNKNOWN = make_certno("542521", date(1979, 9, 9), 998)
UNKNOWN_BAISE = make_certno("451002", date(1979, 9, 9), 997)


@pytest.fixture
def town(api):
    """A prober (310, 100 yuan) tied to nobody; an eligible resident, a suspended one and a
    Baise resident; a registered husband of the eligible one."""
    f = Family(api)
    f.person("prober", "路人", credit="100.00")
    f.person("target", "央金", "390")
    f.person("suspended", "卓嘎", "390", status="2")
    f.person("baise", "达娃", "390", region="451000")
    f.person("husband", "强巴", credit="100.00")
    f.kin(f["husband"], f["target"], "spouse")
    return f


def _answer(response) -> tuple:  # noqa: ANN001
    return response.status_code, response.json()


def _all_the_same(answers: dict[str, tuple]) -> None:
    for (case_a, a), (case_b, b) in itertools.combinations(answers.items(), 2):
        assert a == b, f"{case_a} {a} != {case_b} {b}"


def _probes(town) -> dict[str, tuple[str, str, str]]:  # noqa: ANN001
    """case -> (ID number, name, relation) the prober sends."""
    target, suspended, baise = town["target"], town["suspended"], town["baise"]
    return {
        "unknown ID number": (UNKNOWN, "央金", "spouse"),
        "unknown Baise ID number": (UNKNOWN_BAISE, "达娃", "sibling"),
        "registered, wrong name": (target["certno"], "央宗", "spouse"),
        "registered, right name": (target["certno"], "央金", "spouse"),
        "registered, right name, other relation": (target["certno"], "央金", "grandchild"),
        "suspended, right name": (suspended["certno"], "卓嘎", "sibling"),
        "suspended, wrong name": (suspended["certno"], "卓玛", "sibling"),
        "other region, right name": (baise["certno"], "达娃", "sibling"),
        "other region, wrong name": (baise["certno"], "达", "sibling"),
    }


def _invite(town, helper: dict, certno: str, name: str, relation: str):  # noqa: ANN001, ANN202
    return town.api.post("/api/v1/invitations", {
        "beneficiary_certno": certno, "beneficiary_name": name, "relation": relation,
        "channel": "national_app"}, helper["token"])


def test_an_invitation_to_someone_the_registry_does_not_tie_to_the_caller_tells_nothing(
        api, town):
    people = [town[k] for k in ("prober", "target", "suspended", "baise")]
    before = town.snapshot(*people)
    audits = [town.audit(p) for p in people]
    answers = {case: _answer(_invite(town, town["prober"], *probe))
               for case, probe in _probes(town).items()}
    _all_the_same(answers)
    status, body = next(iter(answers.values()))
    assert (status, body["code"]) == (422, "KINSHIP_NOT_VERIFIED")
    assert town.snapshot(*people) == before
    assert [town.audit(p) for p in people] == audits


def test_a_registered_relative_is_still_told_why_and_still_invites(api, town):
    husband, target = town["husband"], town["target"]
    refused(_invite(town, husband, target["certno"], "央宗", "spouse"), 422, "NAME_MISMATCH")
    refused(_invite(town, husband, target["certno"], "央金", "sibling"), 422,
            "KINSHIP_NOT_VERIFIED")
    invited = _invite(town, husband, target["certno"], "央金", "spouse")
    assert invited.status_code == 201 and invited.json()["status"] == "pending"


def test_a_registered_relative_who_is_suspended_is_told_so(api, town):
    town.kin(town["husband"], town["suspended"], "sibling")
    refused(_invite(town, town["husband"], town["suspended"]["certno"], "卓嘎", "sibling"),
            422, "BENEFICIARY_NOT_ELIGIBLE")


@pytest.fixture
def declaring(api, clock):
    """Ali as a 承诺制 region: the helper's declaration stands in for the registry (a
    version published today, as the operator would)."""
    publish_http(api, "542500", {"kinship_verification": "declaration"}, local_date(clock()))


def test_in_a_declaration_region_a_wrong_identity_tells_nothing(api, town, declaring):
    people = [town[k] for k in ("prober", "target", "suspended", "baise")]
    before = town.snapshot(*people)
    probes = _probes(town)
    answers = {case: _answer(_invite(town, town["prober"], *probes[case]))
               for case in ("unknown ID number", "unknown Baise ID number",
                            "registered, wrong name", "suspended, wrong name",
                            "other region, wrong name")}
    _all_the_same(answers)
    assert next(iter(answers.values()))[1]["code"] == "KINSHIP_NOT_VERIFIED"
    assert town.snapshot(*people) == before


def test_in_a_declaration_region_a_suspended_relative_is_invited_like_any_other(
        api, town, declaring):
    prober, target, suspended = town["prober"], town["target"], town["suspended"]
    eligible = _invite(town, prober, target["certno"], "央金", "sibling")
    ineligible = _invite(town, prober, suspended["certno"], "卓嘎", "sibling")
    assert eligible.status_code == ineligible.status_code == 201
    shape = {k: type(v) for k, v in eligible.json().items() if k != "invitation_id"}
    assert shape == {k: type(v) for k, v in ineligible.json().items() if k != "invitation_id"}
    assert eligible.json()["status"] == ineligible.json()["status"] == "pending"
    # the relative's own eligibility is checked when they accept, and told to them
    refused(town.answer(suspended, ineligible.json()["invitation_id"], "accept"), 422,
            "BENEFICIARY_NOT_ELIGIBLE")
    accepted = town.answer(target, eligible.json()["invitation_id"], "accept")
    assert accepted.status_code == 200, accepted.text
    binding = api.get(f"/api/v1/bindings/{accepted.json()['binding_id']}", target["token"])
    assert binding.json()["verification"] == "declaration"


HALL_VIEWS = ["", "/account", "/entries", "/bindings", "/entries?from=2025-01-01"]


@pytest.mark.parametrize("view", HALL_VIEWS)
def test_a_clerk_cannot_tell_another_regions_person_from_an_unknown_id_number(
        api, town, view):
    ali_clerk = api.token("clerk", "clerk-ali", "542500")
    baise_clerk = api.token("clerk", "clerk-baise", "451000")
    trails = [town.audit(town[k]) for k in ("target", "baise")]
    for clerk, other_region, unknown in ((ali_clerk, town["baise"]["certno"], UNKNOWN),
                                         (baise_clerk, town["target"]["certno"], UNKNOWN),
                                         (ali_clerk, town["baise"]["certno"], UNKNOWN_BAISE)):
        answers = {
            "other region": _answer(api.get(f"/api/v1/hall/persons/{other_region}{view}",
                                            clerk)),
            "unknown": _answer(api.get(f"/api/v1/hall/persons/{unknown}{view}", clerk))}
        _all_the_same(answers)
        assert answers["unknown"][0] == 404
        assert answers["unknown"][1]["code"] == "PERSON_NOT_FOUND"
    assert [town.audit(town[k]) for k in ("target", "baise")] == trails
    own = api.get(f"/api/v1/hall/persons/{town['target']['certno']}{view}", ali_clerk)
    assert own.status_code == 200, own.text


def test_hall_binding_cannot_tell_another_regions_person_from_an_unknown_id_number(api, town):
    clerk = api.token("clerk", "clerk-ali", "542500")
    husband, baise = town["husband"], town["baise"]
    town.kin(husband, baise, "sibling")  # registered relatives, but across regions

    def bind(helper_certno: str, beneficiary_certno: str) -> tuple:
        return _answer(api.post("/api/v1/bindings", {
            "helper_certno": helper_certno, "beneficiary_certno": beneficiary_certno,
            "relation": "sibling", "documents_checked": True}, clerk))

    before = town.snapshot(husband, baise)
    answers = {"beneficiary of another region": bind(husband["certno"], baise["certno"]),
               "unknown beneficiary": bind(husband["certno"], UNKNOWN),
               "unknown Baise beneficiary": bind(husband["certno"], UNKNOWN_BAISE),
               "helper of another region": bind(baise["certno"], husband["certno"]),
               "unknown helper": bind(UNKNOWN, husband["certno"])}
    _all_the_same(answers)
    assert answers["unknown helper"][0] == 404
    assert answers["unknown helper"][1]["code"] == "PERSON_NOT_FOUND"
    assert town.snapshot(husband, baise) == before
