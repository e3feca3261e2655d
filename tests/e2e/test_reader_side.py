"""Relations said from the reader's side over HTTP (issue 17): every list that names a relative
adds `relation_to_you`, the word the reader uses ("母亲", "儿子"), computed from the stored
relation (the beneficiary's to the helper) and the other party's sex (their ID number);
notices say it too; the account says whether the person can be a helper (`can_help`).
Runs on SQLite and PostgreSQL (`db_url`)."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.domain.idcard import make_certno
from support import ok

# key: (name, insutype, birth, seq, female)
PEOPLE = {"mother": ("卓玛", "390", date(1952, 2, 3), 31, True),
          "son": ("扎西", "310", date(1979, 5, 6), 33, False),
          "grandson": ("平措", "390", date(2015, 7, 8), 35, False)}


@pytest.fixture
def family(api):
    """A son (310) pays for his mother (390), by invitation; his minor son is registered."""
    people = {}
    for key, (name, insutype, born, seq, female) in PEOPLE.items():
        answer = api.post("/api/v1/persons", {
            "certno": make_certno("542521", born, seq, female=female), "psn_name": name,
            "insutype": insutype, "insuplc_admdvs": "542500"})
        assert answer.status_code == 201, answer.text
        people[key] = answer.json() | {"token": api.token("person", answer.json()["psn_no"])}
    for relative, relation in (("mother", "parent"), ("grandson", "child")):
        assert api.post("/api/v1/kinships", {
            "certno": people["son"]["certno"], "relative_certno": people[relative]["certno"],
            "relation": relation}).status_code == 201
    assert api.post(f"/api/v1/accounts/{people['son']['psn_no']}/credits",
                    {"amount": "500.00", "ref": "c-son"}).status_code == 201
    invited = api.post("/api/v1/invitations", {
        "beneficiary_certno": people["mother"]["certno"], "beneficiary_name": "卓玛",
        "relation": "parent", "channel": "national_app"}, people["son"]["token"])
    assert invited.status_code == 201, invited.text
    people["invitation_id"] = invited.json()["invitation_id"]
    return people


def test_invitations_and_bindings_name_the_other_party_as_the_reader_would(api, family):
    son, mother = family["son"], family["mother"]
    sent = api.get("/api/v1/invitations", son["token"]).json()["sent"][0]
    received = api.get("/api/v1/invitations", mother["token"]).json()["received"][0]
    assert (sent["relation"], sent["relation_to_you"]) == ("parent", "母亲")
    assert (received["relation"], received["relation_to_you"]) == ("parent", "儿子")
    accepted = api.post(f"/api/v1/invitations/{family['invitation_id']}/accept", {},
                        mother["token"])
    assert accepted.status_code == 200, accepted.text
    as_helper = api.get("/api/v1/bindings", son["token"]).json()["as_helper"][0]
    as_beneficiary = api.get("/api/v1/bindings", mother["token"]).json()["as_beneficiary"][0]
    assert as_helper["relation_to_you"] == "母亲"
    assert as_beneficiary["relation_to_you"] == "儿子"
    clerk = api.token("clerk", "clerk-1", "542500")
    one = api.get(f"/api/v1/bindings/{as_helper['binding_id']}", clerk).json()
    assert (one["beneficiary_is"], one["helper_is"]) == ("母亲", "儿子")


def test_a_parent_answering_for_a_minor_reads_the_childs_relations(api, family):
    grandson, son = family["grandson"], family["son"]
    grandma = api.post("/api/v1/persons", {
        "certno": make_certno("542521", date(1950, 1, 1), 37, female=True), "psn_name": "央金",
        "insutype": "310", "insuplc_admdvs": "542500"}).json()
    api.post("/api/v1/kinships", {"certno": grandma["certno"],
                                  "relative_certno": grandson["certno"],
                                  "relation": "grandchild"})
    api.post(f"/api/v1/accounts/{grandma['psn_no']}/credits", {"amount": "50", "ref": "c-g"})
    invited = api.post("/api/v1/invitations", {
        "beneficiary_certno": grandson["certno"], "beneficiary_name": "平措",
        "relation": "grandchild", "channel": "national_app"},
        api.token("person", grandma["psn_no"]))
    assert invited.status_code == 201, invited.text
    received = [item for item in api.get("/api/v1/invitations", son["token"]).json()["received"]
                if item["invitation_id"] == invited.json()["invitation_id"]]
    assert received[0]["for_minor"]["relation_to_you"] == "儿子"  # the child, to the reader
    assert received[0]["relation_to_you"] == "祖母/外祖母"  # the helper, to the child


def test_money_lists_and_notices_say_it_from_the_readers_side(api, family):
    son, mother = family["son"], family["mother"]
    api.post(f"/api/v1/invitations/{family['invitation_id']}/accept", {}, mother["token"])
    assert api.post("/api/v1/institutions", {"fixmedins_code": "P1", "fixmedins_name": "药房",
                                             "fixmedins_type": "pharmacy",
                                             "admdvs": "542500"}).status_code == 201
    bill = {"psn_no": mother["psn_no"], "mdtrt_cert_type": "02",
            "mdtrt_cert_no": mother["certno"], "medfee_sumamt": "30.00",
            "fulamt_ownpay_amt": "30.00", "overlmt_selfpay": 0, "preselfpay_amt": 0,
            "inscp_scp_amt": 0, "acct_used_flag": "1", "insutype": "390"}
    ok(api.gateway(api.token("institution", "P1"), "P1", "2102", bill, "R1"))
    entry = api.get("/api/v1/account/entries", son["token"]).json()["entries"][0]
    assert (entry["kind"], entry["relation_to_you"]) == ("settlement", "母亲")
    detail = api.get("/api/v1/settlements", mother["token"]).json()["settlements"][0]
    assert detail["mulaid_detail"][0]["relation_to_you"] == "儿子"
    notice = api.get("/api/v1/notices", son["token"]).json()["notices"][0]
    assert notice["text"].startswith("您的母亲 卓*")


def test_the_account_says_who_can_be_a_helper(api, family):
    son = api.get("/api/v1/account", family["son"]["token"]).json()
    mother = api.get("/api/v1/account", family["mother"]["token"]).json()
    assert son["can_help"] is True
    me = api.get("/web/person", family["son"]["token"]).json()
    assert me == {"psn_no": family["son"]["psn_no"], "psn_name": "扎西"}
    assert mother["can_help"] is False  # 城乡居民 (390): no personal account to share
