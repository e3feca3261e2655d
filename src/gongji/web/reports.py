"""The monthly report of the clerk's own region, for the reports page (/reports): the same
figures as `gongji report monthly`, as JSON the page draws."""

from __future__ import annotations

from fastapi import APIRouter, Query

from gongji.api.auth import Clerk
from gongji.api.deps import Ctx
from gongji.domain.money import to_yuan
from gongji.services.operations import report

router = APIRouter(include_in_schema=False)


def _line(line: report.Line) -> dict:
    return {"item": line.item, "count": line.count,
            "amount": None if line.amount_fen is None else to_yuan(line.amount_fen)}


@router.get("/web/report")
def monthly_report(caller: Clerk, ctx: Ctx,
                   month: str = Query(min_length=7, max_length=7)) -> dict:
    """共济月报 of the clerk's region for one Beijing calendar month (YYYY-MM)."""
    found = report.monthly(ctx, caller.admdvs or "", month)
    return {"region": found.region, "region_name": found.region_name, "month": found.month,
            "bindings": found.bindings, "scenes": [_line(x) for x in found.scenes],
            "top_institutions": [_line(x) for x in found.top_institutions]}
