"""Run a money-moving command exactly once per (scope, key): through the process's batch
writer (services/batching.py), which claims the key, runs the command and keeps its
answer in one transaction with the other commands of its batch."""

from __future__ import annotations

from gongji.services.batching import Body, Job, Prepare
from gongji.services.context import Context
from gongji.store import idempotency


def gateway_scope(fixmedins_code: str) -> str:
    """The idempotency scope of an institution's gateway messages: keyed by (fixmedins_code,
    msgid) across every infno."""
    return f"fsi:{fixmedins_code}"


def job_for(ctx: Context, scope: str, key: str | None, payload: object, command: Body, *,
            solo: bool = False, prepare: Prepare | None = None, hint: object = None) -> Job:
    """The batch job of a command: its key, its request's hash and its body."""
    req_hash = idempotency.request_hash(payload) if key is not None else ""
    return Job(scope, key, req_hash, command, ctx.now(), solo=solo, prepare=prepare, hint=hint)


def run_once(ctx: Context, scope: str, key: str | None, payload: object,
             command: Body, **batching: object) -> dict:
    """Run `command` exactly once, or return the first answer for this key.

    A key reused with a different payload is refused; a key a correction (2601) spent
    before the message ran is refused as MSG_REVERSED.
    Refusals are not recorded: they moved nothing, so a retry simply runs again.
    """
    return ctx.batcher.run(job_for(ctx, scope, key, payload, command, **batching))
