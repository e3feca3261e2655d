"""The v2 operator and helper calls attacked with hostile bodies, over HTTP, on SQLite and
PostgreSQL: POST /api/v1/catalogue, POST /api/v1/policies/{admdvs}/versions and PUT
/api/v1/bindings/{id}/quota, each body well formed and then spoiled with the odd values of
odd_json anywhere in it. The OpenAPI fuzz test (test_fuzz_api.py) generates bodies from the
schema, which names no amount as text; these reach the amounts, rules and dates themselves.
Whatever comes in: never a 5xx; a 4xx carries a catalogued code; a refusal changes nothing
(the catalogue, the region's versions, the binding's quota); what is accepted leaves the
region's policy readable and a settlement through the gateway still answered."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from figures import record
from gongji.domain.errors import CATALOGUE
from gongji.store.schema import bindings, catalogue_items, policy_versions
from mother_child import institution, mother_and_child, self_pay_bill
from odd_json import MISSING, ODD, RAW, encoded, places, put

FAST, DEEP = 40, 1500
ITEM = {"admdvs": "540000", "med_list_codg": "A01", "med_list_name": "血常规",
        "chrgitm_lv": "02", "selfpay_prop": "0.1", "pric_uplmt_amt": "10.00"}
VERSION = {"effective_from": "2025-06-01", "rules": {
    "mutual_aid_quota_enabled": True, "invitation_expiry_days": 7,
    "premium_yuan_by_year": {"2027": 420},
    "fund_rules": {  # a rule sent replaces its whole value: all three kinds of care
        "hospital": {"deductible_yuan": 100, "ratio_percent": 60, "annual_cap_yuan": 5000},
        "pharmacy": {"deductible_yuan": 0, "ratio_percent": 50, "annual_cap_yuan": 800},
        "inpatient": {"deductible_yuan": 500, "ratio_percent": 80,
                      "annual_cap_yuan": 100000}}}}
# Of odd_json's values, those the house money rule (domain.money.to_fen) takes on purpose,
# as the gateway does: zero written with a sign, and surrounding blanks. Everything else
# odd must be refused.
AS_MONEY = ["-0", f"{RAW}-0", "-0.00", " 12.00 "]
MAY_TAKE = {"selfpay_prop": [f"{RAW}-0"], "pric_uplmt_amt": [*AS_MONEY, "", None],
            "quota": AS_MONEY, "deductible_yuan": AS_MONEY, "2027": [" 12.00 "],
            "ratio_percent": [f"{RAW}-0"]}  # a JSON number zero, however written


class Desk:
    """A mother bound to her child in 542500 (quotas switched on), the hospital H1."""

    def __init__(self, api):  # noqa: ANN001
        self.api = api
        published = api.post("/api/v1/policies/542500/versions", {
            "effective_from": "2025-06-01", "rules": {"mutual_aid_quota_enabled": True}})
        assert published.status_code == 201, published.text
        self.family = mother_and_child(api, 61)
        institution(api, "H1", "hospital")
        self.binding_id = self.family["binding_id"]
        self.hospital = api.token("institution", "H1")
        self.bills = 0

    def state(self) -> tuple:
        """What a refused call must leave as it was."""
        with self.api.client.app.state.ctx.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(catalogue_items)).scalar_one()
            items = conn.execute(select(catalogue_items).order_by(catalogue_items.c.id)).all()
            versions = conn.execute(select(func.count()).select_from(policy_versions)).scalar_one()
            quota = conn.execute(select(bindings.c.quota_fen, bindings.c.quota_remaining_fen)
                                 .where(bindings.c.id == self.binding_id)).one()
        return count, [tuple(row) for row in items], versions, tuple(quota)

    def call(self, method: str, path: str, body: object, token: str | None = None):  # noqa: ANN201
        headers = self.api.as_(token) if token else self.api.admin
        return self.api.client.request(method, path, content=encoded(body), headers={
            **headers, "Content-Type": "application/json"})

    def still_serves(self) -> None:
        """The region's policy reads, and a settlement is answered with an envelope."""
        assert self.api.get("/api/v1/policies/542500").status_code == 200
        self.bills += 1
        answer = self.api.gateway(self.hospital, "H1", "2207",
                                  self_pay_bill(self.family["child"], "1.00", "390")["data"],
                                  f"H1REST{self.bills:08d}")
        assert answer["infcode"] in (0, -1) and (answer["infcode"] == 0
                                                 or answer["err_code"] in CATALOGUE), answer


@pytest.fixture
def desk(api):
    return Desk(api)


def calls(desk: Desk) -> dict[str, tuple[str, str, dict, str | None]]:
    return {
        "catalogue": ("POST", "/api/v1/catalogue", {"items": [ITEM]}, None),
        "policy": ("POST", "/api/v1/policies/542500/versions", VERSION, None),
        "quota": ("PUT", f"/api/v1/bindings/{desk.binding_id}/quota", {"quota": "100.00"},
                  desk.family["mother_token"]),
    }


def check(desk: Desk, name: str, body: object) -> int:
    method, path, _, token = calls(desk)[name]
    before = desk.state()
    response = desk.call(method, path, body, token)
    assert response.status_code < 500, (name, body, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.json()["code"] in CATALOGUE, response.text
        assert desk.state() == before, f"a refused {name} changed something: {body}"
    else:
        desk.still_serves()
    return response.status_code


@pytest.mark.parametrize("name", ["catalogue", "policy", "quota"])
def test_the_well_formed_bodies_are_accepted(desk, name):
    assert check(desk, name, calls(desk)[name][2]) in (200, 201)


@pytest.mark.parametrize(("name", "place"), [
    ("catalogue", ("items", 0, "selfpay_prop")), ("catalogue", ("items", 0, "pric_uplmt_amt")),
    ("catalogue", ("items", 0, "chrgitm_lv")), ("catalogue", ("items", 0, "admdvs")),
    ("policy", ("effective_from",)), ("policy", ("rules", "premium_yuan_by_year", "2027")),
    ("policy", ("rules", "fund_rules", "hospital", "deductible_yuan")),
    ("policy", ("rules", "fund_rules", "hospital", "ratio_percent")),
    ("policy", ("rules", "invitation_expiry_days")), ("quota", ("quota",))])
def test_odd_values_in_amounts_rules_and_dates_are_refused_with_a_code(desk, name, place):
    accepted = []
    for odd in ODD:
        if odd in MAY_TAKE.get(place[-1], []):
            continue
        body = json.loads(json.dumps(calls(desk)[name][2]))
        put(body, place, odd)
        if check(desk, name, body) < 400:
            accepted.append(odd)
    assert accepted == [], f"{name} {place} accepted {accepted!r}"


@st.composite
def spoiled(draw, desk: Desk) -> tuple[str, object]:  # noqa: ANN001
    name = draw(st.sampled_from(["catalogue", "policy", "quota"]))
    body = json.loads(json.dumps(calls(desk)[name][2]))
    for _ in range(draw(st.integers(1, 3))):
        where = places(body)
        if where:
            put(body, draw(st.sampled_from(where)),
                draw(st.sampled_from([MISSING, *ODD])))
    return name, body


def fuzz(desk: Desk, examples: int) -> None:
    tally = {"accepted": 0, "refused": 0}

    @given(case=spoiled(desk))
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: tuple) -> None:
        status = check(desk, *case)
        tally["accepted" if status < 400 else "refused"] += 1

    run()
    record(f"REST v2 fuzz: {tally['accepted']} accepted, {tally['refused']} refused with a "
           "code and nothing changed, never a 5xx")


def test_spoiled_bodies_never_fail_the_server_nor_half_change_anything(desk):
    fuzz(desk, FAST)


@pytest.mark.deep
def test_many_spoiled_bodies_never_fail_the_server_nor_half_change_anything(desk):
    fuzz(desk, DEEP)
