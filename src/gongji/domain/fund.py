"""Pooled fund (统筹基金) share of a bill.

Rules: deductible (起付线), ratio (支付比例), annual cap (年度限额).

Pure arithmetic on integer fen. The caller keeps one Accumulator per person, year and
institution type, and stores `after` in the same transaction as the settlement.
"""

from __future__ import annotations

from dataclasses import dataclass

from gongji.domain.errors import ensure
from gongji.domain.money import round_half_up

BP_WHOLE = 10_000  # basis points in 100 %


@dataclass(frozen=True)
class FundRule:
    deductible_fen: int
    ratio_bp: int
    annual_cap_fen: int

    def __post_init__(self) -> None:
        ensure(self.deductible_fen >= 0, "deductible must not be negative")
        ensure(0 <= self.ratio_bp <= BP_WHOLE, "ratio must be within 0..10000 bp")
        ensure(self.annual_cap_fen >= 0, "annual cap must not be negative")


@dataclass(frozen=True)
class Accumulator:
    """What a person has used so far this year: deductible borne and fund paid."""

    deductible_used_fen: int = 0
    fund_paid_fen: int = 0


@dataclass(frozen=True)
class FundResult:
    fund_fen: int
    deductible_applied_fen: int
    after: Accumulator


def pooled_fund(inscp_fen: int, rule: FundRule, acc: Accumulator) -> FundResult:
    """Fund share of the in-policy amount (inscp_scp_amt); the rest is the personal burden."""
    ensure(inscp_fen >= 0, "in-policy amount must not be negative")
    ensure(acc.deductible_used_fen >= 0 and acc.fund_paid_fen >= 0, "accumulator negative")
    deductible_left_fen = max(0, rule.deductible_fen - acc.deductible_used_fen)
    applied_fen = min(inscp_fen, deductible_left_fen)
    # Half-up on fen, as patients are told on the slip; the cap then clips the result.
    fund_fen = round_half_up((inscp_fen - applied_fen) * rule.ratio_bp, BP_WHOLE)
    fund_fen = min(fund_fen, max(0, rule.annual_cap_fen - acc.fund_paid_fen))
    ensure(0 <= fund_fen <= inscp_fen - applied_fen, "fund share outside 0..in-policy amount")
    after = Accumulator(
        deductible_used_fen=acc.deductible_used_fen + applied_fen,
        fund_paid_fen=acc.fund_paid_fen + fund_fen,
    )
    return FundResult(fund_fen=fund_fen, deductible_applied_fen=applied_fen, after=after)


def give_back(acc: Accumulator, deductible_applied_fen: int, fund_fen: int) -> Accumulator:
    """Undo one settlement's effect on the accumulator (结算撤销), exactly what it added."""
    ensure(deductible_applied_fen >= 0 and fund_fen >= 0, "give_back amounts must be >= 0")
    used_fen = acc.deductible_used_fen - deductible_applied_fen
    paid_fen = acc.fund_paid_fen - fund_fen
    ensure(used_fen >= 0, "give_back would make deductible used negative")
    ensure(paid_fen >= 0, "give_back would make fund paid negative")
    return Accumulator(deductible_used_fen=used_fen, fund_paid_fen=paid_fen)
