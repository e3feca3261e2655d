"""The waterfall 先本人、后共济: own account, helpers in order, then cash."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import InvariantViolation
from gongji.domain.waterfall import Allocation, Source, allocate


def test_prefers_own_account_to_helpers():
    result = allocate(5000, Source("own", 8000), [Source("h1", 8000)])
    assert result == Allocation(own_fen=5000, helpers=(), cash_fen=0)


def test_helpers_pay_in_order_after_the_own_account():
    result = allocate(10000, Source("own", 3000), [Source("h1", 4000), Source("h2", 5000)])
    assert result.own_fen == 3000
    assert result.helpers == (("h1", 4000), ("h2", 3000))
    assert result.mulaid_fen == 7000
    assert result.cash_fen == 0


def test_cash_pays_what_the_accounts_cannot():
    result = allocate(10000, None, [Source("h1", 2500)])
    assert result == Allocation(own_fen=0, helpers=(("h1", 2500),), cash_fen=7500)


def test_helpers_with_an_empty_account_are_not_listed():
    result = allocate(1000, Source("own", 0), [Source("h1", 0), Source("h2", 600)])
    assert result.helpers == (("h2", 600),)
    assert result.cash_fen == 400


def test_cash_only_when_the_institution_does_not_use_accounts():
    result = allocate(1000, Source("own", 5000), [Source("h1", 5000)], use_accounts=False)
    assert result == Allocation(own_fen=0, helpers=(), cash_fen=1000)


def test_a_zero_burden_takes_nothing():
    assert allocate(0, Source("own", 10), [Source("h1", 10)]) == Allocation(0, (), 0)


@pytest.mark.parametrize(
    ("burden", "own", "helpers"),
    [
        (-1, None, []),
        (100, Source("own", -1), []),
        (100, None, [Source("h1", -5)]),
        (100, None, [Source("h1", 50), Source("h1", 50)]),
    ],
)
def test_refuses_negative_amounts_and_duplicate_helpers(burden, own, helpers):
    with pytest.raises(InvariantViolation):
        allocate(burden, own, helpers)


_balance = st.integers(min_value=0, max_value=10**7)
_case = st.tuples(
    st.integers(min_value=0, max_value=3 * 10**7),
    st.none() | _balance.map(lambda b: Source("own", b)),
    st.lists(_balance, max_size=6).map(
        lambda bs: [Source(f"h{i}", b) for i, b in enumerate(bs)]
    ),
    st.booleans(),
)


def _paid(result, helpers):
    parts = dict(result.helpers)
    return [parts.get(h.key, 0) for h in helpers]


@given(_case)
def test_amounts_are_conserved(case):
    burden, own, helpers, use_accounts = case
    result = allocate(burden, own, helpers, use_accounts)
    assert result.own_fen + result.mulaid_fen + result.cash_fen == burden
    assert min(result.own_fen, result.cash_fen, *(p for _, p in result.helpers), 0) >= 0


@given(_case)
def test_no_account_is_charged_beyond_its_balance(case):
    burden, own, helpers, use_accounts = case
    result = allocate(burden, own, helpers, use_accounts)
    assert result.own_fen <= (own.balance_fen if own else 0)
    for helper, paid in zip(helpers, _paid(result, helpers)):
        assert paid <= helper.balance_fen


@given(_case)
def test_a_helper_pays_only_once_the_own_account_is_exhausted(case):
    burden, own, helpers, use_accounts = case
    result = allocate(burden, own, helpers, use_accounts)
    if result.mulaid_fen > 0 and own is not None:
        assert result.own_fen == own.balance_fen


@given(_case)
def test_helpers_are_charged_strictly_in_order(case):
    burden, own, helpers, use_accounts = case
    result = allocate(burden, own, helpers, use_accounts)
    paid = _paid(result, helpers)
    for i in range(len(helpers) - 1):
        if paid[i + 1] > 0:
            assert paid[i] == helpers[i].balance_fen
    listed = [key for key, _ in result.helpers]
    assert listed == [h.key for h, p in zip(helpers, paid) if p > 0]
    assert all(p > 0 for _, p in result.helpers)


@given(_case)
def test_cash_only_when_every_usable_account_is_exhausted(case):
    burden, own, helpers, use_accounts = case
    result = allocate(burden, own, helpers, use_accounts)
    if result.cash_fen > 0 and use_accounts:
        assert result.own_fen == (own.balance_fen if own else 0)
        assert _paid(result, helpers) == [h.balance_fen for h in helpers]


@given(_case)
def test_without_accounts_everything_is_cash(case):
    burden, own, helpers, _ = case
    result = allocate(burden, own, helpers, use_accounts=False)
    assert result == Allocation(own_fen=0, helpers=(), cash_fen=burden)
