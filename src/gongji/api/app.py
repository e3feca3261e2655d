"""The FastAPI application: REST API, the gateway envelope, health."""

from __future__ import annotations

from fastapi import FastAPI

from gongji.api import errors
from gongji.api.gateway import router as gateway_router
from gongji.api.routes.operator import router as operator_router
from gongji.api.routes.person import router as person_router
from gongji.services.context import Context
from gongji.settings import Settings
from gongji.store.db import make_engine
from gongji.store.migrate import upgrade


def create_app(settings: Settings, *, context: Context | None = None,
               migrate: bool = True) -> FastAPI:
    """Build the app; the database is migrated to the newest revision first."""
    if migrate:
        upgrade(settings.db_url)
    ctx = context or Context(make_engine(settings.db_url))
    app = FastAPI(title="gongji 家庭共济", version="1.0",
                  description="家庭共济（门诊共济）个人账户：绑定、结算、代缴、查询与对账")
    app.state.settings = settings
    app.state.ctx = ctx
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        return {"status": "ok"}

    app.include_router(operator_router)
    app.include_router(person_router)
    app.include_router(gateway_router)
    return app
