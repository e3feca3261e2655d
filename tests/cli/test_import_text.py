"""Bulk imports refuse what the REST API refuses: names and references with control,
zero-width or bidirectional characters (a newline too, even at the end of a cell), and
institutions of a region with no policy. Row by row on SQLite, set-based on PostgreSQL:
the same rejects either way; middle dots of minority names go in."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gongji.domain.idcard import make_certno
from gongji.store.schema import credits, institutions, persons
from rejects_files import codes

PERSON_HEADER = ["公民身份号码", "姓名", "险种类型", "参保地医保区划"]
BAD = ["\n", "\r", "\t", "\x00", "\u200b", "\u202e", "\u2066", "\ufeff", "\u2060", "\u2028"]


def certno(seq: int) -> str:
    return make_certno("542521", date(1991, 2, 3), seq)


def test_a_persons_file_refuses_unprintable_names_and_keeps_middle_dots(cli, world):
    rows = [[certno(1), "阿依古丽·买买提", "390", "542500"],
            [certno(2), "玛丽・居里", "390", "542500"]]
    rows += [[certno(10 + i), where(char), "390", "542500"]
             for i, char in enumerate(BAD)
             for where in (lambda c: "卓" + c + "玛",)]
    rows += [[certno(40), "卓玛\n", "390", "542500"], [certno(41), "\u202e卓玛", "390", "542500"]]
    path = cli.csv("persons.csv", PERSON_HEADER, rows)

    assert cli("import", "persons", str(path)).exit_code == 1

    # (line numbers are physical lines: a quoted newline makes a row span two)
    assert [code for _, code in codes(path.with_name("persons.rejects.csv"))] == [
        "INVALID_INPUT"] * (len(BAD) + 2)
    with world.ctx.read() as uow:
        names = uow.conn.execute(select(persons.c.psn_name).order_by(persons.c.id)).scalars()
        assert list(names) == ["阿依古丽·买买提", "玛丽・居里"]


def test_an_institutions_file_refuses_unprintable_names_and_unknown_regions(cli, world):
    header = ["定点医药机构编码", "定点医药机构名称", "机构类型", "医保区划"]
    path = cli.csv("inst.csv", header, [
        ["H1", "阿里地区人民医院", "医院", "542500"],  # 2
        ["H2", "人民\u202e医院", "医院", "542500"],  # 3
        ["H3", "人民医院\n", "医院", "542500"],  # 4
        ["H4", "人民医院", "医院", "110000"],  # 5: a region with no policy
        ["H5", "人民医院", "医院", "999999"],  # 6
        ["H6", "人民医院", "医院", "451000"],  # 7: Baise, known
    ])

    assert cli("import", "institutions", str(path)).exit_code == 1

    assert codes(path.with_name("inst.rejects.csv")) == [  # row 4 spans lines 4 and 5
        (3, "INVALID_INPUT"), (4, "INVALID_INPUT"), (6, "INVALID_REGION"),
        (7, "INVALID_REGION")]
    with world.ctx.read() as uow:
        codes_in = uow.conn.execute(select(institutions.c.fixmedins_code)
                                    .order_by(institutions.c.fixmedins_code)).scalars()
        assert list(codes_in) == ["H1", "H6"]


def test_a_credits_file_refuses_an_unprintable_reference(cli, world):
    helper = world.person("卓玛")
    path = cli.csv("credits.csv", ["人员编号", "划入金额", "划入流水号"], [
        [helper["psn_no"], "10.00", "REF-1"],
        [helper["psn_no"], "10.00", "REF\u200b-2"],
        [helper["psn_no"], "10.00", "REF-3\n"],
    ])

    assert cli("import", "credits", str(path)).exit_code == 1

    assert codes(path.with_name("credits.rejects.csv")) == [(3, "INVALID_INPUT"),
                                                            (4, "INVALID_INPUT")]
    with world.ctx.read() as uow:
        assert list(uow.conn.execute(select(credits.c.ref)).scalars()) == ["REF-1"]
