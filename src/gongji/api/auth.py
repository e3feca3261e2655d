"""Bearer tokens: the operator's static token, and signed expiring tokens for the rest."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from starlette.datastructures import Headers
from starlette.types import Scope

from gongji.domain.errors import refuse

ROLES = ("person", "institution", "clerk", "operator")
MAX_TTL_S = 30 * 24 * 3600
IAT_LEEWAY_S = 60  # workers' clocks may differ by a little


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str  # psn_no, fixmedins_code, clerk id, or "operator"
    admdvs: str | None = None


def issue_token(key: bytes, role: str, subject: str, ttl_s: int, now: datetime,
                admdvs: str | None = None) -> tuple[str, datetime]:
    expires_at = now + timedelta(seconds=ttl_s)
    claims = {"role": role, "sub": subject, "exp": int(expires_at.timestamp()),
              "iat": int(now.timestamp())}
    if admdvs:
        claims["admdvs"] = admdvs
    return jwt.encode(claims, key, algorithm="HS256"), expires_at


def decode_token(key: bytes, admin_token: str, token: str, now: datetime) -> Principal:
    """The caller a token names. Expiry and issue time are judged by the service clock,
    not the wall's: PyJWT's own checks read the machine clock, so they are off here (a
    service whose clock is ahead of the machine's would refuse every token it issues)."""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal("operator", "operator")
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"],
                            options={"require": ["exp", "sub"], "verify_exp": False,
                                     "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError:
        raise refuse("UNAUTHENTICATED") from None
    if not _whole_seconds(claims["exp"]) or not _whole_seconds(claims.get("iat", 0)):
        raise refuse("UNAUTHENTICATED")  # malformed, not expired: no use asking for a new one
    if claims.get("iat", 0) > now.timestamp() + IAT_LEEWAY_S:
        raise refuse("UNAUTHENTICATED")  # issued in the service's future: not one of ours
    if claims["exp"] <= now.timestamp():
        raise refuse("TOKEN_EXPIRED")
    role = claims.get("role")
    if role not in ("person", "institution", "clerk") or not isinstance(claims["sub"], str):
        raise refuse("UNAUTHENTICATED")
    return Principal(role, claims["sub"], claims.get("admdvs"))


def _whole_seconds(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def authenticate(app_state: object, authorization: str) -> Principal:
    """The caller an Authorization header names, or a refusal (401). Shared by the route
    dependency and the body guard, which asks before a body byte is read."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise refuse("UNAUTHENTICATED")
    settings = app_state.settings
    return decode_token(settings.signing_key, settings.admin_token, token.strip(),
                        app_state.ctx.now())


def caller_of(scope: Scope) -> Principal:
    """The caller of this request, decoded once per request: the body guard (before the
    body is read) and the route dependency (before or after it) share the answer."""
    state = scope.setdefault("state", {})
    found = state.get("principal")
    if found is None:
        found = authenticate(scope["app"].state,
                             Headers(scope=scope).get("authorization", ""))
        state["principal"] = found
    return found


def principal(request: Request) -> Principal:
    return caller_of(request.scope)


def require(*roles: str):  # noqa: ANN201
    """Dependency: the caller, if their role is one of `roles`; 403 otherwise."""

    def dependency(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        if caller.role not in roles:
            raise refuse("FORBIDDEN")
        return caller

    return dependency


Operator = Annotated[Principal, Depends(require("operator"))]
Person = Annotated[Principal, Depends(require("person"))]
Clerk = Annotated[Principal, Depends(require("clerk"))]
Institution = Annotated[Principal, Depends(require("institution"))]
Anyone = Annotated[Principal, Depends(principal)]
