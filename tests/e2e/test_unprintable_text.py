"""Names and free text with control, zero-width or bidirectional characters are refused on
every REST body that stores them, with INVALID_INPUT and nothing stored, on SQLite and
PostgreSQL alike (PostgreSQL alone used to refuse NUL; SQLite stored it). Middle dots of
minority names stay allowed."""

from __future__ import annotations

from datetime import date

import pytest

from binding_family import Family, refused
from gongji.domain.idcard import make_certno

BAD = ["\x00", "\n", "\r\n", "\t", "\x1b", "\u200b", "\u200d", "\u200e", "\u202e", "\u202a",
       "\u2066", "\u2069", "\u2060", "\ufeff", "\u2028"]
IDS = [f"U+{ord(c[-1]):04X}" for c in BAD]


def _bad(name: str, char: str) -> str:
    return name[:1] + char + name[1:]


@pytest.fixture
def fam(api):
    f = Family(api)
    helper = f.person("helper", "强巴", credit="100.00")
    wife = f.person("wife", "央金", "390")
    f.kin(helper, wife, "spouse")
    return f


@pytest.mark.parametrize("char", BAD, ids=IDS)
def test_a_person_name_with_an_unprintable_character_is_refused(api, char):
    certno = make_certno("542521", date(1985, 5, 5), 777)
    body = {"certno": certno, "psn_name": _bad("卓玛", char), "insutype": "310",
            "insuplc_admdvs": "542500"}
    refused(api.post("/api/v1/persons", body), 422, "INVALID_INPUT")
    for end in ("start", "end"):
        name = char + "卓玛" if end == "start" else "卓玛" + char
        refused(api.post("/api/v1/persons", body | {"psn_name": name}), 422, "INVALID_INPUT")
    created = api.post("/api/v1/persons", body | {"psn_name": "卓玛"})  # nothing was stored
    assert created.status_code == 201, created.text
    assert created.json()["psn_name"] == "卓玛"


@pytest.mark.parametrize("char", BAD, ids=IDS)
def test_an_institution_name_with_an_unprintable_character_is_refused(api, char):
    body = {"fixmedins_code": "H777", "fixmedins_name": _bad("人民医院", char),
            "fixmedins_type": "hospital", "admdvs": "542500"}
    refused(api.post("/api/v1/institutions", body), 422, "INVALID_INPUT")
    assert api.post("/api/v1/institutions", body | {"fixmedins_name": "人民医院"}
                    ).status_code == 201


@pytest.mark.parametrize("char", BAD, ids=IDS)
def test_an_invitation_naming_the_relative_with_an_unprintable_character_is_refused(
        api, fam, char):
    before = fam.snapshot(fam["helper"], fam["wife"])
    refused(fam.invite(fam["helper"], fam["wife"], "spouse", name=_bad("央金", char)), 422,
            "INVALID_INPUT")
    assert fam.snapshot(fam["helper"], fam["wife"]) == before


@pytest.mark.parametrize("char", BAD, ids=IDS)
def test_free_text_with_an_unprintable_character_is_refused(api, fam, char):
    helper, wife = fam["helper"], fam["wife"]
    clerk = api.token("clerk", "clerk-1", "542500")
    hall = {"helper_certno": helper["certno"], "beneficiary_certno": wife["certno"],
            "relation": "spouse", "documents_checked": True}
    before = fam.snapshot(helper, wife)
    refused(api.post("/api/v1/bindings", hall | {"note": _bad("已核验", char)}, clerk), 422,
            "INVALID_INPUT")
    refused(api.post(f"/api/v1/accounts/{helper['psn_no']}/credits",
                     {"amount": "1.00", "ref": _bad("REF-1", char)}), 422, "INVALID_INPUT")
    assert fam.snapshot(helper, wife) == before
    bound = api.post("/api/v1/bindings", hall | {"note": "已核验"}, clerk)
    assert bound.status_code == 201, bound.text
    binding_id = bound.json()["binding_id"]
    refused(fam.unbind(clerk, binding_id, {"documents_checked": True,
                                           "note": _bad("本人申请", char)}), 422, "INVALID_INPUT")
    refused(api.post("/api/v1/tokens", {"role": "clerk", "subject": _bad("clerk-2", char),
                                        "admdvs": "542500"}), 422, "INVALID_INPUT")
    assert fam.bindings(wife)["as_beneficiary"][0]["status"] == "active"


@pytest.mark.parametrize("name", ["阿依古丽·买买提", "玛丽・居里", "欧阳 娜娜"])
def test_names_with_a_middle_dot_or_a_space_are_kept(api, name):
    certno = make_certno("542521", date(1990, 9, 9), 778)
    created = api.post("/api/v1/persons", {"certno": certno, "psn_name": name,
                                           "insutype": "390", "insuplc_admdvs": "542500"})
    assert created.status_code == 201, created.text
    assert created.json()["psn_name"] == name
    f = Family(api)
    helper = f.person("helper", "买买提", credit="10.00")
    api.post("/api/v1/kinships", {"certno": helper["certno"], "relative_certno": certno,
                                  "relation": "spouse"})
    invited = api.post("/api/v1/invitations", {
        "beneficiary_certno": certno, "beneficiary_name": name, "relation": "spouse",
        "channel": "national_app"}, helper["token"])
    assert invited.status_code == 201, invited.text
