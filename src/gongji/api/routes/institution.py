"""Reconciliation for a designated institution over REST (the gateway has 3201/3202)."""

from __future__ import annotations

from fastapi import APIRouter

from gongji.api.auth import Institution
from gongji.api.deps import Ctx
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.routes.account import CursorQ, DateFrom, DateTo, LimitQ
from gongji.services.settlement import reconciliation

router = APIRouter(prefix="/api/v1/institution", tags=["institution"],
                   route_class=ExactJSONRoute)


@router.get("/daily-totals")
def daily_totals(caller: Institution, ctx: Ctx, date_from: DateFrom = None,
                 date_to: DateTo = None) -> dict:
    """对总账（按日）：未撤销结算的合计，及当日结算中已撤销的笔数。"""
    return reconciliation.daily_totals(ctx, caller.subject, date_from, date_to)


@router.get("/settlements")
def settlements_on(caller: Institution, ctx: Ctx, date: str | None = None,
                   cursor: CursorQ = None, limit: LimitQ = None) -> dict:
    """对明细：某日的每笔结算（含已撤销的，标明 reversed）。"""
    return reconciliation.settlements_on(ctx, caller.subject, date, cursor, limit)
