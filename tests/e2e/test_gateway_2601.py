"""2601 冲正 over HTTP, SQLite and PostgreSQL: a lost settlement's answer undone, a message
that never settled spent for good, and every refusal CONTRACT v2 names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from gongji.services.operations.verify import verify
from gongji.store import repo
from gongji.store.schema import institutions, settlements, spent_msgids
from mother_child import balance as mother_balance
from mother_child import institution, mother_and_child, self_pay_bill
from reference_client import LostAnswer, ReferenceClient


@pytest.fixture
def day(api, clock):
    """A mother with 500.00 yuan bound to her child (a resident); a hospital, a pharmacy."""
    family = mother_and_child(api, 31)
    clients = {}
    for code, kind in (("H1", "hospital"), ("H2", "hospital"), ("P1", "pharmacy")):
        institution(api, code, kind)
        clients[code] = ReferenceClient(api, api.token("institution", code), code, code,
                                        "542500", clock)
        clients[code].sign_in()
    return family | clients


def bill(child: dict, amount: str = "100.00") -> dict:
    return self_pay_bill(child, amount, "390")


def balance(api, day) -> float:
    return mother_balance(api, day["mother_token"])


def lost(client: ReferenceClient, infno: str, input_: dict) -> str:
    """Send a message whose answer is lost; its msgid."""
    with pytest.raises(LostAnswer) as caught:
        client.send(infno, input_, lose_answer=True)
    return caught.value.args[0]


def ledger_is_sound(api) -> None:
    results = verify(api.client.app.state.ctx)
    assert all(not r.violations for r in results if not r.check.advisory), [
        (r.check.name, r.violations) for r in results if r.violations]


def test_a_settlement_whose_answer_was_lost_is_reversed_as_2208_would(api, day):
    his = day["H1"]
    omsgid = lost(his, "2207", bill(day["child"]))
    assert balance(api, day) == 400  # it did settle
    answer = his.correct(day["child"]["psn_no"], omsgid, "2207")
    assert answer["infcode"] == 0, answer
    setlinfo = answer["output"]["setlinfo"]
    assert setlinfo["reversed"] is True and setlinfo["acct_mulaid_pay"] == -100
    assert answer["output"]["mulaid_detail"][0]["amount"] == -100
    assert balance(api, day) == 500
    # the original, sent again, is refused: it was undone
    again = his.send("2207", bill(day["child"]), msgid=omsgid)
    assert (again["infcode"], again["err_code"]) == (-1, "MSG_REVERSED")
    # the settlement shows as reversed to the helper
    ledger_is_sound(api)


def test_the_answer_has_the_shape_of_2208s(api, day):
    his = day["H1"]
    first = his.must("2207", bill(day["child"], "30.00"))
    by_2208 = his.must("2208", {"data": {"setl_id": first["setlinfo"]["setl_id"],
                                         "psn_no": day["child"]["psn_no"]}})
    omsgid = lost(his, "2207", bill(day["child"], "30.00"))
    by_2601 = his.correct(day["child"]["psn_no"], omsgid, "2207")["output"]
    assert by_2601.keys() == by_2208.keys()
    assert by_2601["setlinfo"].keys() == by_2208["setlinfo"].keys()
    assert {k: v for k, v in by_2601["setlinfo"].items() if k != "setl_id"} == \
        {k: v for k, v in by_2208["setlinfo"].items() if k != "setl_id"}


def test_a_message_that_never_settled_is_spent_for_good(api, day):
    his = day["H1"]
    omsgid = his.next_msgid()  # the HIS's message never reached us
    answer = his.correct(day["child"]["psn_no"], omsgid, "2207")
    assert answer["infcode"] == 0 and answer["output"]["msg_spent"] is True
    late = his.send("2207", bill(day["child"]), msgid=omsgid)
    assert (late["infcode"], late["err_code"]) == (-1, "MSG_REVERSED")
    for infno, input_ in (("2208", {"data": {"setl_id": "S1", "psn_no": "x"}}),
                          ("9001", {"signIn": {"opter_no": "1", "mac": "", "ip": ""}})):
        assert his.send(infno, input_, msgid=omsgid)["err_code"] == "MSG_REVERSED"
    assert balance(api, day) == 500
    ledger_is_sound(api)


def test_a_spent_msgid_stays_spent_after_the_exactly_once_records_are_purged(api, day, clock):
    his = day["H1"]
    omsgid = his.next_msgid()
    assert his.correct(day["child"]["psn_no"], omsgid, "2207")["infcode"] == 0
    ctx = api.client.app.state.ctx
    with ctx.uow() as uow:  # what `gongji idempotency purge` does after the retention period
        assert repo.purge_idempotency_batch(uow.conn, clock() + timedelta(days=1), 1000) >= 2
        uow.commit()
    late = his.send("2207", bill(day["child"]), msgid=omsgid)
    assert late["err_code"] == "MSG_REVERSED"
    assert balance(api, day) == 500


def test_a_correction_is_exactly_once_by_its_own_msgid(api, day):
    his = day["H1"]
    omsgid = lost(his, "2207", bill(day["child"]))
    msgid = his.next_msgid()
    body = {"data": {"psn_no": day["child"]["psn_no"], "omsgid": omsgid, "oinfno": "2207"}}
    first = his.send("2601", body, msgid=msgid)
    again = his.send("2601", body, msgid=msgid)
    assert first["infcode"] == 0 and again["output"] == first["output"]
    assert balance(api, day) == 500
    # another correction of the same message: it is already reversed
    assert his.correct(day["child"]["psn_no"], omsgid, "2207")["err_code"] == "ALREADY_REVERSED"


def test_a_pharmacy_sale_whose_answer_was_lost_is_reversed_as_2103_would(api, day):
    pharmacy = day["P1"]
    omsgid = lost(pharmacy, "2102", bill(day["child"], "40.00"))
    assert balance(api, day) == 460
    answer = pharmacy.correct(day["child"]["psn_no"], omsgid, "2102")
    assert answer["infcode"] == 0 and answer["output"]["setlinfo"]["medfee_sumamt"] == -40
    assert balance(api, day) == 500
    ledger_is_sound(api)


def test_already_reversed(api, day):
    his = day["H1"]
    omsgid = lost(his, "2207", bill(day["child"]))
    # the HIS learns the setl_id another way (5203, the day's statement) and sends 2208
    with api.client.app.state.ctx.read() as uow:
        row = uow.conn.execute(settlements.select().where(settlements.c.msgid == omsgid)).one()
    assert his.send("2208", {"data": {"setl_id": row.setl_id,
                                      "psn_no": day["child"]["psn_no"]}})["infcode"] == 0
    answer = his.correct(day["child"]["psn_no"], omsgid, "2207")
    assert (answer["infcode"], answer["err_code"]) == (-1, "ALREADY_REVERSED")
    assert balance(api, day) == 500


def test_a_psn_no_not_the_patients_is_refused_and_spends_nothing(api, day):
    his = day["H1"]
    omsgid = lost(his, "2207", bill(day["child"]))
    wrong = his.correct(day["mother"]["psn_no"], omsgid, "2207")
    assert (wrong["infcode"], wrong["err_code"]) == (-1, "SETTLEMENT_NOT_FOUND")
    assert balance(api, day) == 400
    # the refusal left the message as it was: its retry still gets the first answer
    assert his.send("2207", bill(day["child"]), msgid=omsgid)["infcode"] == 0
    assert his.correct(day["child"]["psn_no"], omsgid, "2207")["infcode"] == 0
    assert balance(api, day) == 500


def test_another_institutions_message_is_not_touched(api, day):
    omsgid = lost(day["H2"], "2207", bill(day["child"]))
    answer = day["H1"].correct(day["child"]["psn_no"], omsgid, "2207")
    assert answer["infcode"] == 0 and answer["output"]["msg_spent"] is True
    assert balance(api, day) == 400  # H2's settlement stands
    assert day["H2"].send("2207", bill(day["child"]), msgid=omsgid)["infcode"] == 0


@pytest.mark.parametrize("oinfno", ["2101", "2208", "9001", "1101", "22077"])
def test_other_original_codes_are_unsupported(day, oinfno):
    answer = day["H1"].correct(day["child"]["psn_no"], "H1202506011000000001", oinfno)
    assert (answer["infcode"], answer["err_code"]) == (-1, "INFNO_UNSUPPORTED")


def test_the_other_institution_types_code_is_refused(day):
    answer = day["H1"].correct(day["child"]["psn_no"], "H1202506011000000001", "2102")
    assert answer["err_code"] == "INSTITUTION_TYPE"
    answer = day["P1"].correct(day["child"]["psn_no"], "P1202506011000000001", "2207")
    assert answer["err_code"] == "INSTITUTION_TYPE"


@pytest.mark.parametrize("data", [
    {"omsgid": "X1", "oinfno": "2207"},
    {"psn_no": "P", "oinfno": "2207"},
    {"psn_no": "P", "omsgid": "", "oinfno": "2207"},
    {"psn_no": "P", "omsgid": "X" * 65, "oinfno": "2207"},
    {"psn_no": "P", "omsgid": "X1"},
    {"psn_no": "P", "omsgid": "X1", "oinfno": 2207},
])
def test_bad_inputs_are_refused(day, data):
    assert day["H1"].send("2601", {"data": data})["err_code"] == "INVALID_INPUT"


def test_a_correction_cannot_name_itself(day):
    his = day["H1"]
    msgid = his.next_msgid()
    answer = his.send("2601", {"data": {"psn_no": day["child"]["psn_no"], "omsgid": msgid,
                                        "oinfno": "2207"}}, msgid=msgid)
    assert answer["err_code"] == "INVALID_INPUT"


# --- 2601 of a 2201 挂号 -----------------------------------------------------------------------


def registration(patient: dict, ipt_otp_no: str = "MZ0001") -> dict:
    return {"data": {"psn_no": patient["psn_no"], "insutype": "390",
                     "begntime": "2025-06-01 10:00:00", "mdtrt_cert_type": "02",
                     "mdtrt_cert_no": patient["certno"], "ipt_otp_no": ipt_otp_no,
                     "atddr_no": "D01", "dr_name": "医生", "dept_code": "01",
                     "dept_name": "内科", "caty": "A03"}}


def test_a_registration_whose_answer_was_lost_is_cancelled_as_2202_would(day):
    his = day["H1"]
    omsgid = lost(his, "2201", registration(day["child"]))
    answer = his.correct(day["child"]["psn_no"], omsgid, "2201")
    assert answer["infcode"] == 0, answer
    mdtrt_id = answer["output"]["data"]["mdtrt_id"]
    assert answer["output"]["data"]["ipt_otp_no"] == "MZ0001"
    cancelled = his.send("2202", {"data": {"psn_no": day["child"]["psn_no"],
                                           "mdtrt_id": mdtrt_id}})
    assert cancelled["err_code"] == "VISIT_CANCELLED"
    assert his.send("2201", registration(day["child"]), msgid=omsgid)["err_code"] == \
        "MSG_REVERSED"


def test_a_registration_that_never_happened_is_spent(day):
    his = day["H1"]
    omsgid = his.next_msgid()
    answer = his.correct(day["child"]["psn_no"], omsgid, "2201")
    assert answer["infcode"] == 0 and answer["output"]["msg_spent"] is True
    assert his.send("2201", registration(day["child"]), msgid=omsgid)["err_code"] == \
        "MSG_REVERSED"


def test_a_registration_of_another_patient_is_not_found(day):
    his = day["H1"]
    omsgid = lost(his, "2201", registration(day["child"]))
    answer = his.correct(day["mother"]["psn_no"], omsgid, "2201")
    assert (answer["infcode"], answer["err_code"]) == (-1, "VISIT_NOT_FOUND")
    assert day["P1"].correct(day["child"]["psn_no"], omsgid, "2201")["err_code"] == \
        "INSTITUTION_TYPE"


def test_verify_names_a_spent_msgid_that_still_stands_as_a_settlement(api, day, clock):
    his = day["H1"]
    kept = his.must("2207", bill(day["child"]))
    ledger_is_sound(api)
    ctx = api.client.app.state.ctx
    with ctx.uow() as uow:  # planted behind the service's back
        inst_id = uow.conn.execute(select(institutions.c.id).where(
            institutions.c.fixmedins_code == "H1")).scalar_one()
        uow.conn.execute(insert(spent_msgids).values(
            institution_id=inst_id, msgid=his.last_msgid, oinfno="2207", by_msgid="X",
            spent_at=clock()))
        uow.commit()
    [check] = [r for r in verify(ctx) if r.check.name == "spent_msgid_not_settled"]
    assert [subject for subject, _ in check.violations] == [
        f"结算 {kept['setlinfo']['setl_id']}"]
