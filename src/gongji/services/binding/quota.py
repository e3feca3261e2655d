"""共济额度: the helper sets how much a relative may draw through one binding.

`PUT /bindings/{id}/quota` by the binding's helper. The quota reserves that much of the
helper's balance for this relative: the relative draws at most what remains of it
(settlements and premiums), the helper's own payments and other bindings without a quota
never touch it, and ending the binding releases it (store/quotas.py counts active bindings
only). Allowed where the helper's region policy has `mutual_aid_quota_enabled`; a quota
once set keeps its limits if the region switches the rule off later, until the binding
ends (money it reserves is not silently freed by a rule change).

Locking: the helper's personal account row guards the quota columns (store/quotas.py), so
setting one takes that lock first, exactly as draws and unbindings do.
"""

from __future__ import annotations

from sqlalchemy import Connection, Row

from gongji.domain.errors import refuse
from gongji.domain.lifecycle import BindingStatus
from gongji.domain.money import MAX_FEN, to_fen, to_yuan, yuan_text
from gongji.services.binding.actor import AuditEvent, record
from gongji.services.binding.bindings import person_actor, visible_binding
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.services.policy.versions import policy_on
from gongji.store import quotas, repo


def set_quota(ctx: Context, psn_no: str, binding_id: int, data: dict) -> dict:
    """{"quota": yuan ≥ 0} → {"binding_id", "quota", "quota_remaining"} (remaining = quota)."""
    quota_fen = to_fen(data.get("quota"), MAX_FEN)
    with ctx.uow() as uow:
        conn = uow.conn
        person, actor = person_actor(conn, psn_no, data.get("channel"), ctx.now())
        row = visible_binding(conn, binding_id, actor, person.id)
        if row.helper_id != person.id:  # the beneficiary sees the binding but sets nothing
            raise refuse("FORBIDDEN", "只有共济人可以设置共济额度")
        if row.status != BindingStatus.ACTIVE:
            raise refuse("BINDING_NOT_ACTIVE")
        if person.account_id is None:
            raise refuse("NO_ACCOUNT")
        account = repo.lock_accounts(conn, [person.account_id])[person.account_id]
        now = ctx.now()
        # the helper's region's policy in force today (dated versions)
        if not policy_on(conn, person.insuplc_admdvs, local_date(now)).mutual_aid_quota_enabled:
            raise refuse("QUOTA_NOT_ENABLED")
        _fits_balance(conn, row, quota_fen, account.balance_fen)
        if not quotas.set_quota(conn, row.id, quota_fen):
            raise refuse("BINDING_NOT_ACTIVE")  # unbound before this got the lock
        record(conn, AuditEvent(now, "binding", row.id, "set_quota", actor, row.helper_id,
                                row.beneficiary_id, _yuan_or_none(row.quota_fen),
                                yuan_text(quota_fen),
                                {"quota": yuan_text(quota_fen),
                                 "balance": yuan_text(account.balance_fen)}))
        uow.commit()
    return {"binding_id": binding_id, "quota": to_yuan(quota_fen),
            "quota_remaining": to_yuan(quota_fen)}


def _fits_balance(conn: Connection, row: Row, quota_fen: int, balance_fen: int) -> None:
    """The helper's remaining quotas, with this one's replaced by the new quota, must fit
    in the balance (read under the account lock)."""
    reserves = quotas.read(conn, [row.helper_id])
    others_fen = reserves.reserved.get(row.helper_id, 0) - reserves.remaining.get(row.id, 0)
    if others_fen + quota_fen > balance_fen:
        raise refuse("QUOTA_EXCEEDS_BALANCE",
                     f"余额 {yuan_text(balance_fen)} 元，其他额度剩余 {yuan_text(others_fen)} 元")


def _yuan_or_none(fen: int | None) -> str | None:
    return None if fen is None else yuan_text(fen)
