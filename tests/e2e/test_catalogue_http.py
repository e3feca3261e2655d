"""医保目录 over HTTP: the operator loads it (others 403), a bad item refuses the whole
call with its index and field, and the operator or an institution looks a code up."""

from __future__ import annotations

import json
from datetime import date

import pytest

from gongji.domain.idcard import make_certno

LOAD = "/api/v1/catalogue"
ITEMS = "/api/v1/catalogue/items"


def item(codg: str, admdvs: str = "540000", **over) -> dict:
    return {"admdvs": admdvs, "med_list_codg": codg, "med_list_name": "阿莫西林胶囊",
            "chrgitm_lv": "02", "selfpay_prop": "0.1", "pric_uplmt_amt": None, **over}


@pytest.fixture
def tokens(api):
    """An institution of 542500, a person and a clerk."""
    assert api.post("/api/v1/institutions", {
        "fixmedins_code": "H54250009", "fixmedins_name": "山南市人民医院",
        "fixmedins_type": "hospital", "admdvs": "542500"}).status_code == 201
    person = api.post("/api/v1/persons", {
        "certno": make_certno("542521", date(1980, 1, 1), 17), "psn_name": "扎西",
        "insutype": "310", "insuplc_admdvs": "542500", "psn_insu_stas": "1"})
    assert person.status_code == 201, person.text
    return {"institution": api.token("institution", "H54250009"),
            "person": api.token("person", person.json()["psn_no"]),
            "clerk": api.token("clerk", "clerk-1", "542500")}


def test_the_operator_loads_and_reloads_the_catalogue(api):
    first = api.post(LOAD, {"items": [item("XA01"), item("XA01", "542500", selfpay_prop="0.2"),
                                      item("XB01", chrgitm_lv="01", selfpay_prop="0",
                                           pric_uplmt_amt=12.5)]})
    assert first.status_code == 200, first.text
    assert first.json()["inserted"] == 3 and first.json()["updated"] == 0

    again = api.post(LOAD, {"items": [item("XA01", med_list_name="阿莫西林片"), item("XC01")]})
    assert (again.json()["inserted"], again.json()["updated"]) == (1, 1)
    shown = api.get(ITEMS, params={"admdvs": "540100", "codg": "XB01"}).json()
    assert shown["pric_uplmt_amt"] == "12.5" and shown["chrgitm_lv"] == "01"


def test_a_bad_item_refuses_the_whole_call_with_its_index_and_field(api):
    answer = api.post(LOAD, {"items": [item("XA01"), item("XA02", chrgitm_lv="09")]})
    assert answer.status_code == 422
    assert answer.json()["code"] == "INVALID_CATALOGUE_ITEM"
    assert "items[1].chrgitm_lv" in answer.json()["message"]
    assert api.get(ITEMS, params={"admdvs": "540000", "codg": "XA01"}).status_code == 404


def test_an_amount_with_more_decimals_than_json_floats_keep_is_refused_exactly(api):
    # 0.1000000000000000000001 would be 0.1 as a float; parsed exactly it has 22 decimals.
    raw = ('{"items": [{"admdvs": "540000", "med_list_codg": "XA01", "med_list_name": "x",'
           ' "chrgitm_lv": "02", "selfpay_prop": 0.1000000000000000000001}]}')
    answer = api.client.post(LOAD, content=raw, headers=api.admin | {
        "Content-Type": "application/json"})
    assert answer.status_code == 422 and "items[0].selfpay_prop" in answer.json()["message"]


def test_five_thousand_long_items_fit_in_one_call_and_one_more_does_not(api):
    name = "复方" * 100  # 200 characters, 600 bytes of UTF-8: the call is over 1 MB
    items = [item(f"X{n:05d}", med_list_name=name) for n in range(5000)]
    assert len(json.dumps({"items": items}, ensure_ascii=False).encode()) > 1024 * 1024
    answer = api.post(LOAD, {"items": items})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["inserted"] == 5000

    over = api.post(LOAD, {"items": [*items, item("X99999")]})
    assert over.status_code == 422 and over.json()["code"] == "INVALID_CATALOGUE_ITEM"


@pytest.mark.parametrize("role", ["institution", "person", "clerk"])
def test_only_the_operator_loads_the_catalogue(api, tokens, role):
    answer = api.post(LOAD, {"items": [item("XA01")]}, tokens[role])
    assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN"
    assert api.get(ITEMS, params={"admdvs": "540000", "codg": "XA01"}).status_code == 404


def test_without_a_token_nothing_is_loaded_or_shown(api):
    assert api.client.post(LOAD, json={"items": [item("XA01")]}).status_code == 401
    assert api.client.get(ITEMS, params={"admdvs": "540000", "codg": "XA01"}).status_code == 401


def test_an_institution_sees_its_own_regions_effective_item(api, tokens):
    api.post(LOAD, {"items": [item("XA01", selfpay_prop="0.1"),
                              item("XA01", "542500", selfpay_prop="0.15"),
                              item("XA01", "540100", selfpay_prop="0.3")]})
    mine = api.get(ITEMS, tokens["institution"], params={"codg": "XA01"})
    assert mine.status_code == 200 and mine.json()["selfpay_prop"] == "0.15"
    other = api.get(ITEMS, tokens["institution"], params={"admdvs": "540100", "codg": "XA01"})
    assert other.status_code == 403
    found = api.get(ITEMS, tokens["institution"], params={"q": "阿莫"}).json()["items"]
    assert [(i["med_list_codg"], i["admdvs"]) for i in found] == [("XA01", "542500")]


@pytest.mark.parametrize("role", ["person", "clerk"])
def test_persons_and_clerks_cannot_look_the_catalogue_up(api, tokens, role):
    answer = api.get(ITEMS, tokens[role], params={"admdvs": "542500", "codg": "XA01"})
    assert answer.status_code == 403


def test_a_lookup_needs_a_known_region_and_a_code_or_text(api):
    assert api.get(ITEMS, params={"admdvs": "110000", "codg": "X"}).json()["code"] == (
        "INVALID_REGION")
    assert api.get(ITEMS, params={"admdvs": "542500"}).status_code == 422
    assert api.get(ITEMS, params={"codg": "X"}).status_code == 422
