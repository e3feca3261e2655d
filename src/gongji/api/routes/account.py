"""The caller's own data: usage details and their exports, settlements as patient,
notices, and the e-voucher."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gongji.api.auth import Person
from gongji.api.deps import Ctx
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.routes.premiums import RowIdPath
from gongji.services.money import notices
from gongji.services.reads import entries, export, statements
from gongji.services.settlement import evoucher

router = APIRouter(prefix="/api/v1", tags=["account"], route_class=ExactJSONRoute)
DateFrom = Annotated[str | None, Query(alias="from", description="YYYY-MM-DD，含当日")]
DateTo = Annotated[str | None, Query(alias="to", description="YYYY-MM-DD，含当日")]
CursorQ = Annotated[str | None, Query(max_length=64)]
LimitQ = Annotated[int | None, Query()]


@router.get("/account/entries")
def my_entries(caller: Person, ctx: Ctx, date_from: DateFrom = None, date_to: DateTo = None,
               cursor: CursorQ = None, limit: LimitQ = None) -> dict:
    """使用明细，最新在前；next_cursor 取下一页。"""
    return entries.list_entries(ctx, caller.subject, date_from, date_to, cursor, limit)


def attachment(content: bytes, media_type: str, stem: str, suffix: str) -> Response:
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{stem}.{suffix}"'})


def export_name(date_from: str | None, date_to: str | None) -> str:
    return f"entries_{date_from or 'begin'}_{date_to or 'now'}"


@router.get("/account/entries.csv")
async def my_entries_csv(caller: Person, ctx: Ctx, date_from: DateFrom = None,
                         date_to: DateTo = None) -> Response:
    """使用明细导出（CSV，UTF-8 带 BOM，中文表头）。"""
    rows = await run_in_threadpool(export.period_entries, ctx, caller.subject, date_from,
                                   date_to)
    return attachment(export.to_csv(rows), "text/csv; charset=utf-8",
                      export_name(date_from, date_to), "csv")


@router.get("/account/entries.xlsx")
async def my_entries_xlsx(caller: Person, ctx: Ctx, date_from: DateFrom = None,
                          date_to: DateTo = None) -> Response:
    """使用明细导出（Excel）。"""
    rows = await run_in_threadpool(export.period_entries, ctx, caller.subject, date_from,
                                   date_to)
    content = await run_in_threadpool(export.to_xlsx, rows)
    return attachment(content,
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      export_name(date_from, date_to), "xlsx")


@router.get("/settlements")
def my_settlements(caller: Person, ctx: Ctx, date_from: DateFrom = None,
                   date_to: DateTo = None, cursor: CursorQ = None,
                   limit: LimitQ = None) -> dict:
    """本人作为患者的结算，含统筹、个人账户、共济（逐个共济人）与现金。"""
    return statements.list_settlements(ctx, caller.subject, date_from, date_to, cursor, limit)


@router.get("/notices")
def my_notices(caller: Person, ctx: Ctx,
               before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
               limit: LimitQ = None, unread_only: bool = False) -> dict:
    """通知（共济资金被使用、退回、代缴），最新在前，含未读数。"""
    return notices.list_notices(ctx, caller.subject, before, limit, unread_only)


@router.post("/notices/{notice_id}/read")
def read_notice(notice_id: RowIdPath, caller: Person, ctx: Ctx) -> dict:
    return notices.mark_read(ctx, caller.subject, notice_id)


@router.post("/evoucher", status_code=201)
def new_evoucher(caller: Person, ctx: Ctx) -> dict:
    """医保电子凭证：短时有效、一次结算使用的令牌（mdtrt_cert_type 01）。"""
    return evoucher.issue_for(ctx, caller.subject)
