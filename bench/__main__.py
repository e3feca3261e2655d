"""`make bench` (python -m bench): settlement throughput and latency beside the database's limit.

One run, one machine: a throwaway durable PostgreSQL (fsync on), 100,000 persons loaded,
then for each concurrency the service (`gongji serve --workers N`, driven by wrk) and the
limit (bench_settle() in limit.sql, driven by pgbench) one after the other, the hot case
likewise, the embedded SQLite mode, and the usage-details query over a generated journal.
Results: bench/results/bench-<time>.{md,json} and latest.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/pgserver.py: the throwaway server

import pgserver  # noqa: E402
from bench import (  # noqa: E402
    catalogue,
    dataset,
    entries,
    feelines,
    limit,
    report,
    service,
    sqlite_mode,
    writer,
)
from gongji.store.db import make_engine  # noqa: E402
from gongji.store.migrate import upgrade  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# Equal for the service and the limit: room for the bulk loads without checkpoint storms.
PG_SETTINGS = {"shared_buffers": "512MB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    parser.add_argument("--hot-clients", default="8,32")
    parser.add_argument("--seconds", type=float, default=15,
                        help="per side and level, split into --rounds alternating rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gongji serve --workers")
    parser.add_argument("--postings", type=int, default=1_000_000,
                        help="journal size for the usage-details query (10000000 for the full run)")
    parser.add_argument("--queries", type=int, default=2000, help="usage-details calls")
    parser.add_argument("--only", default="pg,hot,writer,sqlite,entries,catalogue,feelines",
                        help="parts to run: pg, hot, writer, sqlite, entries, catalogue, "
                             "feelines")
    parser.add_argument("--catalogue-items", type=int, default=50_000,
                        help="医保目录 items for the catalogue import")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the service workers during the busiest run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    parts = set(opts.only.split(","))
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    results: dict = {"started_at": stamp, "machine": machine(), "options": vars(opts)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = RESULTS / f"run-{stamp}"  # inputs of the load clients, service logs
    with pgserver.ThrowawayPostgres(durable=True, settings=PG_SETTINGS) as pg:
        results["machine"]["postgres"] = server_version(pg)
        url = pg.url
        upgrade(url)
        engine = make_engine(url)
        t0 = time.monotonic()
        world = dataset.load(engine, opts.persons)
        results["dataset"] = {"persons": world.persons, "accounts": world.accounts,
                              "bindings": world.bindings, "patients": len(world.patients),
                              "load_s": round(time.monotonic() - t0, 1)}
        log(f"loaded {world.persons} persons, {world.bindings} bindings in "
            f"{results['dataset']['load_s']} s")
        uniform_last, hot_last = limit.install(engine, world)
        pgbench = limit.pgbench_binary(pg.bindir)
        files = service.write_inputs(world, work)
        if parts & {"pg", "hot"}:
            results["pg"], results["hot"] = run_pg(opts, parts, url, pg.conninfo, pgbench,
                                                   files, uniform_last, hot_last, stamp)
            results["ledger"] = ledger_check(engine)
        if "writer" in parts:  # bench/writer.py; its SQLite side below
            results["writer"] = {"PostgreSQL": writer.run(engine, world, pg.pid)}
        if "entries" in parts:
            results["entries"] = entries.run(engine, opts.postings, opts.queries)
        if "catalogue" in parts:  # bench/catalogue.py; its SQLite side below
            results["catalogue"] = {"PostgreSQL": catalogue.run(url, opts.catalogue_items)}
        if "feelines" in parts:  # bench/feelines.py; its SQLite side below
            results["feelines"] = {"PostgreSQL": feelines.run(url)}
        engine.dispose()
    if "writer" in parts:
        results["writer"]["SQLite"] = writer.run_sqlite(min(opts.persons, 20_000))
    if "sqlite" in parts:
        results["sqlite"] = sqlite_mode.run(opts, work, stamp)
    if "catalogue" in parts:
        results["catalogue"]["SQLite"] = catalogue.run_sqlite(opts.catalogue_items)
    if "feelines" in parts:
        results["feelines"]["SQLite"] = feelines.run_sqlite()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    md = report.write(results, RESULTS, stamp)
    print(md)
    return 0


def run_pg(opts: argparse.Namespace, parts: set[str], url: str, conninfo: str, pgbench: str,
           files: dict, uniform_last: int, hot_last: int, stamp: str) -> tuple[list, list]:
    """Service and limit, side by side per concurrency level, in one run."""
    rows, hot_rows = [], []
    with service.Service(url, opts.workers, files["patients"].parent / "service.log") as svc:
        warm = f"warm{stamp}"
        service.run_wrk(svc.base, 8, opts.warmup, files["patients"], files["hospitals"], warm)
        limit.run(pgbench, conninfo, 8, opts.warmup, 1, uniform_last)
        levels = [int(c) for c in opts.clients.split(",")] if "pg" in parts else []
        for clients in levels:
            profile = opts.profile and clients == max(levels)
            rows.append(side_by_side(opts, svc, pgbench, conninfo, files["patients"], files,
                                     clients, (1, uniform_last), f"u{clients}-{stamp}",
                                     profile))
        hot_levels = [int(c) for c in opts.hot_clients.split(",")] if "hot" in parts else []
        for clients in hot_levels:
            hot_rows.append(side_by_side(opts, svc, pgbench, conninfo, files["hot"], files,
                                         clients, (uniform_last + 1, hot_last),
                                         f"h{clients}-{stamp}", False))
    return rows, hot_rows


def side_by_side(opts, svc, pgbench, conninfo, patients, files, clients, span, tag,
                 profile) -> dict:  # noqa: ANN001
    """Service and limit in alternating rounds (service first, then limit first, ...), so
    that a burst of load from elsewhere on the machine hits both sides alike."""
    slice_s = opts.seconds / opts.rounds
    rounds = []
    for n in range(opts.rounds):
        spy = start_profile(svc, slice_s, tag) if profile and n == 0 else None
        runs = {}
        for side in (("service", "limit") if n % 2 == 0 else ("limit", "service")):
            if side == "service":
                before = service.batch_counts(svc.base)
                runs[side] = service.run_wrk(svc.base, clients, slice_s, patients,
                                             files["hospitals"], f"{tag}-{n}")
                runs[side]["mean_batch"] = service.mean_batch(
                    before, service.batch_counts(svc.base))
            else:
                runs[side] = limit.run(pgbench, conninfo, clients, slice_s, *span)
        if spy:
            spy.wait()
            runs["service"]["profile"] = f"profile-{tag}.svg"
        rounds.append(runs)
    row = {"clients": clients, "service": _merge([r["service"] for r in rounds]),
           "limit": _merge([r["limit"] for r in rounds]),
           "round_ratios": [round(r["service"]["per_s"] / r["limit"]["per_s"], 2)
                            for r in rounds]}
    row["ratio"] = round(row["service"]["per_s"] / row["limit"]["per_s"], 2)
    s, lim = row["service"], row["limit"]
    log(f"clients {clients:>2} {'hot ' if tag.startswith('h') else ''}service "
        f"{s['per_s']:8.1f}/s p50 {s['p50_ms']} p99 {s['p99_ms']} ms | limit "
        f"{lim['per_s']:8.1f}/s p50 {lim['p50_ms']} p99 {lim['p99_ms']} ms | batch "
        f"{s.get('mean_batch')} | ratio "
        f"{row['ratio']} (rounds {row['round_ratios']})")
    return row


def _merge(runs: list[dict]) -> dict:
    """Rounds of one side: rates averaged; p50 the median round's, p99 the worst round's."""
    merged = {"per_s": round(statistics.fmean(r["per_s"] for r in runs), 1),
              "count": sum(r["count"] for r in runs),
              "failed": sum(r["failed"] for r in runs),
              "p50_ms": statistics.median(r["p50_ms"] for r in runs),
              "p99_ms": max(r["p99_ms"] for r in runs)}
    merged.update({k: v for r in runs for k, v in r.items() if k == "profile"})
    sizes = [r["mean_batch"] for r in runs if r.get("mean_batch")]
    if sizes:  # sampled through /metrics
        merged["mean_batch"] = round(statistics.fmean(sizes), 1)
    return merged


def start_profile(svc: service.Service, seconds: float, tag: str) -> subprocess.Popen | None:
    """py-spy (the bench extra) on the first worker, for the length of one measurement."""
    out = RESULTS / f"profile-{tag}.svg"
    pid = svc.worker_pids()[0]
    try:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d",
             str(int(seconds)), "-o", str(out), "-r", "200", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        log("py-spy not installed (pip install -e '.[bench]'): no profile")
        return None


def ledger_check(engine) -> dict:  # noqa: ANN001
    """After the load: the journal sums to zero and every balance is its postings' sum."""
    with engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT coalesce(sum(amount_fen), 0) FROM postings").scalar()
        drift = conn.exec_driver_sql(
            "SELECT count(*) FROM accounts a LEFT JOIN (SELECT account_id, sum(amount_fen) s "
            "FROM postings GROUP BY account_id) p ON p.account_id = a.id "
            "WHERE a.kind = 'personal' AND a.balance_fen <> coalesce(p.s, 0)").scalar()
        settled = conn.exec_driver_sql("SELECT count(*) FROM settlements").scalar()
    return {"postings_sum_fen": int(total), "accounts_off_their_postings": int(drift),
            "settlements": int(settled)}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def server_version(pg: pgserver.ThrowawayPostgres) -> str:
    import psycopg

    with psycopg.connect(pg.conninfo) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
