"""使用明细 at scale: services.entries.list_entries over a journal of N postings.

The journal is grown set-based (generate_series) with settlement/reversal pairs on the
accounts of helpers: each pair is two balanced transactions (helper account against the
institution's) that net to zero, so every balance stays its postings' sum. Accounts are
drawn with a skew (a few helpers have tens of thousands of entries, most a few hundred),
times spread over 2024-2025. The rows are balanced by construction, so the bulk insert
runs with session_replication_role = replica (no per-row journal triggers or deferred
foreign-key checks); ix_postings_account_at is dropped and rebuilt around it, as a bulk
load would. `balance_after_fen` of generated rows is filled but not a running history.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from sqlalchemy import Engine

from bench.limit import percentiles_ms
from gongji.services.context import Context

PAIRS_SQL = """
WITH picks AS (
  SELECT g,
         1 + floor(power(random(), 3) * %(bindings)s)::bigint AS binding_pick,
         %(inst_first)s + floor(random() * %(inst_count)s)::bigint AS inst_pick,
         100 + floor(random() * 30000)::bigint AS amount_fen,
         timestamp '2024-01-01' + random() * interval '729 days' AS at
    FROM generate_series(1, %(pairs)s) AS g
), src AS (
  SELECT p.g, p.amount_fen, p.at, b.id AS binding_id, b.beneficiary_id, a.id AS account_id,
         a.balance_fen, i.id AS institution_id, i.account_id AS inst_account
    FROM picks p
    JOIN bindings b ON b.id = p.binding_pick
    JOIN accounts a ON a.person_id = b.helper_id
    JOIN institutions i ON i.id = p.inst_pick
)
INSERT INTO postings (txn_id, account_id, amount_fen, balance_after_fen, at, kind,
                      counterpart_id, binding_id, institution_id, settlement_id)
SELECT l.* FROM src CROSS JOIN LATERAL (VALUES
  (%(base)s + 2 * src.g - 1, src.account_id, -src.amount_fen, src.balance_fen, src.at,
   'settlement', src.beneficiary_id, src.binding_id, src.institution_id, NULL::bigint),
  (%(base)s + 2 * src.g - 1, src.inst_account, src.amount_fen, NULL, src.at,
   'settlement', src.beneficiary_id, NULL, NULL, NULL),
  (%(base)s + 2 * src.g, src.account_id, src.amount_fen, src.balance_fen + src.amount_fen,
   src.at + interval '2 hours', 'reversal', src.beneficiary_id, src.binding_id,
   src.institution_id, NULL),
  (%(base)s + 2 * src.g, src.inst_account, -src.amount_fen, NULL, src.at + interval '2 hours',
   'reversal', src.beneficiary_id, NULL, NULL, NULL)
) AS l(txn_id, account_id, amount_fen, balance_after_fen, at, kind, counterpart_id,
       binding_id, institution_id, settlement_id)
"""

TXNS_SQL = """
INSERT INTO journal_txns (id, kind, ref, created_at, posting_count)
SELECT t.txn_id, min(t.kind), NULL, min(t.at), count(*)
  FROM postings t WHERE t.txn_id > %(base)s GROUP BY t.txn_id
"""


def grow_journal(engine: Engine, postings: int) -> float:
    """Add `postings` postings (rounded down to whole settlement/reversal pairs)."""
    started = time.monotonic()
    pairs = postings // 4
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET maintenance_work_mem = '512MB'")
            index_def = cur.execute(
                "SELECT pg_get_indexdef('ix_postings_account_at'::regclass)").fetchone()[0]
            cur.execute("DROP INDEX ix_postings_account_at")
            bindings = cur.execute("SELECT max(id) FROM bindings").fetchone()[0]
            inst_first, inst_count = cur.execute(
                "SELECT min(id), count(*) FROM institutions").fetchone()
            base = cur.execute("SELECT nextval('journal_txn_ids')").fetchone()[0]
            cur.execute("SELECT setval('journal_txn_ids', %s)", [base + 2 * pairs])
            params = {"bindings": bindings, "inst_first": inst_first, "inst_count": inst_count,
                      "pairs": pairs, "base": base}
            cur.execute(PAIRS_SQL, params)
            cur.execute(TXNS_SQL, params)
            cur.execute(index_def)
        raw.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE postings")
        conn.execute("VACUUM ANALYZE journal_txns")
    finally:
        raw.close()
    return round(time.monotonic() - started, 1)


def run(engine: Engine, postings: int, queries: int, seed: int = 7) -> dict:
    try:
        from gongji.services.reads.entries import list_entries
    except ImportError:
        return {"skipped": "services/entries.py (list_entries) is not there"}
    generate_s = grow_journal(engine, postings)
    with engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT count(*) FROM postings").scalar()
        helper_of = dict(conn.exec_driver_sql(
            "SELECT b.id, p.psn_no FROM bindings b JOIN persons p ON p.id = b.helper_id").all())
        busiest = conn.exec_driver_sql(
            "SELECT max(n) FROM (SELECT count(*) n FROM postings WHERE balance_after_fen IS NOT "
            "NULL GROUP BY account_id) c").scalar()
    ctx = Context(engine)
    rng = random.Random(seed)
    top = max(helper_of)

    def helper() -> str:  # drawn as the generation drew them: busy accounts more often
        return helper_of[1 + int(rng.random() ** 3 * top)]
    timings: dict[str, list[int]] = {"first_page": [], "next_page": [], "one_month": []}
    for _ in range(20):  # warm the plan caches and the connection pool
        list_entries(ctx, helper(), "2024-01-01", "2025-12-31", None, 50)
    for _ in range(queries // 3):
        psn_no = helper()
        page = _timed(timings["first_page"], list_entries, ctx, psn_no, "2024-01-01",
                      "2025-12-31", None, 50)
        if page["next_cursor"]:
            _timed(timings["next_page"], list_entries, ctx, psn_no, "2024-01-01", "2025-12-31",
                   page["next_cursor"], 50)
        month = date(2024, 1, 1) + timedelta(days=30 * rng.randrange(24))
        _timed(timings["one_month"], list_entries, ctx, psn_no, month.isoformat(),
               (month + timedelta(days=30)).isoformat(), None, 50)
    every = [t for series in timings.values() for t in series]
    return {"postings_total": int(total), "generated": postings, "generate_s": generate_s,
            "busiest_account_postings": int(busiest or 0), "page_size": 50,
            "calls": len(every), **percentiles_ms(every),
            **{name: {"calls": len(series), **percentiles_ms(series)}
               for name, series in timings.items()}}


def _timed(into: list[int], fn, *args):  # noqa: ANN001, ANN202
    started = time.perf_counter_ns()
    result = fn(*args)
    into.append((time.perf_counter_ns() - started) // 1000)
    return result
