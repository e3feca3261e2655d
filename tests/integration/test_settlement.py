"""Settlement through the gateway envelope, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from support import ok


@pytest.fixture
def family(world):
    """A 390 child with two helpers (mother first), and an employee patient with own money."""
    hospital = world.institution("H54250001", "hospital")
    pharmacy = world.institution("P54250001", "pharmacy")
    mother = world.person("卓玛", credit="300.00")
    father = world.person("达瓦", credit="500.00")
    child = world.person("平措", insutype="390")
    world.bind(mother, child, "child")
    world.bind(father, child, "child")
    return dict(hospital=hospital, pharmacy=pharmacy, mother=mother, father=father, child=child)


def test_draws_helpers_in_order_then_cash(world, family):
    out = ok(world.settle(family["hospital"], family["child"], "1000.00"))
    setl = out["setlinfo"]
    assert setl["fund_pay_sumamt"] == 0
    assert (setl["acct_pay"], setl["acct_mulaid_pay"], setl["psn_cash_pay"]) == (0, 800, 200)
    assert [d["amount"] for d in out["mulaid_detail"]] == [300, 500]
    assert [d["helper_psn_no"] for d in out["mulaid_detail"]] == [
        family["mother"]["psn_no"], family["father"]["psn_no"]]
    assert world.balances(family["mother"], family["father"]) == [0, 0]


def test_prefers_own_account_to_helpers(world):
    world.institution("P54250001", "pharmacy")
    helper = world.person("甲", credit="100.00")
    patient = world.person("乙", credit="30.00")
    world.bind(helper, patient, "spouse")
    setl = ok(world.settle("P54250001", patient, "50.00", infno="2102"))["setlinfo"]
    assert (setl["acct_pay"], setl["acct_mulaid_pay"], setl["psn_cash_pay"]) == (30, 20, 0)
    assert setl["balc"] == 0
    assert world.balances(helper, patient) == [8000, 0]


def test_presettlement_moves_nothing(world, family):
    before = world.balances(family["mother"], family["father"])
    out = ok(world.settle(family["hospital"], family["child"], "120.50", "100.00", infno="2206"))
    assert out["setlinfo"]["setl_id"] is None
    assert out["setlinfo"]["acct_mulaid_pay"] == pytest.approx(120.50 - 0)
    assert world.balances(family["mother"], family["father"]) == before
    assert world.accumulator(family["child"]) == (0, 0)


def test_reversal_gives_every_account_and_accumulator_back(world, family):
    before = world.balances(family["mother"], family["father"])
    answer = world.settle(family["hospital"], family["child"], "1500.00", "1400.00")
    assert ok(answer)["setlinfo"]["fund_pay_sumamt"] == 720  # (1400 - 200) * 60 %
    assert world.accumulator(family["child"]) == (20000, 72000)
    reversal = ok(world.reverse(family["hospital"], answer, family["child"]))
    assert reversal["setlinfo"]["acct_mulaid_pay"] == -780
    assert world.balances(family["mother"], family["father"]) == before
    assert world.accumulator(family["child"]) == (0, 0)


def test_second_reversal_is_refused_and_moves_nothing(world, family):
    answer = world.settle(family["hospital"], family["child"], "100.00")
    ok(world.reverse(family["hospital"], answer, family["child"]))
    after_first = world.balances(family["mother"], family["father"])
    again = world.reverse(family["hospital"], answer, family["child"])
    assert again["infcode"] == -1 and again["err_code"] == "ALREADY_REVERSED"
    assert world.balances(family["mother"], family["father"]) == after_first


def test_retry_of_a_msgid_returns_the_first_answer(world, family):
    first = world.settle(family["hospital"], family["child"], "100.00", msgid="RETRY-1")
    again = world.settle(family["hospital"], family["child"], "100.00", msgid="RETRY-1")
    assert ok(again) == ok(first)
    assert world.balances(family["mother"], family["father"]) == [20000, 50000]


def test_same_msgid_with_another_payload_is_refused(world, family):
    ok(world.settle(family["hospital"], family["child"], "100.00", msgid="DUP"))
    other = world.settle(family["hospital"], family["child"], "90.00", msgid="DUP")
    assert other["err_code"] == "IDEMPOTENCY_CONFLICT"
    assert world.balances(family["mother"], family["father"]) == [20000, 50000]


def test_same_msgid_is_keyed_across_money_moving_codes(world, family):
    settled = world.settle(family["hospital"], family["child"], "100.00", msgid="X1")
    ok(settled)
    before = world.balances(family["mother"], family["father"])
    other = world.reverse(family["hospital"], settled, family["child"], msgid="X1")
    assert other["err_code"] == "IDEMPOTENCY_CONFLICT"
    assert world.balances(family["mother"], family["father"]) == before


def test_a_read_only_call_does_not_spend_its_msgid(world, family):
    ok(world.settle(family["hospital"], family["child"], "100.00", infno="2206", msgid="X2"))
    settled = ok(world.settle(family["hospital"], family["child"], "100.00", msgid="X2"))
    assert settled["setlinfo"]["setl_id"]


def test_frozen_helper_is_skipped(world, family):
    reference_patch(world, family["mother"], account_status="frozen")
    out = ok(world.settle(family["hospital"], family["child"], "100.00"))
    assert [d["helper_psn_no"] for d in out["mulaid_detail"]] == [family["father"]["psn_no"]]
    assert world.balances(family["mother"], family["father"]) == [30000, 40000]


def test_suspended_helper_is_skipped(world, family):
    reference_patch(world, family["mother"], psn_insu_stas="2")
    out = ok(world.settle(family["hospital"], family["child"], "100.00"))
    assert [d["helper_psn_no"] for d in out["mulaid_detail"]] == [family["father"]["psn_no"]]


def test_helper_outside_the_institutions_area_is_skipped(world, family):
    world.institution("H45100001", "hospital", region="451000")
    out = ok(world.settle("H45100001", family["child"], "100.00"))
    setl = out["setlinfo"]
    assert (setl["acct_mulaid_pay"], setl["psn_cash_pay"]) == (0, 100)
    assert world.balances(family["mother"], family["father"]) == [30000, 50000]


def test_flag_zero_pays_everything_in_cash(world, family):
    setl = ok(world.settle(family["hospital"], family["child"], "100.00", flag="0"))["setlinfo"]
    assert (setl["acct_pay"], setl["acct_mulaid_pay"], setl["psn_cash_pay"]) == (0, 0, 100)


def test_fund_pays_deductible_ratio_and_cap_across_bills(world, family):
    code, child = family["hospital"], family["child"]
    first = ok(world.settle(code, child, "1000.00", "1000.00"))["setlinfo"]
    assert first["fund_pay_sumamt"] == 480  # (1000 - 200 deductible) * 60 %
    second = ok(world.settle(code, child, "5000.00", "5000.00"))["setlinfo"]
    assert second["fund_pay_sumamt"] == 1520  # capped: 2000 - 480
    third = ok(world.settle(code, child, "100.00", "100.00"))["setlinfo"]
    assert third["fund_pay_sumamt"] == 0
    assert world.accumulator(child) == (20000, 200000)


def test_fund_share_is_rounded_half_up_to_the_fen(world, family):
    code, child = family["hospital"], family["child"]
    ok(world.settle(code, child, "200.00", "200.00"))  # uses the whole deductible
    setl = ok(world.settle(code, child, "0.01", "0.01"))["setlinfo"]
    assert setl["fund_pay_sumamt"] == 0.01  # 0.006 rounds up to 0.01


def test_pharmacy_codes_are_refused_at_a_hospital(world, family):
    answer = world.settle(family["hospital"], family["child"], "10.00", infno="2102")
    assert answer["err_code"] == "INSTITUTION_TYPE"


def test_credential_must_be_the_patients_own(world, family):
    bill = world.bill(family["child"], "10.00")
    bill["mdtrt_cert_no"] = family["mother"]["certno"]
    answer = world.call(family["hospital"], "2207", bill)
    assert answer["err_code"] == "CREDENTIAL_MISMATCH"
    assert world.balances(family["mother"], family["father"]) == [30000, 50000]


def test_social_security_card_is_accepted(world, family):
    out = ok(world.settle(family["hospital"], family["child"], "10.00", cert="03"))
    assert out["setlinfo"]["acct_mulaid_pay"] == 10


def test_person_info_shows_only_the_patients_own_balance(world, family):
    out = ok(world.call(family["hospital"], "1101",
                        {"mdtrt_cert_type": "02", "mdtrt_cert_no": family["mother"]["certno"]}))
    assert out["baseinfo"]["psn_no"] == family["mother"]["psn_no"]
    assert out["insuinfo"][0]["balc"] == 300
    child = ok(world.call(family["hospital"], "1101",
                          {"mdtrt_cert_type": "03", "mdtrt_cert_no": family["child"]["card_no"]}))
    assert child["insuinfo"][0]["balc"] == 0


def test_totals_agree_and_exclude_reversed_settlements(world, family):
    code, child = family["hospital"], family["child"]
    kept = ok(world.settle(code, child, "100.00"))["setlinfo"]
    undone = world.settle(code, child, "50.00")
    ok(world.reverse(code, undone, child))
    query = {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01",
             "medfee_sumamt": kept["medfee_sumamt"], "fund_pay_sumamt": 0,
             "acct_pay": 0, "acct_mulaid_pay": kept["acct_mulaid_pay"], "fixmedins_setl_cnt": 1}
    assert ok(world.call(code, "3201", query))["stmt_rslt"] == "0"
    query["medfee_sumamt"] = 100.01
    out = ok(world.call(code, "3201", query))
    assert out["stmt_rslt"] == "1" and out["medfee_sumamt"] == 100


def reference_patch(world, person, **changes):
    from gongji.services.registry import reference

    reference.patch_person(world.ctx, person["psn_no"], changes)


def test_unknown_institution_is_refused_and_moves_nothing(world, family):
    answer = world.settle("H99999999", family["child"], "10.00")
    assert answer["err_code"] == "INSTITUTION_NOT_FOUND"
    assert world.balances(family["mother"], family["father"]) == [30000, 50000]
