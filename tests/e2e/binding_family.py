"""Helpers for the binding tests over HTTP: persons made by the operator, person tokens, the
binding calls, and a snapshot of what each party sees (to prove a refusal changed nothing)."""

from __future__ import annotations

import itertools
from datetime import date

from gongji.domain.idcard import make_certno

COUNTY = {"542500": "542521", "451000": "451002"}
_seq = itertools.count(100)


class Family:
    """People made through the operator API, each with a person token."""

    def __init__(self, api):  # noqa: ANN001
        self.api = api
        self.people: dict[str, dict] = {}

    def person(self, key: str, name: str, insutype: str = "310", *, region: str = "542500",
               born: date = date(1980, 1, 1), credit: str | None = None,
               status: str = "1") -> dict:
        certno = make_certno(COUNTY[region], born, next(_seq))
        response = self.api.post("/api/v1/persons", {
            "certno": certno, "psn_name": name, "insutype": insutype, "insuplc_admdvs": region,
            "psn_insu_stas": status})
        assert response.status_code == 201, response.text
        person = response.json()
        if credit:
            credited = self.api.post(f"/api/v1/accounts/{person['psn_no']}/credits",
                                     {"amount": credit, "ref": f"seed-{person['psn_no']}"})
            assert credited.status_code == 201, credited.text
        person["token"] = self.api.token("person", person["psn_no"], ttl_s=30 * 24 * 3600)
        self.people[key] = person
        return person

    def __getitem__(self, key: str) -> dict:
        return self.people[key]

    def kin(self, person: dict, relative: dict, relation: str) -> None:
        """Register that `relative` is `person`'s `relation`."""
        response = self.api.post("/api/v1/kinships", {"certno": person["certno"],
                                                      "relative_certno": relative["certno"],
                                                      "relation": relation})
        assert response.status_code == 201, response.text

    def patch(self, person: dict, **changes: str) -> dict:
        response = self.api.client.patch(f"/api/v1/persons/{person['psn_no']}", json=changes,
                                         headers=self.api.admin)
        assert response.status_code == 200, response.text
        return response.json()

    # binding calls ------------------------------------------------------------------------------
    def invite(self, helper: dict, beneficiary: dict, relation: str,
               channel: str = "national_app", name: str | None = None):  # noqa: ANN201
        return self.api.post("/api/v1/invitations", {
            "beneficiary_certno": beneficiary["certno"],
            "beneficiary_name": name or beneficiary["psn_name"], "relation": relation,
            "channel": channel}, helper["token"])

    def answer(self, person: dict, invitation_id: int, action: str, body: dict | None = None):  # noqa: ANN201
        return self.api.client.post(f"/api/v1/invitations/{invitation_id}/{action}",
                                    json=body, headers=self.api.as_(person["token"]))

    def bind(self, helper: dict, beneficiary: dict, relation: str) -> int:
        """Invite and accept; returns the binding id."""
        invited = self.invite(helper, beneficiary, relation)
        assert invited.status_code == 201, invited.text
        accepted = self.answer(beneficiary, invited.json()["invitation_id"], "accept")
        assert accepted.status_code == 200, accepted.text
        return accepted.json()["binding_id"]

    def order(self, person: dict, binding_ids: list, token: str | None = None):  # noqa: ANN201
        return self.api.client.put("/api/v1/deduction-order", json={"binding_ids": binding_ids},
                                   headers=self.api.as_(token or person["token"]))

    def unbind(self, token: str, binding_id: int, body: dict | None = None):  # noqa: ANN201
        return self.api.client.request("DELETE", f"/api/v1/bindings/{binding_id}", json=body,
                                       headers=self.api.as_(token))

    # what each party sees -----------------------------------------------------------------------
    def bindings(self, person: dict) -> dict:
        response = self.api.get("/api/v1/bindings", person["token"])
        assert response.status_code == 200, response.text
        return response.json()

    def invitations(self, person: dict) -> dict:
        response = self.api.get("/api/v1/invitations", person["token"])
        assert response.status_code == 200, response.text
        return response.json()

    def snapshot(self, *people: dict) -> list:
        """Bindings and invitations as every given person sees them, plus their balances."""
        return [(self.bindings(p), self.invitations(p),
                 self.api.get("/api/v1/account", p["token"]).json()) for p in people]

    def audit(self, person: dict) -> list[dict]:
        response = self.api.get(f"/api/v1/persons/{person['psn_no']}/audit?limit=500")
        assert response.status_code == 200, response.text
        return response.json()["entries"]


def refused(response, status: int, code: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
