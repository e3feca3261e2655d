"""Run a money-moving command exactly once per (scope, key)."""

from __future__ import annotations

from collections.abc import Callable

from gongji.domain.errors import refuse
from gongji.services.context import Context
from gongji.store import idempotency
from gongji.store.uow import UnitOfWork


def gateway_scope(fixmedins_code: str) -> str:
    """The idempotency scope of an institution's gateway messages: keyed by (fixmedins_code,
    msgid) across every infno."""
    return f"fsi:{fixmedins_code}"


def run_once(ctx: Context, scope: str, key: str | None, payload: object,
             command: Callable[[UnitOfWork], dict]) -> dict:
    """Run `command` in one unit of work, or return the first answer for this key.

    A key reused with a different payload is refused; a key a correction (2601) spent
    before the message ran is refused as MSG_REVERSED.
    Refusals are not recorded: they moved nothing, so a retry simply runs again.
    """
    with ctx.uow() as uow:
        if key is not None:
            req_hash = idempotency.request_hash(payload)
            earlier = idempotency.claim(uow.conn, scope, key, req_hash, ctx.now())
            if earlier is not None:
                if earlier.request_hash == idempotency.SPENT:  # a 2601 named it first
                    raise refuse("MSG_REVERSED")
                if earlier.request_hash != req_hash:
                    raise refuse("IDEMPOTENCY_CONFLICT")
                return earlier.response
        answer = command(uow)
        if key is not None:
            idempotency.store(uow.conn, scope, key, answer)
        uow.commit()
        return answer
