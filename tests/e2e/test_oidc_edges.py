"""The OIDC sign-in's own checks, without a provider (the journey against one is in
tests/web/test_oidc_signin.py): a callback is taken only with the signed cookie its own
start set, for the same page, unexpired, with the same state; an unreachable identity
service is a coded refusal."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from fastapi.testclient import TestClient

from gongji.app import create_app
from gongji.services.context import Context
from gongji.settings import Settings
from gongji.store.db import make_engine
from gongji.web.oidc import COOKIE
from support import Clock

ADMIN = "oidc-edge-admin-token-0123456789"


@pytest.fixture
def app(sqlite_url):
    settings = Settings(admin_token=ADMIN, db_url=sqlite_url, oidc_issuer="http://127.0.0.1:9",
                        oidc_client_id="gongji-web")
    clock = Clock()
    app = create_app(settings, context=Context(make_engine(sqlite_url), clock), migrate=False)
    app.state.test_clock = clock
    yield app
    app.state.ctx.engine.dispose()


def pending(app, page: str = "portal", state: str = "s1", minutes: int = 10) -> str:
    now = app.state.test_clock()
    return jwt.encode({"state": state, "nonce": "n", "verifier": "v", "page": page,
                       "exp": int((now + timedelta(minutes=minutes)).timestamp())},
                      app.state.settings.signing_key, algorithm="HS256")


def callback(app, cookie: str | None, page: str = "portal", state: str = "s1") -> str:
    """The refusal code the page is sent back with."""
    with TestClient(app, follow_redirects=False) as client:
        if cookie is not None:
            client.cookies.set(COOKIE, cookie, path="/web/oidc")
        answer = client.get(f"/web/oidc/{page}/callback?code=c&state={state}&error=x")
    assert answer.status_code == 303
    target = urlparse(answer.headers["location"])
    assert target.path == f"/{page}" and not target.fragment  # no token handed out
    return parse_qs(target.query)["signin_error"][0]


def test_a_callback_needs_the_cookie_of_its_own_start(app):
    assert callback(app, None) == "OIDC_FAILED"
    assert callback(app, "not-a-jwt") == "OIDC_FAILED"
    forged = jwt.encode({"state": "s1", "page": "portal", "exp": 2**40}, b"another key" * 4,
                        algorithm="HS256")
    assert callback(app, forged) == "OIDC_FAILED"
    assert callback(app, pending(app, state="other")) == "OIDC_FAILED"
    assert callback(app, pending(app, page="hall"), page="portal") == "OIDC_FAILED"
    assert callback(app, pending(app, minutes=-1)) == "OIDC_FAILED"
    # (the same cookie, good, signs in: tests/web/test_oidc_signin.py)


def test_an_unreachable_identity_service_is_a_coded_refusal(app):
    with TestClient(app, follow_redirects=False) as client:
        answer = client.get("/web/oidc/hall/start")
        other = client.get("/web/oidc/counter/start")
    assert answer.status_code == 401 and answer.json()["code"] == "OIDC_FAILED"
    assert "无法连接" in answer.json()["message"]
    assert other.status_code == 404  # the counter signs in institutions by token only


def test_the_page_shows_the_catalogue_message_never_the_address_bars_text(app):
    with TestClient(app) as client:
        shown = client.get("/portal?signin_error=OIDC_NO_IDENTITY").text
        odd = client.get("/portal?signin_error=<b>boo</b>").text
    assert "统一身份认证未提供所需的身份信息" in shown
    assert "boo" not in odd and "统一身份认证登录未完成" in odd
