"""CSV files as people's spreadsheets save them: UTF-8 with or without BOM, or GB18030/GBK
from a Chinese Excel ("CSV（逗号分隔）"). The encoding is detected, named in the summary,
and a file in neither is refused before anything is imported. Rejects are always UTF-8
with BOM, named after the input without its extension: persons.csv → persons.rejects.csv."""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import func, select

from gongji.domain.idcard import make_certno
from gongji.store.schema import persons
from rejects_files import codes, read_rejects

HEADER = ["公民身份号码", "姓名", "险种类型", "参保地医保区划", "参保状态"]
NAMES = ["阿依古丽·买买提", "欧阳娜娜", "格桑卓玛"]


def certno(seq: int) -> str:
    return make_certno("542521", date(1990, 5, 6), seq)


def csv_text(rows: list[list[str]]) -> str:
    """As Excel writes it: comma-separated, CRLF line ends."""
    return "".join(",".join(row) + "\r\n" for row in [HEADER, *rows])


def good_rows() -> list[list[str]]:
    return [[certno(i + 1), name, "390", "542500", "1"] for i, name in enumerate(NAMES)]


def names_in(world) -> list[str]:  # noqa: ANN001
    with world.ctx.read() as uow:
        return list(uow.conn.execute(select(persons.c.psn_name)
                                     .order_by(persons.c.id)).scalars())


def count_persons(world) -> int:  # noqa: ANN001
    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.count()).select_from(persons)).scalar_one()


def test_a_gb18030_file_from_chinese_excel_imports_and_says_so(cli, world):
    path = cli.tmp / "persons.csv"
    path.write_bytes(csv_text(good_rows()).encode("gb18030"))

    result = cli("import", "persons", str(path))

    assert result.exit_code == 0, result.output
    assert "文件编码：GB18030" in result.output
    assert names_in(world) == NAMES
    assert not path.with_name("persons.rejects.csv").exists()


def test_a_gbk_file_reads_as_gb18030(cli, world):
    path = cli.tmp / "persons.csv"
    path.write_bytes(csv_text(good_rows()).encode("gbk"))

    result = cli("import", "persons", str(path))

    assert result.exit_code == 0, result.output
    assert "文件编码：GB18030" in result.output
    assert names_in(world) == NAMES


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"], ids=["bom", "no-bom"])
def test_a_utf8_file_with_or_without_bom_says_utf8(cli, world, encoding):
    path = cli.tmp / "persons.csv"
    path.write_bytes(csv_text(good_rows()).encode(encoding))

    result = cli("import", "persons", str(path))

    assert result.exit_code == 0, result.output
    assert "文件编码：UTF-8" in result.output and "GB18030" not in result.output
    assert names_in(world) == NAMES


def _random_bytes() -> bytes:
    data = random.Random(20250601).randbytes(4096)
    for codec in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(codec)
    return data


@pytest.mark.parametrize("content", [
    pytest.param(_random_bytes, id="random-bytes"),
    pytest.param(lambda: csv_text(good_rows()).encode("utf-16"), id="utf-16"),
    pytest.param(lambda: csv_text(good_rows()).encode("utf-16-le"), id="utf-16-no-bom"),
    # GB18030 up to a bad byte far past the first megabyte: refused as a whole, not halfway
    pytest.param(lambda: (csv_text(good_rows()) + "#" * (3 << 20)).encode("gb18030")
                 + b"\x80\r\n", id="bad-byte-at-the-end"),
])
def test_a_file_in_neither_encoding_is_refused_and_imports_nothing(cli, world, content):
    path = cli.tmp / "persons.csv"
    path.write_bytes(content())

    result = cli("import", "persons", str(path))

    assert result.exit_code == 2, result.output
    assert "无法导入" in result.output and "编码" in result.output
    assert "GB18030" in result.output and "UTF-8" in result.output
    assert count_persons(world) == 0
    assert not path.with_name("persons.rejects.csv").exists()


def test_the_rejects_of_a_gb18030_file_are_utf8_with_bom(cli, world):
    path = cli.tmp / "persons.csv"
    rows = [*good_rows(), [certno(9), "欧阳娜娜", "320", "542500", "1"]]  # line 5: no such 险种
    path.write_bytes(csv_text(rows).encode("gb18030"))

    result = cli("import", "persons", str(path))

    assert result.exit_code == 1, result.output
    rejects = path.with_name("persons.rejects.csv")
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbf")
    rejects.read_bytes().decode("utf-8")  # strict: the whole file is UTF-8
    lines = read_rejects(rejects)
    assert lines[0] == ["行号", "原因代码", "原因", *HEADER]
    assert lines[1][:2] == ["5", "INVALID_INPUT"] and lines[1][3:] == rows[3]
    assert names_in(world) == NAMES


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_rejects_file_is_named_after_the_input_without_its_extension(cli, world, suffix):
    rows = [[certno(1), "欧阳娜娜", "390", "542500", "1"],
            [certno(2), "格桑", "320", "542500", "1"]]
    path = (cli.csv("persons.csv", HEADER, rows) if suffix == ".csv"
            else cli.xlsx("persons.xlsx", HEADER, rows))

    result = cli("import", "persons", str(path))

    assert result.exit_code == 1, result.output
    rejects = cli.tmp / "persons.rejects.csv"
    assert codes(rejects) == [(3, "INVALID_INPUT")]
    assert not (cli.tmp / f"persons{suffix}.rejects.csv").exists()
    assert "persons.rejects.csv" in result.output
    if suffix == ".xlsx":
        assert "文件编码" not in result.output  # a workbook has no text encoding to report


@pytest.mark.parametrize("codec, text", [
    ("utf-8", "姓名,欧阳娜娜\r\n"), ("utf-8-sig", "姓名,欧阳娜娜\r\n"),
    ("gb18030", "姓名,欧阳娜娜\r\n"), ("gb18030", "姓名,\U00020000\u4e00\r\n"),
])
def test_a_character_cut_at_a_chunk_boundary_does_not_change_the_verdict(tmp_path, codec, text):
    from gongji.services.operations.tabular import detect_encoding

    data = text.encode(codec) * 5
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030"}[codec]
    for chunk in range(1, 8):  # every cut, through 2-, 3- and 4-byte characters
        assert detect_encoding(path, chunk_size=chunk).codec == expected, chunk


def test_a_utf8_file_with_a_gbk_row_further_down_is_refused_whole(cli, world):
    """Excel's "CSV UTF-8" (with BOM) with one row pasted from a GBK file: refused before
    anything is imported, even in batches of one row; not read as GB18030 mojibake."""
    path = cli.tmp / "persons.csv"
    rows = good_rows()
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(rows[:2]).encode("utf-8")
                     + (",".join(rows[2]) + "\r\n").encode("gbk"))

    result = cli("import", "persons", str(path), "--batch-size", "1")

    assert result.exit_code == 2, result.output
    assert "第 4 行" in result.output and "UTF-8" in result.output
    assert count_persons(world) == 0
