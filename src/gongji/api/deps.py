"""Typed dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gongji.api.auth import Principal
from gongji.services.binding.actor import Actor
from gongji.services.context import Context
from gongji.services.registry.policies import apply_due_once_a_day


def context(request: Request) -> Context:
    """The service context; the first call of each day first applies the policy versions
    that took effect at midnight (auto-end, services/registry/policies.py)."""
    ctx = request.app.state.ctx
    apply_due_once_a_day(ctx)
    return ctx


Ctx = Annotated[Context, Depends(context)]


def actor_of(caller: Principal, channel: str | None = None) -> Actor:
    """Who acts, for the audit log: a clerk always at the hall, in the clerk's region."""
    if caller.role == "clerk":
        return Actor("clerk", caller.subject, "hall", caller.admdvs)
    return Actor(caller.role, caller.subject, channel)
