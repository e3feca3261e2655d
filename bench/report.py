"""The results as Markdown and JSON under bench/results/."""

from __future__ import annotations

import json
from pathlib import Path

# Issue 16 (group commit): the service at least the database's own one-commit-per-settlement
# limit at 32 clients and in the hot case; p99 at 8 clients; the embedded SQLite default.
TARGETS = {"ratio_32": 1.0, "hot_ratio": 1.0, "p99_8_ms": 50, "sqlite_per_s": 1000,
           "entries_p99_ms": 20}


def write(results: dict, directory: Path, stamp: str) -> str:
    results["targets"] = verdicts(results)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    md = render(results)
    for name in (f"bench-{stamp}", "latest"):
        (directory / f"{name}.json").write_text(text)
        (directory / f"{name}.md").write_text(md)
    return md


def _row(rows: list[dict], clients: int) -> dict | None:
    return next((r for r in rows if r["clients"] == clients), None)


def verdicts(results: dict) -> dict:
    """Each target with the measured figure; None where that part did not run."""
    out: dict = {}
    at32, at8 = _row(results.get("pg", []), 32), _row(results.get("pg", []), 8)
    hot = results.get("hot", [])
    if at32:
        out["service/limit at 32 clients >= 1.0"] = at32["ratio"]
    for row in hot:
        out[f"hot case service/limit at {row['clients']} clients >= 1.0"] = row["ratio"]
    if at8:
        out["p99 at 8 clients <= 50 ms"] = at8["service"]["p99_ms"]
    sqlite = results.get("sqlite")
    http8 = _row(sqlite["http"], 8) if sqlite else None
    if http8:
        out["SQLite >= 1000 settlements/s over HTTP at 8 clients"] = http8["service"]["per_s"]
        out["SQLite p99 at 8 clients <= 50 ms"] = http8["service"]["p99_ms"]
    if sqlite:
        out[f"SQLite in-process, {sqlite['in_process'].get('threads', 1)} threads "
            f"(settlements/s)"] = sqlite["in_process"]["per_s"]
    for name, run in results.get("catalogue", {}).items():
        out[f"{name}: {run['items']:,}-item catalogue import <= 10 s"] = run["first"]["s"]
    for name, run in results.get("feelines", {}).items():
        out[f"{name}: 1,000-line 2204 <= 1000 ms (p50)"] = run["upload"]["p50_ms"]
    entries = results.get("entries")
    if entries and "p99_ms" in entries:
        out[f"usage details p99 <= 20 ms at {entries['postings_total']:,} postings"] = \
            entries["p99_ms"]
    return out


def render(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"# gongji benchmark {r['started_at']} UTC",
        "",
        f"{m['cpus']} CPUs, Python {m['python']}, PostgreSQL {m.get('postgres', '?')} "
        f"(durable: fsync on), service `gongji serve --workers {r['options']['workers']}`, "
        f"{r['options']['seconds']:g} s per side and level in {r['options']['rounds']} "
        "alternating rounds (service first, then limit first, ...), closed loop (each client "
        f"sends its next request on the answer). Run took {r['elapsed_s']:g} s.",
        "",
        "Machine noise: figures move between runs on a shared 2-core VM; compare the ratios "
        "within one run. Service and limit run one after the other at each level.",
        "",
    ]
    if "dataset" in r:
        d = r["dataset"]
        lines += [f"Data: {d['persons']:,} persons, {d['accounts']:,} personal accounts, "
                  f"{d['bindings']:,} active bindings; loaded in {d['load_s']} s.", ""]
    if r.get("pg") or r.get("hot"):
        lines += ["## Settlements (2207) through the gateway beside the limit", "",
                  "| case | clients | service /s | p50 ms | p99 ms | limit /s | p50 ms | p99 ms "
                  "| service / limit | per round | mean batch |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for case, rows in (("uniform", r.get("pg", [])), ("hot helper", r.get("hot", []))):
            for row in rows:
                s, lim = row["service"], row["limit"]
                lines.append(f"| {case} | {row['clients']} | {s['per_s']:.0f} | {s['p50_ms']} | "
                             f"{s['p99_ms']} | {lim['per_s']:.0f} | {lim['p50_ms']} | "
                             f"{lim['p99_ms']} | {row['ratio']} | "
                             f"{' '.join(str(x) for x in row.get('round_ratios', []))} | "
                             f"{s.get('mean_batch', '')} |")
        lines += ["", "p50: the median round's; p99: the worst round's. "
                  "Service: wrk (Lua script bench/settle.lua) over HTTP/1.1 keep-alive. "
                  "Limit: the same reads and writes as one plpgsql call (bench/limit.sql) "
                  "driven by pgbench -M prepared, one round trip per settlement. Mean batch: "
                  "commands per group-commit transaction (the workers' /metrics). Failed "
                  "answers are not counted as settlements.", ""]
        failed = sum(row[side]["failed"] for key in ("pg", "hot") for row in r.get(key, [])
                     for side in ("service", "limit"))
        lines += [f"Failed or refused calls: {failed}.", ""]
        profiled = [row for row in r.get("pg", []) if row["service"].get("profile")]
        lines += [f"py-spy flame graph of a service worker at {row['clients']} clients: "
                  f"`{row['service']['profile']}` (sampling slows that run)." for row in profiled]
        lines += [""] if profiled else []
    if "ledger" in r:
        lg = r["ledger"]
        lines += [f"Ledger after the runs: {lg['settlements']:,} settlements, postings sum "
                  f"{lg['postings_sum_fen']} fen, {lg['accounts_off_their_postings']} accounts "
                  "whose balance differs from their postings.", ""]
    if "writer" in r:
        lines += ["## The batch writer alone", "",
                  "`batching.run_batch` in-process, batches of 16 uniform bills (bench/writer.py):"
                  " CPU per settlement, steadier from run to run than throughput over HTTP.",
                  "", "| database | settlements | /s | Python CPU ms | server CPU ms |",
                  "|---|---:|---:|---:|---:|"]
        for name, w in r["writer"].items():
            lines.append(f"| {name} | {w['settlements']:,} | {w['per_s']:.0f} | "
                         f"{w['python_ms']} | {w.get('server_ms', '')} |")
        lines.append("")
    if "sqlite" in r:
        sq = r["sqlite"]
        lines += ["## Embedded SQLite mode", "", "| how | clients | settlements /s | p50 ms "
                  "| p99 ms |", "|---|---:|---:|---:|---:|"]
        for row in sq["http"]:
            s = row["service"]
            lines.append(f"| HTTP, 1 process | {row['clients']} | {s['per_s']:.0f} | "
                         f"{s['p50_ms']} | {s['p99_ms']} |")
        lines += [f"| in-process gateway.process | {sq['in_process'].get('threads', 1)} "
                  f"| {sq['in_process']['per_s']:.0f} | | |", ""]
    e = r.get("entries")
    if e and "p99_ms" in e:
        lines += ["## Usage details (使用明细) query", "",
                  f"`services.entries.list_entries`, page of {e['page_size']}, at "
                  f"{e['postings_total']:,} postings (generated {e['generated']:,} in "
                  f"{e['generate_s']} s; busiest account {e['busiest_account_postings']:,} "
                  "entries).", "", "| query | calls | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
        for name in ("first_page", "next_page", "one_month"):
            lines.append(f"| {name.replace('_', ' ')} | {e[name]['calls']} | "
                         f"{e[name]['p50_ms']} | {e[name]['p99_ms']} |")
        lines += [f"| all | {e['calls']} | {e['p50_ms']} | {e['p99_ms']} |", ""]
    if r.get("catalogue"):
        from bench.catalogue import render as render_catalogue

        lines += render_catalogue(r["catalogue"])
    if r.get("feelines"):
        from bench.feelines import render as render_feelines

        lines += render_feelines(r["feelines"])
    if r.get("targets"):
        lines += ["## Targets", "", "| target | measured |", "|---|---:|"]
        lines += [f"| {name} | {value} |" for name, value in r["targets"].items()]
        lines.append("")
    return "\n".join(lines)
