"""Benchmark: `gongji import catalogue` of a 50,000-item 医保目录, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.catalogue [--items 50000] [--only sqlite,pg]

Alone, it starts its own throwaway durable PostgreSQL (tests/pgserver.py) and a SQLite
file; within `make bench` it uses the run's PostgreSQL. For each database it writes one
CSV (GB18030, as a Chinese Excel saves it; both provinces, a fifth of the items a
region's own, every level, limits with four decimals) and times:

1. the first import (every item inserted);
2. the same file again (every item unchanged: one read and no write per chunk);
3. the file with every name changed (every item updated).

Target: step 1 under 10 s.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bench import standalone  # noqa: E402  (needs tests/ on sys.path for pgserver)
from gongji.services.context import Context  # noqa: E402
from gongji.services.operations.imports import run_import  # noqa: E402
from gongji.store.db import make_engine  # noqa: E402
from gongji.store.migrate import upgrade  # noqa: E402

TARGET_S = 10.0
HEADER = ["医保目录编码", "医保目录名称", "收费项目等级", "自付比例", "最高限价", "医保区划",
          "开始日期", "结束日期"]
REGIONS = ["542500", "540100", "451000", "450100"]


def rows(items: int, suffix: str = "") -> list[list[str]]:
    """Distinct (admdvs, code) items: four in five a province's, one in five a region's."""
    out = []
    for n in range(items):
        admdvs = REGIONS[n % 4] if n % 5 == 4 else ("540000", "450000")[n % 2]
        level = ("01", "02", "02", "03")[n % 4]
        prop = ("0", "0.1", "0.2", "1")[n % 4]
        limit = f"{n % 300}.{n % 10000:04d}" if n % 7 == 0 else ""
        out.append([f"X{n // 2:07d}A001010101", f"药品{n}号片{suffix}", level, prop, limit,
                    admdvs, "2025-01-01", ""])
    return out


def write_file(path: Path, items: int, suffix: str = "") -> Path:
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows(items, suffix))
    return path


def timed_import(ctx: Context, path: Path) -> dict:
    started = time.monotonic()
    summary = run_import(ctx, "catalogue", path)
    seconds = round(time.monotonic() - started, 2)
    return {"s": seconds, "per_s": round(summary.rows / seconds) if seconds else None,
            "inserted": summary.inserted, "updated": summary.updated,
            "unchanged": summary.unchanged, "rejected": summary.rejected}


def run(url: str, items: int = 50_000, work: Path | None = None) -> dict:
    """The three imports on the database at `url` (migrated here)."""
    upgrade(url)
    ctx = Context(make_engine(url))
    with tempfile.TemporaryDirectory(prefix="gongji-bench-catalogue-", dir=work) as tmp:
        first = write_file(Path(tmp) / "catalogue.csv", items)
        renamed = write_file(Path(tmp) / "catalogue-renamed.csv", items, "（新）")
        result = {"items": items, "first": timed_import(ctx, first),
                  "again": timed_import(ctx, first), "renamed": timed_import(ctx, renamed)}
    ctx.engine.dispose()
    log(f"{ctx.engine.dialect.name}: {items:,} items: first {result['first']['s']} s, "
        f"again {result['again']['s']} s, renamed {result['renamed']['s']} s")
    return result


def run_sqlite(items: int = 50_000) -> dict:
    """run() on a fresh SQLite file, removed afterwards."""
    return standalone.on_sqlite_file("catalogue", run, items)


def render(results: dict) -> list[str]:
    """The Markdown section of `make bench`'s report."""
    lines = ["## Catalogue import (医保目录, `gongji import catalogue`)", "",
             "| database | items | first import s | items/s | same file again s | "
             "every name changed s |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['items']:,} | {r['first']['s']} | {r['first']['per_s']:,} | "
                     f"{r['again']['s']} | {r['renamed']['s']} |")
    return [*lines, ""]


def log(message: str) -> None:
    standalone.log("catalogue", message)


PART = standalone.Part(
    "catalogue", __doc__, "--items", 50_000, run, render,
    missed=lambda result: result["first"]["s"] > TARGET_S,
    target=lambda items: f"first import of {items:,} items under {TARGET_S:g} s")

if __name__ == "__main__":
    sys.exit(standalone.main(PART))
