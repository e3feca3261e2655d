"""An institution is created only in a region with a policy, as a person is: any other
six-digit code is INVALID_REGION (422) and nothing is stored."""

from __future__ import annotations

import pytest

from binding_family import refused

BODY = {"fixmedins_code": "H110001", "fixmedins_name": "北京某医院", "fixmedins_type": "hospital"}


@pytest.mark.parametrize("admdvs", ["110000", "000000", "999999", "310000"])
def test_an_institution_of_a_region_with_no_policy_is_refused(api, admdvs):
    refused(api.post("/api/v1/institutions", BODY | {"admdvs": admdvs}), 422, "INVALID_REGION")
    token = api.client.post("/api/v1/tokens", json={"role": "institution",
                                                    "subject": BODY["fixmedins_code"]},
                            headers=api.admin)
    refused(token, 404, "INSTITUTION_NOT_FOUND")  # nothing was stored


@pytest.mark.parametrize("admdvs", ["542500", "451000"])
def test_an_institution_of_a_known_region_is_created(api, admdvs):
    created = api.post("/api/v1/institutions", BODY | {"admdvs": admdvs})
    assert created.status_code == 201, created.text
    assert created.json()["admdvs"] == admdvs


@pytest.mark.parametrize("code", ["H1\n", "H1 ", "Ｈ1"])
def test_an_institution_code_is_ascii_letters_and_digits_to_its_end(api, code):
    refused(api.post("/api/v1/institutions", BODY | {"fixmedins_code": code,
                                                     "admdvs": "542500"}), 422, "INVALID_INPUT")


@pytest.mark.parametrize("admdvs", ["５４２５００", "542500\n"])
def test_a_region_is_six_ascii_digits_to_its_end(api, admdvs):
    response = api.post("/api/v1/institutions", BODY | {"admdvs": admdvs})
    assert response.status_code == 422, response.text
