"""The other commands: db, demo, serve's refusal, token issue, export entries,
report monthly, credit reverse."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from gongji.api.auth import decode_token
from gongji.services.clock import utc_now
from gongji.settings import Settings
from gongji.store.schema import persons
from support import ok

ADMIN = "cli-test-admin-token-0123456789"


def test_db_upgrade_and_current_name_the_revisions(cli):
    upgraded = cli("db", "upgrade")
    current = cli("db", "current")

    assert upgraded.exit_code == 0 and current.exit_code == 0
    assert "0013" in current.output and "0001" not in current.output


def test_demo_seeds_families_of_both_regions_once(cli, world):
    def people() -> list:
        with world.ctx.read() as uow:
            return uow.conn.execute(select(persons.c.certno, persons.c.insuplc_admdvs)
                                    .order_by(persons.c.id)).all()

    assert cli("demo").exit_code == 0
    seeded = people()
    assert cli("demo").exit_code == 0
    assert {row.insuplc_admdvs for row in seeded} == {"542500", "451000"}
    assert people() == seeded


def test_serve_refuses_to_start_without_an_operator_token(cli):
    result = cli("serve", env={"GONGJI_ADMIN_TOKEN": "changeme"})

    assert result.exit_code != 0
    assert "GONGJI_ADMIN_TOKEN" in result.output


def test_token_issue_prints_a_token_the_server_accepts(cli, world):
    person = world.person("卓玛")

    result = cli("token", "issue", "--role", "person", "--subject", person["psn_no"],
                 "--ttl-s", "600", env={"GONGJI_ADMIN_TOKEN": ADMIN})

    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    principal = decode_token(Settings(admin_token=ADMIN).signing_key, ADMIN, token, utc_now())
    assert (principal.role, principal.subject) == ("person", person["psn_no"])


def test_token_issue_refuses_an_unknown_subject_and_a_weak_secret(cli):
    unknown = cli("token", "issue", "--role", "person", "--subject", "nobody",
                  env={"GONGJI_ADMIN_TOKEN": ADMIN})
    weak = cli("token", "issue", "--role", "clerk", "--subject", "c1", "--admdvs", "542500",
               env={"GONGJI_ADMIN_TOKEN": "admin"})

    assert unknown.exit_code == 1 and "PERSON_NOT_FOUND" in unknown.output
    assert weak.exit_code != 0 and "GONGJI_ADMIN_TOKEN" in weak.output


def test_token_issue_refuses_a_subject_with_a_control_character(cli):
    result = cli("token", "issue", "--role", "person", "--subject", "psn\x00no",
                 env={"GONGJI_ADMIN_TOKEN": ADMIN})

    assert result.exit_code == 1
    assert "INVALID_INPUT" in result.output


def _family(world):  # noqa: ANN001, ANN202
    helper = world.person("卓玛", credit="1000")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    world.bind(helper, child, "child")
    return helper, child


def test_export_entries_writes_a_persons_entries_as_csv_and_excel(cli, world):
    helper, child = _family(world)
    hospital = world.institution()
    ok(world.settle(hospital, child, "300"))
    out_csv, out_xlsx = cli.tmp / "entries.csv", cli.tmp / "entries.xlsx"

    as_csv = cli("export", "entries", "--psn-no", helper["psn_no"], "--from", "2025-06-01",
                 "--to", "2025-06-30", "--out", str(out_csv))
    as_xlsx = cli("export", "entries", "--psn-no", helper["psn_no"], "--out", str(out_xlsx))
    nobody = cli("export", "entries", "--psn-no", "0", "--out", str(out_csv))

    assert as_csv.exit_code == 0 and as_xlsx.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(out_csv.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:3] == ["时间", "类型", "金额（元）"]
    assert [(r[1], r[2]) for r in rows[1:]] == [("结算支付", "-300.00"),
                                               ("个人账户划入", "1000.00")]
    sheet = load_workbook(out_xlsx).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [-300, 1000]
    assert nobody.exit_code == 1 and "PERSON_NOT_FOUND" in nobody.output


def test_report_monthly_writes_the_figures_and_a_chart(cli, world):
    helper, child = _family(world)
    hospital = world.institution()
    pharmacy = world.institution("P54250001", "pharmacy")
    ok(world.settle(hospital, child, "300"))
    ok(world.settle(hospital, child, "100"))
    ok(world.settle(pharmacy, child, "50", infno="2102"))
    undone = world.settle(pharmacy, child, "20", infno="2102")
    ok(world.reverse(pharmacy, undone, child, infno="2103"))
    table, chart = cli.tmp / "june.csv", cli.tmp / "june.png"

    result = cli("report", "monthly", "--region", "542500", "--month", "2025-06",
                 "--out", str(table), "--chart", str(chart))
    excel = cli("report", "monthly", "--region", "542500", "--month", "2025-06",
                "--out", str(cli.tmp / "june.xlsx"), "--chart", str(chart))
    empty = cli("report", "monthly", "--region", "451000", "--month", "2025-06",
                "--out", str(cli.tmp / "baise.csv"), "--chart", str(cli.tmp / "baise.png"))
    bad = cli("report", "monthly", "--region", "542500", "--month", "2025-13")

    assert result.exit_code == 0 and excel.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(table.read_bytes().decode("utf-8-sig"))))
    assert rows[1:] == [
        ["共济关系", "新建", "1", ""], ["共济关系", "解绑", "0", ""],
        ["共济关系", "参保变动终止", "0", ""],
        ["共济使用", "门诊（定点医院）", "2", "400.00"],
        ["共济使用", "购药（定点零售药店）", "1", "50.00"],
        ["共济使用", "住院（定点医院）", "0", "0.00"],
        ["共济使用", "代缴居民医保费", "0", "0.00"],
        ["机构排名", "H54250001 H54250001", "2", "400.00"],
        ["机构排名", "P54250001 P54250001", "1", "50.00"]]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_workbook(cli.tmp / "june.xlsx").active["D6"].value == 400
    assert empty.exit_code == 0 and "门诊（定点医院）,0,0.00" in (
        cli.tmp / "baise.csv").read_bytes().decode("utf-8-sig")
    assert bad.exit_code == 1 and "INVALID_INPUT" in bad.output


def test_credit_reverse_takes_a_wrong_credit_back_once_and_never_spent_money(cli, world):
    helper, child = _family(world)
    world.credit(helper, "200", "2025-06-wrong")
    world.credit(helper, "500", "2025-06-spent")

    reversed_once = cli("credit", "reverse", "2025-06-wrong")
    again = cli("credit", "reverse", "2025-06-wrong")
    ok(world.settle(world.institution(), child, "1600"))
    spent = cli("credit", "reverse", "2025-06-spent")
    unknown = cli("credit", "reverse", "2025-06-none")

    assert reversed_once.exit_code == 0, reversed_once.output
    assert "退回 200.00 元" in reversed_once.output
    assert again.exit_code == 1 and "CREDIT_ALREADY_REVERSED" in again.output
    assert spent.exit_code == 1 and "CREDIT_SPENT" in spent.output
    assert unknown.exit_code == 1 and "CREDIT_NOT_FOUND" in unknown.output
    assert world.balance_fen(helper) == 0
    assert cli("verify").exit_code == 0
