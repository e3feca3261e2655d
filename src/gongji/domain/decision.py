"""What a settlement decided: the pooled fund's part, the split of the personal burden,
and the balances and helpers it was decided from. A pure value: the settlement service
builds it under its locks, the gateway output and the notices read it."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    certno: str  # the helper's sex is in it: the patient's slip names them (儿子, 女儿…)


@dataclass(frozen=True)
class Decision:
    fund: FundResult
    allocation: Allocation
    own_account_id: int | None
    balances: dict[int, int]  # account id -> balance before
    helpers: dict[int, HelperAccount]  # binding id -> helper
    # binding id -> its remaining quota (共济额度) before, for the bindings that have one
    quota_remaining: dict[int, int] = field(default_factory=dict)

    def balance_after(self, account_id: int, paid_fen: int) -> int:
        return self.balances[account_id] - paid_fen

    def quota_used_up(self, binding_id: int, paid_fen: int) -> bool:
        """Whether this payment took the last of the binding's quota."""
        before = self.quota_remaining.get(binding_id)
        return before is not None and paid_fen > 0 and before == paid_fen
