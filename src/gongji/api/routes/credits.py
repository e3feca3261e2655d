"""Operator corrections of 个人账户划入: reverse a wrong credit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path

from gongji.api.auth import Operator
from gongji.api.deps import Ctx
from gongji.api.exactjson import ExactJSONRoute
from gongji.services.money import credits

router = APIRouter(prefix="/api/v1", tags=["operator"], route_class=ExactJSONRoute)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                              max_length=100)]


@router.post("/credits/{ref}/reverse")
def reverse_credit(ref: Annotated[str, Path(min_length=1, max_length=64)], caller: Operator,
                   ctx: Ctx, idempotency_key: IdempotencyKey = None) -> dict:
    """划入冲正：补记一笔反向分录，只能一次；划入资金已被使用（余额不足）时拒绝。"""
    return credits.reverse_credit(ctx, ref, f"{caller.role}:{caller.subject}", idempotency_key)
