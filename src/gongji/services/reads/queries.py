"""Read models for the person who owns the data."""

from __future__ import annotations

from gongji.domain.codes import AccountStatus
from gongji.domain.money import to_yuan
from gongji.domain.policy import RegionPolicy
from gongji.domain.waterfall import spendable_fen
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.services.policy.versions import policy_on
from gongji.services.reads.views import account_status
from gongji.store import quotas, repo


def reserve_view(balance_fen: int, reserved_fen: int) -> dict:
    """已预留 and 可用余额: what the person's quotas hold for relatives, and what is left
    for the person's own use (never below zero, even after a credit reversal)."""
    return {"quota_reserved": to_yuan(reserved_fen),
            "available": to_yuan(spendable_fen(balance_fen, reserved_fen))}


def account(ctx: Context, psn_no: str) -> dict:
    """累计结存额: the person's own balance and account status."""
    with ctx.read() as uow:
        row = repo.known_person(uow.conn, psn_no)
        reserved_fen = quotas.reserved_of(uow.conn, row.id)  # 共济额度 of active bindings
        policy = policy_on(uow.conn, row.insuplc_admdvs, local_date(ctx.now()))
    return {"psn_no": row.psn_no,
            **reserve_view(row.balance_fen or 0, reserved_fen),
            "balance": to_yuan(row.balance_fen or 0),
            "status": account_status(row), "can_help": can_help(row, policy)}


def can_help(row, policy: RegionPolicy) -> bool:  # noqa: ANN001  (persons row + its account)
    """Whether the person is of a kind that may pay for relatives (共济人): an insurance type
    the region admits as helper, with a personal account. The portal shows the helper's
    features only then (a 390 member never can); a passing state such as a frozen account
    or a zero balance is refused, with its reason, when they try."""
    return (row.insutype in policy.helper_insutypes
            and account_status(row) != AccountStatus.NONE)
