"""The command line: gongji serve | db | demo | import | export | token | verify | report |
credit."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gongji.settings import Settings

app = typer.Typer(help="家庭共济 gongji：服务、数据库迁移、演示数据与令牌", no_args_is_help=True)
db_app = typer.Typer(help="数据库迁移")
app.add_typer(db_app, name="db")
console = Console()

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL；默认 GONGJI_DB_URL")]


def _settings(db: str | None, demo: bool = False) -> Settings:
    settings = Settings(demo=demo) if demo else Settings()
    if db:
        settings.db_url = db
    return settings


@app.command()
def serve(db: DbOption = None, host: str = "127.0.0.1", port: int = 8000,
          demo: Annotated[bool, typer.Option(help="演示模式：随机管理令牌并装入演示数据")] = False,
          workers: Annotated[int, typer.Option(min=1, max=64, help="工作进程数")] = 1,
          ) -> None:
    """Serve HTTP. An empty database is migrated on start."""
    import uvicorn

    settings = _settings(db, demo).checked()
    from gongji.api.app import create_app

    from gongji.api.observability import configure_logging

    configure_logging(settings.log_json)
    application = create_app(settings)
    if demo:
        _print_demo(application.state.ctx, settings, host, port)
    if workers > 1:  # each worker builds its app from the settings this process settled
        application.state.ctx.engine.dispose()
        _export_settings(settings)
        uvicorn.run("gongji.api.app:app_from_env", factory=True, workers=workers, host=host,
                    port=port, log_level="warning", access_log=False)
        return
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


def _export_settings(settings: Settings) -> None:
    """Hand the database and the secrets (a demo's random ones too) to worker processes."""
    import os

    os.environ.update(GONGJI_DB_URL=settings.db_url, GONGJI_ADMIN_TOKEN=settings.admin_token,
                      GONGJI_DEMO="1" if settings.demo else "0")
    if settings.secret_key:
        os.environ["GONGJI_SECRET_KEY"] = settings.secret_key


def _print_demo(ctx, settings: Settings, host: str, port: int) -> None:  # noqa: ANN001
    from gongji.api.auth import issue_token
    from gongji.services.demo import seed

    data = seed(ctx)
    table = Table(title="演示数据与令牌（24 小时有效）")
    table.add_column("角色")
    table.add_column("主体")
    table.add_column("令牌", overflow="fold")
    table.add_row("operator", "运营管理", settings.admin_token)
    for key, person in data["persons"].items():
        token, _ = issue_token(settings.signing_key, "person", person["psn_no"], 86400, ctx.now())
        table.add_row("person", f"{person['psn_name']} {person['psn_no']} ({key})", token)
    for code in data["institutions"]:
        token, _ = issue_token(settings.signing_key, "institution", code, 86400, ctx.now())
        table.add_row("institution", code, token)
    for region in ("542500", "451000"):
        token, _ = issue_token(settings.signing_key, "clerk", f"clerk-{region}", 86400,
                               ctx.now(), region)
        table.add_row("clerk", f"clerk-{region}", token)
    console.print(table)
    console.print(f"[bold green]gongji 演示服务：http://{host}:{port}/  (API 文档 /docs)[/]")


@app.command()
def demo(db: DbOption = None) -> None:
    """Seed the demo dataset of families for both regions (safe to re-run)."""
    from gongji.services.context import Context
    from gongji.services.demo import seed
    from gongji.store.db import make_engine
    from gongji.store.migrate import upgrade

    settings = _settings(db)
    upgrade(settings.db_url)
    data = seed(Context(make_engine(settings.db_url)))
    console.print(f"演示数据：{len(data['persons'])} 人，{len(data['institutions'])} 家机构")


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Migrate the database to the newest revision."""
    from gongji.store.migrate import current, upgrade

    settings = _settings(db)
    upgrade(settings.db_url)
    console.print(f"数据库版本：{current(settings.db_url)}")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Print the database's migration revision."""
    from gongji.store.migrate import current

    console.print(current(_settings(db).db_url) or "（空库）")


if __name__ == "__main__":
    app()
