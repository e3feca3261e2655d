"""A person's own data: account and bindings; the hall clerk's binding."""

from __future__ import annotations

from fastapi import APIRouter

from gongji.api.auth import Clerk, Person
from gongji.api.deps import Ctx, actor_of
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.schemas import HallBindingIn
from gongji.services.binding import bindings as binding
from gongji.services.reads import queries

router = APIRouter(prefix="/api/v1", tags=["person"], route_class=ExactJSONRoute)


@router.get("/account")
def my_account(caller: Person, ctx: Ctx) -> dict:
    return queries.account(ctx, caller.subject)


@router.get("/bindings")
def my_bindings(caller: Person, ctx: Ctx) -> dict:
    return binding.list_bindings(ctx, caller.subject)


@router.post("/bindings", status_code=201)
def hall_binding(body: HallBindingIn, caller: Clerk, ctx: Ctx) -> dict:
    """窗口办理绑定: a clerk of the parties' region, both parties' documents checked."""
    return binding.hall_bind(ctx, body.data(), actor_of(caller))
