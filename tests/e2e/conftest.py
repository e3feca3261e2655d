"""An HTTP client on the real app, with an operator and a way to mint tokens; the
security tests' shared worlds (security_world.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gongji.app import create_app
from gongji.settings import Settings
from security_world import backend_world, sqlite_world  # noqa: F401 (fixtures for this folder)
from support import Clock

ADMIN = "test-admin-token-0123456789"


class Api:
    def __init__(self, client: TestClient):
        self.client = client
        self.admin = {"Authorization": f"Bearer {ADMIN}"}

    def as_(self, token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def token(self, role: str, subject: str, admdvs: str | None = None, ttl_s: int = 3600) -> str:
        body = {"role": role, "subject": subject, "ttl_s": ttl_s}
        if admdvs:
            body["admdvs"] = admdvs
        response = self.client.post("/api/v1/tokens", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def post(self, path: str, body: object, token: str | None = None, **kw):  # noqa: ANN201
        headers = self.as_(token) if token else self.admin
        return self.client.post(path, json=body, headers=headers | kw.pop("headers", {}), **kw)

    def get(self, path: str, token: str | None = None, **kw):  # noqa: ANN201
        return self.client.get(path, headers=self.as_(token) if token else self.admin, **kw)

    def gateway(self, token: str, code: str, infno: str, data: dict, msgid: str) -> dict:
        envelope = {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "542500",
                    "insuplc_admdvs": "542500", "fixmedins_code": code, "opter": "001",
                    "inf_time": "2025-06-01 10:00:00", "input": {"data": data}}
        response = self.client.post("/fsi/api/rsfComIfsService/callService", json=envelope,
                                    headers=self.as_(token))
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def api(db_url, clock):
    from gongji.services.context import Context
    from gongji.store.db import make_engine

    settings = Settings(admin_token=ADMIN, db_url=db_url)
    app = create_app(settings, context=Context(make_engine(db_url), clock))
    with TestClient(app) as client:
        yield Api(client)
    app.state.ctx.engine.dispose()
