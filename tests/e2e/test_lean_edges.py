"""The lean hot path at the edges (issue 16): the gateway envelope and /healthz are answered
without a thread-pool hop; the day's policy run (database work) still goes to a thread, on
the first call of the day only; a remembered token still expires by the service clock; and
`gongji serve` runs on uvloop and httptools with uvicorn's own access log off."""

from __future__ import annotations

import anyio.to_thread
import jwt
import pytest
from typer.testing import CliRunner

from gongji.api import auth
from gongji.api.auth import issue_token
from gongji.cli import app as cli_app
from gongji.services.registry import policies

GATEWAY = "/fsi/api/rsfComIfsService/callService"
HOSPITAL = "H54250000077"


@pytest.fixture
def hops(monkeypatch):
    """What the app hands to a worker thread: every run_in_threadpool ends here."""
    handed = []
    real = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        handed.append(getattr(func, "func", func))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return handed


def hospital_token(api, clock, ttl_s: int = 3600) -> str:  # noqa: ANN001
    key = api.client.app.state.settings.signing_key
    return issue_token(key, "institution", HOSPITAL, ttl_s, clock.now)[0]


def unsupported(api, token: str):  # noqa: ANN001, ANN201
    """An envelope for a code nobody serves: answered before any database work."""
    envelope = {"infno": "9999", "msgid": "lean-1", "fixmedins_code": HOSPITAL,
                "input": {"data": {}}}
    return api.client.post(GATEWAY, json=envelope, headers={"Authorization": f"Bearer {token}"})


def test_the_gateway_and_healthz_hop_to_a_thread_only_for_the_days_policy_run(api, clock, hops):
    token = hospital_token(api, clock)
    ctx = api.client.app.state.ctx

    first = unsupported(api, token)
    assert first.json()["err_code"] == "INFNO_UNSUPPORTED"
    assert hops == [policies.apply_due_once_a_day]  # the day's first call runs it, in a thread
    assert not policies.due_today(ctx)

    hops.clear()
    for _ in range(3):
        assert unsupported(api, token).json()["err_code"] == "INFNO_UNSUPPORTED"
        assert api.client.get("/healthz").json() == {"status": "ok"}
    assert hops == []

    clock.advance(days=1)  # a new Asia/Shanghai day: its first call runs the policies again
    token = hospital_token(api, clock)
    assert unsupported(api, token).status_code == 200
    assert unsupported(api, token).status_code == 200
    assert hops == [policies.apply_due_once_a_day]


def test_a_remembered_token_still_expires_by_the_service_clock(api, clock, monkeypatch):
    calls = []
    real = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    monkeypatch.setattr(auth, "_VERIFIED", {})  # another run of this test signed the same token
    token = hospital_token(api, clock, ttl_s=60)

    assert unsupported(api, token).status_code == 200
    clock.advance(seconds=59)
    assert unsupported(api, token).status_code == 200
    clock.advance(seconds=1)
    expired = unsupported(api, token)

    assert (expired.status_code, expired.json()["code"]) == (401, "TOKEN_EXPIRED")
    assert len(calls) == 1  # verified once; the clock judged it three times


def test_the_answers_keep_every_header_of_the_edge(api, clock):
    answer = unsupported(api, hospital_token(api, clock))

    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-security-policy"] == (
        "default-src 'none'; frame-ancestors 'none'")
    assert len(answer.headers["x-request-id"]) == 32
    assert len(answer.headers.get_list("x-request-id")) == 1


def test_serve_runs_on_uvloop_and_httptools_without_uvicorns_access_log(monkeypatch, tmp_path):
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda target, **kw: served.update(kw, target=target))
    monkeypatch.setattr("gongji.api.observability.configure_logging", lambda *a, **kw: None)
    for workers in ("1", "2"):
        result = CliRunner().invoke(
            cli_app, ["serve", "--db", f"sqlite:///{tmp_path}/lean.db", "--workers", workers],
            env={"GONGJI_ADMIN_TOKEN": "lean-edges-admin-token-0123", "GONGJI_DEMO": None},
            catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert (served["loop"], served["http"]) == ("uvloop", "httptools")
        assert (served["access_log"], served["log_config"]) == (False, None)
    assert served["target"] == "gongji.app:app_from_env"  # the workers build their own app
