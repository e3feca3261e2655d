"""The v2 envelope over HTTP: the standard fields accepted, the answer's times and ids, and
sign-in (9001/9002) with the sign_no rule. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date

import pytest

from gongji.domain.idcard import make_certno
from mother_child import balance as account_balance
from mother_child import institution, self_pay_bill
from mother_child import person as make_person
from reference_client import ReferenceClient

DAYS = 7 * 86400  # tokens outlive the days the clock is moved by


@pytest.fixture
def day(api, clock):
    """A hospital and a pharmacy in 542500, an employee with 300.00 yuan."""
    person = make_person(api, make_certno("542521", date(1985, 3, 4), 21), "次仁", "310",
                         "542500")
    api.post(f"/api/v1/accounts/{person['psn_no']}/credits", {"amount": "300.00", "ref": "c1"})
    for code, kind in (("H54250001", "hospital"), ("P54250001", "pharmacy")):
        institution(api, code, kind)
    hospital = ReferenceClient(api, api.token("institution", "H54250001", ttl_s=DAYS),
                               "H54250001", "拉萨市人民医院", "542500", clock)
    pharmacy = ReferenceClient(api, api.token("institution", "P54250001", ttl_s=DAYS),
                               "P54250001", "药店", "542500", clock)
    return {"person": person, "hospital": hospital, "pharmacy": pharmacy,
            "token": api.token("person", person["psn_no"], ttl_s=DAYS)}


def v1_bill(person: dict, amount: str = "50.00") -> dict:
    return self_pay_bill(person, amount, "310")


def balance(api, day) -> float:
    return account_balance(api, day["token"])


# --- the answer envelope ------------------------------------------------------------------------


def test_answer_times_are_beijing_in_the_interface_format(day, clock):
    his = day["hospital"]  # the clock reads 2025-06-01 02:00 UTC = 10:00 in Beijing
    for answer in (his.send("1101", {"data": {"mdtrt_cert_type": "02",
                                              "mdtrt_cert_no": day["person"]["certno"]}}),
                   his.send("9999", {"data": {}})):  # a refusal carries the same fields
        assert answer["infcode"] in (0, -1) and isinstance(answer["infcode"], int)
        assert answer["refmsg_time"] == "20250601100000000"
        assert answer["respond_time"] >= answer["refmsg_time"]
        assert re.fullmatch(r"\d{17}", answer["respond_time"])
        assert re.fullmatch(r"54250020250601100000\d{10}", answer["inf_refmsgid"])
        assert answer["warn_msg"] == ""
    assert answer["err_code"] == "INFNO_UNSUPPORTED" and answer["infcode"] == -1


def test_the_beijing_date_is_used_across_midnight_utc(day, clock):
    clock.advance(hours=14, minutes=30)  # 16:30 UTC on 1 June = 00:30 on 2 June in Beijing
    answer = day["hospital"].send("9999", {"data": {}})
    assert answer["refmsg_time"] == "20250602003000000"
    assert answer["inf_refmsgid"][6:20] == "20250602003000"


def test_every_standard_field_and_unknown_extras_are_accepted(day, api):
    his = day["hospital"]
    envelope = his.envelope("1101", {"data": {"mdtrt_cert_type": "02",
                                              "mdtrt_cert_no": day["person"]["certno"]}},
                            his.next_msgid())
    envelope |= {"enctype": "", "sign_no": "", "insuplc_admdvs": "", "extra_field": {"x": 1},
                 "signtype": "SM2", "cainfo": "", "dev_safe_info": ""}
    response = api.client.post("/fsi/api/rsfComIfsService/callService", json=envelope,
                               headers=api.as_(his.token))
    answer = response.json()
    assert response.status_code == 200 and answer["infcode"] == 0, answer
    assert answer["output"]["baseinfo"]["psn_no"] == day["person"]["psn_no"]


# --- 9001 / 9002 --------------------------------------------------------------------------------


def test_sign_in_issues_a_sign_no_and_a_retry_gets_the_same_one(day):
    his = day["hospital"]
    first = his.must("9001", {"signIn": {"opter_no": "0001", "mac": "AA", "ip": "10.1.1.1"}},
                     msgid="H54250001202506011000009001")
    again = his.must("9001", {"signIn": {"opter_no": "0001", "mac": "AA", "ip": "10.1.1.1"}},
                     msgid="H54250001202506011000009001")
    other = his.must("9001", {"signIn": {"opter_no": "0001", "mac": "", "ip": ""}})
    assert first == again
    assert first["signinoutb"]["sign_time"] == "2025-06-01 10:00:00"
    assert len(first["signinoutb"]["sign_no"]) <= 30
    assert other["signinoutb"]["sign_no"] != first["signinoutb"]["sign_no"]


def test_a_current_sign_no_is_accepted_and_an_empty_one_too(day, api):
    his = day["hospital"]
    his.sign_in()
    assert his.send("2207", v1_bill(day["person"]))["infcode"] == 0
    his.sign_no = ""
    assert his.send("2207", v1_bill(day["person"]))["infcode"] == 0
    assert balance(api, day) == 200


@pytest.mark.parametrize("how", ["unknown", "other institution's", "signed out", "yesterday's"])
def test_a_sign_no_that_is_not_current_refuses_and_moves_nothing(day, api, clock, how):
    his, pharmacy = day["hospital"], day["pharmacy"]
    if how == "unknown":
        his.sign_no = "20250601100000ABCDEF0123456789"
    elif how == "other institution's":
        his.sign_no = pharmacy.sign_in()
    elif how == "signed out":
        his.sign_in()
        kept = his.sign_no
        his.sign_out()
        his.sign_no = kept
    else:
        his.sign_in()
        clock.advance(hours=14)  # 16:00 UTC = midnight in Beijing: a new day
    refused_msgid = his.next_msgid()
    for infno, input_ in (("2207", v1_bill(day["person"])),
                          ("1101", {"data": {"mdtrt_cert_type": "02",
                                             "mdtrt_cert_no": day["person"]["certno"]}}),
                          ("9002", {"signOut": {"sign_no": his.sign_no, "opter_no": "0001"}})):
        answer = his.send(infno, input_, msgid=refused_msgid if infno == "2207" else None)
        assert (answer["infcode"], answer["err_code"]) == (-1, "SIGN_NO_INVALID"), infno
    assert balance(api, day) == 300
    # the refused message moved nothing and spent nothing: signed in again, it settles
    his.sign_in()
    assert his.send("2207", v1_bill(day["person"]), msgid=refused_msgid)["infcode"] == 0
    assert balance(api, day) == 250


def test_sign_out_ends_the_sign_in_once(day):
    his = day["hospital"]
    sign_no = his.sign_in()
    body = {"signOut": {"sign_no": sign_no, "opter_no": "0001"}}
    msgid = his.next_msgid()
    first = his.must("9002", body, msgid=msgid)
    assert first["signoutoutb"]["sign_time"] == "2025-06-01 10:00:00"
    his.sign_no = ""  # the HIS forgets it, as it should
    assert his.must("9002", body, msgid=msgid) == first  # a retry: the first answer
    again = his.send("9002", body)  # a new message for an ended sign-in
    assert again["err_code"] == "SIGN_NO_INVALID"


def test_sign_in_works_whatever_sign_no_the_envelope_still_carries(day, clock):
    his = day["hospital"]
    his.sign_in()
    clock.advance(days=1)
    assert his.sign_in()  # yesterday's sign_no in the envelope: 9001 is not checked


def test_a_pharmacy_signs_out_only_its_own_sign_in(day):
    hospital_sign_no = day["hospital"].sign_in()
    answer = day["pharmacy"].send("9002", {"signOut": {"sign_no": hospital_sign_no,
                                                       "opter_no": "0001"}})
    assert answer["err_code"] == "SIGN_NO_INVALID"
    assert day["hospital"].send("1101", {"data": {"mdtrt_cert_type": "02",
                                                  "mdtrt_cert_no": day["person"]["certno"]}}
                                )["infcode"] == 0


@pytest.mark.parametrize("infno, input_", [
    ("9001", {}),
    ("9001", {"signIn": {"mac": "", "ip": ""}}),
    ("9001", {"signIn": {"opter_no": "x" * 31, "mac": "", "ip": ""}}),
    ("9001", {"signIn": {"opter_no": "0001", "mac": 1, "ip": ""}}),
    ("9001", {"signIn": "0001"}),
    ("9002", {"signOut": {"opter_no": "0001"}}),
    ("9002", {"signOut": {"sign_no": "", "opter_no": "0001"}}),
])
def test_bad_sign_in_inputs_are_refused(day, infno, input_):
    assert day["hospital"].send(infno, input_)["err_code"] == "INVALID_INPUT"


def test_a_sign_no_that_is_not_text_is_refused(day, api):
    his = day["hospital"]
    envelope = his.envelope("1101", {"data": {}}, his.next_msgid()) | {"sign_no": 12}
    answer = api.client.post("/fsi/api/rsfComIfsService/callService", json=envelope,
                             headers=api.as_(his.token)).json()
    assert answer["err_code"] == "INVALID_INPUT"
