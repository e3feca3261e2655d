"""Every error as {"code", "message"} with the right status; never a 5xx for bad input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from gongji.api.bodyguard import BodyRefused, ClientGone
from gongji.api.headers import BASE_HEADERS, OTHER_CSP
from gongji.api.observability import REQUEST_ID
from gongji.domain.errors import DomainError, refuse

log = logging.getLogger("gongji.api")

_HTTP_CODES = {400: "INVALID_INPUT", 401: "UNAUTHENTICATED", 403: "FORBIDDEN",
               404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "TOO_LARGE",
               415: "UNSUPPORTED_MEDIA_TYPE"}
_HTTP_MESSAGES = {404: "资源不存在", 405: "不支持该请求方法", 413: "请求过大",
                  400: "请求格式不正确", 415: "不支持的内容类型"}


def error_body(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or '请求体'}: {err.get('msg', '')}")
    return "输入不合法：" + "；".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        request.state.error_code = exc.code
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(BodyRefused)
    async def _body_refused(request: Request, exc: BodyRefused) -> JSONResponse:
        request.state.error_code = exc.error.code
        return JSONResponse(error_body(exc.error.code, exc.error.message),
                            status_code=exc.error.status)

    @app.exception_handler(ClientGone)
    async def _client_gone(request: Request, exc: ClientGone) -> JSONResponse:
        # The client's doing, and no fault of ours: worth a line, not a stack trace.
        log.info("client closed the request before its body was complete")
        request.state.error_code = exc.error.code
        return JSONResponse(error_body(exc.error.code, exc.error.message),
                            status_code=exc.error.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        request.state.error_code = "INVALID_INPUT"
        return JSONResponse(error_body("INVALID_INPUT", _describe(exc)), status_code=422)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        error = unstorable(exc)
        request.state.error_code = error.code
        return JSONResponse(error_body(error.code, error.message), status_code=error.status)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return JSONResponse(error_body(code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette runs this outside RequestObserver, whose request id is gone by now:
        # take it back from the request state for the log line and the answer.
        request_id = getattr(request.state, "request_id", None)
        token = REQUEST_ID.set(request_id)
        try:
            log.exception("unexpected error", exc_info=exc)
        finally:
            REQUEST_ID.reset(token)
        # Sent by the outermost middleware, past SecurityHeaders: its headers are set here.
        headers = BASE_HEADERS | {"Content-Security-Policy": OTHER_CSP}
        if request_id:
            headers["X-Request-ID"] = request_id
        return JSONResponse(error_body("INTERNAL", "系统内部错误，请稍后重试"), status_code=500,
                            headers=headers)


def unstorable(exc: DataError) -> DomainError:
    """A value the database cannot hold (PostgreSQL: a NUL character in text, a number out
    of range) is bad input, not a fault; the unit of work has rolled back already."""
    log.warning("input refused by the database: %s", exc.orig)
    return refuse("INVALID_INPUT", "含有数据库不能保存的字符或数值")
