"""The national interface envelope: POST /fsi/api/rsfComIfsService/callService.

Which codes are served, how each one's input is parsed and which service answers it is
one table (gateway_codes.CODES); an infno not in it is refused as unsupported before its
input is looked at. Calls that move money (kinds money and reversal) are keyed by
(fixmedins_code, msgid) across those infno: a retry returns the first answer, the same
msgid with another payload is refused. Read-only calls move nothing, so there is no first
answer to keep: they run in a read unit of work, with no idempotency record and no writer
lock, and a retry is answered afresh; their msgid does not spend a money call's.
Business refusals are answered with HTTP 200, infcode -1 and a stable err_code.

Numbers in the envelope are parsed as Decimal (exactjson.loads_exactly), so an amount reaches
money.to_fen as the client wrote it, never rounded through a float.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from gongji.api import errors, observability
from gongji.api.auth import Institution
from gongji.api.deps import Ctx
from gongji.api.exactjson import loads_exactly
from gongji.api.gateway_codes import (
    CODES,
    MAX_BODY_BYTES,
    MAX_DETAIL_BODY_BYTES,
    Call,
    Code,
    describe,
)
from gongji.domain.errors import DomainError, refuse
from gongji.domain.money import json_default
from gongji.services.clock import inf_time
from gongji.services.context import Context
from gongji.services.idempotent import run_once
from gongji.store.uow import UnitOfWork

router = APIRouter(tags=["gateway"])


def _input_of(envelope: dict, row: Code) -> dict:
    """What the row's parser reads: input.data, or the whole input object."""
    given = envelope.get("input")
    if row.takes == "input":
        if not isinstance(given, dict):
            raise refuse("INVALID_INPUT", "input 须为对象")
        return given
    data = given.get("data") if isinstance(given, dict) else None
    if not isinstance(data, dict):
        raise refuse("INVALID_INPUT", "input.data 须为对象")
    return data


def _text(envelope: dict, name: str, limit: int) -> str:
    value = envelope.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise refuse("INVALID_INPUT", f"{name} 须为 1–{limit} 个字符")
    return value.strip()


def _command(ctx: Context, row: Code, code: str, msgid: str,
             data: dict) -> Callable[[UnitOfWork], dict]:
    """The unit-of-work body for one transaction code; its input is checked here, before
    any unit of work starts."""
    call = Call(code, row.infno, msgid, ctx.now(), row.institution)
    parsed = row.parse(data)
    return lambda uow: row.handler(uow.conn, call, parsed)


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
    msgid = row = None
    try:
        envelope = _envelope(raw)
        msgid = _text(envelope, "msgid", 64)
        infno = _text(envelope, "infno", 4)
        row = CODES.get(infno)
        if len(raw) > (row.max_body_bytes if row else MAX_BODY_BYTES):
            raise refuse("INVALID_INPUT", "报文过大")
        code = _text(envelope, "fixmedins_code", 30)
        if code != caller_code:
            error = refuse("INSTITUTION_MISMATCH")
            return 403, _answer(msgid, None, error, ctx) | {"code": error.code,
                                                             "message": error.message}
        # Only a code we serve has an input shape to check: an unknown one is refused as
        # such, not for the shape of an input nobody defined.
        if row is None:
            raise refuse("INFNO_UNSUPPORTED", infno)
        output = _run(ctx, row, code, msgid, envelope)
        observability.count_gateway(row.metric, None)
        return 200, _answer(msgid, output, None, ctx)
    except (DomainError, DataError) as exc:
        error = exc if isinstance(exc, DomainError) else errors.unstorable(exc)
        observability.count_gateway(row.metric if row else None, error.code)
        return 200, _answer(msgid, None, error, ctx)


def _run(ctx: Context, row: Code, code: str, msgid: str, envelope: dict) -> dict:
    """Check the input, then run the code's handler: exactly once if it moves money."""
    data = _input_of(envelope, row)
    command = _command(ctx, row, code, msgid, data)
    if not row.exactly_once:
        return _read(ctx, command)
    payload = {"infno": row.infno, "data": data,
               "mdtrtarea_admvs": envelope.get("mdtrtarea_admvs"),
               "insuplc_admdvs": envelope.get("insuplc_admdvs")}
    return run_once(ctx, f"fsi:{code}", msgid, payload, command)


def _read(ctx: Context, command: Callable[[UnitOfWork], dict]) -> dict:
    with ctx.read() as uow:
        return command(uow)


def _envelope(raw: bytes) -> dict:
    if len(raw) > MAX_DETAIL_BODY_BYTES:
        raise refuse("INVALID_INPUT", "报文过大")
    try:
        envelope = loads_exactly(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise refuse("INVALID_INPUT", "报文不是合法的 JSON") from None
    if not isinstance(envelope, dict):
        raise refuse("INVALID_INPUT", "报文须为 JSON 对象")
    try:  # a lone surrogate ("\ud800") parses, but can be neither stored nor answered
        json.dumps(envelope, ensure_ascii=False, default=json_default).encode()
    except UnicodeEncodeError:
        raise refuse("INVALID_INPUT", "报文含有不成对的 Unicode 代理字符") from None
    return envelope


@router.post("/fsi/api/rsfComIfsService/callService", description=describe())
async def call_service(request: Request, caller: Institution, ctx: Ctx) -> JSONResponse:
    """The envelope in, the answer out; which codes it serves is the table's (CODES)."""
    raw = await request.body()
    status, answer = await run_in_threadpool(process, ctx, caller.subject, raw)
    if answer["err_code"]:
        request.state.error_code = answer["err_code"]
    return JSONResponse(answer, status_code=status)
