"""The national interface envelope: POST /fsi/api/rsfComIfsService/callService.

Which codes are served, how each one's input is parsed and which service answers it is
one table (gateway_codes.CODES); an infno not in it is refused as unsupported before its
input is looked at. Calls that move money (kinds money and reversal) are keyed by
(fixmedins_code, msgid) across those infno: a retry returns the first answer, the same
msgid with another payload is refused. Read-only calls move nothing, so there is no first
answer to keep: they run in a read unit of work, with no idempotency record and no writer
lock, and a retry is answered afresh; their msgid does not spend a money call's.
Business refusals are answered with HTTP 200, infcode -1 and a stable err_code.

The envelope (CONTRACT v2): the interface's standard fields are accepted (only `sign_no` is
read; unknown extras are ignored). A non-empty `sign_no` must be a current sign-in of the
caller (signin.require_current) for every code but 9001, checked inside the code's unit of
work before its handler, and an exactly-once message whose msgid a 2601 spent is refused
(correction.refuse_if_spent). Answers carry `warn_msg`, and Beijing times in the interface's
format: `refmsg_time` (and the time in `inf_refmsgid`) when the message arrived,
`respond_time` when it was answered.

Numbers in the envelope are parsed as Decimal (exactjson.loads_exactly), so an amount reaches
money.to_fen as the client wrote it, never rounded through a float.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from gongji.api import errors, observability
from gongji.api.auth import require
from gongji.api.deps import context
from gongji.api.exactjson import loads_exactly
from gongji.api.gateway_codes import (
    CODES,
    MAX_BODY_BYTES,
    MAX_DETAIL_BODY_BYTES,
    SIGN_IN,
    Call,
    Code,
    describe,
)
from gongji.domain.errors import DomainError, refuse
from gongji.domain.money import json_default
from gongji.services.batching import Job
from gongji.services.clock import local
from gongji.services.context import Context
from gongji.services.idempotent import gateway_scope, job_for
from gongji.services.settlement import correction, prelock, signin
from gongji.services.settlement.signin import SIGN_NO_MAX
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


def _sign_no(envelope: dict) -> str | None:
    """The envelope's sign_no: None when absent or empty (accepted, CONTRACT v2)."""
    value = envelope.get("sign_no")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > SIGN_NO_MAX:
        raise refuse("INVALID_INPUT", f"sign_no 须为至多 {SIGN_NO_MAX} 个字符")
    return value.strip()


def _command(row: Code, code: str, msgid: str, parsed: object, sign_no: str | None,
             received: datetime) -> Callable[[UnitOfWork], dict]:
    """The unit-of-work body for one transaction code; its input is checked here, before
    any unit of work starts. Inside it, before the handler (and, for an exactly-once code,
    right after its msgid is claimed, so a retry of an answered message still gets its
    first answer): the sign-in rule, and a msgid spent by 2601 is refused. The handler's
    time is the clock reading taken when the message arrived (refmsg_time)."""
    call = Call(code, row.infno, msgid, received, row.institution)

    def body(uow: UnitOfWork) -> dict:
        if sign_no is not None and row.infno != SIGN_IN:
            signin.require_current(uow.conn, code, sign_no, call.now)
        if row.exactly_once:
            correction.refuse_if_spent(uow.conn, code, msgid)
        return row.handler(uow.conn, call, parsed)

    return body


def _receiver(envelope: dict | None) -> str:
    """The receiving platform's region for inf_refmsgid: where the care happens
    (mdtrtarea_admvs), else the insured's region, else six zeros."""
    for name in ("mdtrtarea_admvs", "insuplc_admdvs"):
        value = envelope.get(name) if envelope else None
        if isinstance(value, str) and len(value) == 6 and value.isascii() and value.isdigit():
            return value
    return "000000"


def _stamp(moment: datetime) -> str:
    """refmsg_time / respond_time as the national interface writes them:
    yyyyMMddHHmmssSSS, Beijing time."""
    beijing = local(moment)
    return f"{beijing:%Y%m%d%H%M%S}{beijing.microsecond // 1000:03d}"


def _answer(envelope: dict | None, msgid: str | None, output: dict | None,
            error: DomainError | None, received: datetime, ctx: Context) -> dict:
    """The answer envelope. Every time in it is Beijing time from the clock: refmsg_time and
    inf_refmsgid from the reading taken when the message arrived, respond_time from one
    taken now (never before the first)."""
    responded = max(ctx.now(), received)
    return {
        "infcode": -1 if error else 0,
        # receiver's region (6) + yyyyMMddHHmmss (14) + serial (10), as the interface has it
        "inf_refmsgid": (f"{_receiver(envelope)}{local(received):%Y%m%d%H%M%S}"
                         f"{secrets.randbelow(10**10):010d}"),
        "refmsg_time": _stamp(received),
        "respond_time": _stamp(responded),
        "msgid": msgid,
        "err_code": error.code if error else "",
        "err_msg": error.message if error else "",
        "warn_msg": "",
        "cainfo": "",
        "signtype": "",
        "output": output or {},
    }


@dataclass
class Exchange:
    """One envelope on its way through: what was read of it, and, for an exactly-once
    code, the job the batch writer runs (services/batching.py)."""

    ctx: Context
    received: datetime
    envelope: dict | None = None
    msgid: str | None = None
    row: Code | None = None
    job: Job | None = None
    command: Callable[[UnitOfWork], dict] | None = None

    def answered(self, output: dict) -> tuple[int, dict]:
        observability.count_gateway(self.row.metric, None)
        return 200, _answer(self.envelope, self.msgid, output, None, self.received, self.ctx)

    def refused(self, exc: DomainError | DataError) -> tuple[int, dict]:
        error = exc if isinstance(exc, DomainError) else errors.unstorable(exc)
        observability.count_gateway(self.row.metric if self.row else None, error.code)
        return 200, _answer(self.envelope, self.msgid, None, error, self.received, self.ctx)


def accept(ctx: Context, caller_code: str, raw: bytes) -> Exchange | tuple[int, dict]:
    """Read and check one envelope for the institution `caller_code`: an Exchange to run,
    or the answer already (a refusal of its form)."""
    ex = Exchange(ctx, ctx.now())
    try:
        ex.envelope = envelope = _envelope(raw)
        ex.msgid = msgid = _text(envelope, "msgid", 64)
        infno = _text(envelope, "infno", 4)
        ex.row = row = CODES.get(infno)
        if len(raw) > (row.max_body_bytes if row else MAX_BODY_BYTES):
            raise refuse("INVALID_INPUT", "报文过大")
        code = _text(envelope, "fixmedins_code", 30)
        if code != caller_code:
            error = refuse("INSTITUTION_MISMATCH")
            return 403, _answer(envelope, msgid, None, error, ex.received, ctx) | {
                "code": error.code, "message": error.message}
        # Only a code we serve has an input shape to check: an unknown one is refused as
        # such, not for the shape of an input nobody defined.
        if row is None:
            raise refuse("INFNO_UNSUPPORTED", infno)
        data = _input_of(envelope, row)
        parsed = row.parse(data)
        ex.command = _command(row, code, msgid, parsed, _sign_no(envelope), ex.received)
        if row.exactly_once:
            ex.job = _job(ctx, row, code, msgid, envelope, data, ex.command)
            if row.kind == "money":  # its rows read and locked with the batch's
                ex.job.hint = prelock.hint_for(code, msgid, parsed, ex.received,
                                               row.institution)
                ex.job.prepare = prelock.prepare if ex.job.hint is not None else None
        return ex
    except (DomainError, DataError) as exc:
        return ex.refused(exc)


def _job(ctx: Context, row: Code, code: str, msgid: str, envelope: dict, data: dict,
         command: Callable[[UnitOfWork], dict]) -> Job:
    """The exactly-once job of a money-moving code, keyed by (fixmedins_code, msgid)."""
    # A v1 form ({"data": {...}} alone) is keyed as before the whole input was read, so a
    # v1 retry that spans an upgrade still finds its first answer.
    keyed = data["data"] if row.takes == "input" and list(data) == ["data"] else data
    payload = {"infno": row.infno, "data": keyed,
               "mdtrtarea_admvs": envelope.get("mdtrtarea_admvs"),
               "insuplc_admdvs": envelope.get("insuplc_admdvs")}
    return job_for(ctx, gateway_scope(code), msgid, payload, command, solo=row.alone)


def finish(ex: Exchange) -> tuple[int, dict]:
    """Run an accepted exchange here (a read, or an exactly-once job through the writer)."""
    try:
        if ex.job is not None:
            return ex.answered(ex.ctx.batcher.run(ex.job))
        with ex.ctx.read() as uow:
            return ex.answered(ex.command(uow))
    except (DomainError, DataError) as exc:
        return ex.refused(exc)


def process(ctx: Context, caller_code: str, raw: bytes) -> tuple[int, dict]:
    """Handle one envelope for the institution `caller_code`: (HTTP status, answer)."""
    ex = accept(ctx, caller_code, raw)
    return ex if isinstance(ex, tuple) else finish(ex)


async def process_async(ctx: Context, caller_code: str, raw: bytes) -> tuple[int, dict]:
    """`process` for the event loop: an exactly-once job is handed to the writer and
    awaited, with no thread of the pool held while it waits; a read runs in the pool."""
    ex = accept(ctx, caller_code, raw)
    if isinstance(ex, tuple):
        return ex
    if ex.job is None:
        return await run_in_threadpool(finish, ex)
    try:
        return ex.answered(await asyncio.wrap_future(ctx.batcher.submit(ex.job)))
    except (DomainError, DataError) as exc:
        return ex.refused(exc)


def _envelope(raw: bytes) -> dict:
    if len(raw) > MAX_DETAIL_BODY_BYTES:
        raise refuse("INVALID_INPUT", "报文过大")
    try:
        envelope = loads_exactly(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise refuse("INVALID_INPUT", "报文不是合法的 JSON") from None
    if not isinstance(envelope, dict):
        raise refuse("INVALID_INPUT", "报文须为 JSON 对象")
    # A lone surrogate comes from a \u escape, or from bytes ED A0..BF that json.loads lets
    # through (it decodes with surrogatepass): without either, there is none to find.
    if b"\\u" in raw or b"\xed" in raw:
        try:  # "\ud800" parses, but can be neither stored nor answered
            json.dumps(envelope, ensure_ascii=False, default=json_default).encode()
        except UnicodeEncodeError:
            raise refuse("INVALID_INPUT", "报文含有不成对的 Unicode 代理字符") from None
    return envelope


_institution = require("institution")


@router.post("/fsi/api/rsfComIfsService/callService", description=describe())
async def call_service(request: Request) -> JSONResponse:
    """The envelope in, the answer out; which codes it serves is the table's (CODES).
    The caller and the context are asked for here, not declared as dependencies: the
    same checks, without FastAPI solving a dependency graph on the busiest route."""
    caller = await _institution(request)
    ctx = await context(request)
    raw = await request.body()
    status, answer = await process_async(ctx, caller.subject, raw)
    if answer["err_code"]:
        request.state.error_code = answer["err_code"]
    return JSONResponse(answer, status_code=status)
