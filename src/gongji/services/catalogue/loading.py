"""Loading the catalogue: set-based upserts by (admdvs, med_list_codg), on both dialects.

Each chunk is one SELECT of the rows it may touch (to count inserted / updated /
unchanged) and one INSERT … SELECT … ON CONFLICT DO UPDATE that rewrites a row only when
a value differs, so re-loading the same catalogue changes nothing, not even updated_at.
The counts are exact when loads do not overlap (SQLite serialises writers); two
concurrent loads of the same keys both succeed and the data is right, but a row both
insert may be counted as inserted twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, bindparam, select, text

from gongji.domain.catalogue_entry import (
    CatalogueEntry,
    EntryError,
    item_error,
    parse_entry,
)
from gongji.domain.errors import refuse
from gongji.services.context import Context
from gongji.store.schema import catalogue_items as t
from gongji.store.types import UtcDateTime

MAX_ITEMS = 5_000  # one REST call
# Rows per statement: the chunk's read lists its codes (bound parameters, under SQLite's
# 32,766), and one statement of this size keeps its arrays a few hundred kB.
CHUNK = 5_000
VALUE_COLUMNS = ("med_list_name", "chrgitm_lv", "selfpay_prop_ppm", "pric_uplmt_uyuan",
                 "begndate", "enddate")


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


def load_items(ctx: Context, items: object) -> dict:
    """POST /api/v1/catalogue: every item checked first; one bad item refuses the call."""
    entries = parse_items(items)
    counts = Counts()
    with ctx.uow() as uow:
        now = ctx.now()
        for start in range(0, len(entries), CHUNK):
            counts.add(upsert(uow.conn, entries[start:start + CHUNK], now))
        uow.commit()
    return {"inserted": counts.inserted, "updated": counts.updated,
            "unchanged": counts.unchanged}


def parse_items(items: object) -> list[CatalogueEntry]:
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise refuse("INVALID_CATALOGUE_ITEM", f"items 须为 1–{MAX_ITEMS} 条的列表，整批未写入")
    entries: list[CatalogueEntry] = []
    first_at: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(items):
        try:
            entry = parse_entry(raw)
        except EntryError as error:
            raise item_error(index, error) from None
        if entry.key in first_at:  # one statement cannot update a row twice
            raise item_error(index, EntryError(
                "med_list_codg", f"与 items[{first_at[entry.key]}] 的医保区划和编码相同"))
        first_at[entry.key] = index
        entries.append(entry)
    return entries


def upsert(conn: Connection, entries: Sequence[CatalogueEntry], now: datetime) -> Counts:
    """One chunk (≤ CHUNK entries, keys distinct): one read, one INSERT … ON CONFLICT."""
    if not entries:
        return Counts()
    before = _existing(conn, entries)
    counts = Counts()
    for entry in entries:
        old = before.get(entry.key)
        if old is None:
            counts.inserted += 1
        elif old == _values(entry):
            counts.unchanged += 1
        else:
            counts.updated += 1
    if counts.inserted or counts.updated:
        # In key order: two loads of overlapping items then lock their rows in the same
        # order and wait for each other instead of deadlocking (PostgreSQL).
        _write(conn, sorted(entries, key=lambda e: e.key), now)
    return counts


def _existing(conn: Connection, entries: Sequence[CatalogueEntry]) -> dict:
    """The stored values of the chunk's keys (a superset is read, then filtered)."""
    regions = sorted({e.admdvs for e in entries})
    codes = sorted({e.med_list_codg for e in entries})
    keys = {e.key for e in entries}
    rows = conn.execute(select(t.c.admdvs, t.c.med_list_codg,
                               *(t.c[name] for name in VALUE_COLUMNS))
                        .where(t.c.admdvs.in_(regions), t.c.med_list_codg.in_(codes))).all()
    return {(r.admdvs, r.med_list_codg): tuple(r[2:]) for r in rows
            if (r.admdvs, r.med_list_codg) in keys}


def _values(entry: CatalogueEntry) -> tuple:
    return tuple(getattr(entry, name) for name in VALUE_COLUMNS)


# The statement's shape is fixed, whatever the chunk: the rows travel as one array per
# column (PostgreSQL, unnest) or one JSON array (SQLite, json_each), so nothing is
# compiled or bound per row. A row is rewritten only when one of its values differs.
_COLUMNS = ("admdvs", "med_list_codg", *VALUE_COLUMNS)
_INSERT = f"INSERT INTO catalogue_items ({', '.join(_COLUMNS)}, updated_at) "
_UPDATE = (" ON CONFLICT (admdvs, med_list_codg) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in (*VALUE_COLUMNS, "updated_at")))
_PG_TYPES = ("text", "text", "text", "text", "integer", "bigint", "date", "date")
_PG_UPSERT = text(
    _INSERT + "SELECT r.*, :now FROM unnest("
    + ", ".join(f"CAST(:{c} AS {kind}[])" for c, kind in zip(_COLUMNS, _PG_TYPES, strict=True))
    + ") AS r" + _UPDATE
    + f" WHERE ({', '.join('catalogue_items.' + c for c in VALUE_COLUMNS)}) IS DISTINCT FROM"
    + f" ({', '.join('excluded.' + c for c in VALUE_COLUMNS)})"
).bindparams(bindparam("now", type_=UtcDateTime))
# "WHERE true": without it SQLite would read ON CONFLICT as a join's ON clause.
_SQLITE_UPSERT = text(
    _INSERT + "SELECT "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(_COLUMNS)))
    + ", :now FROM json_each(:rows) WHERE true" + _UPDATE + " WHERE "
    + " OR ".join(f"catalogue_items.{c} IS NOT excluded.{c}" for c in VALUE_COLUMNS)
).bindparams(bindparam("now", type_=UtcDateTime))


def _write(conn: Connection, entries: Sequence[CatalogueEntry], now: datetime) -> None:
    if conn.dialect.name == "postgresql":
        columns = {c: [getattr(e, c) for e in entries] for c in _COLUMNS}
        conn.execute(_PG_UPSERT, {**columns, "now": now})
    else:  # SQLite keeps a Date as its ISO text, the form SQLAlchemy reads back
        rows = [[_json_value(getattr(e, c)) for c in _COLUMNS] for e in entries]
        conn.execute(_SQLITE_UPSERT, {"rows": json.dumps(rows, ensure_ascii=False),
                                      "now": now})


def _json_value(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value
