"""The command line: gongji serve | db | demo | import | export | token | verify | report |
credit | idempotency."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

from gongji.settings import Settings

# --help in Chinese throughout: Typer's panel titles and marks, and the help texts of the
# options Click and Typer add themselves (--help, shell completion).
rich_utils.ARGUMENTS_PANEL_TITLE = "参数"
rich_utils.OPTIONS_PANEL_TITLE = "选项"
rich_utils.COMMANDS_PANEL_TITLE = "命令"
rich_utils.ERRORS_PANEL_TITLE = "错误"
rich_utils.DEFAULT_STRING = "[默认：{}]"
rich_utils.REQUIRED_LONG_STRING = "[必填]"
rich_utils.ABORTED_TEXT = "已中止。"
rich_utils.RICH_HELP = "用 [blue]'{command_path} {help_option}'[/] 查看帮助。"
_BUILT_IN_HELP = {"--help": "显示此帮助并退出",
                  "--install-completion": "为当前 shell 安装命令补全",
                  "--show-completion": "显示当前 shell 的命令补全脚本，可复制或自行安装"}


class _Chinese:
    """Chinese help for the options Click and Typer add, and a Chinese usage line."""

    def get_params(self, ctx: typer.Context) -> list:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            for name in param.opts:
                if name in _BUILT_IN_HELP and hasattr(param, "help"):
                    param.help = _BUILT_IN_HELP[name]
        return params

    def get_usage(self, ctx: typer.Context) -> str:
        return super().get_usage(ctx).replace("Usage:", "用法：", 1)  # type: ignore[misc]


class _Group(_Chinese, TyperGroup):
    pass


class _Command(_Chinese, TyperCommand):
    pass


def _typer(text: str, **kwargs) -> typer.Typer:  # noqa: ANN003
    return typer.Typer(help=text, cls=_Group, **kwargs)


def _command(group: typer.Typer, name: str | None = None):  # noqa: ANN202
    return group.command(name, cls=_Command)


app = _typer("家庭共济 gongji：服务、数据库迁移、演示数据与令牌", no_args_is_help=True)
db_app = _typer("数据库迁移")
app.add_typer(db_app, name="db")
console = Console()

DbOption = Annotated[str | None, typer.Option(
    "--db", help="数据库的 SQLAlchemy URL；默认取 GONGJI_DB_URL")]


def _settings(db: str | None, demo: bool = False) -> Settings:
    settings = Settings(demo=demo) if demo else Settings()
    if db:
        settings.db_url = db
    return settings


@_command(app)
def serve(db: DbOption = None,
          host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="监听端口")] = 8000,
          demo: Annotated[bool, typer.Option(
              help="演示模式：随机管理令牌，装入演示数据，打印各身份的令牌并写入演示文件")] = False,
          demo_file: Annotated[Path | None, typer.Option(
              help="演示文件（JSON，供脚本读取）；默认为 SQLite 数据库同目录下的 "
                   "gongji-demo.json，其他数据库为当前目录下的 gongji-demo.json")] = None,
          workers: Annotated[int, typer.Option(min=1, max=64, help="工作进程数")] = 1,
          ) -> None:
    """提供 HTTP 服务；空库在启动时自动迁移。"""
    import uvicorn

    settings = _settings(db, demo).checked()
    from gongji.api.observability import configure_logging
    from gongji.app import create_app

    configure_logging(settings.log_json)
    application = create_app(settings)
    if demo:
        _print_demo(application.state.ctx, settings, host, port,
                    demo_file or _default_demo_file(settings.db_url))
    if workers > 1:  # each worker builds its app from the settings this process settled
        application.state.ctx.engine.dispose()
        _export_settings(settings)
        uvicorn.run("gongji.app:app_from_env", factory=True, workers=workers, host=host,
                    port=port, **server_options())
        return
    uvicorn.run(application, host=host, port=port, **server_options())


def server_options() -> dict:
    """How uvicorn serves: uvloop and httptools when installed (uvicorn[standard] brings
    both, except where uvloop does not build: Windows), asyncio and h11 otherwise; and no
    access log of its own (the app writes one JSON line per request, RequestObserver).
    log_config=None: uvicorn's own lines go through the JSON handler as well."""
    from importlib.util import find_spec

    return {"loop": "uvloop" if find_spec("uvloop") else "asyncio",
            "http": "httptools" if find_spec("httptools") else "h11",
            "log_level": "warning", "access_log": False, "log_config": None}


def _export_settings(settings: Settings) -> None:
    """Hand the database and the secrets (a demo's random ones too) to worker processes."""
    import os

    os.environ.update(GONGJI_DB_URL=settings.db_url, GONGJI_ADMIN_TOKEN=settings.admin_token,
                      GONGJI_DEMO="1" if settings.demo else "0")
    if settings.secret_key:
        os.environ["GONGJI_SECRET_KEY"] = settings.secret_key


DEMO_TTL_S = 24 * 3600
DEMO_FILE = "gongji-demo.json"


def _default_demo_file(db_url: str) -> Path:
    """gongji-demo.json beside a SQLite database file, else in the current directory."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).parent / DEMO_FILE
    return Path(DEMO_FILE)


def demo_identities(ctx, settings: Settings, base_url: str) -> dict:  # noqa: ANN001
    """Seed the demo data and sign a token for each of its identities: the demo file."""
    from gongji.api.auth import issue_token
    from gongji.services.clock import iso
    from gongji.services.operations.demo import identities, seed

    data = seed(ctx)
    now = ctx.now()

    def token(role: str, subject: str, admdvs: str | None = None) -> str:
        return issue_token(settings.signing_key, role, subject, DEMO_TTL_S, now, admdvs)[0]

    found = {i["fixmedins_code"]: i for i in identities(ctx)["institutions"]}
    return {
        "server": base_url,
        "expires_at": iso(now + timedelta(seconds=DEMO_TTL_S)),
        "operator": {"token": settings.admin_token},
        "persons": {key: {"psn_name": p["psn_name"], "psn_no": p["psn_no"],
                          "certno": p["certno"], "insutype": p["insutype"],
                          "insuplc_admdvs": p["insuplc_admdvs"], "card_no": p["card_no"],
                          "token": token("person", p["psn_no"])}
                    for key, p in data["persons"].items()},
        "institutions": {code: {"fixmedins_name": found[code]["fixmedins_name"],
                                "fixmedins_type": found[code]["fixmedins_type"],
                                "admdvs": found[code]["admdvs"],
                                "token": token("institution", code)}
                         for code in data["institutions"]},
        "clerks": {f"clerk-{region}": {"admdvs": region,
                                       "token": token("clerk", f"clerk-{region}", region)}
                   for region in ("542500", "451000")},
    }


def demo_lines(demo: dict) -> list[str]:
    """One identity a line, fields tab-separated, never wrapped:
    role, name, number (psn_no | fixmedins_code | clerk id), ID number | region, token."""
    rows = [("operator", "运营管理", "-", "-", demo["operator"]["token"])]
    rows += [("person", p["psn_name"], p["psn_no"], p["certno"], p["token"])
             for p in demo["persons"].values()]
    rows += [("institution", i["fixmedins_name"], code, i["admdvs"], i["token"])
             for code, i in demo["institutions"].items()]
    rows += [("clerk", "经办人员", clerk_id, c["admdvs"], c["token"])
             for clerk_id, c in demo["clerks"].items()]
    return ["\t".join(row) for row in rows]


def _write_demo_file(path: Path, demo: dict) -> None:
    """Whole or not at all, readable by its owner only (it holds the operator's token)."""
    import json
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(demo, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    os.replace(partial, path)


def _print_demo(ctx, settings: Settings, host: str, port: int,  # noqa: ANN001
                demo_file: Path) -> None:
    """Plain lines, not a table: each token stays whole on its line whatever the width."""
    from gongji.services.operations.demo import certnos

    base_url = f"http://{host}:{port}"
    demo = demo_identities(ctx, settings, base_url)
    _write_demo_file(demo_file, demo)
    typer.echo(f"# 演示数据与令牌（有效至 {demo['expires_at']}），每行一个身份，字段以制表符分隔")
    typer.echo("# 角色\t名称\t人员编号/机构编码/经办人员\t身份证号/统筹区\t令牌")
    for line in demo_lines(demo):
        typer.echo(line)
    typer.echo(f"# 同样写入演示文件：{demo_file.resolve()}")
    expected = certnos()
    stale = [p["psn_name"] for key, p in demo["persons"].items() if p["certno"] != expected[key]]
    if stale:
        typer.echo(f"# 注意：{'、'.join(stale)} 的身份证号是旧演示数据的号码（性别位有误），"
                   "删除数据库文件后重新启动即可更新")
    typer.echo(f"# gongji 演示服务：{base_url}/  (API 文档 /docs)")


@_command(app)
def demo(db: DbOption = None) -> None:
    """装入两个统筹区的演示家庭数据（可重复运行）。"""
    from gongji.services.context import Context
    from gongji.services.operations.demo import seed
    from gongji.store.db import make_engine
    from gongji.store.migrate import upgrade

    settings = _settings(db)
    upgrade(settings.db_url)
    data = seed(Context(make_engine(settings.db_url)))
    console.print(f"演示数据：{len(data['persons'])} 人，{len(data['institutions'])} 家机构")


@_command(db_app, "upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """将数据库迁移到最新版本。"""
    from gongji.store.migrate import current, upgrade

    settings = _settings(db)
    upgrade(settings.db_url)
    console.print(f"数据库版本：{current(settings.db_url)}")


@_command(db_app, "current")
def db_current(db: DbOption = None) -> None:
    """显示数据库当前的迁移版本。"""
    from gongji.store.migrate import current

    console.print(current(_settings(db).db_url) or "（空库）")


# --- operations: imports, exports, tokens, verify, reports, corrections -------------------------

token_app = _typer("访问令牌")
report_app = _typer("统计报表")
credit_app = _typer("个人账户划入的更正")
export_app = _typer("导出")
idempotency_app = _typer("幂等记录（报文号/幂等键的首次应答）的保留与清理")
app.add_typer(token_app, name="token")
app.add_typer(report_app, name="report")
app.add_typer(credit_app, name="credit")
app.add_typer(export_app, name="export")
app.add_typer(idempotency_app, name="idempotency")
policy_app = _typer("政策版本：查看、发布、应用到期的规则")
app.add_typer(policy_app, name="policy")
err_console = Console(stderr=True)


def _context(db: str | None):  # noqa: ANN202
    """A service context on a migrated database."""
    from gongji.services.context import Context
    from gongji.store.db import make_engine
    from gongji.store.migrate import upgrade

    url = _settings(db).db_url
    upgrade(url)
    ctx = Context(make_engine(url))
    _apply_due_policies(ctx)
    return ctx


def _apply_due_policies(ctx) -> None:  # noqa: ANN001
    """Every command first applies the policy versions that took effect since the last
    call (auto-end): the same lazy trigger as the REST dependency."""
    from gongji.services.registry.policies import apply_due_once_a_day

    apply_due_once_a_day(ctx)


@contextmanager
def _served(db: str | None):  # noqa: ANN202
    """One command's service context: a refusal is printed with its code (exit 1), and
    the engine is disposed whatever happens."""
    from gongji.domain.errors import DomainError

    ctx = _context(db)
    try:
        yield ctx
    except DomainError as error:
        raise _refused(error) from None
    finally:
        ctx.engine.dispose()


def _refused(error) -> typer.Exit:  # noqa: ANN001
    # soft_wrap: a message names a rule or a field, which a wrap at 80 columns would cut
    err_console.print(f"[bold red]{error.code}[/] {error.message}", soft_wrap=True)
    return typer.Exit(1)


class ImportKind(str, Enum):
    persons = "persons"
    kinships = "kinships"
    institutions = "institutions"
    credits = "credits"
    catalogue = "catalogue"  # 医保目录


@_command(app, "import")
def import_file(
    kind: Annotated[ImportKind, typer.Argument(
        help="数据类型：persons 人员 | kinships 亲属关系 | institutions 定点机构 | credits 账户划入"
             " | catalogue 医保目录")],
    file: Annotated[Path, typer.Argument(help=".csv（UTF-8）或 .xlsx，列名见 README")],
    db: DbOption = None,
    rejects: Annotated[Path | None, typer.Option(help="拒绝行文件；默认 FILE.rejects.csv")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=200_000, help="每批行数")] = 20_000,
) -> None:
    """导入文件：合格行入库，不合格行写入拒绝行文件；可重复运行。

    退出码：0 全部入库（或已存在），1 有行被拒绝，2 文件无法读取（未导入任何数据）。"""
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
    if summary.encoding:
        console.print(f"文件编码：{summary.encoding}")
    if summary.rejected:
        reasons = "，".join(f"{code} {n}" for code, n in sorted(summary.reasons.items()))
        console.print(f"[yellow]拒绝行[/]（{reasons}）已写入 {summary.rejects_path}",
                      soft_wrap=True)
        raise typer.Exit(1)


@_command(export_app, "entries")
def export_entries(
    psn_no: Annotated[str, typer.Option("--psn-no", help="人员编号")],
    out: Annotated[Path, typer.Option(help="输出文件 .csv 或 .xlsx")],
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期 YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止日期 YYYY-MM-DD（含）")] = None,
    db: DbOption = None,
) -> None:
    """将某人一段时间内的账户使用明细导出为 CSV 或 Excel。"""
    from gongji.services.reads import export

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        err_console.print("[bold red]输出文件须为 .csv 或 .xlsx[/]")
        raise typer.Exit(2)
    with _served(db) as ctx:
        rows = export.period_entries(ctx, psn_no, date_from, date_to)
    out.write_bytes(export.to_csv(rows) if suffix == ".csv" else export.to_xlsx(rows))
    console.print(f"已导出 {len(rows)} 条明细到 {out}")


@_command(token_app, "issue")
def token_issue(
    role: Annotated[str, typer.Option(
        help="角色：person 参保人 | institution 定点医药机构 | clerk 经办人员")],
    subject: Annotated[str, typer.Option(help="人员编号 | 定点医药机构编码 | 经办人员编号")],
    ttl_s: Annotated[int, typer.Option("--ttl-s", min=1, max=30 * 24 * 3600,
                                       help="有效期（秒）")] = 3600,
    admdvs: Annotated[str | None, typer.Option(help="经办人员所属统筹区（clerk 必填）")] = None,
    db: DbOption = None,
) -> None:
    """签发令牌（只打印令牌本身，便于脚本使用）。须与校验它的服务使用相同的
    GONGJI_ADMIN_TOKEN / GONGJI_SECRET_KEY。"""
    from gongji.api.auth import issue_token
    from gongji.services.clock import iso
    from gongji.services.registry.tokens import check_subject

    settings = _settings(db).checked()
    with _served(db) as ctx:
        check_subject(ctx, role, subject, admdvs)
    token, expires_at = issue_token(settings.signing_key, role, subject, ttl_s, ctx.now(),
                                    admdvs if role == "clerk" else None)
    typer.echo(token)
    err_console.print(f"{role} {subject} 的令牌，有效至 {iso(expires_at)}")


@_command(app)
def verify(db: DbOption = None) -> None:
    """按记账流水重算每个余额并核验全部资金不变量；退出码 1 时逐条列出违反之处。"""
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
        if result.total and result.check.advisory:
            verdict = f"[yellow]{result.total} 处提示[/]"
        table.add_row(result.check.name, result.check.description, verdict)
    console.print(table)
    failed = [r for r in results if r.total and not r.check.advisory]
    for result in [r for r in results if r.total]:  # one line each: operators grep these
        mark = "[yellow]! " if result.check.advisory else "[bold red]✗ "
        console.print(f"{mark}{result.check.name}[/]：{result.check.description}",
                      soft_wrap=True)
        for subject, detail in result.violations:
            console.print(f"  - {subject}：{detail}", soft_wrap=True)
        if result.total > len(result.violations):
            console.print(f"  … 另有 {result.total - len(result.violations)} 处")
    if failed:
        raise typer.Exit(1)
    console.print("[bold green]全部核验通过[/]")


@_command(report_app, "monthly")
def report_monthly(
    region: Annotated[str, typer.Option(help="统筹区 admdvs，如 542500")],
    month: Annotated[str, typer.Option(help="月份 YYYY-MM（北京时间）")],
    out: Annotated[Path | None,
                   typer.Option(help=".xlsx 或 .csv；默认 gongji-R-YYYY-MM.xlsx")] = None,
    chart: Annotated[Path | None, typer.Option(help="图表 PNG；默认 gongji-R-YYYY-MM.png")] = None,
    db: DbOption = None,
) -> None:
    """月报：新建与解除的绑定、按场景的共济次数与金额、共济最多的定点机构。"""
    from gongji.domain.money import yuan_text
    from gongji.services.operations import report

    with _served(db) as ctx:
        data = report.monthly(ctx, region, month)
        out = out or Path(f"gongji-{region}-{month}.xlsx")
        chart = chart or Path(f"gongji-{region}-{month}.png")
        report.write_table(data, out)
    report.write_chart(data, chart)
    table = Table(title=f"{data.region_name}（{region}）{month} 家庭共济月报")
    for header in report.HEADERS:
        table.add_column(header)
    for line in data.lines():
        table.add_row(line.section, line.item, str(line.count),
                      "" if line.amount_fen is None else yuan_text(line.amount_fen))
    console.print(table)
    console.print(f"报表：{out}  图表：{chart}")


@_command(credit_app, "reverse")
def credit_reverse(ref: Annotated[str, typer.Argument(help="划入流水号")],
                   db: DbOption = None) -> None:
    """划入冲正：以一笔反向记账交易冲销错误的划入；账户余额已不足时拒绝（CREDIT_SPENT）。"""
    from gongji.services.money.credits import reverse_credit

    with _served(db) as ctx:
        answer = reverse_credit(ctx, ref, "operator:cli")
    console.print(f"已冲正划入 {answer['ref']}：{answer['psn_no']} 退回 {answer['amount']:.2f} 元，"
                  f"余额 {answer['balance']:.2f} 元（分录 {answer['txn_id']}）")



@_command(idempotency_app, "purge")
def idempotency_purge(
    older_than_days: Annotated[int | None, typer.Option(
        min=1, max=36500, help="删除早于该天数的记录；默认 GONGJI_IDEMPOTENCY_RETENTION_DAYS")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="每批删除条数")] = 1000,
    db: DbOption = None,
) -> None:
    """分批删除超过保留期的幂等记录。

    记录删除后的重试会重新处理：结算的报文号仍由结算本身拒绝（MSGID_ALREADY_SETTLED），
    冲正与代缴由其自身状态拒绝；见 README "Exactly once"。"""
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


# --- 政策版本 ------------------------------------------------------------------


@_command(policy_app, "show")
def policy_show(
    admdvs: Annotated[str, typer.Argument(help="统筹区（如 451000）或省（如 450000）")],
    on: Annotated[str | None, typer.Option("--date", help="日期 YYYY-MM-DD；默认今天")] = None,
    db: DbOption = None,
) -> None:
    """显示某日生效的政策版本（JSON）：规则、版本号、生效日期、每项的出处。"""
    import json
    from datetime import date

    from gongji.services.registry import policies

    with _served(db) as ctx:
        try:
            day = date.fromisoformat(on) if on else None
            typer.echo(json.dumps(policies.show(ctx, admdvs, day), ensure_ascii=False, indent=2))
        except ValueError:
            raise typer.BadParameter("--date 须为 YYYY-MM-DD") from None


@_command(policy_app, "publish")
def policy_publish(
    file: Annotated[Path, typer.Argument(help="政策文件（与 gongji/policies/*.toml 同一格式），"
                                              "含 admdvs 与要变更的规则")],
    effective_from: Annotated[str, typer.Option(help="生效日期 YYYY-MM-DD（今天或以后）")],
    db: DbOption = None,
) -> None:
    """发布新的政策版本：文件中列出的规则整体替换，其余不变；出处随版本保存并记入操作日志。"""
    from gongji.services.binding.actor import Actor
    from gongji.services.registry import policies

    with _served(db) as ctx:
        answer = policies.publish_file(ctx, file.read_text(encoding="utf-8"), effective_from,
                                       Actor("operator", "cli"))
    console.print(f"已发布 {answer['admdvs']} 政策版本 {answer['version']}，"
                  f"自 {answer['effective_from']} 起生效：{', '.join(answer['rules'])}")


@_command(policy_app, "apply-due")
def policy_apply_due(db: DbOption = None) -> None:
    """应用已到生效日的政策版本（共济关系自动终止）；每个版本只应用一次，可由计划任务调用。"""
    from gongji.services.registry.policies import apply_due

    ctx = _context(db)
    try:
        ended = apply_due(ctx)
    finally:
        ctx.engine.dispose()
    console.print(f"已应用到期的政策版本，终止共济关系 {len(ended)} 个")


if __name__ == "__main__":
    app()
