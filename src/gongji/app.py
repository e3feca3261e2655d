"""The composition root: the FastAPI application joining the API (REST, the gateway
envelope, health) and the web pages. It lives outside api/ so that the API never
depends on the pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse

from gongji.api import errors, observability, openapi
from gongji.api.bodyguard import BodyGuard
from gongji.api.gateway import router as gateway_router
from gongji.api.headers import SecurityHeaders
from gongji.api.routes.account import router as account_router
from gongji.api.routes.binding import router as binding_router
from gongji.api.routes.catalogue import router as catalogue_router
from gongji.api.routes.credits import router as credits_router
from gongji.api.routes.hall import router as hall_router
from gongji.api.routes.institution import router as institution_router
from gongji.api.routes.operator import router as operator_router
from gongji.api.routes.person import router as person_router
from gongji.api.routes.policies import router as policies_router
from gongji.api.routes.premiums import router as premiums_router
from gongji.services.context import Context
from gongji.settings import Settings
from gongji.store.db import make_engine
from gongji.store.migrate import upgrade
from gongji.web import pages

FAVICON = pages.HERE / "static" / "favicon.svg"
FAVICON_URL = "/static/favicon.svg"


def create_app(settings: Settings, *, context: Context | None = None,
               migrate: bool = True) -> FastAPI:
    """Build the app; the database is migrated to the newest revision first."""
    if migrate:
        upgrade(settings.db_url)
    ctx = context or Context(make_engine(settings.db_url),
                             batch_max_size=settings.batch_max_size,
                             batch_wait_s=settings.batch_wait_ms / 1000)
    # The documentation pages are served by openapi.serve_docs from local files, not
    # FastAPI's own, which load Swagger UI and ReDoc from a CDN.
    # FastAPI's native OpenTelemetry is off: the service's metrics are Prometheus and its
    # logs JSON lines (api/observability.py); left on, it looks for global OTel providers
    # on every request, finds none and does nothing.
    app = FastAPI(title="gongji 家庭共济", version="1.0",
                  description="家庭共济（门诊共济）个人账户：绑定、结算、代缴、查询与对账",
                  docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.settings = settings
    app.state.ctx = ctx
    errors.install(app)
    openapi.document_errors(app)
    # Last added runs first: the observer sees every answer, the headers go on every
    # answer (the guard's 401/413 too), and the guard sits next to the routes.
    app.add_middleware(BodyGuard)
    app.add_middleware(SecurityHeaders, docs_paths=openapi.DOCS_PAGES)
    app.add_middleware(observability.RequestObserver)

    # Coroutines: a plain function would be run (and its answer checked) in the thread pool.
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        """Browsers ask for it on every page that names no icon (JSON, the API's errors)."""
        return FileResponse(FAVICON, media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    # The gateway first: routes are matched in order, and its one path carries the load.
    app.include_router(gateway_router)
    app.include_router(operator_router)
    app.include_router(policies_router)
    app.include_router(credits_router)
    app.include_router(observability.router)
    app.include_router(person_router)
    app.include_router(binding_router)
    app.include_router(account_router)
    app.include_router(premiums_router)
    app.include_router(hall_router)
    app.include_router(institution_router)
    app.include_router(catalogue_router)
    app.include_router(pages.router)
    app.mount("/static", pages.static, name="static")
    openapi.serve_docs(app, favicon_url=FAVICON_URL)
    return app


def app_from_env() -> FastAPI:
    """App factory for `gongji serve --workers N`: settings from GONGJI_*; the parent
    process has migrated the database already."""
    settings = Settings().checked()
    observability.configure_logging(settings.log_json)
    return create_app(settings, migrate=False)
