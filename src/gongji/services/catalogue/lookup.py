"""The counter page's look-ups: one code's effective item, or a search by code or name."""

from __future__ import annotations

from sqlalchemy import or_, select

from gongji.domain.catalogue_entry import province_of
from gongji.domain.errors import refuse
from gongji.services.catalogue.items import ITEM_COLUMNS, in_force, item_of
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.store.schema import catalogue_items as t

SEARCH_LIMIT = 20
SEARCH_LONGEST = 50
_COLUMNS = (*ITEM_COLUMNS, t.c.begndate, t.c.enddate)


def effective_item(ctx: Context, admdvs: str, codg: str) -> dict:
    """The item a patient of `admdvs` is classified by today (the region's, else the
    province's); CATALOGUE_ITEM_NOT_FOUND when neither has one in force."""
    with ctx.read() as uow:
        rows = uow.conn.execute(
            select(*_COLUMNS).where(t.c.admdvs.in_(_levels(admdvs)),
                                    t.c.med_list_codg == codg,
                                    in_force(local_date(ctx.now())))).all()
    if not rows:
        raise refuse("CATALOGUE_ITEM_NOT_FOUND")
    return shown(max(rows, key=lambda r: r.admdvs == admdvs))


def search(ctx: Context, admdvs: str, text: str) -> dict:
    """Up to 20 effective items whose code or name starts with `text`, by code. Each level
    is read up to 20 rows: the first 20 codes of the merge are among them, and a region's
    item among its own first 20 whenever its code is among the merged first 20."""
    text = text.strip()
    if not 1 <= len(text) <= SEARCH_LONGEST:
        raise refuse("INVALID_INPUT", f"查询内容须为 1–{SEARCH_LONGEST} 个字符")
    matches = or_(t.c.med_list_codg.istartswith(text, autoescape=True),
                  t.c.med_list_name.startswith(text, autoescape=True))
    today = local_date(ctx.now())
    found: dict[str, object] = {}
    with ctx.read() as uow:
        for level in _levels(admdvs):
            rows = uow.conn.execute(
                select(*_COLUMNS).where(t.c.admdvs == level, matches, in_force(today))
                .order_by(t.c.med_list_codg).limit(SEARCH_LIMIT)).all()
            found.update((row.med_list_codg, row) for row in rows)
    first = sorted(found)[:SEARCH_LIMIT]
    return {"items": [shown(found[code]) for code in first]}


def shown(row) -> dict:  # noqa: ANN001 - a result row
    """An item as REST shows it: fractions as exact decimal strings (a limit may have more
    than two decimals), dates as YYYY-MM-DD, and the level it was found at."""
    item = item_of(row)
    return {"admdvs": row.admdvs, "med_list_codg": item.med_list_codg,
            "med_list_name": item.med_list_name, "chrgitm_lv": item.chrgitm_lv,
            "selfpay_prop": str(item.selfpay_prop),
            "pric_uplmt_amt": None if item.pric_uplmt is None else str(item.pric_uplmt),
            "begndate": row.begndate.isoformat() if row.begndate else None,
            "enddate": row.enddate.isoformat() if row.enddate else None}


def _levels(admdvs: str) -> list[str]:
    """The province, then the region, so the region's item is taken last and wins (a
    province asked for is its own only level)."""
    province = province_of(admdvs)
    return [province] if admdvs == province else [province, admdvs]
