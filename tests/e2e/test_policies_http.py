"""Region policies over REST (operator): the version in force, publishing a version, the
refusals; and every worker sees a publication on its next call."""

from __future__ import annotations

from datetime import date, timedelta

from gongji.app import create_app
from gongji.domain.idcard import make_certno
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.settings import Settings
from gongji.store.db import make_engine

ALI = "542500"


def today(clock) -> date:  # noqa: ANN001
    return local_date(clock())


def test_the_version_in_force_has_the_contract_shape(api):
    response = api.get(f"/api/v1/policies/{ALI}")
    assert response.status_code == 200
    body = response.json()
    assert {"admdvs", "version", "effective_from", "rules"} <= set(body)
    assert body["admdvs"] == ALI and body["effective_from"] == "2000-01-01"
    rules = body["rules"]
    assert rules["mutual_aid_area_prefixes"] == ["54"]
    assert rules["premium_yuan_by_year"] == {"2025": 400, "2026": 400}
    assert rules["fund_rules"]["inpatient"] == {"deductible_yuan": 500, "ratio_percent": 80,
                                                "annual_cap_yuan": 100000}


def test_a_published_version_is_answered_201_and_in_force_from_its_day(api, clock):
    day = today(clock)
    response = api.post(f"/api/v1/policies/{ALI}/versions", {
        "effective_from": day.isoformat(), "rules": {"premium_yuan_by_year": {"2027": 420}}})
    assert response.status_code == 201, response.text
    version = response.json()["version"]
    assert response.json()["effective_from"] == day.isoformat()
    shown = api.get(f"/api/v1/policies/{ALI}").json()
    assert shown["version"] == version and shown["rules"]["premium_yuan_by_year"] == {"2027": 420}
    later = api.post(f"/api/v1/policies/{ALI}/versions", {
        "effective_from": (day + timedelta(days=1)).isoformat(),
        "rules": {"invitation_expiry_days": 3}})
    assert later.status_code == 201
    assert api.get(f"/api/v1/policies/{ALI}").json()["version"] == version  # not yet
    clock.advance(days=1)
    assert api.get(f"/api/v1/policies/{ALI}").json()["rules"]["invitation_expiry_days"] == 3
    history = api.get(f"/api/v1/policies/{ALI}/versions").json()["versions"]
    assert [v["admdvs"] for v in history[-2:]] == [ALI, ALI]


def test_money_in_a_rule_is_exact(api, clock):
    refused = api.client.post(f"/api/v1/policies/{ALI}/versions",
                              headers=api.admin | {"Content-Type": "application/json"},
                              content=b'{"effective_from": "%s", "rules": {"premium_yuan_by_year":'
                                      b' {"2027": 420.001}}}' % today(clock).isoformat().encode())
    assert refused.status_code == 422 and refused.json()["code"] == "INVALID_POLICY"
    assert "premium_yuan_by_year" in refused.json()["message"]


def test_refusals_are_coded(api, clock):
    day = today(clock).isoformat()
    cases = [
        (f"/api/v1/policies/{ALI}/versions", {"effective_from": day, "rules": {"x": 1}},
         422, "INVALID_POLICY"),
        (f"/api/v1/policies/{ALI}/versions", {"effective_from": "2001-01-01",
                                              "rules": {"invitation_expiry_days": 3}},
         422, "INVALID_POLICY"),
        (f"/api/v1/policies/{ALI}/versions", {"rules": {"invitation_expiry_days": 3}},
         422, "INVALID_POLICY"),
        ("/api/v1/policies/999999/versions", {"effective_from": day,
                                              "rules": {"invitation_expiry_days": 3}},
         422, "INVALID_REGION"),
    ]
    for path, body, status, code in cases:
        response = api.post(path, body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert api.get("/api/v1/policies/999999").json()["code"] == "INVALID_REGION"


def test_only_the_operator_reads_and_publishes(api, clock):
    person = api.post("/api/v1/persons", {
        "certno": make_certno("542521", date(1980, 1, 1), 3), "psn_name": "次仁",
        "insutype": "310", "insuplc_admdvs": ALI})
    token = api.token("person", person.json()["psn_no"])
    assert api.get(f"/api/v1/policies/{ALI}", token).status_code == 403
    denied = api.post(f"/api/v1/policies/{ALI}/versions", {
        "effective_from": today(clock).isoformat(), "rules": {"invitation_expiry_days": 3}},
        token)
    assert denied.status_code == 403
    assert api.client.get(f"/api/v1/policies/{ALI}").status_code == 401


def test_a_second_worker_sees_a_publication_on_its_next_call(api, db_url, clock):
    """Two apps on one database stand for two worker processes (each has its own cache)."""
    from fastapi.testclient import TestClient

    other = create_app(Settings(admin_token=api.admin["Authorization"].split()[1],
                                db_url=db_url), context=Context(make_engine(db_url), clock))
    with TestClient(other) as client:
        before = client.get(f"/api/v1/policies/{ALI}", headers=api.admin).json()
        api.post(f"/api/v1/policies/{ALI}/versions", {
            "effective_from": today(clock).isoformat(), "rules": {"invitation_expiry_days": 2}})
        after = client.get(f"/api/v1/policies/{ALI}", headers=api.admin).json()
    other.state.ctx.engine.dispose()
    assert before["rules"]["invitation_expiry_days"] == 7
    assert after["rules"]["invitation_expiry_days"] == 2
