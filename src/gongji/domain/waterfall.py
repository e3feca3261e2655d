"""The personal-burden waterfall 先本人、后共济.

Own account first, then helpers in the deduction order, then cash.

Pure: the caller reads balances (under lock), calls allocate(), and debits exactly the
parts returned. Eligibility of helpers is decided by the caller, who passes only usable ones.

Limits are data: each source may carry a cap below its balance (共济额度). `spendable_fen`
says what that cap is: a binding with a quota pays at most its remaining quota; the own
account and a binding without a quota never touch money reserved by the remaining quotas
of the account holder's active bindings. No cap: the whole balance, as before quotas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gongji.domain.errors import ensure


@dataclass(frozen=True)
class Source:
    """An account that may pay: `key` identifies it to the caller (account id, binding id)."""

    key: object
    balance_fen: int
    cap_fen: int | None = None  # the most it may pay, within the balance; None: no cap

    @property
    def limit_fen(self) -> int:
        """What this source can pay at most: its balance, or its cap if lower."""
        if self.cap_fen is None:
            return self.balance_fen
        return min(self.balance_fen, self.cap_fen)


def spendable_fen(balance_fen: int, reserved_fen: int,
                  quota_remaining_fen: int | None = None) -> int:
    """The cap of one source drawing on an account of `balance_fen`, of which the remaining
    quotas of the holder's active bindings reserve `reserved_fen` in all.

    A binding with a quota (`quota_remaining_fen` not None) may take what is left of it;
    anything else — the holder's own payment, a binding without a quota — only what no
    quota reserves. A credit reversal can leave the reserve above the balance: then
    nothing is free, and each quota is still bounded by the balance (Source.limit_fen)."""
    ensure(balance_fen >= 0 and reserved_fen >= 0, "balance and reserve must not be negative")
    if quota_remaining_fen is not None:
        ensure(quota_remaining_fen >= 0, "remaining quota must not be negative")
        return quota_remaining_fen
    return max(0, balance_fen - reserved_fen)


@dataclass(frozen=True)
class Allocation:
    own_fen: int
    helpers: tuple[tuple[object, int], ...]  # (key, amount) for helpers that paid, in order
    cash_fen: int

    @property
    def mulaid_fen(self) -> int:
        """acct_mulaid_pay: the total taken from helpers."""
        return sum(part for _, part in self.helpers)


def allocate(
    burden_fen: int,
    own: Source | None,
    helpers: Sequence[Source],
    use_accounts: bool = True,
) -> Allocation:
    """Split `burden_fen` (psn_part_amt) into own account, helper accounts and cash."""
    ensure(burden_fen >= 0, "burden must not be negative")
    ensure(own is None or own.balance_fen >= 0, "own balance must not be negative")
    ensure(all(h.balance_fen >= 0 for h in helpers), "helper balance must not be negative")
    ensure(all(s.cap_fen is None or s.cap_fen >= 0 for s in (own, *helpers) if s is not None),
           "a cap must not be negative")
    # The same account listed twice would be charged twice its balance.
    ensure(len({h.key for h in helpers}) == len(helpers), "helper keys must be distinct")
    if not use_accounts:  # acct_used_flag = 0: the institution asked for cash only
        return Allocation(own_fen=0, helpers=(), cash_fen=burden_fen)

    left_fen = burden_fen
    own_fen = min(left_fen, own.limit_fen) if own is not None else 0
    left_fen -= own_fen
    parts: list[tuple[object, int]] = []
    for helper in helpers:
        if left_fen == 0:
            break
        part_fen = min(left_fen, helper.limit_fen)
        if part_fen > 0:
            parts.append((helper.key, part_fen))
            left_fen -= part_fen

    result = Allocation(own_fen=own_fen, helpers=tuple(parts), cash_fen=left_fen)
    _check(result, burden_fen, own, helpers)
    return result


def _check(
    result: Allocation, burden_fen: int, own: Source | None, helpers: Sequence[Source]
) -> None:
    """Postconditions on money: nothing created or lost, no account overdrawn, no cap
    exceeded."""
    ensure(
        result.own_fen + result.mulaid_fen + result.cash_fen == burden_fen,
        "allocation does not add up to the burden",
    )
    ensure(result.cash_fen >= 0, "cash part negative")
    ensure(own is not None or result.own_fen == 0, "own part without an own account")
    ensure(own is None or 0 <= result.own_fen <= own.limit_fen, "own account overdrawn")
    # Pair parts with their sources by position among the helpers that could pay.
    paying = [h for h in helpers if h.limit_fen > 0][: len(result.helpers)]
    ensure(len(paying) == len(result.helpers), "helper part without a source")
    for source, (key, part_fen) in zip(paying, result.helpers, strict=True):
        ensure(source.key == key, "helper parts out of order")
        ensure(0 < part_fen <= source.limit_fen, "helper account overdrawn or over its cap")
