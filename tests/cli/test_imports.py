"""`gongji import persons|kinships|institutions|credits FILE`: good rows go in, every bad
row is reported with its line and reason, and a second run changes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gongji.domain.idcard import make_certno
from gongji.services.operations.imports import run_import
from gongji.services.operations.verify import verify
from gongji.services.registry import reference
from gongji.store import repo
from gongji.store.schema import accounts, bindings, journal_txns, kinships, persons, postings
from policy_support import publish
from rejects_files import codes, read_rejects

PERSON_HEADER = ["公民身份号码", "姓名", "险种类型", "参保地医保区划", "参保状态", "社保卡号"]


def certno(seq: int, born: date = date(1988, 3, 4), county: str = "542521") -> str:
    return make_certno(county, born, seq)


def table_counts(world) -> tuple:  # noqa: ANN001
    with world.ctx.read() as uow:
        return tuple(uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (persons, accounts, kinships, journal_txns, postings))


def test_importing_persons_puts_good_rows_in_and_reports_every_bad_row(cli, world):
    known = world.person("张三")
    resident = world.person("李梅", insutype="390")
    broken_certno = certno(3)[:-1] + ("0" if certno(3)[-1] != "0" else "1")
    path = cli.csv("persons.csv", PERSON_HEADER, [
        [certno(1), "格桑", "310", "542500", "1", "CARD0001"],  # 2: new employee
        [certno(2), "次仁", "390", "542500", "", ""],  # 3: new resident, status defaults to 1
        [broken_certno, "坏号", "310", "542500", "1", ""],  # 4
        [certno(4), "", "310", "542500", "1", ""],  # 5: no name
        [certno(5), "白玛", "320", "542500", "1", ""],  # 6: no such insutype
        [certno(1), "格桑", "310", "542500", "1", ""],  # 7: line 2 again
        [known["certno"], "李四", "310", "542500", "1", ""],  # 8: registered as 张三
        [certno(6), "央金", "310", "542500", "1", known["card_no"]],  # 9: someone's card
        [certno(7), "多吉", "310", "110000", "1", ""],  # 10: a region with no policy
        [resident["certno"], "李梅", "310", "542500", "1", ""],  # 11: registered as 390
    ])

    result = cli("import", "persons", str(path))

    assert result.exit_code == 1, result.output
    rejects = path.with_name("persons.rejects.csv")
    assert codes(rejects) == [(4, "INVALID_CERTNO"), (5, "INVALID_INPUT"), (6, "INVALID_INPUT"),
                              (7, "DUPLICATE_IN_FILE"), (8, "NAME_MISMATCH"), (9, "CARD_IN_USE"),
                              (10, "INVALID_REGION"), (11, "INSUTYPE_MISMATCH")]
    lines = read_rejects(rejects)
    assert lines[0] == ["行号", "原因代码", "原因", *PERSON_HEADER]
    assert lines[1][2] == "身份证号码不合法：校验码错误"
    assert lines[1][3:] == [broken_certno, "坏号", "310", "542500", "1", ""]
    assert "第 2 行" in lines[4][2]
    with world.ctx.read() as uow:
        gesang = uow.conn.execute(
            select(persons.c.card_no, accounts.c.balance_fen)
            .join(accounts, accounts.c.person_id == persons.c.id)
            .where(persons.c.certno == certno(1))).one()
        ciren = uow.conn.execute(select(persons.c.id, persons.c.psn_insu_stas)
                                 .where(persons.c.certno == certno(2))).one()
        ciren_accounts = uow.conn.execute(select(func.count()).where(
            accounts.c.person_id == ciren.id)).scalar_one()
    assert tuple(gesang) == ("CARD0001", 0)
    assert ciren.psn_insu_stas == "1" and ciren_accounts == 0


def test_reimporting_the_same_persons_file_changes_nothing(cli, world):
    path = cli.csv("persons.csv", PERSON_HEADER, [
        [certno(11), "格桑", "310", "542500", "1", "CARD0011"],
        [certno(12), "次仁", "390", "451000", "1", ""],
        [certno(13), "", "310", "542500", "1", ""],
    ])
    assert cli("import", "persons", str(path)).exit_code == 1
    before = table_counts(world)
    first_rejects = path.with_name("persons.rejects.csv").read_bytes()

    again = cli("import", "persons", str(path))

    assert again.exit_code == 1
    assert table_counts(world) == before
    assert path.with_name("persons.rejects.csv").read_bytes() == first_rejects
    assert "│    3 │    0 │    0 │    2 │    1 │" in again.output


def test_a_persons_file_updates_status_region_and_card_of_registered_persons(cli, world):
    helper = world.person("卓玛", credit="100")
    path = cli.csv("changes.csv", ["certno", "psn_name", "insutype", "insuplc_admdvs",
                                   "psn_insu_stas", "card_no"],
                   [[helper["certno"], "卓玛", "310", "542500", "2", "NEWCARD1"]], bom=False)

    result = cli("import", "persons", str(path))

    assert result.exit_code == 0, result.output
    assert not path.with_name("changes.rejects.csv").exists()
    person = reference.get_person(world.ctx, helper["psn_no"])
    assert (person["psn_insu_stas"], person["card_no"], person["balance"]) == ("2", "NEWCARD1",
                                                                              100.0)


@pytest.fixture
def auto_end(world):
    """Switch on the 2026 rule (bindings end when insurance ends or moves) for Ali: a
    version the operator publishes (in force from the world's day on)."""
    publish(world.ctx, "542500", {"auto_end_on_insurance_change": True})


def _binding_status(world, binding_id: int) -> str:  # noqa: ANN001
    with world.ctx.read() as uow:
        return uow.conn.execute(select(bindings.c.status).where(bindings.c.id == binding_id)
                                ).scalar_one()


def test_an_imported_region_move_ends_bindings_where_the_region_switched_the_rule_on(
        cli, world, auto_end):
    helper = world.person("卓玛", credit="100")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    binding_id = world.bind(helper, child, "child")
    path = cli.csv("moved.csv", PERSON_HEADER,
                   [[helper["certno"], "卓玛", "310", "451000", "1", ""]])

    assert cli("import", "persons", str(path)).exit_code == 0

    assert _binding_status(world, binding_id) == "ended"


def test_an_imported_status_change_keeps_bindings_while_the_rule_is_off(cli, world):
    helper = world.person("卓玛", credit="100")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    binding_id = world.bind(helper, child, "child")
    path = cli.csv("suspended.csv", PERSON_HEADER,
                   [[helper["certno"], "卓玛", "310", "542500", "2", ""]])

    assert cli("import", "persons", str(path)).exit_code == 0

    assert _binding_status(world, binding_id) == "active"


CREDIT_HEADER = ["psn_no", "certno", "amount", "ref"]


def test_importing_credits_from_excel_credits_each_account_once_per_reference(cli, world):
    helper = world.person("卓玛", credit="100")
    other = world.person("达瓦", credit="30")
    resident = world.person("平措", insutype="390")
    path = cli.xlsx("credits.xlsx", CREDIT_HEADER, [
        [helper["psn_no"], None, "200.50", "2025-06-A"],  # 2
        [None, other["certno"], 88, "2025-06-B"],  # 3: by ID number, a numeric cell
        ["99999", None, "10", "2025-06-C"],  # 4: nobody
        [resident["psn_no"], None, "10", "2025-06-D"],  # 5: a resident has no account
        [helper["psn_no"], None, "-5", "2025-06-E"],  # 6
        [helper["psn_no"], None, "1.234", "2025-06-F"],  # 7
        [helper["psn_no"], None, "50", f"seed-{helper['psn_no']}"],  # 8: ref used for 100
        [other["psn_no"], None, "30", f"seed-{other['psn_no']}"],  # 9: that credit again
        [helper["psn_no"], other["certno"], "10", "2025-06-G"],  # 10: two different people
        [other["psn_no"], None, "1", "2025-06-A"],  # 11: line 2's ref
        [other["psn_no"], None, "1", None],  # 12: no ref
    ])

    result = cli("import", "credits", str(path))

    assert result.exit_code == 1, result.output
    assert codes(path.with_name("credits.rejects.csv")) == [
        (4, "PERSON_NOT_FOUND"), (5, "NO_ACCOUNT"), (6, "INVALID_AMOUNT"), (7, "INVALID_AMOUNT"),
        (8, "CREDIT_REF_CONFLICT"), (10, "INVALID_INPUT"), (11, "DUPLICATE_IN_FILE"),
        (12, "INVALID_INPUT")]
    assert world.balances(helper, other) == [30050, 11800]
    assert not [r for r in verify(world.ctx) if r.total]

    before = table_counts(world)
    assert cli("import", "credits", str(path)).exit_code == 1
    assert table_counts(world) == before
    assert world.balances(helper, other) == [30050, 11800]
    # The REST call with an imported ref answers as the first credit did and moves nothing.
    answer = world.credit(helper, "200.50", "2025-06-A")
    assert answer["balance"] == 300.50 and world.balance_fen(helper) == 30050


def test_kinships_and_institutions_import_with_chinese_names_and_rerun_safely(cli, world):
    mother = world.person("卓玛")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    father = world.person("达瓦")
    world.kin(mother, father, "spouse")
    kin_path = cli.csv("kin.csv", ["公民身份号码", "亲属公民身份号码", "亲属关系"], [
        [mother["certno"], child["certno"], "子女"],  # 2
        [child["certno"], mother["certno"], "父母"],  # 3: the same pair
        [father["certno"], mother["certno"], "父母"],  # 4: registered as spouse
        [father["certno"], certno(99), "子女"],  # 5: nobody
        [father["certno"], child["certno"], "表亲"],  # 6: not a close relative
        [father["certno"], father["certno"], "配偶"],  # 7: oneself
    ])
    inst_path = cli.csv("inst.csv", ["定点医药机构编码", "定点医药机构名称", "机构类型",
                                     "医保区划"], [
        ["H54250009", "阿里地区第二人民医院", "医院", "542500"],
        ["P54250009", "狮泉河药店", "零售药店", "542500"],
        ["X1", "无类型", "诊所", "542500"],
    ])

    assert cli("import", "kinships", str(kin_path)).exit_code == 1
    assert cli("import", "institutions", str(inst_path)).exit_code == 1

    assert codes(kin_path.with_name("kin.rejects.csv")) == [
        (3, "DUPLICATE_IN_FILE"), (4, "KINSHIP_CONFLICT"), (5, "PERSON_NOT_FOUND"),
        (6, "INVALID_RELATION"), (7, "SELF_BINDING")]
    assert codes(inst_path.with_name("inst.rejects.csv")) == [(4, "INVALID_INPUT")]
    with world.ctx.read() as uow:
        assert repo.registered_relation(uow.conn, _id(world, child), _id(world, mother)) \
            == "parent"
    before = table_counts(world)
    assert cli("import", "kinships", str(kin_path)).exit_code == 1
    assert cli("import", "institutions", str(inst_path)).exit_code == 1
    assert table_counts(world) == before

    renamed = cli.csv("renamed.csv", ["fixmedins_code", "fixmedins_name", "fixmedins_type",
                                      "admdvs"],
                      [["H54250009", "阿里地区第二人民医院（新院区）", "hospital", "542500"],
                       ["P54250009", "狮泉河药店", "hospital", "542500"]])
    assert cli("import", "institutions", str(renamed)).exit_code == 1
    assert codes(renamed.with_name("renamed.rejects.csv")) == [(3, "INSTITUTION_EXISTS")]


def _id(world, person: dict) -> int:  # noqa: ANN001
    with world.ctx.read() as uow:
        return uow.conn.execute(select(persons.c.id).where(persons.c.psn_no == person["psn_no"])
                                ).scalar_one()


def test_a_file_that_cannot_be_read_imports_nothing(cli, world):
    missing = cli.csv("missing.csv", ["公民身份号码", "姓名"], [[certno(21), "格桑"]])
    utf16 = cli.tmp / "utf16.csv"  # neither UTF-8 nor GB18030
    utf16.write_bytes(("公民身份号码,姓名,险种类型,参保地医保区划\n"
                       f"{certno(22)},格桑,310,542500\n").encode("utf-16"))
    before = table_counts(world)

    no_columns = cli("import", "persons", str(missing))
    unreadable = cli("import", "persons", str(utf16))

    assert no_columns.exit_code == 2 and "险种类型" in no_columns.output
    assert unreadable.exit_code == 2 and "UTF-8" in unreadable.output
    assert table_counts(world) == before


def test_the_postgresql_bulk_path_and_the_row_path_reject_the_same_rows(make_pg_url, tmp_path):
    from support import World

    worlds = [World(make_pg_url()), World(make_pg_url())]
    persons_csv = tmp_path / "persons.csv"
    persons_csv.write_text("\n".join([
        ",".join(PERSON_HEADER),
        f"{certno(31)},格桑,310,542500,1,CARD31",
        f"{certno(32)},次仁,390,542500,1,",
        f"{certno(33)},,310,542500,1,",
        f"{certno(31)},格桑,310,542500,1,",
        f"{certno(34)},央金,310,542500,1,CARD31",
        f"{certno(35)},多吉,310,451000,2,",
    ]) + "\n", encoding="utf-8")
    credits_csv = tmp_path / "credits.csv"
    credits_csv.write_text("\n".join([
        "公民身份号码,划入金额,划入流水号",
        f"{certno(31)},12.30,R1",
        f"{certno(31)},7.70,R2",
        f"{certno(32)},5,R3",
        f"{certno(36)},5,R4",
        f"{certno(35)},0,R5",
        f"{certno(35)},9.99,R1",
        f"{certno(35)},9.99,R6",
    ]) + "\n", encoding="utf-8")
    outcomes = []
    try:
        for world, bulk in zip(worlds, (True, False), strict=True):
            rejects = tmp_path / f"rejects-{bulk}.csv"
            people = run_import(world.ctx, "persons", persons_csv, rejects_path=rejects,
                                bulk=bulk, batch_size=3)
            person_rejects = rejects.read_bytes()
            money = run_import(world.ctx, "credits", credits_csv, rejects_path=rejects,
                               bulk=bulk, batch_size=4)
            balance = world.balance_fen({"psn_no": _psn_no(world, certno(31))})
            outcomes.append((people.inserted, people.rejected, person_rejects, money.inserted,
                             money.rejected, rejects.read_bytes(), balance))
            assert not [r for r in verify(world.ctx) if r.total]
    finally:
        for world in worlds:
            world.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0:2] == (3, 3) and outcomes[0][3:5] == (3, 4)
    assert outcomes[0][6] == 2000


def _psn_no(world, number: str) -> str:  # noqa: ANN001
    with world.ctx.read() as uow:
        return uow.conn.execute(select(persons.c.psn_no).where(persons.c.certno == number)
                                ).scalar_one()


def test_a_rest_credit_racing_a_bulk_batch_with_the_same_ref_is_never_booked_twice(
        pg_url, tmp_path, monkeypatch):
    from gongji.services.operations import bulk
    from support import World

    world = World(pg_url)
    first, second = world.person("卓玛"), world.person("达瓦")
    path = tmp_path / "credits.csv"
    path.write_text(f"人员编号,划入金额,划入流水号\n{first['psn_no']},100,RACE-1\n",
                    encoding="utf-8")
    original = bulk._post_credit_batch
    attempts = []

    def racing(conn, count, now):  # noqa: ANN001, ANN202
        if not attempts:  # the REST credit commits between the batch's check and its insert
            world.credit(second, "5", "RACE-1")
        attempts.append(count)
        return original(conn, count, now)

    monkeypatch.setattr(bulk, "_post_credit_batch", racing)
    try:
        summary = run_import(world.ctx, "credits", path, bulk=True)
        assert (summary.inserted, summary.reasons) == (0, {"CREDIT_REF_CONFLICT": 1})
        assert attempts == [1]  # the retry saw the ref taken and booked nothing
        assert world.balances(first, second) == [0, 500]
        assert not [r for r in verify(world.ctx) if r.total]
    finally:
        world.close()


def test_the_rejects_file_cannot_be_the_file_imported(cli, world):
    people = cli.csv("people.csv", ["公民身份号码", "姓名", "险种类型", "参保地医保区划"],
                     [[certno(23), "格桑", "310", "542500"]])
    content = people.read_bytes()

    result = cli("import", "persons", str(people), "--rejects", str(people))

    assert result.exit_code == 2 and "拒绝文件" in result.output
    assert people.read_bytes() == content
