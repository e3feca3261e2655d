"""Import files: CSV (UTF-8, with or without BOM) or Excel (.xlsx), Chinese or national
column names; and the rejects file that reports every bad row with its line number."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

SPACES = " \u3000"  # ASCII and ideographic (full-width) spaces


class ImportFileError(Exception):
    """The file as a whole cannot be read (format, encoding, missing columns): nothing was
    imported. The message is for the operator, in Chinese."""


@dataclass(frozen=True)
class Column:
    field: str  # the national/interface name, also accepted as a header
    label: str  # the Chinese header, as written in the README
    aliases: tuple[str, ...] = ()
    required: bool = True

    def names(self) -> set[str]:
        return {normal(name) for name in (self.field, self.label, *self.aliases)}


def normal(header: object) -> str:
    """Headers compare without spaces, case, BOM or a unit suffix such as （元）."""
    text = "" if header is None else str(header)
    text = text.replace("\ufeff", "").replace(" ", "").replace("\u3000", "").strip().lower()
    for unit in ("（元）", "(元)"):
        text = text.removesuffix(unit)
    return text


@dataclass
class Table:
    """Rows of one import file: (line number in the file, raw cells as text)."""

    path: Path
    headers: list[str]
    positions: dict[str, int]  # field -> column index
    total: int  # data rows (an estimate for CSV with quoted line breaks)
    _rows: Iterator[tuple[int, list[str]]]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows

    def getter(self, cells: list[str]):  # noqa: ANN201
        """field -> the cell without surrounding spaces ("" when the column is absent or the
        row short). Only spaces are dropped: a newline, tab or invisible character stays for
        the row checks to refuse (domain/text.py), as the REST API refuses it."""
        def get(field: str) -> str:
            index = self.positions.get(field)
            if index is None or index >= len(cells):
                return ""
            return cells[index].strip(SPACES)
        return get


def open_table(path: Path, columns: tuple[Column, ...]) -> Table:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ImportFileError(f"文件不存在：{path}")
    if suffix == ".csv":
        headers, rows, total = _csv(path)
    elif suffix == ".xlsx":
        headers, rows, total = _xlsx(path)
    else:
        raise ImportFileError(f"只支持 .csv（UTF-8）和 .xlsx 文件：{path.name}")
    return Table(path, headers, _positions(headers, columns), total, rows)


def _positions(headers: list[str], columns: tuple[Column, ...]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for column in columns:
        names = column.names()
        found = [i for i, header in enumerate(headers) if normal(header) in names]
        if len(found) > 1:
            raise ImportFileError(f"列“{column.label}”出现了不止一次")
        if found:
            positions[column.field] = found[0]
    missing = [c.label for c in columns if c.required and c.field not in positions]
    if missing:
        raise ImportFileError("缺少必需的列：" + "、".join(missing)
                              + "（列名见 README“批量导入”）")
    return positions


def _csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], int]:
    with path.open("rb") as raw:
        total = max(sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b""))
                    - 1, 0)
    handle = path.open(encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(handle)
        headers = next(reader, None)
    except UnicodeDecodeError:
        handle.close()
        raise ImportFileError("文件不是 UTF-8 编码，请另存为“CSV UTF-8”后再导入") from None
    if not headers:
        handle.close()
        raise ImportFileError("文件是空的")

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            line = reader.line_num + 1
            try:
                for cells in reader:
                    if any(cell.strip() for cell in cells):
                        yield line, cells
                    line = reader.line_num + 1
            except UnicodeDecodeError:
                raise ImportFileError(f"第 {line} 行附近不是 UTF-8 编码，"
                                      "请另存为“CSV UTF-8”后再导入") from None
            except csv.Error as exc:
                raise ImportFileError(f"第 {line} 行 CSV 格式错误：{exc}") from None

    return headers, rows(), total


def _xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], int]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a damaged file
        raise ImportFileError(f"无法读取 Excel 文件：{exc}") from None
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    first = next(values, None)
    if first is None:
        workbook.close()
        raise ImportFileError("文件是空的")
    headers = [cell_text(v) for v in first]

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for line, cells in enumerate(values, start=2):
                texts = [cell_text(v) for v in cells]
                if any(t.strip() for t in texts):
                    yield line, texts
        finally:
            workbook.close()

    return headers, rows(), max((sheet.max_row or 1) - 1, 0)


def cell_text(value: object) -> str:
    """An Excel cell as the text a person typed: 12 not 12.0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class RejectsFile:
    """行号, 原因代码, 原因 and the original row, as CSV (UTF-8 with BOM, for Excel).
    Opened on the first reject, so a clean import leaves no file behind."""

    def __init__(self, path: Path, headers: list[str]):
        self.path = path
        self.headers = headers
        self.count = 0
        self._handle: io.TextIOWrapper | None = None
        self._writer = None
        if path.exists():
            path.unlink()  # a rejects file from an earlier run would mislead

    def add(self, line: int, code: str, message: str, cells: list[str]) -> None:
        if self._writer is None:
            self._handle = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._handle, lineterminator="\r\n")
            self._writer.writerow(["行号", "原因代码", "原因", *self.headers])
        self._writer.writerow([line, code, message, *cells])
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
