"""共济额度 in the waterfall: each source's cap is data (Source.cap_fen, spendable_fen).

Properties: a binding never draws beyond its remaining quota; the holder's own payment
never touches money their quotas reserve; over any run of settlements the draws on one
account never exceed its balance, and without caps nothing changes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import InvariantViolation
from gongji.domain.waterfall import Allocation, Source, allocate, spendable_fen


def test_a_quota_caps_the_binding_and_the_rest_goes_to_the_next_helper():
    result = allocate(10000, None, [Source("h1", 8000, cap_fen=3000), Source("h2", 9000)])
    assert result == Allocation(own_fen=0, helpers=(("h1", 3000), ("h2", 7000)), cash_fen=0)


def test_a_used_up_quota_draws_nothing_and_is_not_listed():
    result = allocate(500, None, [Source("h1", 8000, cap_fen=0)])
    assert result == Allocation(own_fen=0, helpers=(), cash_fen=500)


def test_the_own_account_keeps_its_reserve_and_cash_pays_the_rest():
    cap = spendable_fen(balance_fen=10000, reserved_fen=6000)
    result = allocate(7000, Source("own", 10000, cap), [])
    assert (cap, result.own_fen, result.cash_fen) == (4000, 4000, 3000)


def test_spendable_for_each_kind_of_source():
    assert spendable_fen(10000, 6000, quota_remaining_fen=2500) == 2500  # a quota'd binding
    assert spendable_fen(10000, 6000) == 4000  # own payment, or a binding without a quota
    assert spendable_fen(5000, 6000) == 0  # a credit reversal left the reserve above
    assert Source("h", 1000, cap_fen=2500).limit_fen == 1000  # a quota within the balance


def test_refuses_a_negative_cap():
    with pytest.raises(InvariantViolation):
        allocate(100, None, [Source("h1", 100, cap_fen=-1)])


_fen = st.integers(min_value=0, max_value=10**6)


@given(burden=st.integers(0, 3 * 10**6), balances=st.lists(_fen, max_size=5),
       own=st.one_of(st.none(), _fen), flag=st.booleans())
def test_without_caps_the_waterfall_is_unchanged(burden, balances, own, flag):
    """cap None and cap = balance give exactly the allocation without caps."""
    plain = allocate(burden, Source("own", own) if own is not None else None,
                     [Source(i, b) for i, b in enumerate(balances)], use_accounts=flag)
    capped = allocate(burden, Source("own", own, own) if own is not None else None,
                      [Source(i, b, b) for i, b in enumerate(balances)], use_accounts=flag)
    assert plain == capped


# One helper account with several relatives: some bindings with a quota, some without.
_binding = st.one_of(st.none(), _fen)  # None: no quota; else the quota set (≤ balance below)


@st.composite
def _helper_with_bindings(draw):
    balance = draw(st.integers(0, 2 * 10**6))
    quotas = draw(st.lists(_binding, min_size=1, max_size=4))
    remaining, room = [], balance  # quotas are set within the balance, as PUT requires
    for quota in quotas:
        if quota is None:
            remaining.append(None)
        else:
            remaining.append(min(quota, room))
            room -= remaining[-1]
    return balance, remaining


def _reserved(remaining: list) -> int:
    return sum(r for r in remaining if r is not None)


@given(account=_helper_with_bindings(),
       settlements=st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 10**6)), max_size=12))
def test_draws_respect_quotas_reserves_and_the_balance(account, settlements):
    """A run of settlements on one helper account: by a relative through a binding (index
    ≥ 0) or by the holder themself (-1). Each binding stays within its remaining quota, the
    holder's own payments never reach reserved money, and the account never goes below
    zero: the sum of all draws never exceeds the balance."""
    balance, remaining = account
    start = balance
    drawn = 0
    for who, burden in settlements:
        reserved = _reserved(remaining)
        if who == -1:
            own = Source("own", balance, spendable_fen(balance, reserved))
            paid = allocate(burden, own, []).own_fen
            assert paid <= max(0, balance - reserved)  # never the reserved money
        else:
            index = who % len(remaining)
            source = Source(index, balance,
                            spendable_fen(balance, reserved, remaining[index]))
            parts = dict(allocate(burden, None, [source]).helpers)
            paid = parts.get(index, 0)
            if remaining[index] is not None:
                assert paid <= remaining[index]  # never beyond the remaining quota
                remaining[index] -= paid
            else:
                assert paid <= max(0, balance - reserved)  # never another's reserve
        balance -= paid
        drawn += paid
        assert balance >= 0 and _reserved(remaining) <= balance  # reserves stay covered
    assert drawn <= start
