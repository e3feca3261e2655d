"""What a part of `make bench` needs to run alone (`python -m bench.<part>`): its own
throwaway SQLite file and durable PostgreSQL, its Markdown section printed, and an exit code
that says whether its target was met. One place, so every part behaves the same alone."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import pgserver  # tests/pgserver.py, on sys.path by the part that imports this


def log(part: str, message: str) -> None:
    print(f"[bench {part} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def on_sqlite_file(part: str, run: Callable[[str, int], dict], size: int) -> dict:
    """run(url, size) on a fresh SQLite file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"gongji-bench-{part}-db-") as tmp:
        return run(f"sqlite:///{tmp}/{part}.db", size)


@dataclass(frozen=True)
class Part:
    """A benchmark part: its name, its size option, how it runs, renders and is judged."""

    name: str
    doc: str
    size_option: str  # e.g. "--items": how much work one run does
    default_size: int
    run: Callable[[str, int], dict]
    render: Callable[[dict], list[str]]
    missed: Callable[[dict], bool]  # one database's result: was the target missed?
    target: Callable[[int], str]  # the target, said for a size


def main(part: Part, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m bench.{part.name}",
                                     description=part.doc.splitlines()[0])
    parser.add_argument(part.size_option, dest="size", type=int, default=part.default_size,
                        metavar=part.size_option.lstrip("-").upper())
    parser.add_argument("--only", default="sqlite,pg", help="databases: sqlite, pg")
    opts = parser.parse_args(argv)
    parts = set(opts.only.split(","))
    results = {}
    if "sqlite" in parts:
        results["SQLite"] = on_sqlite_file(part.name, part.run, opts.size)
    if "pg" in parts:
        with pgserver.ThrowawayPostgres(durable=True) as pg:
            results["PostgreSQL"] = part.run(pg.url, opts.size)
    print("\n".join(part.render(results)))
    slow = [name for name, result in results.items() if part.missed(result)]
    print(f"Target: {part.target(opts.size)}: "
          + ("met" if not slow else "missed on " + ", ".join(slow)))
    return 1 if slow else 0
