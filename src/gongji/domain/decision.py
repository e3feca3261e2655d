"""What a settlement decided: the pooled fund's part, the split of the personal burden,
and the balances and helpers it was decided from. A pure value: the settlement service
builds it under its locks, the gateway output and the notices read it."""

from __future__ import annotations

from dataclasses import dataclass

from gongji.domain.fund import FundResult
from gongji.domain.waterfall import Allocation


@dataclass(frozen=True)
class HelperAccount:
    binding_id: int
    relation: str
    helper_id: int
    psn_no: str
    psn_name: str
    account_id: int


@dataclass(frozen=True)
class Decision:
    fund: FundResult
    allocation: Allocation
    own_account_id: int | None
    balances: dict[int, int]  # account id -> balance before
    helpers: dict[int, HelperAccount]  # binding id -> helper

    def balance_after(self, account_id: int, paid_fen: int) -> int:
        return self.balances[account_id] - paid_fen
