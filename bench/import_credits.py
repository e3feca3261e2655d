"""Benchmark: a monthly crediting run of 1,000,000 personal accounts on PostgreSQL.

    .venv/bin/python -m bench.import_credits [--rows 1000000] [--batch-size 20000]

Starts a throwaway PostgreSQL with fsync on (tests/pgserver.py, durable=True), loads the
persons with `gongji import persons` (timed too, for the record), writes a credits CSV
of one credit per person, and then, in the same run and on the same server:

1. times a raw COPY of the file's rows into a plain table with no index, trigger or
   check: the floor for moving these bytes into PostgreSQL;
2. times `import credits` of the same file (staging COPY, set-based checks, one journal
   transaction per batch, balances, the journal triggers; two batches in the database
   at a time while the next is parsed);
3. times the same import again (every row already credited: nothing changes);
   (a CHECKPOINT after the setup, so that 1-3 do not pay for flushing the persons);
4. runs `verify` over the result.

Target: step 2 under 60 s. Prints the times and the ratio of step 2 to step 1.
Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import pgserver  # noqa: E402  (tests/pgserver.py)
from gongji.domain.idcard import check_digit  # noqa: E402
from gongji.services.context import Context  # noqa: E402
from gongji.services.operations.imports import run_import  # noqa: E402
from gongji.store.db import make_engine  # noqa: E402
from gongji.store.migrate import upgrade  # noqa: E402

REGIONS = {"542500": "542521", "451000": "451002"}
TARGET_S = 60.0


def write_persons(path: Path, rows: int) -> None:
    """Employees (310) with distinct valid ID numbers, half in each region."""
    counties = list(REGIONS.items())
    born = date(1960, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["公民身份号码", "姓名", "险种类型", "参保地医保区划", "参保状态"])
        for n in range(rows):
            admdvs, county = counties[n % 2]
            day, seq = divmod(n // 2, 1000)
            body = f"{county}{born + timedelta(days=day):%Y%m%d}{seq:03d}"
            out.writerow([body + check_digit(body), "职工" + str(n % 97), "310", admdvs, "1"])


def write_credits(engine, path: Path, month: str) -> int:  # noqa: ANN001
    """One credit per personal account: 人员编号, 划入金额, 划入流水号."""
    with engine.connect() as conn:
        psn_nos = conn.execute(text(
            "SELECT p.psn_no FROM persons p JOIN accounts a ON a.person_id = p.id"
            " ORDER BY p.id")).scalars().all()
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["人员编号", "划入金额", "划入流水号"])
        for n, psn_no in enumerate(psn_nos):
            out.writerow([psn_no, f"{150 + n % 300}.{n % 100:02d}", f"{month}-{psn_no}"])
    return len(psn_nos)


def raw_copy(url: str, path: Path) -> float:
    """COPY the same CSV into a plain table: no index, no trigger, no check."""
    with psycopg.connect(pgserver.conninfo(url)) as conn:
        conn.execute("CREATE TABLE raw_credits (psn_no text, amount text, ref text)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, path.open("rb") as handle, cur.copy(
                "COPY raw_credits FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def _wal_lsn(ctx: Context) -> str:
    with ctx.engine.connect() as conn:
        return conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()


def _wal_mb_since(ctx: Context, lsn: str) -> float:
    with ctx.engine.connect() as conn:
        return float(conn.execute(text(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:lsn AS pg_lsn))"),
            {"lsn": lsn}).scalar_one()) / 1e6


def timed_import(ctx: Context, kind: str, path: Path, batch_size: int):  # noqa: ANN201
    started = time.perf_counter()
    summary = run_import(ctx, kind, path, batch_size=batch_size)
    return summary, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    opts = parser.parse_args(argv)

    with pgserver.ThrowawayPostgres(durable=True) as pg, \
            tempfile.TemporaryDirectory(prefix="gongji-bench-") as tmp:
        work = Path(tmp)
        with psycopg.connect(pg.conninfo, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        url = pgserver.with_database(pg.url, "bench")
        upgrade(url)
        ctx = Context(make_engine(url))
        print(f"PostgreSQL (fsync on) at {pg.url}; {opts.rows:,} rows, "
              f"batches of {opts.batch_size:,}")

        persons_csv = work / "persons.csv"
        write_persons(persons_csv, opts.rows)
        summary, persons_s = timed_import(ctx, "persons", persons_csv, opts.batch_size)
        print(f"import persons: {summary.inserted:,} in {persons_s:.1f} s "
              f"({summary.inserted / persons_s:,.0f} rows/s)")

        credits_csv = work / "credits-2026-11.csv"
        count = write_credits(ctx.engine, credits_csv, "2026-11")
        size_mb = credits_csv.stat().st_size / 1e6

        with ctx.engine.connect() as conn:  # the setup's writes are flushed before timing
            conn.execute(text("CHECKPOINT"))
        copy_s = raw_copy(url, credits_csv)
        print(f"raw COPY of {count:,} rows ({size_mb:.0f} MB) into a plain table: {copy_s:.2f} s")

        wal_before = _wal_lsn(ctx)
        summary, import_s = timed_import(ctx, "credits", credits_csv, opts.batch_size)
        wal_mb = _wal_mb_since(ctx, wal_before)
        print(f"import credits: {summary.inserted:,} credited in {import_s:.1f} s "
              f"({summary.inserted / import_s:,.0f} rows/s), {summary.batches} journal "
              f"transactions, {summary.rejected} rejected, {wal_mb:,.0f} MB of WAL")
        print(f"ratio to raw COPY: {import_s / copy_s:.1f}x; target {TARGET_S:.0f} s: "
              f"{'met' if import_s < TARGET_S else 'MISSED'}")

        summary, again_s = timed_import(ctx, "credits", credits_csv, opts.batch_size)
        print(f"import credits again: {summary.unchanged:,} unchanged, {summary.inserted} "
              f"credited in {again_s:.1f} s")

        from gongji.services.operations.verify import verify

        started = time.perf_counter()
        results = verify(ctx)
        broken = [r.check.name for r in results if r.total]
        print(f"verify: {'all checks pass' if not broken else 'VIOLATIONS: ' + ', '.join(broken)}"
              f" in {time.perf_counter() - started:.1f} s")
        ctx.engine.dispose()
        return 0 if import_s < TARGET_S and not broken else 1


if __name__ == "__main__":
    raise SystemExit(main())
