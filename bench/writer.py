"""The batch writer alone: batches of a fixed size run in-process through batching.run_batch,
on the run's PostgreSQL and on a fresh SQLite file. Its figures are CPU per settlement, the
service's Python and (PostgreSQL) the server's processes, which move less from run to run on a
shared machine than throughput over HTTP does: compare them across changes of the write path.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from bench import dataset
from bench.dataset import World
from bench.sqlite_mode import envelope
from gongji.api import gateway
from gongji.services import batching
from gongji.services.context import Context
from gongji.store.db import make_engine
from gongji.store.migrate import upgrade

BATCH = 16
BATCHES = 120
WARM = 20


def run(engine: Engine, world: World, server_pid: int | None) -> dict:
    """Batches of BATCH uniform bills; `server_pid` is PostgreSQL's postmaster (its
    processes' CPU is counted), None for SQLite."""
    ctx = Context(engine)
    rng = random.Random(29)
    for n in range(WARM):
        _batch(ctx, world, rng, f"ww{n}")
    before_server = _tree_cpu_s(server_pid)
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(BATCHES):
        _batch(ctx, world, rng, f"wr{n}")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    count = BATCHES * BATCH
    out = {"batch": BATCH, "settlements": count, "per_s": round(count / wall, 1),
           "python_ms": round(1000 * cpu / count, 3)}
    if server_pid is not None:
        out["server_ms"] = round(1000 * (_tree_cpu_s(server_pid) - before_server) / count, 3)
    return out


def run_sqlite(persons: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="gongji-bench-writer-") as tmp:
        url = f"sqlite:///{tmp}/writer.db"
        upgrade(url)
        engine = make_engine(url)
        try:
            return run(engine, dataset.load(engine, persons), None)
        finally:
            engine.dispose()


def _batch(ctx: Context, world: World, rng: random.Random, tag: str) -> None:
    jobs = []
    for n in range(BATCH):
        code, body = envelope(rng, world, f"{tag}-{n}")
        jobs.append(gateway.accept(ctx, code, body).job)
    outcome = batching.run_batch(ctx.engine, jobs)
    if outcome.errors:
        raise RuntimeError(f"the writer bench refused: {next(iter(outcome.errors.values()))}")


def _tree_cpu_s(root: int | None) -> float:
    """User + system CPU seconds of `root` and every process whose parent is `root`."""
    if root is None:
        return 0.0
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(entry.name) == root or int(fields[1]) == root:
            total += int(fields[11]) + int(fields[12])
    return total / tick
