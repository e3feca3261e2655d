"""Verified tokens are remembered (api/auth.py), yet every answer is the one a fresh decode
would give: expiry and issue time are judged against the clock of each call, the cache is
bounded, keeps no refused token, and a token verified under one key means nothing under
another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongji.api import auth
from gongji.api.auth import IAT_LEEWAY_S, Principal, decode_token
from gongji.domain.errors import DomainError

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
START = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_cache():
    auth._VERIFIED.clear()
    yield
    auth._VERIFIED.clear()


def signed(key: bytes = KEY, **claims: object) -> str:
    return jwt.encode({"sub": "H1", "role": "institution",
                       "exp": int((START + timedelta(hours=1)).timestamp())} | claims,
                      key, "HS256")


def outcome(token: str, now: datetime, key: bytes = KEY) -> Principal | str:
    try:
        return decode_token(key, "", token, now)
    except DomainError as error:
        return error.code


def expected(role: str, exp: int, iat: int, now: datetime) -> Principal | str:
    """The rules, written out: a future issue time or a bad role is unauthenticated, an
    expiry reached is expired, the issue time judged before the expiry, the role last."""
    if iat > now.timestamp() + IAT_LEEWAY_S:
        return "UNAUTHENTICATED"
    if exp <= now.timestamp():
        return "TOKEN_EXPIRED"
    if role not in ("person", "institution", "clerk"):
        return "UNAUTHENTICATED"
    return Principal(role, "H1")


@settings(max_examples=150, deadline=None)
@given(role=st.sampled_from(["person", "institution", "clerk", "operator", "admin"]),
       exp_s=st.integers(-7200, 7200), iat_s=st.integers(-7200, 7200),
       moments=st.lists(st.integers(-7200, 7200), min_size=1, max_size=6))
def test_a_remembered_token_is_judged_by_the_clock_of_every_call(role, exp_s, iat_s, moments):
    auth._VERIFIED.clear()
    start = int(START.timestamp())
    token = signed(role=role, exp=start + exp_s, iat=start + iat_s)
    for offset in moments:  # the first call verifies it, the later ones find it remembered
        now = START + timedelta(seconds=offset)
        assert outcome(token, now) == expected(role, start + exp_s, start + iat_s, now)


def test_the_signature_is_checked_once_per_token(monkeypatch):
    calls = []
    real = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    token = signed(iat=int(START.timestamp()))

    assert outcome(token, START) == Principal("institution", "H1")
    assert outcome(token, START + timedelta(minutes=30)) == Principal("institution", "H1")
    assert outcome(token, START + timedelta(hours=1)) == "TOKEN_EXPIRED"
    assert outcome(token, START - timedelta(minutes=5)) == "UNAUTHENTICATED"  # iat ahead
    assert len(calls) == 1


def test_a_token_remembered_under_one_key_is_refused_under_another():
    token = signed()
    assert outcome(token, START) == Principal("institution", "H1")

    assert outcome(token, START, key=OTHER_KEY) == "UNAUTHENTICATED"


@pytest.mark.parametrize("claims", [{"exp": "2099-01-01"}, {"iat": 1.5}, {"exp": True}],
                         ids=["text-exp", "float-iat", "bool-exp"])
def test_refused_tokens_are_not_remembered(claims):
    bad = signed(**claims)
    tampered = signed()[:-2] + ("AA" if not signed().endswith("AA") else "BB")

    assert outcome(bad, START) == "UNAUTHENTICATED"
    assert outcome(tampered, START) == "UNAUTHENTICATED"
    assert auth._VERIFIED == {}


def test_the_cache_is_bounded_and_the_oldest_leaves_first(monkeypatch):
    monkeypatch.setattr(auth, "TOKEN_CACHE_SIZE", 3)
    tokens = [signed(sub=f"H{n}") for n in range(10)]
    for token in tokens:
        assert outcome(token, START) != "UNAUTHENTICATED"

    assert [t for _, t in auth._VERIFIED] == tokens[-3:]
    assert outcome(tokens[0], START) == Principal("institution", "H0")  # verified again
    assert len(auth._VERIFIED) == 3


def test_the_operators_token_is_compared_every_time_and_never_remembered():
    assert decode_token(KEY, "ops-token-0123456789", "ops-token-0123456789", START) == (
        Principal("operator", "operator"))
    assert outcome("ops-token-0123456789", START) == "UNAUTHENTICATED"  # no admin token set
    assert auth._VERIFIED == {}
