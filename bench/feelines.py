"""Benchmark: a 1,000-line 2204 费用明细上传, and the 2207 that settles those lines, on
SQLite and PostgreSQL, in-process through the gateway (gateway.process: envelope, exact
JSON, idempotency record, classification by the catalogue, one unit of work).

    .venv/bin/python -m bench.feelines [--calls 10] [--only sqlite,pg]

Alone, it starts its own throwaway durable PostgreSQL (tests/pgserver.py) and a SQLite
file; within `make bench` it uses the run's PostgreSQL. Each call uploads 1,000 lines to a
new visit (half known to a 1,000-item catalogue, every level, some over a price limit);
every visit is then settled as one 1,000-line batch. Target: the 2204 call under 1 s.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bench import standalone  # noqa: E402  (needs tests/ on sys.path for pgserver)
from gongji.api import gateway  # noqa: E402
from gongji.domain.idcard import make_certno  # noqa: E402
from gongji.services.catalogue.loading import load_items  # noqa: E402
from gongji.services.context import Context  # noqa: E402
from gongji.services.registry import reference  # noqa: E402
from gongji.store.db import make_engine  # noqa: E402
from gongji.store.migrate import upgrade  # noqa: E402

TARGET_S = 1.0
LINES = 1_000
# Codes no other part of `make bench` uses: within it this runs on the run's database.
HOSPITAL = "HFEEBENCH01"
BORN = date(1903, 3, 3)


def catalogue() -> list[dict]:
    return [{"admdvs": "540000", "med_list_codg": f"K{n:05d}", "med_list_name": f"项目{n}",
             "chrgitm_lv": ("01", "02", "03")[n % 3], "selfpay_prop": ("0", "0.1", "1")[n % 3],
             "pric_uplmt_amt": "5.00" if n % 10 == 1 else None} for n in range(LINES)]


def feedetail(mdtrt_id: str, psn_no: str) -> list[dict]:
    """1,000 lines: every other one's code in the catalogue, totals round(pric × cnt)."""
    lines = []
    for n in range(LINES):
        pric, cnt = Decimal(f"{1 + n % 9}.{n % 100:02d}"), Decimal(("1", "2", "0.5", "3")[n % 4])
        total = (pric * cnt).quantize(Decimal("0.01"), ROUND_HALF_UP)
        lines.append({"feedetl_sn": f"{n:06d}", "mdtrt_id": mdtrt_id, "psn_no": psn_no,
                      "chrg_bchno": "B1", "med_list_codg": f"K{n * 2 % (2 * LINES):05d}",
                      "medins_list_codg": f"HIS{n:05d}", "cnt": str(cnt), "pric": str(pric),
                      "det_item_fee_sumamt": str(total),
                      "fee_ocur_time": "2026-06-01 09:30:00"})
    return lines


def call(ctx: Context, infno: str, input_: dict, msgid: str) -> tuple[float, dict]:
    envelope = {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "542500",
                "insuplc_admdvs": "542500", "fixmedins_code": HOSPITAL, "opter": "0001",
                "opter_type": "1", "infver": "V1.0", "recer_sys_code": "MDY32", "sign_no": "",
                "inf_time": "2026-06-01 10:00:00", "input": input_}
    raw = json.dumps(envelope, ensure_ascii=False).encode()
    started = time.perf_counter()
    _, answer = gateway.process(ctx, HOSPITAL, raw)
    elapsed = time.perf_counter() - started
    if answer["infcode"] != 0:
        raise RuntimeError(f"{infno}: {answer['err_code']} {answer['err_msg']}")
    return elapsed, answer["output"]


def run(url: str, calls: int = 10) -> dict:
    """`calls` visits of 1,000 lines each on the database at `url` (migrated here)."""
    upgrade(url)
    ctx = Context(make_engine(url))
    reference.create_institution(ctx, {"fixmedins_code": HOSPITAL, "fixmedins_name": "医院",
                                       "fixmedins_type": "hospital", "admdvs": "542500"})
    certno = make_certno("542521", BORN, 977)
    person = reference.create_person(ctx, {"certno": certno, "psn_name": "扎西",
                                           "insutype": "310", "insuplc_admdvs": "542500",
                                           "psn_insu_stas": "1"})
    load_items(ctx, catalogue())
    uploads, settles = [], []
    for n in range(calls):
        _, out = call(ctx, "2201", {"data": {
            "psn_no": person["psn_no"], "insutype": "310", "begntime": "2026-06-01 09:00:00",
            "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "ipt_otp_no": f"MZ{n}"}},
            f"{HOSPITAL}R{n:06d}")
        mdtrt_id = out["data"]["mdtrt_id"]
        seconds, _ = call(ctx, "2204", {"feedetail": feedetail(mdtrt_id, person["psn_no"])},
                            f"{HOSPITAL}U{n:06d}")
        uploads.append(seconds)
        total = sum(Decimal(line["det_item_fee_sumamt"]) for line in
                    feedetail(mdtrt_id, person["psn_no"]))
        seconds, _ = call(ctx, "2207", {"data": {
            "psn_no": person["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": certno,
            "medfee_sumamt": str(total), "mdtrt_id": mdtrt_id,
            "chrg_bchno": "B1", "acct_used_flag": "0"}}, f"{HOSPITAL}S{n:06d}")
        settles.append(seconds)
    ctx.engine.dispose()
    result = {"calls": calls, "lines": LINES, "upload": _stats(uploads),
              "settle": _stats(settles)}
    log(f"{ctx.engine.dialect.name}: 2204 of {LINES} lines p50 {result['upload']['p50_ms']} ms "
        f"max {result['upload']['max_ms']} ms; 2207 of the batch p50 "
        f"{result['settle']['p50_ms']} ms")
    return result


def _stats(seconds: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(seconds) * 1000, 1),
            "max_ms": round(max(seconds) * 1000, 1)}


def run_sqlite(calls: int = 10) -> dict:
    """run() on a fresh SQLite file, removed afterwards."""
    return standalone.on_sqlite_file("feelines", run, calls)


def render(results: dict) -> list[str]:
    """The Markdown section of `make bench`'s report."""
    lines = ["## Fee lines (2204 费用明细上传 of 1,000 lines, then the 2207 of that batch)", "",
             "| database | calls | 2204 p50 ms | 2204 max ms | 2207 p50 ms | 2207 max ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['calls']} | {r['upload']['p50_ms']} | "
                     f"{r['upload']['max_ms']} | {r['settle']['p50_ms']} | "
                     f"{r['settle']['max_ms']} |")
    return [*lines, ""]


def log(message: str) -> None:
    standalone.log("feelines", message)


PART = standalone.Part(
    "feelines", __doc__, "--calls", 10, run, render,
    missed=lambda result: result["upload"]["p50_ms"] > TARGET_S * 1000,
    target=lambda _calls: f"a {LINES:,}-line 2204 under {TARGET_S:g} s")

if __name__ == "__main__":
    sys.exit(standalone.main(PART))
