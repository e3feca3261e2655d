"""代缴居民医保费: the helper pays, both sides list, the operator reverses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path

from gongji.api.auth import Operator, Person
from gongji.api.deps import Ctx
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.schemas import PremiumIn
from gongji.services.money import premium

router = APIRouter(prefix="/api/v1", tags=["premium"], route_class=ExactJSONRoute)
RowIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                              max_length=100)]


@router.post("/premiums", status_code=201)
def pay_premium(body: PremiumIn, caller: Person, ctx: Ctx,
                idempotency_key: IdempotencyKey = None) -> dict:
    """为已绑定的城乡居民医保亲属代缴年度个人缴费（一次全额，余额不足不扣）。"""
    return premium.pay(ctx, caller.subject, body.data(), idempotency_key)


@router.get("/premiums")
def my_premiums(caller: Person, ctx: Ctx) -> dict:
    """本人代缴的（paid）与他人为本人代缴的（received）。"""
    return premium.list_premiums(ctx, caller.subject)


@router.post("/premiums/{premium_id}/reverse")
def reverse_premium(premium_id: RowIdPath, caller: Operator, ctx: Ctx,
                    idempotency_key: IdempotencyKey = None) -> dict:
    """撤销代缴：原路退回共济人个人账户，只能一次。"""
    return premium.reverse(ctx, premium_id, idempotency_key)
