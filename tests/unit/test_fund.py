"""Pooled fund: deductible, ratio, annual cap, and exact reversal."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import InvariantViolation
from gongji.domain.fund import Accumulator, FundRule, give_back, pooled_fund

HOSPITAL = FundRule(deductible_fen=20000, ratio_bp=6000, annual_cap_fen=200000)


def test_bill_below_the_deductible_gets_nothing_from_the_fund():
    result = pooled_fund(15000, HOSPITAL, Accumulator())
    assert result.fund_fen == 0
    assert result.deductible_applied_fen == 15000
    assert result.after == Accumulator(deductible_used_fen=15000, fund_paid_fen=0)


def test_deductible_is_spread_across_two_bills():
    first = pooled_fund(15000, HOSPITAL, Accumulator())
    second = pooled_fund(15000, HOSPITAL, first.after)
    assert second.deductible_applied_fen == 5000
    assert second.fund_fen == 6000  # 60 % of the 100 yuan above the deductible
    assert second.after == Accumulator(deductible_used_fen=20000, fund_paid_fen=6000)
    third = pooled_fund(10000, HOSPITAL, second.after)
    assert third.deductible_applied_fen == 0
    assert third.fund_fen == 6000


def test_ratio_is_rounded_half_up_to_the_fen():
    rule = FundRule(deductible_fen=0, ratio_bp=5000, annual_cap_fen=10**9)
    assert pooled_fund(1, rule, Accumulator()).fund_fen == 1  # 0.5 fen -> 1
    assert pooled_fund(3, rule, Accumulator()).fund_fen == 2  # 1.5 fen -> 2
    rule = FundRule(deductible_fen=0, ratio_bp=3333, annual_cap_fen=10**9)
    assert pooled_fund(100, rule, Accumulator()).fund_fen == 33  # 33.33 -> 33
    assert pooled_fund(15, rule, Accumulator()).fund_fen == 5  # 4.9995 -> 5


def test_annual_cap_holds_across_bills():
    rule = FundRule(deductible_fen=0, ratio_bp=10000, annual_cap_fen=10000)
    first = pooled_fund(7000, rule, Accumulator())
    second = pooled_fund(7000, rule, first.after)
    third = pooled_fund(7000, rule, second.after)
    assert (first.fund_fen, second.fund_fen, third.fund_fen) == (7000, 3000, 0)
    assert third.after.fund_paid_fen == 10000


def test_zero_ratio_pays_nothing_but_still_counts_the_deductible():
    rule = FundRule(deductible_fen=100, ratio_bp=0, annual_cap_fen=10**6)
    result = pooled_fund(500, rule, Accumulator())
    assert (result.fund_fen, result.deductible_applied_fen) == (0, 100)


def test_give_back_restores_the_accumulator_exactly():
    before = Accumulator(deductible_used_fen=15000, fund_paid_fen=0)
    result = pooled_fund(15000, HOSPITAL, before)
    assert give_back(result.after, result.deductible_applied_fen, result.fund_fen) == before


def test_give_back_never_goes_below_zero():
    with pytest.raises(InvariantViolation):
        give_back(Accumulator(100, 100), 101, 0)
    with pytest.raises(InvariantViolation):
        give_back(Accumulator(100, 100), 0, 101)
    with pytest.raises(InvariantViolation):
        give_back(Accumulator(100, 100), -1, 0)


def test_rules_and_amounts_out_of_range_are_invariant_violations():
    with pytest.raises(InvariantViolation):
        FundRule(deductible_fen=0, ratio_bp=10001, annual_cap_fen=0)
    with pytest.raises(InvariantViolation):
        FundRule(deductible_fen=-1, ratio_bp=0, annual_cap_fen=0)
    with pytest.raises(InvariantViolation):
        pooled_fund(-1, HOSPITAL, Accumulator())


_fen = st.integers(min_value=0, max_value=10**9)
_rules = st.builds(
    FundRule,
    deductible_fen=st.integers(0, 10**6),
    ratio_bp=st.integers(0, 10000),
    annual_cap_fen=st.integers(0, 10**7),
)


@given(_rules, st.lists(_fen, min_size=1, max_size=8))
def test_fund_never_exceeds_the_bill_and_accumulators_only_grow(rule, bills):
    acc = Accumulator()
    for inscp_fen in bills:
        result = pooled_fund(inscp_fen, rule, acc)
        assert 0 <= result.fund_fen <= inscp_fen
        assert result.fund_fen + result.deductible_applied_fen <= inscp_fen
        assert result.after.deductible_used_fen >= acc.deductible_used_fen
        assert result.after.fund_paid_fen >= acc.fund_paid_fen
        assert result.after.deductible_used_fen <= max(rule.deductible_fen, acc.deductible_used_fen)
        assert result.after.fund_paid_fen <= max(rule.annual_cap_fen, acc.fund_paid_fen)
        acc = result.after


@given(_rules, st.lists(_fen, min_size=1, max_size=8))
def test_reversing_every_bill_in_reverse_order_restores_zero(rule, bills):
    acc, results = Accumulator(), []
    for inscp_fen in bills:
        results.append(pooled_fund(inscp_fen, rule, acc))
        acc = results[-1].after
    for result in reversed(results):
        acc = give_back(acc, result.deductible_applied_fen, result.fund_fen)
    assert acc == Accumulator()
