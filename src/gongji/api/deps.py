"""Typed dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gongji.api.auth import Principal
from gongji.services.binding.actor import Actor
from gongji.services.context import Context
from gongji.services.registry.policies import apply_due_once_a_day, due_today


async def context(request: Request) -> Context:
    """The service context; the first call of each day first applies the policy versions
    that took effect at midnight (auto-end, services/registry/policies.py). A coroutine, so
    that FastAPI does not hop to a thread for every request: whether the day's run is due
    is a comparison made here, and only a due run (database work) goes to the pool."""
    ctx = request.app.state.ctx
    if due_today(ctx):
        await run_in_threadpool(apply_due_once_a_day, ctx)
    return ctx


Ctx = Annotated[Context, Depends(context)]


def actor_of(caller: Principal, channel: str | None = None) -> Actor:
    """Who acts, for the audit log: a clerk always at the hall, in the clerk's region."""
    if caller.role == "clerk":
        return Actor("clerk", caller.subject, "hall", caller.admdvs)
    return Actor(caller.role, caller.subject, channel)
