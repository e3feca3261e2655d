"""Bearer tokens: the operator's static token, and signed expiring tokens for the rest."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request

from gongji.domain.errors import refuse

ROLES = ("person", "institution", "clerk", "operator")
MAX_TTL_S = 30 * 24 * 3600


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
    """The caller a token names. Expiry is judged by the service clock, not the wall's."""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal("operator", "operator")
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"],
                            options={"require": ["exp", "sub"], "verify_exp": False})
    except jwt.PyJWTError:
        raise refuse("UNAUTHENTICATED") from None
    if not isinstance(claims["exp"], int) or isinstance(claims["exp"], bool):
        raise refuse("UNAUTHENTICATED")  # malformed, not expired: no use asking for a new one
    if claims["exp"] <= now.timestamp():
        raise refuse("TOKEN_EXPIRED")
    role = claims.get("role")
    if role not in ("person", "institution", "clerk") or not isinstance(claims["sub"], str):
        raise refuse("UNAUTHENTICATED")
    return Principal(role, claims["sub"], claims.get("admdvs"))


def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise refuse("UNAUTHENTICATED")
    settings = request.app.state.settings
    found = decode_token(settings.signing_key, settings.admin_token, token.strip(),
                         request.app.state.ctx.now())
    request.state.principal = found
    return found


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
