"""The OpenAPI document tells the refusals too, so a client (or a fuzzer) can hold every
answer to it: each /api/v1 operation lists the error statuses of the conventions with
their `{"code", "message"}` body; the gateway documents its envelope in and out, and
that business refusals come back as HTTP 200 with `infcode: -1`.

The documentation pages (Swagger UI at /docs, ReDoc at /redoc) load their bundles from
this server, not a CDN, so they work without internet: the files come from the
`fastapi-offline` wheel (Swagger UI 5, ReDoc 2), mounted at /docs-static, following
FastAPI's "Self-hosting JavaScript and CSS for docs"."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gongji.api.gateway_codes import listed

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"
DOCS_PAGES = (DOCS_URL, OAUTH2_REDIRECT_URL, REDOC_URL)
DOCS_STATIC = "/docs-static"

ERROR = {"type": "object", "required": ["code", "message"],
         "properties": {"code": {"type": "string", "description": "稳定的错误代码"},
                        "message": {"type": "string", "description": "中文说明"}}}
REST_ERRORS = {
    "400": "请求格式不正确（如无法解析的 JSON）",
    "401": "未提供有效的访问令牌，或令牌已过期",
    "403": "当前角色无权执行此操作，或不在经办人员的统筹区",
    "404": "资源不存在，或不是调用者可见的",
    "409": "与当前状态冲突（重复、已支付、已撤销、状态不符）",
    "413": "请求过大",
    "422": "输入不合法，或业务规则拒绝",
}
# Told in words, not as a security scheme: generators would then send (and mangle) the
# header themselves, where tests send each role's real token.
AUTH = ("\n\n每个 /api/v1 与 /fsi 调用须带 `Authorization: Bearer 令牌`（运营管理令牌，"
        "或 POST /api/v1/tokens 签发的人员、机构、经办人员令牌）。")
GATEWAY_PATH = "/fsi/api/rsfComIfsService/callService"
FILES = {".csv": "text/csv; charset=utf-8",  # exports: a file, not JSON
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
ENVELOPE_IN = {
    "type": "object", "required": ["infno", "msgid", "fixmedins_code", "input"],
    "properties": {
        "infno": {"type": "string", "description": listed()},
        "msgid": {"type": "string", "description": "报文号：同一机构内唯一，重发得到第一次的应答"},
        "mdtrtarea_admvs": {"type": "string"}, "insuplc_admdvs": {"type": "string"},
        "fixmedins_code": {"type": "string"}, "opter": {"type": "string"},
        "inf_time": {"type": "string", "description": "yyyy-MM-dd HH:mm:ss"},
        "sign_no": {"type": "string", "description": "9001 签到所得签到编号；为空或不传则不校验，"
                    "传了须为本机构当前有效的签到（否则 SIGN_NO_INVALID）"},
        **{name: {"type": "string", "description": "接口标准字段，接受但不影响处理"}
           for name in ("recer_sys_code", "infver", "opter_type", "opter_name",
                        "fixmedins_name", "dev_no", "dev_safe_info", "cainfo", "signtype",
                        "enctype")},
        "input": {"type": "object", "properties": {"data": {"type": "object"}}},
    },
}
ENVELOPE_OUT = {
    "type": "object", "required": ["infcode", "inf_refmsgid", "err_code", "err_msg", "output"],
    "properties": {
        "infcode": {"type": "integer", "enum": [0, -1]},
        "inf_refmsgid": {"type": "string",
                         "description": "接收方报文ID：区划(6)+yyyyMMddHHmmss+流水号(10)"},
        "msgid": {"type": ["string", "null"]},
        "err_code": {"type": "string", "description": "infcode -1 时的稳定错误代码"},
        "err_msg": {"type": "string"},
        "warn_msg": {"type": "string"},
        "refmsg_time": {"type": "string",
                        "description": "接收报文时间 yyyyMMddHHmmssSSS（北京时间）"},
        "respond_time": {"type": "string",
                         "description": "响应报文时间 yyyyMMddHHmmssSSS（北京时间）"},
        "output": {"type": "object"},
    },
}


def document_errors(app: FastAPI) -> None:
    """Amend the app's generated OpenAPI document (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            _amend(build())
        return app.openapi_schema

    app.openapi = openapi


def _amend(schema: dict) -> None:
    schema["info"]["description"] = (schema["info"].get("description", "") + AUTH).strip()
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(("/api/v1/", "/fsi/")):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path == GATEWAY_PATH:
                _gateway(operation, error_ref)
                continue
            for status, description in REST_ERRORS.items():
                responses[status] = {"description": description, "content": error_ref}
            for suffix, media_type in FILES.items():
                if path.endswith(suffix):
                    responses["200"]["content"] = {media_type: {
                        "schema": {"type": "string", "format": "binary"}}}


def _gateway(operation: dict, error_ref: dict) -> None:
    operation["requestBody"] = {"required": True, "content": {
        "application/json": {"schema": ENVELOPE_IN}}}
    operation["responses"] = {
        "200": {"description": "应答报文：infcode 0 成功；-1 拒绝（err_code、err_msg）",
                "content": {"application/json": {"schema": ENVELOPE_OUT}}},
        "401": {"description": REST_ERRORS["401"], "content": error_ref},
        "403": {"description": "非机构令牌，或报文中的 fixmedins_code 与令牌不符",
                "content": error_ref},
        "413": {"description": REST_ERRORS["413"], "content": error_ref},
    }


def serve_docs(app: FastAPI, *, favicon_url: str) -> None:
    """Swagger UI, its OAuth2 redirect and ReDoc, with every asset from this server. The app
    is made with docs_url=None and redoc_url=None, so FastAPI's CDN pages are not there."""
    static = files("fastapi_offline") / "static"
    app.mount(DOCS_STATIC, StaticFiles(directory=str(static)), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url, title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=root + favicon_url,
            swagger_ui_parameters=app.swagger_ui_parameters)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url, title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=root + favicon_url, with_google_fonts=False)
