"""共济额度 over HTTP (CONTRACT v2): PUT /bindings/{id}/quota and its refusals with their
statuses, the account's quota_reserved and available, the bindings' quota fields, and a
settlement through the gateway drawing within the quota."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.domain.idcard import make_certno
from support import ok


@pytest.fixture
def family(api):
    """Ali switches quotas on; a mother (1000 yuan) helps her child and her sister."""
    people = {}
    for key, insutype, seq in [("mother", "310", 31), ("child", "390", 32), ("sister", "390", 33)]:
        answer = api.post("/api/v1/persons", {
            "certno": make_certno("542521", date(1980 + seq - 31, 3, 3), seq),
            "psn_name": {"mother": "卓玛", "child": "平措", "sister": "央金"}[key],
            "insutype": insutype, "insuplc_admdvs": "542500", "card_no": f"Q{seq}"})
        assert answer.status_code == 201, answer.text
        people[key] = answer.json() | {"token": api.token("person", answer.json()["psn_no"])}
    assert api.post(f"/api/v1/accounts/{people['mother']['psn_no']}/credits",
                    {"amount": "1000.00", "ref": "q-1"}).status_code == 201
    assert api.post("/api/v1/institutions", {"fixmedins_code": "H1", "fixmedins_name": "人民医院",
                                             "fixmedins_type": "hospital",
                                             "admdvs": "542500"}).status_code == 201
    clerk = api.token("clerk", "clerk-1", "542500")
    for key, relation in [("child", "child"), ("sister", "sibling")]:
        assert api.post("/api/v1/kinships", {"certno": people["mother"]["certno"],
                                             "relative_certno": people[key]["certno"],
                                             "relation": relation}).status_code == 201
        bound = api.post("/api/v1/bindings", {"helper_certno": people["mother"]["certno"],
                                              "beneficiary_certno": people[key]["certno"],
                                              "relation": relation, "documents_checked": True},
                         clerk)
        assert bound.status_code == 201, bound.text
        people[f"{key}_binding"] = bound.json()["binding_id"]
    return people


def put_quota(api, person: dict, binding_id: int, body: object):  # noqa: ANN001, ANN201
    return api.client.put(f"/api/v1/bindings/{binding_id}/quota", json=body,
                          headers=api.as_(person["token"]))


def switch_on(api) -> None:  # noqa: ANN001
    published = api.post("/api/v1/policies/542500/versions", {
        "effective_from": "2025-06-01", "rules": {"mutual_aid_quota_enabled": True}})
    assert published.status_code == 201, published.text


def test_quota_over_http_from_setting_to_drawing(api, family):
    mother, child = family["mother"], family["child"]
    off = put_quota(api, mother, family["child_binding"], {"quota": 300})
    assert (off.status_code, off.json()["code"]) == (409, "QUOTA_NOT_ENABLED")
    switch_on(api)

    answer = put_quota(api, mother, family["child_binding"], {"quota": "300.00"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"binding_id": family["child_binding"], "quota": 300,
                             "quota_remaining": 300}
    too_much = put_quota(api, mother, family["sister_binding"], {"quota": 700.01})
    assert (too_much.status_code, too_much.json()["code"]) == (409, "QUOTA_EXCEEDS_BALANCE")
    not_hers = put_quota(api, child, family["child_binding"], {"quota": 1})
    assert (not_hers.status_code, not_hers.json()["code"]) == (403, "FORBIDDEN")
    assert put_quota(api, mother, family["child_binding"], {"quota": -1}).status_code == 422
    assert put_quota(api, mother, family["child_binding"], {}).status_code == 422

    account = api.get("/api/v1/account", mother["token"]).json()
    assert (account["balance"], account["quota_reserved"], account["available"]) == \
        (1000, 300, 700)
    mine = api.get("/api/v1/bindings", mother["token"]).json()["as_helper"]
    assert {b["binding_id"]: (b["quota"], b["quota_remaining"]) for b in mine} == {
        family["child_binding"]: (300, 300), family["sister_binding"]: (None, None)}

    hospital = api.token("institution", "H1")
    bill = {"psn_no": child["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": child["certno"],
            "medfee_sumamt": "500.00", "fulamt_ownpay_amt": "500.00", "overlmt_selfpay": "0",
            "preselfpay_amt": "0", "inscp_scp_amt": "0", "acct_used_flag": "1"}
    setl = ok(api.gateway(hospital, "H1", "2207", bill, "Q-1"))["setlinfo"]
    assert (setl["acct_mulaid_pay"], setl["psn_cash_pay"]) == (300, 200)
    seen = api.get("/api/v1/bindings", child["token"]).json()["as_beneficiary"]
    assert [(b["quota"], b["quota_remaining"]) for b in seen] == [(300, 0)]
    kinds = [n["kind"] for n in api.get("/api/v1/notices", mother["token"]).json()["notices"]]
    assert "quota_used_up" in kinds
