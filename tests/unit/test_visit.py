"""The pure rules of visits and fee lines (domain/visit.py, domain/fee_detail.py): a bill of
lines takes the computed parts and refuses any sent amount that differs; counts and prices
are exact to their places; a call's lines are bounded and their feedetl_sn unique."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.domain.fee_detail import exact_decimal, parse_drug_bill, parse_feedetail
from gongji.domain.visit import (
    TIME_YEARS,
    beijing_time,
    bill_of_lines,
    has_visit,
    parse_batch_bill,
    parse_visit_info,
)

fen = st.integers(min_value=0, max_value=10_000_000)
parts_st = st.tuples(fen, fen, fen, fen).filter(lambda p: sum(p) > 0)
CERT = ("02", "542521198002031112")


def code_of(call) -> str:  # noqa: ANN001
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


@given(parts_st, st.lists(st.booleans(), min_size=4, max_size=4))
def test_a_bill_of_lines_takes_the_computed_parts(parts, sent_mask):
    sent = tuple(p if keep else None for p, keep in zip(parts, sent_mask, strict=True))
    bill = bill_of_lines("P1", CERT, sum(parts), sent, parts, True, None)
    assert (bill.fulamt_ownpay_fen, bill.overlmt_selfpay_fen, bill.preselfpay_fen,
            bill.inscp_fen) == parts
    assert bill.medfee_fen == sum(parts)


@given(parts_st, st.integers(0, 3), st.integers(-1000, 1000).filter(bool))
def test_any_sent_amount_that_differs_is_refused(parts, index, delta):
    sent = [None] * 4
    sent[index] = parts[index] + delta
    assert code_of(lambda: bill_of_lines("P1", CERT, sum(parts), tuple(sent), parts, True,
                                         None)) == "AMOUNT_MISMATCH"
    assert code_of(lambda: bill_of_lines("P1", CERT, sum(parts) + delta, (None,) * 4, parts,
                                         True, None)) == "AMOUNT_MISMATCH"


def test_a_bill_of_lines_of_nothing_is_refused():
    assert code_of(lambda: bill_of_lines("P1", CERT, 0, (None,) * 4, (0, 0, 0, 0), True,
                                         None)) == "INVALID_AMOUNT"


@given(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999999"), places=4,
                   allow_nan=False, allow_infinity=False),
       st.sampled_from([str, Decimal]))
def test_a_count_is_kept_exactly(cnt, form):
    parsed = exact_decimal(form(cnt), "cnt", 4, positive=True)
    assert parsed == cnt and int(parsed.scaleb(4)) == cnt.scaleb(4)


@pytest.mark.parametrize("bad", ["0.00001", "-1", "0", "1e3", "NaN", True, None, "１", [1],
                                 "100000000"])
def test_a_bad_count_is_refused(bad):
    assert code_of(lambda: exact_decimal(bad, "cnt", 4, positive=True)) == "INVALID_INPUT"


def test_a_price_may_carry_six_decimals_and_be_zero():
    assert exact_decimal("0.032500", "pric", 6, positive=False) == Decimal("0.0325")
    assert exact_decimal(0, "pric", 6, positive=False) == 0
    assert exact_decimal(0.1, "pric", 6, positive=False) == Decimal("0.1")  # as written


def _line(sn: str, mdtrt_id: str = "M1") -> dict:
    return {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": "P1", "chrg_bchno": "B1",
            "med_list_codg": "A01", "det_item_fee_sumamt": "1.00", "cnt": 1, "pric": "1.00",
            "fee_ocur_time": "2025-06-01 09:30:00"}


def test_feedetail_is_bounded_and_its_serial_numbers_unique_per_visit():
    lines = parse_feedetail({"feedetail": [_line("1"), _line("1", "M2")]})
    assert lines[0].fee_ocur_time == datetime(2025, 6, 1, 1, 30, tzinfo=UTC)
    assert code_of(lambda: parse_feedetail({"feedetail": [_line("1"), _line("1")]})) == \
        "FEEDETL_SN_DUPLICATE"
    assert code_of(lambda: parse_feedetail({"feedetail": []})) == "INVALID_INPUT"
    assert code_of(lambda: parse_feedetail(
        {"feedetail": [_line(str(i)) for i in range(1001)]})) == "INVALID_INPUT"
    for bad in ("2025/06/01", "2025-02-30 10:00:00", "2025-06-01 24:00:00",
                "２025-06-01 10:00:00", "2025-06-01T10:00:00"):
        no_time = _line("1") | {"fee_ocur_time": bad}
        assert code_of(lambda: parse_feedetail({"feedetail": [no_time]})) == "INVALID_INPUT"


def test_empty_parts_are_not_sent_and_a_visit_is_named_by_a_non_empty_mdtrt_id():
    data = {"psn_no": "P1", "mdtrt_cert_type": "02", "mdtrt_cert_no": "X", "mdtrt_id": "M1",
            "chrg_bchno": "B1", "medfee_sumamt": "1.00", "fulamt_ownpay_amt": "",
            "inscp_scp_amt": "1.00"}
    bill = parse_batch_bill(data)
    assert bill.sent_parts_fen == (None, None, None, 100) and bill.med_type is None
    assert has_visit(data) and not has_visit(data | {"mdtrt_id": ""}) and not has_visit({})
    assert code_of(lambda: parse_batch_bill(data | {"chrg_bchno": "0000"})) == "INVALID_INPUT"


def test_diagnoses_are_bounded():
    info = {"mdtrt_id": "M1", "psn_no": "P1"}
    assert parse_visit_info({"mdtrtinfo": info}).med_type == "11"
    assert code_of(lambda: parse_visit_info({"mdtrtinfo": info,
                                             "diseinfo": [{}] * 51})) == "INVALID_INPUT"
    assert code_of(lambda: parse_visit_info({"mdtrtinfo": info, "diseinfo": [
        {"diag_name": "x" * 20_001}]})) == "INVALID_INPUT"


def test_a_drug_bill_needs_druginfo_and_lines():
    info = {"psn_no": "P1", "mdtrt_cert_type": "02", "mdtrt_cert_no": "X", "medfee_sumamt": 1}
    line = _line("1")
    drug = parse_drug_bill({"druginfo": info, "drugdetail": [line]})
    assert drug.lines[0].mdtrt_id is None and drug.lines[0].chrg_bchno is None
    assert code_of(lambda: parse_drug_bill({"drugdetail": [line]})) == "INVALID_INPUT"
    assert code_of(lambda: parse_drug_bill({"druginfo": info})) == "INVALID_INPUT"


@given(year=st.integers(0, 9999), hour=st.integers(0, 23))
def test_a_time_is_held_in_utc_or_refused_with_a_code(year, hour):
    """"0001-01-01 00:00:00" (a HIS's empty date) once became a 500: in UTC it is year 0."""
    sent = {"begntime": f"{year:04d}-01-01 {hour:02d}:00:00"}
    if year not in TIME_YEARS:
        assert code_of(lambda: beijing_time(sent, "begntime")) == "INVALID_INPUT"
    else:
        assert beijing_time(sent, "begntime").astimezone(UTC).year in (year - 1, year)
