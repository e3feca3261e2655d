"""Monthly report of a region (`gongji report monthly`): bindings opened and ended,
mutual-aid uses and amounts by scene, top institutions; as CSV or Excel, and a chart.

A region's mutual aid is the money drawn from the personal accounts insured in it
(the helpers' region). The month is an Asia/Shanghai calendar month; settlements and
premium payments reversed since are left out.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, and_, func, select

from gongji.domain.errors import refuse
from gongji.domain.money import to_yuan, yuan_text
from gongji.domain.policy_files import check_region, region_name
from gongji.services.clock import day_start
from gongji.services.context import Context
from gongji.store.schema import (
    bindings,
    institutions,
    persons,
    premiums,
    settlement_mulaid,
    settlements,
)

SCENES = (("hospital", "门诊（定点医院）"), ("pharmacy", "购药（定点零售药店）"),
          ("inpatient", "住院（定点医院）"), ("premium", "代缴居民医保费"))
TOP = 10


@dataclass
class Line:
    section: str
    item: str
    count: int
    amount_fen: int | None = None


@dataclass
class MonthlyReport:
    region: str
    region_name: str
    month: str
    bindings: dict[str, int] = field(default_factory=dict)  # opened | unbound | ended
    scenes: list[Line] = field(default_factory=list)
    top_institutions: list[Line] = field(default_factory=list)

    def lines(self) -> list[Line]:
        opened = [Line("共济关系", "新建", self.bindings["opened"]),
                  Line("共济关系", "解绑", self.bindings["unbound"]),
                  Line("共济关系", "参保变动终止", self.bindings["ended"])]
        return opened + self.scenes + self.top_institutions


def parse_month(text: str) -> tuple[datetime, datetime]:
    """'YYYY-MM' -> [first instant, first instant of the next month) in Asia/Shanghai."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text or "")
    if not match or not 1 <= int(match[2]) <= 12:
        raise refuse("INVALID_INPUT", "月份须为 YYYY-MM")
    year, month = int(match[1]), int(match[2])
    following = date(year + month // 12, month % 12 + 1, 1)
    return day_start(date(year, month, 1)), day_start(following)


def monthly(ctx: Context, region: str, month: str) -> MonthlyReport:
    start, end = parse_month(month)
    report = MonthlyReport(check_region(region), region_name(region), month)
    with ctx.read() as uow:
        conn = uow.conn
        report.bindings = _bindings(conn, region, start, end)
        report.scenes = _scenes(conn, region, start, end)
        report.top_institutions = _top_institutions(conn, region, start, end)
    return report


def _helpers_of(region: str):  # noqa: ANN202
    return select(persons.c.id).where(persons.c.insuplc_admdvs == region)


def _bindings(conn: Connection, region: str, start: datetime, end: datetime) -> dict[str, int]:
    b = bindings.c
    mine = b.helper_id.in_(_helpers_of(region))
    opened = conn.execute(select(func.count()).where(
        mine, b.activated_at >= start, b.activated_at < end)).scalar_one()
    closed = dict(conn.execute(select(b.status, func.count()).where(
        mine, b.ended_at >= start, b.ended_at < end).group_by(b.status)).all())
    return {"opened": opened, "unbound": closed.get("unbound", 0),
            "ended": closed.get("ended", 0)}


def _mulaid_in(region: str, start: datetime, end: datetime):  # noqa: ANN202
    s, m = settlements.c, settlement_mulaid.c
    return (settlement_mulaid.join(settlements, s.id == m.settlement_id)
            .join(institutions, institutions.c.id == s.institution_id),
            and_(m.helper_id.in_(_helpers_of(region)), s.setl_time >= start, s.setl_time < end,
                 s.reversed_at.is_(None)))


def _scenes(conn: Connection, region: str, start: datetime, end: datetime) -> list[Line]:
    joined, where = _mulaid_in(region, start, end)
    kind = settlements.c.fund_scene  # the institution's type, or inpatient for a stay
    used = {row.kind: (row.uses, row.amount_fen) for row in conn.execute(
        select(kind.label("kind"),
               func.count(func.distinct(settlement_mulaid.c.settlement_id)).label("uses"),
               func.sum(settlement_mulaid.c.amount_fen).label("amount_fen"))
        .select_from(joined).where(where).group_by(kind))}
    p = premiums.c
    paid = conn.execute(select(func.count(), func.coalesce(func.sum(p.amount_fen), 0)).where(
        p.helper_id.in_(_helpers_of(region)), p.created_at >= start, p.created_at < end,
        p.reversed_at.is_(None))).one()
    used["premium"] = (paid[0], paid[1])
    return [Line("共济使用", label, used.get(scene, (0, 0))[0], int(used.get(scene, (0, 0))[1]))
            for scene, label in SCENES]


def _top_institutions(conn: Connection, region: str, start: datetime,
                      end: datetime) -> list[Line]:
    joined, where = _mulaid_in(region, start, end)
    i, m = institutions.c, settlement_mulaid.c
    amount = func.sum(m.amount_fen).label("amount_fen")
    rows = conn.execute(
        select(i.fixmedins_code, i.fixmedins_name,
               func.count(func.distinct(m.settlement_id)).label("uses"), amount)
        .select_from(joined).where(where)
        .group_by(i.fixmedins_code, i.fixmedins_name)
        .order_by(amount.desc(), i.fixmedins_code).limit(TOP)).all()
    return [Line("机构排名", f"{r.fixmedins_code} {r.fixmedins_name}", r.uses,
                 int(r.amount_fen)) for r in rows]


HEADERS = ("类别", "项目", "次数", "金额（元）")


def to_csv(report: MonthlyReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for line in report.lines():
        writer.writerow([line.section, line.item, line.count,
                         "" if line.amount_fen is None else yuan_text(line.amount_fen)])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(report: MonthlyReport) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{report.region} {report.month}"
    sheet.append([f"{report.region_name}（{report.region}）{report.month} 家庭共济月报"])
    sheet.append(list(HEADERS))
    for line in report.lines():
        sheet.append([line.section, line.item, line.count,
                      None if line.amount_fen is None else to_yuan(line.amount_fen)])
        sheet.cell(sheet.max_row, 4).number_format = "0.00"
    for column, width in zip("ABCD", (12, 36, 10, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_table(report: MonthlyReport, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise refuse("INVALID_INPUT", "报表文件须为 .csv 或 .xlsx")
    path.write_bytes(to_csv(report) if suffix == ".csv" else to_xlsx(report))


def write_chart(report: MonthlyReport, path: Path) -> None:
    """A PNG: bindings opened and ended, mutual-aid amounts by scene, and the top
    institutions; every bar carries its value, and a panel with nothing to show says 无数据
    instead of drawing an axis around zero."""
    from matplotlib import pyplot as plt

    figure = chart_figure(report)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def chart_figure(report: MonthlyReport):  # noqa: ANN201  (a matplotlib Figure)
    """The chart's figure, three panels; public so a test can read what it says."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    _use_cjk_font()
    figure, (opened, scenes, top) = plt.subplots(
        1, 3, figsize=(16, 5), constrained_layout=True, gridspec_kw={"width_ratios": [2, 3, 4]})
    figure.suptitle(f"{report.region_name}（{report.region}）{report.month} 家庭共济月报")
    _bindings_panel(opened, report)
    _scenes_panel(scenes, report)
    _top_panel(top, report)
    return figure


def _no_data(axes, title: str) -> None:  # noqa: ANN001  (a matplotlib Axes)
    axes.set_title(title)
    axes.set_axis_off()
    axes.text(0.5, 0.5, "无数据", ha="center", va="center", fontsize=16, color="#5b6472",
              transform=axes.transAxes)


def _bindings_panel(axes, report: MonthlyReport) -> None:  # noqa: ANN001
    title = "共济关系（件）"
    counts = [report.bindings[key] for key in ("opened", "unbound", "ended")]
    if not any(counts):
        _no_data(axes, title)
        return
    bars = axes.bar(["新建", "解绑", "参保变动终止"], counts,
                    color=["#2aa876", "#e0a526", "#b3261e"])
    axes.bar_label(bars, labels=[f"{count} 件" for count in counts])
    axes.set_title(title)
    axes.margins(y=0.15)
    axes.yaxis.get_major_locator().set_params(integer=True)


def _scenes_panel(axes, report: MonthlyReport) -> None:  # noqa: ANN001
    title = "共济使用金额（元）"
    if not any(line.count or line.amount_fen for line in report.scenes):
        _no_data(axes, title)
        return
    amounts = [to_yuan(line.amount_fen or 0) for line in report.scenes]
    bars = axes.bar([line.item for line in report.scenes], amounts,
                    color=["#3b7dd8", "#2aa876", "#e0a526"])
    axes.bar_label(bars, labels=[f"{a:,.2f}\n{line.count} 次"
                                 for a, line in zip(amounts, report.scenes, strict=True)])
    axes.set_title(title)
    axes.margins(y=0.2)
    axes.set_ylim(bottom=0)
    axes.tick_params(axis="x", labelsize=9)


def _top_panel(axes, report: MonthlyReport) -> None:  # noqa: ANN001
    title = f"共济金额前 {TOP} 的定点医药机构（元）"
    if not report.top_institutions:
        _no_data(axes, title)
        return
    lines = list(reversed(report.top_institutions))
    values = [to_yuan(line.amount_fen or 0) for line in lines]
    bars = axes.barh([line.item for line in lines], values, color="#3b7dd8")
    axes.bar_label(bars, labels=[f"{v:,.2f}（{line.count} 次）"
                                 for v, line in zip(values, lines, strict=True)], padding=3)
    axes.set_title(title)
    axes.margins(x=0.3)
    axes.set_xlim(left=0)
    axes.tick_params(axis="y", labelsize=8)


def _use_cjk_font() -> None:
    """Chinese labels need a CJK font; use the first one installed (Noto CJK and kin)."""
    from matplotlib import font_manager, rcParams

    names = {font.name for font in font_manager.fontManager.ttflist}
    for preferred in ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                      "Noto Serif CJK SC"):
        if preferred in names:
            rcParams["font.family"] = preferred
            break
    rcParams["axes.unicode_minus"] = False
