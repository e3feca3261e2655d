"""`gongji policy show | publish | apply-due`: the operator's commands for policy versions
(the real clock: a version must take effect today or later)."""

from __future__ import annotations

import json
from datetime import timedelta

from gongji.services.clock import local_date, utc_now

ALI = "542500"


def test_show_prints_the_version_in_force_as_json(cli):
    result = cli("policy", "show", ALI)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["admdvs"] == ALI and shown["rules"]["channels"][1] == "mini_program"
    assert "seed 000" in shown["sources"]["channels"]


def test_publish_takes_a_file_in_the_shipped_format_and_keeps_its_sources(cli):
    tomorrow = local_date(utc_now()) + timedelta(days=1)
    path = cli.tmp / "ali-2027.toml"
    path.write_text('''
[admdvs]
value = "542500"
source = "阿里地区"

[premium_yuan_by_year.2027]
value = 420
source = "阿里地区医疗保障局 2027 年度居民医保缴费通知（示例）"
example = true
''', encoding="utf-8")
    result = cli("policy", "publish", str(path), "--effective-from", tomorrow.isoformat())
    assert result.exit_code == 0, result.output
    assert "premium_yuan_by_year" in result.output
    now = json.loads(cli("policy", "show", ALI).output)
    assert now["rules"]["premium_yuan_by_year"] == {"2025": 400, "2026": 400}
    then = json.loads(cli("policy", "show", ALI, "--date", tomorrow.isoformat()).output)
    assert then["rules"]["premium_yuan_by_year"] == {"2027": 420}
    assert then["sources"]["premium_yuan_by_year.2027"].startswith("阿里地区医疗保障局")
    assert "premium_yuan_by_year.2027" in then["examples"]
    assert "premium_yuan_by_year.2025" not in then["sources"]


def test_a_bad_file_is_refused_with_the_rule_and_nothing_is_published(cli):
    path = cli.tmp / "bad.toml"
    path.write_text('[admdvs]\nvalue = "542500"\nsource = "x"\n\n'
                    '[invitation_expiry_days]\nvalue = 0\nsource = "x"\n', encoding="utf-8")
    today = local_date(utc_now()).isoformat()
    result = cli("policy", "publish", str(path), "--effective-from", today)
    assert result.exit_code == 1 and "INVALID_POLICY" in result.output
    assert "invitation_expiry_days" in result.output
    assert json.loads(cli("policy", "show", ALI).output)["effective_from"] == "2000-01-01"


def test_apply_due_runs_and_says_how_many_relations_it_ended(cli):
    result = cli("policy", "apply-due")
    assert result.exit_code == 0 and "终止共济关系 0 个" in result.output
