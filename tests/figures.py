"""Figures of the reliability tests (fuzz cases, stateful steps, crashes survived): printed,
and appended to artifacts/reliability/figures.txt so that a run under xdist, which hides
what tests print, still leaves them to read."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

FILE = Path(__file__).resolve().parent.parent / "artifacts" / "reliability" / "figures.txt"


def record(line: str) -> None:
    print(f"\n{line}")
    FILE.parent.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with FILE.open("a", encoding="utf-8") as out:
        out.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} [{worker}] {line}\n")
