"""Operator: region policies as dated versions (政策版本) — read the version in force,
list the versions, publish a new one (services/registry/policies.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from gongji.api.auth import Operator
from gongji.api.deps import Ctx, actor_of
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.schemas import Body
from gongji.services.registry import policies

router = APIRouter(prefix="/api/v1", tags=["policy"], route_class=ExactJSONRoute)
Admdvs = Annotated[str, PathParam(min_length=1, max_length=12)]


class PolicyVersionIn(Body):
    # Checked by the service, so a bad value is INVALID_POLICY naming the rule.
    effective_from: Any = None
    rules: Any = None


@router.get("/policies/{admdvs}")
def policy_in_force(admdvs: Admdvs, caller: Operator, ctx: Ctx) -> dict:
    """统筹区（或省）当前生效的政策版本：{"admdvs", "version", "effective_from", "rules"}。"""
    return policies.show(ctx, admdvs)


@router.get("/policies/{admdvs}/versions")
def policy_versions(admdvs: Admdvs, caller: Operator, ctx: Ctx) -> dict:
    """该统筹区及其所在省的全部政策版本，按生效顺序。"""
    return policies.history(ctx, admdvs)


@router.post("/policies/{admdvs}/versions", status_code=201)
def publish_policy(admdvs: Admdvs, body: PolicyVersionIn, caller: Operator, ctx: Ctx) -> dict:
    """发布新的政策版本：只列出变更的规则，自 effective_from（今天或以后）起生效。"""
    return policies.publish(ctx, admdvs, body.data(), actor_of(caller))
