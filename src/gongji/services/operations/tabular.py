"""Import files: CSV (UTF-8 with or without BOM, or GB18030/GBK as a Chinese Excel saves
"CSV（逗号分隔）") or Excel (.xlsx), Chinese or national column names; and the rejects
file that reports every bad row with its line number."""

from __future__ import annotations

import codecs
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
    encoding: str | None = None  # a CSV's, as the summary names it ("GB18030"); None: .xlsx

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
    encoding = None
    if suffix == ".csv":
        encoding = detect_encoding(path)
        headers, rows, total = _csv(path, encoding)
    elif suffix == ".xlsx":
        headers, rows, total = _xlsx(path)
    else:
        raise ImportFileError(f"只支持 .csv（UTF-8 或 GB18030/GBK）和 .xlsx 文件：{path.name}")
    return Table(path, headers, _positions(headers, columns), total, rows,
                 encoding.label if encoding else None)


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


@dataclass(frozen=True)
class Encoding:
    codec: str  # to read the file with: utf-8-sig, utf-8 or gb18030
    label: str  # as the import summary names it
    newlines: int  # b"\n" in the file


_LABELS = {"utf-8-sig": "UTF-8（带 BOM）", "utf-8": "UTF-8", "gb18030": "GB18030"}
_SAVE_AS = "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后再导入"


def detect_encoding(path: Path, chunk_size: int = 1 << 20) -> Encoding:
    """UTF-8 (with or without BOM), else GB18030 (which contains GBK and GB2312): the first
    in which the WHOLE file decodes strictly, so a bad byte anywhere refuses the file before
    anything is imported. Chinese text in GB18030 is in practice never valid UTF-8, hence
    UTF-8 first. Decoded incrementally: a character cut between two chunks is joined, not
    taken for a bad byte. A file that starts with the UTF-8 BOM is UTF-8 or nothing."""
    with path.open("rb") as raw:
        head = raw.read(3)
    bom = head.startswith(codecs.BOM_UTF8)
    newlines, utf8_bad = _decode_all(path, "utf-8", chunk_size)
    if utf8_bad is None:
        codec = "utf-8-sig" if bom else "utf-8"
        return Encoding(codec, _LABELS[codec], newlines)
    if bom:
        raise ImportFileError(f"文件以 UTF-8 的 BOM 开头，但第 {utf8_bad} 行附近不是 UTF-8 编码"
                              f"（可能混有其他编码的内容），{_SAVE_AS}")
    newlines, gb_bad = _decode_all(path, "gb18030", chunk_size)
    if gb_bad is None:
        return Encoding("gb18030", _LABELS["gb18030"], newlines)
    utf16 = ("（这是 UTF-16 文件，例如 Excel 的“Unicode 文本”）"
             if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "")
    raise ImportFileError(f"无法识别文件编码：第 {max(utf8_bad, gb_bad)} 行附近既不是 UTF-8 "
                          f"也不是 GB18030（GBK）编码{utf16}，{_SAVE_AS}")


def _decode_all(path: Path, codec: str, chunk_size: int) -> tuple[int, int | None]:
    """(newlines read, None) when the whole file decodes, else (…, the line of the first
    byte that does not)."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    newlines = 0
    with path.open("rb") as raw:
        while chunk := raw.read(chunk_size):
            pending = len(decoder.getstate()[0])  # the start of a character cut last time
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return newlines, newlines + chunk[:max(exc.start - pending, 0)].count(b"\n") + 1
            newlines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)  # a character cut by the end of the file
    except UnicodeDecodeError:
        return newlines, newlines + 1
    return newlines, None


def _csv(path: Path, encoding: Encoding) -> tuple[list[str], Iterator[tuple[int, list[str]]],
                                                  int]:
    total = max(encoding.newlines - 1, 0)
    handle = path.open(encoding=encoding.codec, newline="")
    try:
        reader = csv.reader(handle)
        headers = next(reader, None)
    except UnicodeDecodeError:  # changed since it was checked
        handle.close()
        raise ImportFileError(f"文件不是 {encoding.label} 编码，{_SAVE_AS}") from None
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
            except UnicodeDecodeError:  # changed since it was checked
                raise ImportFileError(f"第 {line} 行附近不是 {encoding.label} 编码，"
                                      f"{_SAVE_AS}") from None
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
