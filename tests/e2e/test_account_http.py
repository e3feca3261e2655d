"""Issue 4 over HTTP: premium, usage details and their exports, the patient's settlements,
notices, the e-voucher, 窗口查询, institution reconciliation, and what each caller may see."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import openpyxl
import pytest

from gongji.domain.idcard import make_certno
from support import ok

KIND_ZH = {"credit": "个人账户划入", "settlement": "结算支付", "reversal": "结算撤销退回",
           "premium": "代缴居民医保费", "premium_reversal": "代缴撤销退回"}
RELATION_ZH = {"child": "子女", "spouse": "配偶", "parent": "父母"}
PEOPLE = {  # key: (name, insutype, birth, seq, card)
    "mother": ("卓玛", "310", date(1980, 2, 3), 21, "CARD21"),
    "father": ("达瓦", "310", date(1978, 5, 6), 23, "CARD23"),
    "child": ("平措", "390", date(2014, 7, 8), 22, "CARD22"),
    "granny": ("次仁央宗", "390", date(1950, 1, 9), 24, "CARD24"),
}


@pytest.fixture
def family(api):
    """Mother (1000 yuan) and father (300 yuan) help their child; mother helps granny too.
    The child has been to hospital H1 twice (one reversed); mother paid granny's premium."""
    people = {}
    for key, (name, insutype, born, seq, card) in PEOPLE.items():
        certno = make_certno("542521", born, seq)
        answer = api.post("/api/v1/persons", {"certno": certno, "psn_name": name,
                                              "insutype": insutype, "insuplc_admdvs": "542500",
                                              "card_no": card})
        assert answer.status_code == 201, answer.text
        people[key] = answer.json()
    for helper, beneficiary, relation in [("mother", "child", "child"),
                                          ("father", "child", "child"),
                                          ("mother", "granny", "parent")]:
        assert api.post("/api/v1/kinships", {"certno": people[helper]["certno"],
                                             "relative_certno": people[beneficiary]["certno"],
                                             "relation": relation}).status_code == 201
    for helper, amount in [("mother", "1000.00"), ("father", "300.00")]:
        assert api.post(f"/api/v1/accounts/{people[helper]['psn_no']}/credits",
                        {"amount": amount, "ref": f"c-{helper}"}).status_code == 201
    assert api.post("/api/v1/institutions", {"fixmedins_code": "H1", "fixmedins_name": "人民医院",
                                             "fixmedins_type": "hospital",
                                             "admdvs": "542500"}).status_code == 201
    clerk = api.token("clerk", "clerk-1", "542500")
    for helper, beneficiary, relation in [("mother", "child", "child"),
                                          ("father", "child", "child"),
                                          ("mother", "granny", "parent")]:
        bound = api.post("/api/v1/bindings", {"helper_certno": people[helper]["certno"],
                                              "beneficiary_certno": people[beneficiary]["certno"],
                                              "relation": relation, "documents_checked": True},
                         clerk)
        assert bound.status_code == 201, bound.text
    tokens = {key: api.token("person", p["psn_no"]) for key, p in people.items()}
    tokens |= {"clerk": clerk, "inst": api.token("institution", "H1"),
               "far_clerk": api.token("clerk", "clerk-9", "451000")}
    child = people["child"]

    def settle(msgid: str, fee: str) -> dict:
        return ok(api.gateway(tokens["inst"], "H1", "2207", bill(child, fee), msgid))

    first = settle("M1", "1200.00")  # mother 1000, father 200
    second = settle("M2", "50.00")  # father 50
    ok(api.gateway(tokens["inst"], "H1", "2208", {"setl_id": second["setlinfo"]["setl_id"],
                                                  "psn_no": child["psn_no"]}, "M3"))
    paid = api.post("/api/v1/premiums", {"beneficiary_certno": people["granny"]["certno"],
                                         "year": 2025}, tokens["father"])
    assert paid.status_code == 422 and paid.json()["code"] == "PREMIUM_NOT_BOUND"
    api.post(f"/api/v1/accounts/{people['mother']['psn_no']}/credits",
             {"amount": "400.00", "ref": "c-mother-2"})
    paid = api.post("/api/v1/premiums", {"beneficiary_certno": people["granny"]["certno"],
                                         "year": 2025}, tokens["mother"])
    assert paid.status_code == 201, paid.text
    return {"people": people, "tokens": tokens, "first": first, "second": second,
            "premium": paid.json()}


def bill(person: dict, fee: str, cert_type: str = "02", cert_no: str | None = None) -> dict:
    return {"psn_no": person["psn_no"], "mdtrt_cert_type": cert_type,
            "mdtrt_cert_no": cert_no or person["certno"], "medfee_sumamt": fee,
            "fulamt_ownpay_amt": fee, "overlmt_selfpay": 0, "preselfpay_amt": 0,
            "inscp_scp_amt": 0, "acct_used_flag": "1", "insutype": person["insutype"]}


# --- premium --------------------------------------------------------------------------------------


def test_premium_over_http_honours_the_idempotency_key(api, family):
    tokens, people = family["tokens"], family["people"]
    body = {"beneficiary_certno": people["child"]["certno"], "year": 2026}
    key = {"Idempotency-Key": "premium-child-2026"}
    api.post(f"/api/v1/accounts/{people['father']['psn_no']}/credits",
             {"amount": "500.00", "ref": "c-father-2"})  # 100 left after the bills, now 600
    first = api.post("/api/v1/premiums", body, tokens["father"], headers=key)
    assert first.status_code == 201 and first.json()["amount"] == 400
    assert first.json()["balance"] == 200
    again = api.post("/api/v1/premiums", body, tokens["father"], headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    other = api.post("/api/v1/premiums", body | {"year": 2025}, tokens["father"], headers=key)
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_CONFLICT"


def test_premium_refusals_are_coded_http_errors(api, family):
    tokens, people = family["tokens"], family["people"]
    cases = [
        ("father", "granny", 2025, 422, "PREMIUM_NOT_BOUND"),
        ("mother", "granny", 2025, 409, "PREMIUM_ALREADY_PAID"),
        ("mother", "child", 2024, 422, "PREMIUM_YEAR_CLOSED"),
        ("father", "child", 2025, 409, "INSUFFICIENT_BALANCE"),
    ]
    for payer, beneficiary, year, status, code in cases:
        answer = api.post("/api/v1/premiums", {"beneficiary_certno": people[beneficiary]["certno"],
                                               "year": year}, tokens[payer])
        assert (answer.status_code, answer.json()["code"]) == (status, code), (payer, year)
        assert answer.json()["message"]
    bad = api.post("/api/v1/premiums", {"beneficiary_certno": "x", "year": "soon"},
                   tokens["mother"])
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_INPUT"


def test_only_the_operator_reverses_a_premium_and_only_once(api, family):
    path = f"/api/v1/premiums/{family['premium']['premium_id']}/reverse"
    assert api.post(path, {}, family["tokens"]["mother"]).status_code == 403
    first = api.post(path, {})
    assert first.status_code == 200 and first.json()["reversed"] is True
    again = api.post(path, {})
    assert again.status_code == 409 and again.json()["code"] == "PREMIUM_ALREADY_REVERSED"
    assert api.post("/api/v1/premiums/999999/reverse", {}).status_code == 404
    assert api.post(f"/api/v1/premiums/{2**70}/reverse", {}).status_code == 422


# --- usage details and exports --------------------------------------------------------------------


def test_the_helper_sees_each_draw_and_refund_with_the_relative_masked(api, family):
    entries = api.get("/api/v1/account/entries", family["tokens"]["mother"]).json()["entries"]
    assert [e["kind"] for e in entries] == ["premium", "credit", "settlement", "credit"]
    premium, _, settlement, _ = entries
    assert premium["amount"] == -400 and premium["relation"] == "parent"
    assert settlement["amount"] == -1000 and settlement["fixmedins_code"] == "H1"
    assert settlement["setl_id"] == family["first"]["setlinfo"]["setl_id"]
    assert settlement["beneficiary_certno"].count("*") == 8
    father = api.get("/api/v1/account/entries?limit=2", family["tokens"]["father"]).json()
    assert [e["kind"] for e in father["entries"]] == ["reversal", "settlement"]
    rest = api.get(f"/api/v1/account/entries?limit=2&cursor={father['next_cursor']}",
                   family["tokens"]["father"]).json()
    assert [e["kind"] for e in rest["entries"]] == ["settlement", "credit"]
    assert rest["next_cursor"] is None


def test_entries_outside_the_period_are_left_out(api, family):
    token = family["tokens"]["mother"]
    assert api.get("/api/v1/account/entries?from=2025-06-01&to=2025-06-01",
                   token).json()["entries"]
    assert api.get("/api/v1/account/entries?from=2025-06-02", token).json()["entries"] == []
    bad = api.get("/api/v1/account/entries?from=June", token)
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_INPUT"


def expected_rows(entries: list[dict]) -> list[list[object]]:
    rows = []
    for e in entries:
        rows.append([e["time"], KIND_ZH[e["kind"]], e["amount"], e["balance_after"],
                     e["beneficiary_certno"], e["beneficiary_name"],
                     RELATION_ZH.get(e["relation"]), e["binding_id"], e["fixmedins_code"],
                     e["fixmedins_name"], e["setl_id"], e["premium_id"],
                     {"hospital": "门诊", "pharmacy": "购药", "inpatient": "住院"}.get(
                         e["fund_scene"])])
    return rows


HEADERS = ["时间", "类型", "金额（元）", "余额（元）", "被共济人证件号码", "被共济人姓名", "亲属关系",
           "共济关系编号", "定点医药机构编码", "定点医药机构名称", "结算编号", "代缴编号", "就医类型"]


def test_the_csv_export_holds_the_same_rows_as_the_api(api, family):
    token = family["tokens"]["mother"]
    entries = api.get("/api/v1/account/entries?from=2025-01-01&to=2025-12-31",
                      token).json()["entries"]
    response = api.get("/api/v1/account/entries.csv?from=2025-01-01&to=2025-12-31", token)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == HEADERS
    as_text = [["" if v is None else f"{v:.2f}" if i in (2, 3) else str(v)
                for i, v in enumerate(row)] for row in expected_rows(entries)]
    assert rows == as_text and len(rows) == 4


def test_the_excel_export_holds_the_same_rows_as_the_api(api, family):
    token = family["tokens"]["father"]
    entries = api.get("/api/v1/account/entries", token).json()["entries"]
    response = api.get("/api/v1/account/entries.xlsx", token)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert sheet.title == "使用明细" and header == HEADERS
    assert rows == expected_rows(entries) and len(rows) == 4


# --- the patient's settlements --------------------------------------------------------------------


def test_the_patient_sees_what_each_settlement_took_from_whom(api, family):
    answer = api.get("/api/v1/settlements?from=2025-06-01&to=2025-06-01",
                     family["tokens"]["child"]).json()
    second, first = answer["settlements"]
    assert first["setl_id"] == family["first"]["setlinfo"]["setl_id"]
    assert (first["medfee_sumamt"], first["acct_mulaid_pay"], first["psn_cash_pay"]) == (
        1200, 1200, 0)
    assert [(d["helper_name"], d["relation"], d["amount"]) for d in first["mulaid_detail"]] == [
        ("卓*", "child", 1000), ("达*", "child", 200)]
    assert first["mulaid_detail"][0]["helper_certno"].count("*") == 8
    assert second["reversed"] is True and first["reversed"] is False
    assert api.get("/api/v1/settlements?from=2025-06-02",
                   family["tokens"]["child"]).json()["settlements"] == []


# --- notices --------------------------------------------------------------------------------------


def test_a_helper_lists_notices_and_marks_them_read(api, family):
    token = family["tokens"]["father"]
    listed = api.get("/api/v1/notices", token).json()
    assert listed["unread"] == 3
    assert [n["kind"] for n in listed["notices"]] == ["reversal", "settlement", "settlement"]
    # said from the reader's side, the sex from the ID number (sequence 022: even, a woman's)
    assert "您的女儿 平*" in listed["notices"][-1]["text"]
    notice_id = listed["notices"][0]["notice_id"]
    read = api.post(f"/api/v1/notices/{notice_id}/read", {}, token)
    assert read.status_code == 200 and read.json()["read"] is True
    assert api.get("/api/v1/notices", token).json()["unread"] == 2
    unread = api.get("/api/v1/notices?unread_only=true", token).json()["notices"]
    assert notice_id not in [n["notice_id"] for n in unread]
    mothers = api.post(f"/api/v1/notices/{notice_id}/read", {}, family["tokens"]["mother"])
    assert mothers.status_code == 404 and mothers.json()["code"] == "NOTICE_NOT_FOUND"
    assert api.post(f"/api/v1/notices/{2**70}/read", {}, token).status_code == 422


# --- e-voucher ------------------------------------------------------------------------------------


def test_an_evoucher_identifies_the_patient_once(api, family):
    child, inst = family["people"]["child"], family["tokens"]["inst"]
    voucher = api.post("/api/v1/evoucher", {}, family["tokens"]["child"])
    assert voucher.status_code == 201 and voucher.json()["expires_at"].endswith("+08:00")
    token = voucher.json()["token"]
    info = ok(api.gateway(inst, "H1", "1101", {"mdtrt_cert_type": "01",
                                               "mdtrt_cert_no": token}, "E1"))
    assert info["baseinfo"]["psn_no"] == child["psn_no"]
    settled = ok(api.gateway(inst, "H1", "2207", bill(child, "10.00", "01", token), "E2"))
    assert settled["setlinfo"]["acct_mulaid_pay"] == 10
    reused = api.gateway(inst, "H1", "2207", bill(child, "10.00", "01", token), "E3")
    assert reused["infcode"] == -1 and reused["err_code"] == "EVOUCHER_INVALID"


def test_an_expired_evoucher_is_refused(api, family, clock):
    child, inst = family["people"]["child"], family["tokens"]["inst"]
    token = api.post("/api/v1/evoucher", {}, family["tokens"]["child"]).json()["token"]
    clock.advance(minutes=6)
    late = api.gateway(inst, "H1", "2207", bill(child, "10.00", "01", token), "E4")
    assert late["infcode"] == -1 and late["err_code"] == "EVOUCHER_INVALID"
    forged = api.gateway(inst, "H1", "1101", {"mdtrt_cert_type": "01",
                                              "mdtrt_cert_no": "EVnot-a-voucher"}, "E5")
    assert forged["err_code"] == "EVOUCHER_INVALID"


def test_someone_elses_evoucher_cannot_pay_for_the_patient(api, family):
    child, inst = family["people"]["child"], family["tokens"]["inst"]
    token = api.post("/api/v1/evoucher", {}, family["tokens"]["mother"]).json()["token"]
    answer = api.gateway(inst, "H1", "2207", bill(child, "10.00", "01", token), "E6")
    assert answer["err_code"] == "CREDENTIAL_MISMATCH"


# --- 窗口查询 -----------------------------------------------------------------------------------------


def test_a_clerk_of_the_region_sees_what_the_person_sees(api, family):
    mother, tokens = family["people"]["mother"], family["tokens"]
    for own, hall in [("/api/v1/account", "account"), ("/api/v1/account/entries", "entries"),
                      ("/api/v1/bindings", "bindings")]:
        mine = api.get(own, tokens["mother"])
        seen = api.get(f"/api/v1/hall/persons/{mother['certno']}/{hall}", tokens["clerk"])
        assert seen.status_code == 200 and seen.json() == mine.json(), hall


def test_the_hall_record_names_the_persons_region(api, family):
    """参保地 at the window by its name (the region policy's), beside its code."""
    mother = family["people"]["mother"]
    record = api.get(f"/api/v1/hall/persons/{mother['certno']}", family["tokens"]["clerk"])
    assert record.status_code == 200
    assert (record.json()["insuplc_admdvs"], record.json()["insuplc_name"]) == (
        "542500", "西藏阿里地区")


def test_a_clerk_of_another_region_is_refused(api, family):
    certno = family["people"]["mother"]["certno"]
    far = api.get(f"/api/v1/hall/persons/{certno}/account", family["tokens"]["far_clerk"])
    assert far.status_code == 404 and far.json()["code"] == "PERSON_NOT_FOUND"  # as unknown
    person = api.get(f"/api/v1/hall/persons/{certno}/account", family["tokens"]["mother"])
    assert person.status_code == 403
    nobody = make_certno("542521", date(1990, 1, 1), 99)
    assert api.get(f"/api/v1/hall/persons/{nobody}/account",
                   family["tokens"]["clerk"]).status_code == 404


def hall_views(api, psn_no: str) -> list[tuple]:  # noqa: ANN001
    trail = api.get(f"/api/v1/persons/{psn_no}/audit?limit=500")
    assert trail.status_code == 200
    return [(e["actor_role"], e["actor_id"], e["channel"], e["detail"]["view"],
             e["detail"]["clerk_admdvs"])
            for e in trail.json()["entries"] if e["action"] == "viewed_at_hall"]


def test_every_hall_lookup_is_in_the_persons_audit_trail_and_a_refused_one_is_not(
        api, family):
    mother, tokens = family["people"]["mother"], family["tokens"]
    for suffix in ("", "/account", "/entries", "/bindings"):
        assert api.get(f"/api/v1/hall/persons/{mother['certno']}{suffix}",
                       tokens["clerk"]).status_code == 200
    assert api.get(f"/api/v1/hall/persons/{mother['certno']}/account",
                   tokens["far_clerk"]).status_code == 404

    assert hall_views(api, mother["psn_no"]) == [
        ("clerk", "clerk-1", "hall", view, "542500")
        for view in ("record", "account", "entries", "bindings")]
    assert hall_views(api, family["people"]["child"]["psn_no"]) == []


# --- institutions ---------------------------------------------------------------------------------


def test_an_institution_reads_its_day_totals_and_detail(api, family):
    inst = family["tokens"]["inst"]
    totals = api.get("/api/v1/institution/daily-totals?from=2025-06-01&to=2025-06-01", inst)
    assert totals.status_code == 200
    [day] = totals.json()["days"]
    assert (day["medfee_sumamt"], day["fixmedins_setl_cnt"], day["reversed_cnt"]) == (1200, 1, 1)
    detail = api.get("/api/v1/institution/settlements?date=2025-06-01", inst).json()
    assert [s["reversed"] for s in detail["settlements"]] == [False, True]
    assert api.get("/api/v1/institution/settlements?date=2025-06-01",
                   family["tokens"]["mother"]).status_code == 403
    missing = api.get("/api/v1/institution/daily-totals", inst)
    assert missing.status_code == 422 and missing.json()["code"] == "INVALID_INPUT"


# --- who sees what --------------------------------------------------------------------------------


def leaks(text: str, people: dict, allowed: set[str]) -> list[str]:
    """Full ID numbers and full names of anyone but `allowed` found in a response text."""
    found = []
    for key, person in people.items():
        if key in allowed:
            continue
        for secret in (person["certno"], person["psn_name"]):
            if secret in text:
                found.append(f"{key}: {secret}")
    return found


def test_no_response_shows_anyone_but_its_owner_a_full_id_number_or_name(api, family):
    people, tokens = family["people"], family["tokens"]
    own_reads = ["/api/v1/account", "/api/v1/account/entries", "/api/v1/settlements",
                 "/api/v1/notices", "/api/v1/bindings", "/api/v1/premiums",
                 "/api/v1/account/entries.csv"]
    for key in people:
        for path in own_reads:
            response = api.get(path, tokens[key])
            assert response.status_code == 200, (key, path, response.text)
            text = response.content.decode("utf-8-sig")
            assert not leaks(text, people, {key}), (key, path)
        xlsx = api.get("/api/v1/account/entries.xlsx", tokens[key]).content
        cells = json.dumps([list(r) for r in openpyxl.load_workbook(io.BytesIO(xlsx)).active
                            .iter_rows(values_only=True)], ensure_ascii=False, default=str)
        assert not leaks(cells, people, {key}), (key, "xlsx")
    for key, person in people.items():  # the clerk sees nobody's full number or name
        for what in ("account", "entries", "bindings"):
            text = api.get(f"/api/v1/hall/persons/{person['certno']}/{what}",
                           tokens["clerk"]).text
            assert not leaks(text, people, set()), (key, what)
    inst = tokens["inst"]
    institution_reads = [
        api.get("/api/v1/institution/settlements?date=2025-06-01", inst).text,
        api.get("/api/v1/institution/daily-totals?from=2025-06-01&to=2025-06-01", inst).text,
        json.dumps(api.gateway(inst, "H1", "3202", {
            "stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01", "detail": []}, "P1"),
            ensure_ascii=False),
    ]
    for text in institution_reads:
        assert not leaks(text, people, set())
    # A settlement's answer names its own patient (v2 setlinfo.psn_name, as 1101 does for the
    # credential the institution holds), and nobody else: helpers stay masked.
    assert not leaks(json.dumps(family["first"], ensure_ascii=False), people, {"child"})
