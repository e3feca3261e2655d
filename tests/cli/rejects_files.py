"""Reading the rejects files the imports write."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def codes(path: Path) -> list[tuple[int, str]]:
    """(line, reason code) of every rejected row."""
    return [(int(row[0]), row[1]) for row in read_rejects(path)[1:]]
