"""医保目录: how a fee line splits into 全自费 / 超限价 / 先行自付 / 政策范围内 (CONTRACT v2)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gongji.domain.catalogue import (
    BillParts,
    CatalogueItem,
    FeeLine,
    bill_parts,
    classify,
    fen_half_up,
    line_fen,
)
from gongji.domain.catalogue_entry import (
    EntryError,
    catalogue_region,
    from_millionths,
    parse_entry,
)
from gongji.domain.errors import DomainError

D = Decimal


def item(lv: str, prop: str = "0", limit: str | None = None) -> CatalogueItem:
    return CatalogueItem("XA01", "阿莫西林胶囊", lv, D(prop), None if limit is None else D(limit))


def line(pric: str, cnt: str, total_fen: int | None = None) -> FeeLine:
    fen = line_fen(D(pric), D(cnt)) if total_fen is None else total_fen
    return FeeLine("F001", "XA01", D(cnt), D(pric), fen)


def parts(c) -> tuple[int, int, int, int]:
    return (c.fulamt_ownpay_fen, c.overlmt_fen, c.preselfpay_fen, c.inscp_fen)


# --- worked examples, one per level ------------------------------------------------------------


def test_class_a_is_all_within_the_funds_scope():
    c = classify(line("12.50", "2"), item("01"))
    assert parts(c) == (0, 0, 0, 2500)
    assert c.chrgitm_lv == "01" and c.pric_uplmt is None


def test_class_b_pays_its_share_first():
    c = classify(line("33.33", "3"), item("02", "0.1"))
    # 99.99 yuan × 0.1 = 9.999 → 10.00 half-up; the rest is within scope.
    assert parts(c) == (0, 0, 1000, 8999)
    assert c.selfpay_prop == D("0.1")


def test_class_b_above_its_price_limit():
    c = classify(line("15.00", "4"), item("02", "0.2", limit="12.0325"))
    # limit × cnt = 48.13 yuan; 60.00 − 48.13 = 11.87 over; 48.13 × 0.2 = 9.626 → 9.63.
    assert parts(c) == (0, 1187, 963, 3850)
    assert c.pric_uplmt == D("12.0325")


def test_class_a_at_its_price_limit_is_not_over():
    assert parts(classify(line("12.00", "2"), item("01", limit="12"))) == (0, 0, 0, 2400)


def test_class_c_is_all_own_pay():
    c = classify(line("88.00", "1"), item("03", "1"))
    assert parts(c) == (8800, 0, 0, 0)
    assert c.chrgitm_lv == "03"


def test_an_item_the_catalogue_does_not_know_is_all_own_pay():
    c = classify(line("7.77", "3"), None)
    assert parts(c) == (2331, 0, 0, 0)
    assert (c.chrgitm_lv, c.selfpay_prop, c.pric_uplmt) == ("03", D(1), None)


def test_a_total_that_is_not_price_times_count_is_refused_naming_the_line():
    with pytest.raises(DomainError) as err:
        classify(line("10.00", "3", total_fen=3001), item("01"))
    assert err.value.code == "AMOUNT_MISMATCH"
    assert "F001" in err.value.message


def test_a_negative_count_is_refused():
    with pytest.raises(DomainError) as err:
        classify(FeeLine("F9", "XA01", D("-1"), D("1"), 0), item("01"))
    assert err.value.code == "INVALID_INPUT" and "F9" in err.value.message


def test_the_bills_parts_are_the_sums_of_its_lines():
    lines = [classify(line("12.50", "2"), item("01")),
             classify(line("15.00", "4"), item("02", "0.2", limit="12.0325")),
             classify(line("7.77", "3"), None)]
    bill = bill_parts(lines)
    assert bill == BillParts(fulamt_ownpay_fen=2331, overlmt_selfpay_fen=1187,
                             preselfpay_fen=963, inscp_fen=2500 + 3850)
    assert bill.total_fen == 2500 + 6000 + 2331


# --- rounding to the fen, half-up ---------------------------------------------------------------


@pytest.mark.parametrize(("pric", "cnt", "fen"), [
    ("0.005", "1", 1),  # exactly half a fen rounds up
    ("0.0049999", "1", 0),
    ("0.015", "1", 2),
    ("0.0325", "3", 10),  # 0.0975 → 0.10
    ("3.333", "3", 1000),  # 9.999 → 10.00
    ("0.125", "0.5", 6),  # 0.0625 → 0.06
])
def test_price_times_count_rounds_half_up_to_the_fen(pric, cnt, fen):
    assert line_fen(D(pric), D(cnt)) == fen


def test_the_share_first_borne_rounds_half_up():
    # 0.05 yuan × 0.1 = 0.005 yuan → 0.01, not banker's 0.00.
    assert parts(classify(line("0.05", "1"), item("02", "0.1"))) == (0, 0, 1, 4)


def test_rounding_is_exact_beyond_28_digits():
    # A 28-digit context would round pric × cnt before the half-up: not here.
    assert line_fen(D("0.0049999999999999999999999999999"), D(1)) == 0
    # 0.005 × 0.99999999999999999999999999999 is just below half a fen; rounded to 28
    # digits first it would be exactly half, and go up.
    assert line_fen(D("0.005"), D("0.99999999999999999999999999999")) == 0
    assert fen_half_up(Fraction(1, 200)) == 1 and fen_half_up(Fraction(199, 40000)) == 0


# --- properties ---------------------------------------------------------------------------------

prices = st.decimals(min_value=D(0), max_value=D("99999"), places=4)
counts = st.decimals(min_value=D(0), max_value=D("1000"), places=3)
limits = st.one_of(st.none(), st.decimals(min_value=D(0), max_value=D("99999"), places=4))
props = st.decimals(min_value=D(0), max_value=D(1), places=4)
items = st.one_of(st.none(), st.builds(
    CatalogueItem, st.just("XA01"), st.just("名称"), st.sampled_from(["01", "02", "03"]),
    props, limits))


def _line(pric: Decimal, cnt: Decimal) -> FeeLine:
    return FeeLine("P1", "XA01", cnt, pric, line_fen(pric, cnt))


def self_pay(c) -> int:
    return c.fulamt_ownpay_fen + c.overlmt_fen + c.preselfpay_fen


@given(prices, counts, items)
def test_the_four_parts_are_never_negative_and_add_up_to_the_line(pric, cnt, it):
    c = classify(_line(pric, cnt), it)
    assert min(parts(c)) >= 0
    assert sum(parts(c)) == line_fen(pric, cnt)


@given(prices, prices, counts, items)
def test_a_higher_price_never_lowers_what_the_patient_bears(a, b, cnt, it):
    assume(a != b)
    low, high = sorted((a, b))
    assert self_pay(classify(_line(high, cnt), it)) >= self_pay(classify(_line(low, cnt), it))


@given(prices, counts, items)
def test_the_share_first_borne_is_the_proportion_of_the_base(pric, cnt, it):
    c = classify(_line(pric, cnt), it)
    if it is not None and it.chrgitm_lv == "02":
        base = c.preselfpay_fen + c.inscp_fen
        exact = D(base) * it.selfpay_prop
        assert abs(D(c.preselfpay_fen) - exact) <= D("0.5")
    else:
        assert c.preselfpay_fen == 0


@given(st.lists(st.tuples(prices, counts, items), max_size=20))
def test_a_bills_parts_add_up_to_the_sum_of_its_lines(rows):
    classes = [classify(_line(p, n), it) for p, n, it in rows]
    assert bill_parts(classes).total_fen == sum(line_fen(p, n) for p, n, _ in rows)


# --- an item as loaded: exact fractions, the regions of our two provinces -----------------------


@given(st.decimals(min_value=D(0), max_value=D(1), places=6))
def test_a_proportion_round_trips_exactly_through_its_stored_millionths(prop):
    entry = parse_entry({"admdvs": "540000", "med_list_codg": "X1", "med_list_name": "药",
                         "chrgitm_lv": "02", "selfpay_prop": str(prop)})
    assert from_millionths(entry.selfpay_prop_ppm) == prop


@given(st.decimals(min_value=D(0), max_value=D("99999999.99"), places=6))
def test_a_price_limit_round_trips_exactly_through_its_stored_micro_yuan(limit):
    entry = parse_entry({"admdvs": "542500", "med_list_codg": "X1", "med_list_name": "药",
                         "chrgitm_lv": "01", "pric_uplmt_amt": str(limit)})
    assert from_millionths(entry.pric_uplmt_uyuan) == limit


@pytest.mark.parametrize(("admdvs", "ok"), [
    ("540000", True), ("450000", True), ("542500", True), ("540600", True), ("450100", True),
    ("451400", True), ("451500", False), ("540700", False), ("110000", False),
    ("54250", False), ("５４２５００", False), (542500, False),
])
def test_only_our_provinces_and_their_pooling_regions_hold_a_catalogue(admdvs, ok):
    if ok:
        assert catalogue_region(admdvs) == admdvs
    else:
        with pytest.raises(EntryError) as err:
            catalogue_region(admdvs)
        assert err.value.field == "admdvs"


def test_stored_fractions_read_back_without_trailing_zeros():
    assert [str(from_millionths(n)) for n in (0, 100_000, 150_000, 1_000_000, 12_000_000,
                                              32_500)] == ["0", "0.1", "0.15", "1", "12",
                                                           "0.0325"]
