"""The command line driven by Typer's CliRunner against fresh databases, and the files
operators feed it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gongji.cli import app
from support import World


class Cli:
    def __init__(self, db_url: str, tmp_path: Path):
        self.db_url = db_url
        self.tmp = tmp_path
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict | None = None):  # noqa: ANN204
        # A wide terminal, so that Rich does not wrap the lines a test looks for.
        return self.runner.invoke(app, [*args, "--db", self.db_url],
                                  env={"COLUMNS": "250", **(env or {})}, catch_exceptions=False)

    def csv(self, name: str, header: list[str], rows: list[list[object]],
            bom: bool = True) -> Path:
        path = self.tmp / name
        with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def xlsx(self, name: str, header: list[str], rows: list[list[object]]) -> Path:
        from openpyxl import Workbook

        workbook = Workbook()
        workbook.active.append(header)
        for row in rows:
            workbook.active.append(row)
        path = self.tmp / name
        workbook.save(path)
        return path


@pytest.fixture
def cli(db_url, tmp_path) -> Cli:
    return Cli(db_url, tmp_path)


@pytest.fixture
def world(db_url):
    w = World(db_url)
    yield w
    w.close()
