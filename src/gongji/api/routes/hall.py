"""窗口查询: a clerk of the person's region sees what the person sees."""

from __future__ import annotations

from fastapi import APIRouter

from gongji.api.auth import Clerk, Principal
from gongji.api.deps import Ctx, actor_of
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.routes.account import CursorQ, DateFrom, DateTo, LimitQ
from gongji.services.binding import bindings as binding
from gongji.services.binding.hall import person_at_hall, with_region_name
from gongji.services.reads import entries, queries
from gongji.services.reads.paging import parse_period
from gongji.services.registry import reference

router = APIRouter(prefix="/api/v1/hall/persons", tags=["hall"],
                   route_class=ExactJSONRoute)


def _looked_up(ctx: Ctx, certno: str, caller: Principal, view: str) -> str:
    """The person's psn_no; the clerk's lookup is audited."""
    return person_at_hall(ctx, certno, actor_of(caller), view)


@router.get("/{certno}")
def person_record(certno: str, caller: Clerk, ctx: Ctx) -> dict:
    """The person's record, for the window where they stand with their ID card."""
    return with_region_name(reference.get_person(ctx, _looked_up(ctx, certno, caller, "record")))


@router.get("/{certno}/account")
def person_account(certno: str, caller: Clerk, ctx: Ctx) -> dict:
    return queries.account(ctx, _looked_up(ctx, certno, caller, "account"))


@router.get("/{certno}/entries")
def person_entries(certno: str, caller: Clerk, ctx: Ctx, date_from: DateFrom = None,
                   date_to: DateTo = None, cursor: CursorQ = None,
                   limit: LimitQ = None) -> dict:
    parse_period(date_from, date_to)  # a malformed range is refused before it is audited
    psn_no = _looked_up(ctx, certno, caller, "entries")
    return entries.list_entries(ctx, psn_no, date_from, date_to, cursor, limit)


@router.get("/{certno}/bindings")
def person_bindings(certno: str, caller: Clerk, ctx: Ctx) -> dict:
    return binding.list_bindings(ctx, _looked_up(ctx, certno, caller, "bindings"))
