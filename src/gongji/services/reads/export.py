"""使用明细 exports: the same rows as the entries API, as CSV and as Excel, Chinese headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from gongji.domain.errors import refuse
from gongji.domain.kinship import RELATION_ZH, Relation
from gongji.domain.money import to_fen, yuan_text
from gongji.domain.policy import SCENE_ZH
from gongji.services.context import Context
from gongji.services.reads import entries as entries_service

MAX_EXPORT_ROWS = 50_000

# (header, entry field); amounts are yuan, kinds and relations are shown in Chinese.
COLUMNS = (
    ("时间", "time"),
    ("类型", "kind"),
    ("金额（元）", "amount"),
    ("余额（元）", "balance_after"),
    ("被共济人证件号码", "beneficiary_certno"),
    ("被共济人姓名", "beneficiary_name"),
    ("亲属关系", "relation"),
    ("共济关系编号", "binding_id"),
    ("定点医药机构编码", "fixmedins_code"),
    ("定点医药机构名称", "fixmedins_name"),
    ("结算编号", "setl_id"),
    ("代缴编号", "premium_id"),
    ("就医类型", "fund_scene"),
)
HEADERS = tuple(header for header, _ in COLUMNS)
_MONEY = ("amount", "balance_after")


def period_entries(ctx: Context, psn_no: str, date_from: object, date_to: object) -> list[dict]:
    """Every entry of the period (newest first), refused above MAX_EXPORT_ROWS."""
    if entries_service.count_entries(ctx, psn_no, date_from, date_to) > MAX_EXPORT_ROWS:
        raise refuse("INVALID_INPUT", f"导出超过 {MAX_EXPORT_ROWS} 条，请缩小期间")
    return list(entries_service.iter_entries(ctx, psn_no, date_from, date_to))


def _label(field: str, value: object) -> object:
    if value is None:
        return None
    if field == "kind":
        return entries_service.KIND_ZH.get(str(value), str(value))
    if field == "fund_scene":
        return SCENE_ZH.get(str(value), str(value))
    if field == "relation":
        return RELATION_ZH[Relation(value)]
    return value


def _safe_text(value: object) -> object:
    """Text a spreadsheet would run as a formula is quoted (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _cells(entry: dict) -> list[object]:
    return [entry.get(field) if field in _MONEY else _safe_text(_label(field, entry.get(field)))
            for _, field in COLUMNS]


def to_csv(rows: Iterable[dict]) -> bytes:
    """UTF-8 with a BOM, so spreadsheet programs read the Chinese headers correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for entry in rows:
        cells = _cells(entry)
        writer.writerow(["" if v is None else _money_text(v) if f in _MONEY else v
                         for (_, f), v in zip(COLUMNS, cells, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def _money_text(yuan: float) -> str:
    """A signed yuan number as text with two decimals: -12.5 -> '-12.50'."""
    fen = to_fen(abs(yuan))
    return yuan_text(-fen if yuan < 0 else fen)


def to_xlsx(rows: Iterable[dict]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("使用明细")
    sheet.append(list(HEADERS))
    for entry in rows:
        line = []
        for (_, field), value in zip(COLUMNS, _cells(entry), strict=True):
            cell = WriteOnlyCell(sheet, value=value)
            if field in _MONEY:
                cell.number_format = "0.00"
            line.append(cell)
        sheet.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
