"""Read models for the person who owns the data."""

from __future__ import annotations

from gongji.domain.money import to_yuan
from gongji.services.context import Context
from gongji.services.reads.views import account_status
from gongji.store import repo


def account(ctx: Context, psn_no: str) -> dict:
    """累计结存额: the person's own balance and account status."""
    with ctx.read() as uow:
        row = repo.known_person(uow.conn, psn_no)
    return {"psn_no": row.psn_no, "balance": to_yuan(row.balance_fen or 0),
            "status": account_status(row)}
