"""Bearer tokens: the operator's static token, and signed expiring tokens for the rest."""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
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
    service whose clock is ahead of the machine's would refuse every token it issues).
    The time is judged on every call; only what the signed claims say is remembered."""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal("operator", "operator")
    claims = _claims_of(key, token)
    stamp = now.timestamp()
    if claims.iat > stamp + IAT_LEEWAY_S:
        raise refuse("UNAUTHENTICATED")  # issued in the service's future: not one of ours
    if claims.exp <= stamp:
        raise refuse("TOKEN_EXPIRED")
    if claims.caller is None:
        raise refuse("UNAUTHENTICATED")
    return claims.caller


@dataclass(frozen=True, slots=True)
class _Claims:
    """What a well-signed token says, the clock aside: a pure function of key and token."""

    exp: int
    iat: int
    caller: Principal | None  # None: a role or subject that no signed token may carry


# Verified tokens, so that a caller's every request does not pay for HMAC and base64 again.
# Only tokens that passed the signature and shape checks are kept; bounded, the oldest
# entry leaves first. Keyed by the signing key too: two apps in one process do not share.
TOKEN_CACHE_SIZE = 10_000
_VERIFIED: dict[tuple[bytes, str], _Claims] = {}
_VERIFIED_WRITE = threading.Lock()


def _claims_of(key: bytes, token: str) -> _Claims:
    found = _VERIFIED.get((key, token))
    if found is None:
        found = _verify(key, token)
        with _VERIFIED_WRITE:
            if len(_VERIFIED) >= TOKEN_CACHE_SIZE:
                del _VERIFIED[next(iter(_VERIFIED))]
            _VERIFIED[(key, token)] = found
    return found


def _verify(key: bytes, token: str) -> _Claims:
    """The signature and the claims' shape; a refusal here does not depend on the time."""
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"],
                            options={"require": ["exp", "sub"], "verify_exp": False,
                                     "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError:
        raise refuse("UNAUTHENTICATED") from None
    exp, iat = claims["exp"], claims.get("iat", 0)
    if not _whole_seconds(exp) or not _whole_seconds(iat):
        raise refuse("UNAUTHENTICATED")  # malformed, not expired: no use asking for a new one
    role, subject = claims.get("role"), claims["sub"]
    fits = role in ("person", "institution", "clerk") and isinstance(subject, str)
    return _Claims(exp, iat, Principal(role, subject, claims.get("admdvs")) if fits else None)


def _whole_seconds(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def authenticate(app_state: object, authorization: str) -> Principal:
    """The caller an Authorization header names, or a refusal (401). Shared by the route
    dependency and the body guard, which asks before a body byte is read."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise refuse("UNAUTHENTICATED")
    settings = app_state.settings
    return decode_token(_signing_key(settings), settings.admin_token, token.strip(),
                        app_state.ctx.now())


_KEYS: dict[tuple[str, str], bytes] = {}  # (secret_key, admin_token) → the signing key


def _signing_key(settings: object) -> bytes:
    """settings.signing_key, derived (a SHA-256) once per pair of secrets, not per request."""
    secrets = (settings.secret_key, settings.admin_token)
    key = _KEYS.get(secrets)
    if key is None:
        if len(_KEYS) >= 64:  # a process has one or two; a test run makes many
            _KEYS.clear()
        key = _KEYS[secrets] = settings.signing_key
    return key


def caller_of(scope: Scope) -> Principal:
    """The caller of this request, decoded once per request: the body guard (before the
    body is read) and the route dependency (before or after it) share the answer."""
    state = scope.setdefault("state", {})
    found = state.get("principal")
    if found is None:
        found = authenticate(scope["app"].state, _authorization(scope))
        state["principal"] = found
    return found


def _authorization(scope: Scope) -> str:
    """The first Authorization header, as Starlette's Headers.get would read it."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return ""


# The dependencies are coroutines: FastAPI runs a plain function in the thread pool, and a
# thread hop costs more than the whole check (it reads the scope and a cache, no I/O).
async def principal(request: Request) -> Principal:
    return caller_of(request.scope)


def require(*roles: str):  # noqa: ANN201
    """Dependency: the caller, if their role is one of `roles`; 403 otherwise. It reads the
    caller itself rather than through Depends(principal): one dependency less for FastAPI
    to solve on every request (caller_of decodes once per request either way)."""

    async def dependency(request: Request) -> Principal:
        caller = caller_of(request.scope)
        if caller.role not in roles:
            raise refuse("FORBIDDEN")
        return caller

    return dependency


Operator = Annotated[Principal, Depends(require("operator"))]
Person = Annotated[Principal, Depends(require("person"))]
Clerk = Annotated[Principal, Depends(require("clerk"))]
Institution = Annotated[Principal, Depends(require("institution"))]
Anyone = Annotated[Principal, Depends(principal)]
