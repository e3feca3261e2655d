"""Sign-in through the province's identity service (OpenID Connect, authorization code with
PKCE), for persons (portal) and clerks (hall). Authlib is the client; the ID token is checked
with joserfc against the provider's published keys.

The identity service vouches for who signed in; we then issue our own token, as demo sign-in
does, so the API never trusts a third party's token directly:
- a person: the claim named by GONGJI_OIDC_CERTNO_CLAIM holds their ID number → psn_no;
- a clerk: GONGJI_OIDC_CLERK_CLAIM holds their staff id, GONGJI_OIDC_REGION_CLAIM the
  6-digit region they serve.

Between the redirect out and the callback, the state, nonce and PKCE verifier wait in a
short-lived signed HttpOnly cookie (nothing is kept on the server, so any worker can take the
callback). Our token goes back to the page in the URL fragment, which is never sent to a
server; the page stores it and removes it from the address bar at once.
"""

from __future__ import annotations

import hmac
import time
from datetime import timedelta
from urllib.parse import quote

import jwt as pyjwt
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gongji.api.auth import issue_token
from gongji.domain.errors import DomainError, refuse
from gongji.domain.idcard import validate_certno
from gongji.services.clock import local_date
from gongji.store import repo

router = APIRouter(include_in_schema=False)

SIGN_IN_PAGES = ("portal", "hall", "reports")  # a person's, then the clerks' pages
COOKIE = "gongji_oidc"
COOKIE_PATH = "/web/oidc"
PENDING_S = 600  # the person has ten minutes at the identity service
TOKEN_TTL_S = 8 * 3600  # as long as a demo sign-in
HTTP_TIMEOUT_S = 10
LEEWAY_S = 120  # the identity service's clock and ours may differ a little


def _settings(request: Request):  # noqa: ANN202
    settings = request.app.state.settings
    if not settings.oidc_enabled:
        raise refuse("OIDC_NOT_CONFIGURED")
    return settings


def _metadata(request: Request, issuer: str) -> dict:
    """The provider's discovery document, fetched once per process and issuer."""
    cache = request.app.state.__dict__.setdefault("oidc_metadata", {})
    if issuer not in cache:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            answer = requests.get(url, timeout=HTTP_TIMEOUT_S)
            answer.raise_for_status()
            found = answer.json()
        except (requests.RequestException, ValueError):
            raise refuse("OIDC_FAILED", "无法连接统一身份认证服务") from None
        if found.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
            raise refuse("OIDC_FAILED", "统一身份认证服务的发行者与配置不符")
        cache[issuer] = found
    return cache[issuer]


def _redirect_uri(request: Request, settings, page: str) -> str:  # noqa: ANN001
    """Where the identity service sends the browser back: one address per page, registered
    with the service; behind a proxy GONGJI_OIDC_PUBLIC_URL names the public origin."""
    path = f"/web/oidc/{page}/callback"
    if settings.oidc_public_url:
        return settings.oidc_public_url.rstrip("/") + path
    return str(request.base_url).rstrip("/") + path


def _client(settings, redirect_uri: str) -> OAuth2Session:  # noqa: ANN001
    return OAuth2Session(settings.oidc_client_id, settings.oidc_client_secret,
                         scope=settings.oidc_scope, redirect_uri=redirect_uri,
                         code_challenge_method="S256")


@router.get("/web/oidc/{page}/start")
def oidc_start(page: str, request: Request) -> RedirectResponse:
    """Send the browser to the identity service, remembering what to check on its return."""
    if page not in SIGN_IN_PAGES:
        raise refuse("NOT_FOUND")
    settings = _settings(request)
    metadata = _metadata(request, settings.oidc_issuer)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    client = _client(settings, _redirect_uri(request, settings, page))
    url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state,
                                             nonce=nonce, code_verifier=verifier)
    now = request.app.state.ctx.now()
    pending = pyjwt.encode({"state": state, "nonce": nonce, "verifier": verifier,
                            "page": page, "exp": int((now + timedelta(seconds=PENDING_S))
                                                     .timestamp())},
                           settings.signing_key, algorithm="HS256")
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(COOKIE, pending, max_age=PENDING_S, path=COOKIE_PATH, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/web/oidc/{page}/callback")
def oidc_callback(page: str, request: Request) -> RedirectResponse:
    """The identity service's answer: check it, find our person or clerk, hand over our token.
    A refusal goes back to the page as a code, which the page shows in Chinese."""
    if page not in SIGN_IN_PAGES:
        raise refuse("NOT_FOUND")
    settings = _settings(request)
    try:
        token = _signed_in(request, settings, _pending(request, settings, page), page)
    except DomainError as error:
        response = RedirectResponse(f"/{page}?signin_error={quote(error.code)}", status_code=303)
    else:
        response = RedirectResponse(f"/{page}#token={quote(token)}", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def _pending(request: Request, settings, page: str) -> dict:  # noqa: ANN001
    """The sign-in this browser started here, unexpired, with the state it was sent with."""
    try:
        pending = pyjwt.decode(request.cookies.get(COOKIE, ""), settings.signing_key,
                               algorithms=["HS256"], options={"verify_exp": False})
    except pyjwt.PyJWTError:
        raise refuse("OIDC_FAILED", "登录请求已失效，请重新登录") from None
    if pending.get("exp", 0) <= request.app.state.ctx.now().timestamp():
        raise refuse("OIDC_FAILED", "登录请求已超时，请重新登录")
    if pending.get("page") != page:
        raise refuse("OIDC_FAILED", "登录请求已失效，请重新登录")
    if not hmac.compare_digest(str(request.query_params.get("state", "")), pending["state"]):
        raise refuse("OIDC_FAILED", "登录请求与本浏览器发起的不符")
    return pending


def _signed_in(request: Request, settings, pending: dict, page: str) -> str:  # noqa: ANN001
    if request.query_params.get("error"):
        raise refuse("OIDC_FAILED", "已在统一身份认证页面取消或被拒绝")
    code = request.query_params.get("code")
    if not code:
        raise refuse("OIDC_FAILED", "统一身份认证未返回授权码")
    metadata = _metadata(request, settings.oidc_issuer)
    client = _client(settings, _redirect_uri(request, settings, page))
    try:
        tokens = client.fetch_token(metadata["token_endpoint"], code=code,
                                    code_verifier=pending["verifier"], timeout=HTTP_TIMEOUT_S)
    except Exception:  # noqa: BLE001  (Authlib and requests raise many kinds; all mean no)
        raise refuse("OIDC_FAILED", "授权码兑换失败") from None
    claims = _id_claims(tokens.get("id_token"), metadata, settings, pending["nonce"])
    if page == "portal":
        return _person_token(request, settings, claims)
    return _clerk_token(request, settings, claims)


def _id_claims(id_token: str | None, metadata: dict, settings, nonce: str) -> dict:  # noqa: ANN001
    """The ID token's claims, once its signature, issuer, audience, expiry and nonce hold."""
    if not id_token:
        raise refuse("OIDC_FAILED", "统一身份认证未返回身份令牌")
    try:
        keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"],
                                                  timeout=HTTP_TIMEOUT_S).json())
        token = jose_jwt.decode(id_token, keys)
        # Judged by the wall clock, as the identity service stamps it: not by the service
        # clock, which tests and replays may set elsewhere.
        jose_jwt.JWTClaimsRegistry(
            now=int(time.time()), leeway=LEEWAY_S,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": settings.oidc_client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True}).validate(token.claims)
    except (JoseError, requests.RequestException, ValueError, KeyError):
        raise refuse("OIDC_FAILED", "身份令牌校验未通过") from None
    return token.claims


def _person_token(request: Request, settings, claims: dict) -> str:  # noqa: ANN001
    ctx = request.app.state.ctx
    raw = claims.get(settings.oidc_certno_claim)
    if not isinstance(raw, str) or not raw.strip():
        raise refuse("OIDC_NO_IDENTITY", "缺少身份证号码")
    certno = validate_certno(raw.strip().upper(), local_date(ctx.now()))
    with ctx.read() as uow:
        person = repo.person_by_certno(uow.conn, certno)
    if person is None:
        raise refuse("PERSON_NOT_FOUND")
    return issue_token(settings.signing_key, "person", person.psn_no, TOKEN_TTL_S, ctx.now())[0]


def _clerk_token(request: Request, settings, claims: dict) -> str:  # noqa: ANN001
    clerk = claims.get(settings.oidc_clerk_claim)
    region = claims.get(settings.oidc_region_claim)
    if not isinstance(clerk, str) or not clerk.strip() or len(clerk) > 64:
        raise refuse("OIDC_NO_IDENTITY", "缺少经办人员编号")
    if not isinstance(region, str) or len(region) != 6 or not region.isdigit():
        raise refuse("OIDC_NO_IDENTITY", "缺少经办人员所属统筹区")
    now = request.app.state.ctx.now()
    return issue_token(settings.signing_key, "clerk", clerk.strip(), TOKEN_TTL_S, now,
                       region)[0]
