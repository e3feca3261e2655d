"""`gongji import catalogue FILE`: a 医保目录 from a Chinese Excel (CSV in GB18030, or
.xlsx), Chinese or national headers; bad rows to the rejects file, good rows upserted by
(admdvs, med_list_codg); running the same file again changes nothing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from gongji.services.catalogue.items import items_for
from gongji.store.schema import catalogue_items
from rejects_files import codes, read_rejects

HEADER = ["医保目录编码", "医保目录名称", "收费项目等级", "自付比例", "最高限价", "医保区划",
          "开始日期", "结束日期"]
NATIONAL = ["med_list_codg", "med_list_name", "chrgitm_lv", "selfpay_prop", "pric_uplmt_amt",
            "admdvs", "begndate", "enddate"]
ROWS = [
    ["XJ01CAA040A001010101445", "阿莫西林胶囊", "甲类", "", "", "540000", "", ""],
    ["XC10AAA187A001010104069", "阿托伐他汀钙片", "02", "0.1", "3.0325", "540000",
     "2026-01-01", ""],
    ["XC10AAA187A001010104069", "阿托伐他汀钙片", "02", "0.2", "", "542500", "", ""],
    ["ZZ0001", "美容护肤品", "丙类", "1", "", "450000", "", "2027-12-31"],
]


def stored(world) -> list[tuple]:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(
            catalogue_items.c.admdvs, catalogue_items.c.med_list_codg,
            catalogue_items.c.chrgitm_lv, catalogue_items.c.selfpay_prop_ppm,
            catalogue_items.c.pric_uplmt_uyuan, catalogue_items.c.updated_at)
            .order_by(catalogue_items.c.id)).all()


def gb18030_csv(cli, rows: list[list[str]], header: list[str] = HEADER):  # noqa: ANN001, ANN201
    path = cli.tmp / "catalogue.csv"
    text = "".join(",".join(row) + "\r\n" for row in [header, *rows])
    path.write_bytes(text.encode("gb18030"))
    return path


def test_a_gb18030_csv_loads_and_the_region_overrides_its_province(cli, world):
    result = cli("import", "catalogue", str(gb18030_csv(cli, ROWS)))

    assert result.exit_code == 0, result.output
    assert "文件编码：GB18030" in result.output
    assert len(stored(world)) == 4
    with world.ctx.read() as uow:
        found = items_for(uow.conn, "542500", ["XJ01CAA040A001010101445",
                                               "XC10AAA187A001010104069", "ZZ0001"],
                          date(2026, 12, 1))
    assert found["XJ01CAA040A001010101445"].chrgitm_lv == "01"
    assert found["XC10AAA187A001010104069"].selfpay_prop == Decimal("0.2")
    assert "ZZ0001" not in found  # Guangxi's item, not Tibet's


def test_running_the_same_file_again_changes_nothing(cli, world):
    path = gb18030_csv(cli, ROWS)
    assert cli("import", "catalogue", str(path)).exit_code == 0
    before = stored(world)
    world.clock.advance(hours=2)

    again = cli("import", "catalogue", str(path))

    assert again.exit_code == 0, again.output
    assert stored(world) == before  # not even updated_at
    assert "│    4 │    0 │    0 │    4 │    0 │" in again.output


def test_bad_rows_go_to_the_rejects_file_and_the_good_ones_load(cli, world):
    rows = [ROWS[0],
            ["X2", "乙类无比例", "乙类", "", "", "540000", "", ""],
            ["X3", "未知区划", "01", "", "", "110000", "", ""],
            ["X4", "限价七位小数", "01", "", "0.0000001", "540000", "", ""],
            ["X5", "日期颠倒", "01", "", "", "540000", "2026-12-01", "2026-01-01"],
            ROWS[0],  # the same (admdvs, code) again
            ROWS[1]]
    path = gb18030_csv(cli, rows)

    result = cli("import", "catalogue", str(path))

    assert result.exit_code == 1
    rejects = path.with_name("catalogue.rejects.csv")
    assert codes(rejects) == [(3, "INVALID_CATALOGUE_ITEM"), (4, "INVALID_CATALOGUE_ITEM"),
                              (5, "INVALID_CATALOGUE_ITEM"), (6, "INVALID_CATALOGUE_ITEM"),
                              (7, "DUPLICATE_IN_FILE")]
    reasons = [row[2] for row in read_rejects(rejects)[1:]]
    assert "自付比例（selfpay_prop）" in reasons[0]
    assert "医保区划（admdvs）" in reasons[1]
    assert sorted(row[1] for row in stored(world)) == ["XC10AAA187A001010104069",
                                                       "XJ01CAA040A001010101445"]


def test_an_xlsx_with_national_headers_and_numeric_cells_loads(cli, world):
    rows = [["XJ01CAA040A001010101445", "阿莫西林胶囊", 1, None, None, 540000, None, None],
            ["XC10AAA187A001010104069", "阿托伐他汀钙片", 2, 0.15, 3.0325, 542500,
             datetime(2026, 1, 1), None]]
    path = cli.xlsx("catalogue.xlsx", NATIONAL, rows)

    result = cli("import", "catalogue", str(path))

    assert result.exit_code == 0, result.output
    got = sorted((r.admdvs, r.chrgitm_lv, r.selfpay_prop_ppm, r.pric_uplmt_uyuan)
                 for r in stored(world))
    assert got == [("540000", "01", 0, None), ("542500", "02", 150_000, 3_032_500)]


def test_a_changed_row_is_counted_as_updated(cli, world):
    assert cli("import", "catalogue", str(gb18030_csv(cli, ROWS))).exit_code == 0
    changed = [list(ROWS[0]), *ROWS[1:]]
    changed[0][1] = "阿莫西林胶囊（0.25g）"

    result = cli("import", "catalogue", str(gb18030_csv(cli, changed)))

    assert result.exit_code == 0
    assert "│    4 │    0 │    1 │    3 │    0 │" in result.output
