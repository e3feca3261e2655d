"""The service as deployed (`gongji serve`), and wrk driving 2207 settlements at it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench.dataset import World
from gongji.api.auth import issue_token
from gongji.settings import Settings

HERE = Path(__file__).parent
ADMIN_TOKEN = "bench-admin-" + "x7Qe2" * 4
SECRET_KEY = "bench-signing-" + "Rk93v" * 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """`gongji serve --workers N` in its own process group, stopped on exit."""

    def __init__(self, db_url: str, workers: int, log: Path, env: dict | None = None):
        self.db_url, self.workers, self.log = db_url, workers, log
        self.port = free_port()
        self.env = {**os.environ, "GONGJI_ADMIN_TOKEN": ADMIN_TOKEN,
                    "GONGJI_SECRET_KEY": SECRET_KEY, **(env or {})}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Service:
        """Start it; its logs (one JSON line per request, as deployed) go to `log`."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gongji.cli", "serve", "--db", self.db_url, "--host",
                 "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gongji serve exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        time.sleep(1.0 if self.workers > 1 else 0)  # every worker up
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gongji serve did not answer /healthz within 90 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (the single one, or uvicorn's children)."""
        if self.workers == 1:
            return [self.proc.pid]
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        return [int(pid) for pid in children  # not multiprocessing's resource tracker
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def write_inputs(world: World, directory: Path) -> dict[str, Path]:
    """The wrk script's inputs: patients (ordinary and hot) and a token per hospital."""
    directory.mkdir(parents=True, exist_ok=True)
    key = Settings(admin_token=ADMIN_TOKEN, secret_key=SECRET_KEY).signing_key
    now = datetime.now(UTC)
    files = {"patients": directory / "patients.txt", "hot": directory / "hot.txt",
             "hospitals": directory / "hospitals.txt"}
    files["patients"].write_text("".join(f"{p} {c} {a}\n" for p, c, a in world.patients))
    files["hot"].write_text("".join(f"{p} {c} {a}\n" for p, c, a in world.hot_patients))
    lines = []
    for admdvs, codes in world.hospitals.items():
        for code in codes:
            token, _ = issue_token(key, "institution", code, 2 * 86400, now)
            lines.append(f"{admdvs} {code} {token}\n")
    files["hospitals"].write_text("".join(lines))
    return files


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk not found: `apt-get install wrk` (make bench does it as root)")
    return found


def run_wrk(base: str, clients: int, seconds: float, patients: Path, hospitals: Path,
            tag: str, max_per_thread: int = 1_000_000) -> dict:
    """Closed-loop load: `clients` connections, each sending the next request on an answer."""
    threads = min(clients, 2)
    result = subprocess.run(
        [wrk_binary(), "-t", str(threads), "-c", str(clients), "-d", f"{max(1, round(seconds))}s",
         "--timeout", "10s", "-s", str(HERE / "settle.lua"), base, "--", str(patients),
         str(hospitals), tag, str(max_per_thread)],
        capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("{")][-1]
    data = json.loads(line)
    ok = data["answered"] - data["failed"]
    return {"per_s": round(ok / (data["duration_us"] / 1e6), 1), "count": data["answered"],
            "failed": data["failed"] + data["socket_errors"],
            "p50_ms": round(data["latency_us_p50"] / 1000, 2),
            "p99_ms": round(data["latency_us_p99"] / 1000, 2),
            "errors_sample": result.stderr.strip()[:600] or None}


def batch_counts(base: str, samples: int = 12) -> dict[float, tuple[float, float]]:
    """Per worker (told apart by its process start time), the (batches, commands) its
    writer has run so far, from /metrics (services/batching.py). Each request reaches one
    worker, so several are sent to hear from every one."""
    found: dict[float, tuple[float, float]] = {}
    for _ in range(samples):
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        values = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in ("process_start_time_seconds", "gongji_batch_commands_count",
                        "gongji_batch_commands_sum"):
                values[name] = float(value)
        found[values.get("process_start_time_seconds", 0.0)] = (
            values.get("gongji_batch_commands_count", 0.0),
            values.get("gongji_batch_commands_sum", 0.0))
    return found


def mean_batch(before: dict, after: dict) -> float | None:
    """Commands per batch between two readings, over the workers seen in both."""
    batches = commands = 0.0
    for worker, (count, total) in after.items():
        if worker in before:
            batches += count - before[worker][0]
            commands += total - before[worker][1]
    return round(commands / batches, 1) if batches else None
