"""The command line: gongji serve | db | demo | import | export | token | verify | report |
credit | idempotency."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
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
    from gongji.api.observability import configure_logging
    from gongji.app import create_app

    configure_logging(settings.log_json)
    application = create_app(settings)
    if demo:
        _print_demo(application.state.ctx, settings, host, port)
    if workers > 1:  # each worker builds its app from the settings this process settled
        application.state.ctx.engine.dispose()
        _export_settings(settings)
        uvicorn.run("gongji.app:app_from_env", factory=True, workers=workers, host=host,
                    port=port, log_level="warning", access_log=False, log_config=None)
        return
    # log_config=None: uvicorn's own lines go through the JSON handler as well.
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False,
                log_config=None)


def _export_settings(settings: Settings) -> None:
    """Hand the database and the secrets (a demo's random ones too) to worker processes."""
    import os

    os.environ.update(GONGJI_DB_URL=settings.db_url, GONGJI_ADMIN_TOKEN=settings.admin_token,
                      GONGJI_DEMO="1" if settings.demo else "0")
    if settings.secret_key:
        os.environ["GONGJI_SECRET_KEY"] = settings.secret_key


def _print_demo(ctx, settings: Settings, host: str, port: int) -> None:  # noqa: ANN001
    from gongji.api.auth import issue_token
    from gongji.services.operations.demo import seed

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
    from gongji.services.operations.demo import seed
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


# --- operations: imports, exports, tokens, verify, reports, corrections -------------------------

token_app = typer.Typer(help="访问令牌")
report_app = typer.Typer(help="统计报表")
credit_app = typer.Typer(help="个人账户划入的更正")
export_app = typer.Typer(help="导出")
idempotency_app = typer.Typer(help="幂等记录（报文号/幂等键的首次应答）的保留与清理")
app.add_typer(token_app, name="token")
app.add_typer(report_app, name="report")
app.add_typer(credit_app, name="credit")
app.add_typer(export_app, name="export")
app.add_typer(idempotency_app, name="idempotency")
err_console = Console(stderr=True)


def _context(db: str | None):  # noqa: ANN202
    """A service context on a migrated database."""
    from gongji.services.context import Context
    from gongji.store.db import make_engine
    from gongji.store.migrate import upgrade

    url = _settings(db).db_url
    upgrade(url)
    return Context(make_engine(url))


def _refused(error) -> typer.Exit:  # noqa: ANN001
    err_console.print(f"[bold red]{error.code}[/] {error.message}")
    return typer.Exit(1)


class ImportKind(str, Enum):
    persons = "persons"
    kinships = "kinships"
    institutions = "institutions"
    credits = "credits"


@app.command("import")
def import_file(
    kind: Annotated[ImportKind, typer.Argument(help="persons | kinships | institutions | credits")],
    file: Annotated[Path, typer.Argument(help=".csv（UTF-8）或 .xlsx，列名见 README")],
    db: DbOption = None,
    rejects: Annotated[Path | None, typer.Option(help="拒绝行文件；默认 FILE.rejects.csv")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=200_000, help="每批行数")] = 20_000,
) -> None:
    """Import a file; bad rows go to the rejects file, good rows go in. Safe to re-run.

    Exit status: 0 every row went in (or was already there), 1 some rows were rejected,
    2 the file could not be read (nothing imported)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from gongji.services.operations.imports import KIND, ImportFileError, run_import

    ctx = _context(db)
    label = KIND[kind.value].label
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err_console) as progress:
        task = progress.add_task(f"导入{label}", total=None)
        try:
            summary = run_import(
                ctx, kind.value, file, rejects_path=rejects, batch_size=batch_size,
                on_start=lambda total: progress.update(task, total=total),
                on_progress=lambda n: progress.advance(task, n))
        except ImportFileError as error:
            err_console.print(f"[bold red]无法导入[/] {error}")
            raise typer.Exit(2) from None
        finally:
            ctx.engine.dispose()
    table = Table(title=f"导入{label}：{file.name}" + ("（批量）" if summary.bulk else ""))
    for header in ("读取", "新增", "更新", "未变", "拒绝"):
        table.add_column(header, justify="right")
    table.add_row(*(str(n) for n in (summary.rows, summary.inserted, summary.updated,
                                      summary.unchanged, summary.rejected)))
    console.print(table)
    if summary.rejected:
        reasons = "，".join(f"{code} {n}" for code, n in sorted(summary.reasons.items()))
        console.print(f"[yellow]拒绝行[/]（{reasons}）已写入 {summary.rejects_path}",
                      soft_wrap=True)
        raise typer.Exit(1)


@export_app.command("entries")
def export_entries(
    psn_no: Annotated[str, typer.Option("--psn-no", help="人员编号")],
    out: Annotated[Path, typer.Option(help="输出文件 .csv 或 .xlsx")],
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期 YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止日期 YYYY-MM-DD（含）")] = None,
    db: DbOption = None,
) -> None:
    """Export a person's account entries (使用明细) for a period to CSV or Excel."""
    from gongji.domain.errors import DomainError
    from gongji.services.reads import export

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        err_console.print("[bold red]输出文件须为 .csv 或 .xlsx[/]")
        raise typer.Exit(2)
    ctx = _context(db)
    try:
        rows = export.period_entries(ctx, psn_no, date_from, date_to)
    except DomainError as error:
        raise _refused(error) from None
    finally:
        ctx.engine.dispose()
    out.write_bytes(export.to_csv(rows) if suffix == ".csv" else export.to_xlsx(rows))
    console.print(f"已导出 {len(rows)} 条明细到 {out}")


@token_app.command("issue")
def token_issue(
    role: Annotated[str, typer.Option(help="person | institution | clerk")],
    subject: Annotated[str, typer.Option(help="人员编号 | 定点医药机构编码 | 经办人员编号")],
    ttl_s: Annotated[int, typer.Option("--ttl-s", min=1, max=30 * 24 * 3600,
                                       help="有效期（秒）")] = 3600,
    admdvs: Annotated[str | None, typer.Option(help="经办人员所属统筹区（clerk 必填）")] = None,
    db: DbOption = None,
) -> None:
    """Issue a signed token (prints only the token, for scripts). Needs the same
    GONGJI_ADMIN_TOKEN / GONGJI_SECRET_KEY as the server that will check it."""
    from gongji.api.auth import issue_token
    from gongji.domain.errors import DomainError
    from gongji.services.clock import iso
    from gongji.services.registry.tokens import check_subject

    settings = _settings(db).checked()
    ctx = _context(db)
    try:
        check_subject(ctx, role, subject, admdvs)
    except DomainError as error:
        raise _refused(error) from None
    finally:
        ctx.engine.dispose()
    token, expires_at = issue_token(settings.signing_key, role, subject, ttl_s, ctx.now(),
                                    admdvs if role == "clerk" else None)
    typer.echo(token)
    err_console.print(f"{role} {subject} 的令牌，有效至 {iso(expires_at)}")


@app.command()
def verify(db: DbOption = None) -> None:
    """Recompute every balance from the journal and check every money invariant.
    Exit status 1 names each violation."""
    from gongji.services.operations.verify import verify as run_verify

    ctx = _context(db)
    table = Table(title="账务核验")
    table.add_column("检查")
    table.add_column("要求")
    table.add_column("结果", justify="right")
    try:
        results = run_verify(ctx)
    finally:
        ctx.engine.dispose()
    for result in results:
        verdict = "[green]通过[/]" if not result.total else f"[bold red]{result.total} 处违反[/]"
        table.add_row(result.check.name, result.check.description, verdict)
    console.print(table)
    failed = [r for r in results if r.total]
    for result in failed:  # one line each, never wrapped: operators grep these
        console.print(f"[bold red]✗ {result.check.name}[/]：{result.check.description}",
                      soft_wrap=True)
        for subject, detail in result.violations:
            console.print(f"  - {subject}：{detail}", soft_wrap=True)
        if result.total > len(result.violations):
            console.print(f"  … 另有 {result.total - len(result.violations)} 处")
    if failed:
        raise typer.Exit(1)
    console.print("[bold green]全部核验通过[/]")


@report_app.command("monthly")
def report_monthly(
    region: Annotated[str, typer.Option(help="统筹区 admdvs，如 542500")],
    month: Annotated[str, typer.Option(help="月份 YYYY-MM（北京时间）")],
    out: Annotated[Path | None,
                   typer.Option(help=".xlsx 或 .csv；默认 gongji-R-YYYY-MM.xlsx")] = None,
    chart: Annotated[Path | None, typer.Option(help="图表 PNG；默认 gongji-R-YYYY-MM.png")] = None,
    db: DbOption = None,
) -> None:
    """Bindings opened/ended, mutual-aid uses and amounts by scene, top institutions."""
    from gongji.domain.errors import DomainError
    from gongji.domain.money import yuan_text
    from gongji.services.operations import report

    ctx = _context(db)
    try:
        data = report.monthly(ctx, region, month)
        out = out or Path(f"gongji-{region}-{month}.xlsx")
        chart = chart or Path(f"gongji-{region}-{month}.png")
        report.write_table(data, out)
    except DomainError as error:
        raise _refused(error) from None
    finally:
        ctx.engine.dispose()
    report.write_chart(data, chart)
    table = Table(title=f"{data.region_name}（{region}）{month} 家庭共济月报")
    for header in report.HEADERS:
        table.add_column(header)
    for line in data.lines():
        table.add_row(line.section, line.item, str(line.count),
                      "" if line.amount_fen is None else yuan_text(line.amount_fen))
    console.print(table)
    console.print(f"报表：{out}  图表：{chart}")


@credit_app.command("reverse")
def credit_reverse(ref: Annotated[str, typer.Argument(help="划入流水号")],
                   db: DbOption = None) -> None:
    """Reverse a wrong credit (划入冲正) with a compensating journal transaction;
    refused (CREDIT_SPENT) when the account no longer holds the money."""
    from gongji.domain.errors import DomainError
    from gongji.services.money.credits import reverse_credit

    ctx = _context(db)
    try:
        answer = reverse_credit(ctx, ref, "operator:cli")
    except DomainError as error:
        raise _refused(error) from None
    finally:
        ctx.engine.dispose()
    console.print(f"已冲正划入 {answer['ref']}：{answer['psn_no']} 退回 {answer['amount']:.2f} 元，"
                  f"余额 {answer['balance']:.2f} 元（分录 {answer['txn_id']}）")



@idempotency_app.command("purge")
def idempotency_purge(
    older_than_days: Annotated[int | None, typer.Option(
        min=1, max=36500, help="删除早于该天数的记录；默认 GONGJI_IDEMPOTENCY_RETENTION_DAYS")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="每批删除条数")] = 1000,
    db: DbOption = None,
) -> None:
    """Delete exactly-once records older than the retention period, in batches.

    A retry after its record is gone is evaluated again: a settlement's msgid is still
    refused by the settlement itself (MSGID_ALREADY_SETTLED), reversals and premiums by
    their own state; see README "Exactly once"."""
    from datetime import timedelta

    from gongji.services.clock import iso

    days = older_than_days or _settings(db).idempotency_retention_days
    ctx = _context(db)
    before = ctx.now() - timedelta(days=days)
    try:
        removed = _purge_idempotency(ctx, before, batch_size)
    finally:
        ctx.engine.dispose()
    console.print(f"已删除 {removed} 条幂等记录（保留 {days} 天，早于 {iso(before)}）")


def _purge_idempotency(ctx, before, batch_size: int) -> int:  # noqa: ANN001
    """One short unit of work per batch, so settlements never wait long on the purge (on
    SQLite each batch holds the write lock only while it deletes)."""
    from gongji.store import repo

    removed = 0
    while True:
        with ctx.uow() as uow:
            done = repo.purge_idempotency_batch(uow.conn, before, batch_size)
            uow.commit()
        removed += done
        if done < batch_size:
            return removed


if __name__ == "__main__":
    app()
