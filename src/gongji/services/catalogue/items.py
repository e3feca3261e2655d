"""The effective catalogue item of a region on a day: the region's own, else its province's."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import Connection, and_, or_, select

from gongji.domain.catalogue import CatalogueItem
from gongji.domain.catalogue_entry import from_millionths, province_of
from gongji.store.schema import catalogue_items as t

ITEM_COLUMNS = (t.c.admdvs, t.c.med_list_codg, t.c.med_list_name, t.c.chrgitm_lv,
                t.c.selfpay_prop_ppm, t.c.pric_uplmt_uyuan)


def items_for(conn: Connection, admdvs: str, codes: Collection[str],
              on: date) -> dict[str, CatalogueItem]:
    """code → the item in force on `on` for a patient of region `admdvs`; unknown codes
    are absent. One query for all codes: both levels are read, the region's wins."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    province = province_of(admdvs)
    rows = conn.execute(
        select(*ITEM_COLUMNS)
        .where(t.c.admdvs.in_(sorted({admdvs, province})), t.c.med_list_codg.in_(wanted),
               in_force(on))
    ).all()
    found: dict[str, CatalogueItem] = {}
    for row in sorted(rows, key=lambda r: r.admdvs == admdvs):  # the province's first
        found[row.med_list_codg] = item_of(row)
    return found


def in_force(on: date):  # noqa: ANN201 - an SQL expression
    """begndate ≤ on ≤ enddate, either end open when NULL (dates inclusive)."""
    return and_(or_(t.c.begndate.is_(None), t.c.begndate <= on),
                or_(t.c.enddate.is_(None), t.c.enddate >= on))


def item_of(row) -> CatalogueItem:  # noqa: ANN001 - a result row
    limit = row.pric_uplmt_uyuan
    return CatalogueItem(
        med_list_codg=row.med_list_codg,
        med_list_name=row.med_list_name,
        chrgitm_lv=row.chrgitm_lv,
        selfpay_prop=from_millionths(row.selfpay_prop_ppm),
        pric_uplmt=None if limit is None else from_millionths(limit),
    )
