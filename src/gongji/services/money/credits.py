"""划入冲正: reverse a wrong credit with a compensating journal transaction.

Refused when the account no longer holds the money (CREDIT_SPENT): a reversal never
takes a balance below zero, so what relatives already drew on stays paid. Exactly once:
the credit's reversed_at flips by a guarded update, and the journal transaction
("credit_reversal", ref) is unique too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from gongji.domain.errors import refuse
from gongji.domain.money import to_yuan, yuan_text
from gongji.services.clock import iso
from gongji.services.context import Context
from gongji.services.idempotent import run_once
from gongji.store import repo
from gongji.store.journal import Leg, mark_reversed, new_txn_id, post
from gongji.store.schema import credits, persons
from gongji.store.uow import UnitOfWork


def reverse_credit(ctx: Context, ref: str, scope: str = "operator:operator",
                   idempotency_key: str | None = None) -> dict:
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 64:
        raise refuse("INVALID_INPUT", "划入流水号须为 1–64 个字符")
    now = ctx.now()

    def command(uow: UnitOfWork) -> dict:
        return _reverse(uow.conn, ref, now)

    return run_once(ctx, scope, idempotency_key, {"reverse_credit": ref}, command)


def _reverse(conn: Connection, ref: str, now: datetime) -> dict:
    credit = conn.execute(select(credits).where(credits.c.ref == ref)).first()
    if credit is None:
        raise refuse("CREDIT_NOT_FOUND")
    balance_fen = repo.lock_accounts(conn, [credit.account_id])[credit.account_id].balance_fen
    if credit.reversed_at is not None:
        raise refuse("CREDIT_ALREADY_REVERSED")
    if balance_fen < credit.amount_fen:
        raise refuse("CREDIT_SPENT", f"余额 {yuan_text(balance_fen)} 元，"
                                     f"划入 {yuan_text(credit.amount_fen)} 元")
    txn_id = new_txn_id(conn)
    if not mark_reversed(conn, credits.c.ref, ref, txn_id, now):
        raise refuse("CREDIT_ALREADY_REVERSED")
    after_fen = balance_fen - credit.amount_fen
    post(conn, txn_id, "credit_reversal", [
        Leg(credit.account_id, -credit.amount_fen, after_fen),
        Leg(credit.source_account_id, credit.amount_fen),
    ], now, ref=ref)
    psn_no = conn.execute(select(persons.c.psn_no).where(persons.c.id == credit.person_id)
                          ).scalar_one()
    return {"ref": ref, "psn_no": psn_no, "amount": to_yuan(credit.amount_fen),
            "balance": to_yuan(after_fen), "reversed_at": iso(now), "txn_id": txn_id}
