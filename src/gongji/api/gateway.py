"""The national interface envelope: POST /fsi/api/rsfComIfsService/callService.

Calls that move money (2102, 2103, 2207, 2208) are keyed by (fixmedins_code, msgid)
across those infno: a retry returns the first answer, the same msgid with another payload
is refused. Read-only calls (1101, 2101, 2206, 3201, 3202) move nothing, so there is no
first answer to keep: they run in a read unit of work, with no idempotency record and no
writer lock, and a retry is answered afresh; their msgid does not spend a money call's.
Business refusals are answered with HTTP 200, infcode -1 and a stable err_code.

Numbers in the envelope are parsed as Decimal (parse_float), so an amount reaches
money.to_fen as the client wrote it, never rounded through a float.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from gongji.api import errors, observability
from gongji.api.auth import Institution
from gongji.api.deps import Ctx
from gongji.domain.bill import parse_bill
from gongji.domain.errors import DomainError, refuse
from gongji.domain.money import json_default
from gongji.services.clock import inf_time
from gongji.services.context import Context
from gongji.services.idempotent import run_once
from gongji.services.settlement import reconciliation
from gongji.services.settlement import settle as settlement
from gongji.store.uow import UnitOfWork

router = APIRouter(tags=["gateway"])
MAX_BODY_BYTES = 256 * 1024
# 3202 carries the institution's whole list (reconciliation.MAX_DETAIL items); the body
# guard (bodyguard.GATEWAY_MAX_BYTES) stops reading beyond this, with a 413.
MAX_DETAIL_BODY_BYTES = 2 * 1024 * 1024
READ_ONLY_INFNOS = frozenset({"1101", "2101", "2206", "3201", "3202"})


def _input_data(envelope: dict) -> dict:
    data = (envelope.get("input") or {}).get("data") if isinstance(envelope.get("input"), dict) else None
    if not isinstance(data, dict):
        raise refuse("INVALID_INPUT", "input.data 须为对象")
    return data


def _text(envelope: dict, name: str, limit: int) -> str:
    value = envelope.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise refuse("INVALID_INPUT", f"{name} 须为 1–{limit} 个字符")
    return value.strip()


def _command(ctx: Context, infno: str, code: str, msgid: str,
             data: dict) -> Callable[[UnitOfWork], dict]:
    """The unit-of-work body for one transaction code; input is checked before it runs."""
    now = ctx.now()
    if infno == "1101":
        cert_type, cert_no = data.get("mdtrt_cert_type"), data.get("mdtrt_cert_no")
        if cert_type not in ("01", "02", "03") or not isinstance(cert_no, str) or not cert_no:
            raise refuse("INVALID_INPUT", "mdtrt_cert_type 须为 01/02/03，mdtrt_cert_no 必填")
        return lambda uow: settlement.person_info(uow.conn, cert_type, cert_no, now)
    kind = settlement.SCENES.get(infno, (None, None))[1]
    if kind in ("presettle", "settle"):
        bill = parse_bill(data)
        if kind == "presettle":
            return lambda uow: settlement.presettle(uow.conn, code, infno, bill, now)
        return lambda uow: settlement.settle(uow.conn, code, infno, msgid, bill, now)
    if kind == "reverse":
        setl_id, psn_no = data.get("setl_id"), data.get("psn_no")
        if not isinstance(setl_id, str) or not isinstance(psn_no, str) or not setl_id or not psn_no:
            raise refuse("INVALID_INPUT", "setl_id、psn_no 必填")
        return lambda uow: settlement.reverse(uow.conn, code, infno, setl_id, psn_no, now)
    if infno == "3201":
        query = reconciliation.parse_totals_query(data)
        return lambda uow: reconciliation.totals(uow.conn, code, query)
    if infno == "3202":
        detail_query = reconciliation.parse_detail_query(data)
        return lambda uow: reconciliation.compare_detail(uow.conn, code, detail_query)
    raise refuse("INFNO_UNSUPPORTED", infno)


def _answer(msgid: str | None, output: dict | None, error: DomainError | None,
            ctx: Context) -> dict:
    now = ctx.now()
    return {
        "infcode": -1 if error else 0,
        "inf_refmsgid": f"{now:%Y%m%d%H%M%S}{secrets.token_hex(6)}",
        "refmsg_time": inf_time(now),
        "respond_time": inf_time(ctx.now()),
        "msgid": msgid,
        "err_code": error.code if error else "",
        "err_msg": error.message if error else "",
        "output": output or {},
    }


def process(ctx: Context, caller_code: str, raw: bytes) -> tuple[int, dict]:
    """Handle one envelope for the institution `caller_code`: (HTTP status, answer)."""
    msgid = infno = None
    try:
        envelope = _envelope(raw)
        msgid = _text(envelope, "msgid", 64)
        infno = _text(envelope, "infno", 4)
        if infno != "3202" and len(raw) > MAX_BODY_BYTES:
            raise refuse("INVALID_INPUT", "报文过大")
        code = _text(envelope, "fixmedins_code", 30)
        if code != caller_code:
            error = refuse("INSTITUTION_MISMATCH")
            return 403, _answer(msgid, None, error, ctx) | {"code": error.code,
                                                             "message": error.message}
        data = _input_data(envelope)
        payload = {"infno": infno, "data": data,
                   "mdtrtarea_admvs": envelope.get("mdtrtarea_admvs"),
                   "insuplc_admdvs": envelope.get("insuplc_admdvs")}
        command = _command(ctx, infno, code, msgid, data)
        if infno in READ_ONLY_INFNOS:
            output = _read(ctx, command)
        else:
            output, _ = run_once(ctx, f"fsi:{code}", msgid, payload, command)
        observability.count_gateway(infno, None)
        return 200, _answer(msgid, output, None, ctx)
    except (DomainError, DataError) as exc:
        error = exc if isinstance(exc, DomainError) else errors.unstorable(exc)
        observability.count_gateway(infno, error.code)
        return 200, _answer(msgid, None, error, ctx)


def _read(ctx: Context, command: Callable[[UnitOfWork], dict]) -> dict:
    with ctx.read() as uow:
        return command(uow)


def _envelope(raw: bytes) -> dict:
    if len(raw) > MAX_DETAIL_BODY_BYTES:
        raise refuse("INVALID_INPUT", "报文过大")
    try:
        envelope = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise refuse("INVALID_INPUT", "报文不是合法的 JSON") from None
    if not isinstance(envelope, dict):
        raise refuse("INVALID_INPUT", "报文须为 JSON 对象")
    try:  # a lone surrogate ("\ud800") parses, but can be neither stored nor answered
        json.dumps(envelope, ensure_ascii=False, default=json_default).encode()
    except UnicodeEncodeError:
        raise refuse("INVALID_INPUT", "报文含有不成对的 Unicode 代理字符") from None
    return envelope


@router.post("/fsi/api/rsfComIfsService/callService")
async def call_service(request: Request, caller: Institution, ctx: Ctx) -> JSONResponse:
    """国家医保接口报文：1101、2101/2102/2103、2206/2207/2208、3201、3202。"""
    raw = await request.body()
    status, answer = await run_in_threadpool(process, ctx, caller.subject, raw)
    if answer["err_code"]:
        request.state.error_code = answer["err_code"]
    return JSONResponse(answer, status_code=status)
