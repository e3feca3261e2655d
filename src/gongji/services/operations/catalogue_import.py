"""`gongji import catalogue FILE`: 医保目录 rows, checked as the REST call checks an item,
loaded set-based a batch at a time (services/catalogue/loading.upsert) on both dialects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from gongji.domain.catalogue_entry import CatalogueEntry, EntryError, parse_entry
from gongji.domain.errors import refuse
from gongji.services.catalogue.loading import CHUNK, Counts, upsert
from gongji.services.context import Context
from gongji.services.operations.tabular import Column

CATALOGUE_COLUMNS = (
    Column("med_list_codg", "医保目录编码", ("目录编码", "医保编码")),
    Column("med_list_name", "医保目录名称", ("目录名称", "项目名称", "药品名称")),
    Column("chrgitm_lv", "收费项目等级", ("项目等级", "甲乙类")),
    Column("selfpay_prop", "自付比例", ("先行自付比例",), required=False),
    Column("pric_uplmt_amt", "最高限价", ("限价",), required=False),
    Column("admdvs", "医保区划", ("统筹区",)),
    Column("begndate", "开始日期", required=False),
    Column("enddate", "结束日期", required=False),
)
_LABEL = {column.field: column.label for column in CATALOGUE_COLUMNS}
# How spreadsheets write the level: words, or 01 turned into the number 1 by Excel.
_LEVELS = {"甲类": "01", "甲": "01", "1": "01", "乙类": "02", "乙": "02", "2": "02",
           "丙类": "03", "丙": "03", "自费": "03", "3": "03"}


def parse_catalogue_row(get: Callable[[str], str], today: date) -> CatalogueEntry:  # noqa: ARG001
    raw = {column.field: get(column.field) for column in CATALOGUE_COLUMNS}
    raw["chrgitm_lv"] = _LEVELS.get(raw["chrgitm_lv"], raw["chrgitm_lv"])
    try:
        return parse_entry(raw)
    except EntryError as error:
        raise refuse("INVALID_CATALOGUE_ITEM",
                     f"{_LABEL.get(error.field, error.field)}（{error.field}）{error.why}") from None


def catalogue_keys(entry: CatalogueEntry) -> list[tuple[str, str]]:
    return [("医保区划与医保目录编码", f"{entry.admdvs}|{entry.med_list_codg}")]


def apply_catalogue(ctx: Context, good: list[tuple[int, CatalogueEntry]],
                    now: datetime) -> tuple[dict[str, int], list]:
    """One unit of work per file batch, one upsert per chunk of it: nothing is refused
    here, every row was checked (and its key made unique in the file) before."""
    counts = Counts()
    entries = [entry for _, entry in good]
    with ctx.uow() as uow:
        for start in range(0, len(entries), CHUNK):
            counts.add(upsert(uow.conn, entries[start:start + CHUNK], now))
        uow.commit()
    return {"inserted": counts.inserted, "updated": counts.updated,
            "unchanged": counts.unchanged}, []
