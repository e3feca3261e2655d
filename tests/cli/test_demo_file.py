"""`gongji serve --demo` (what `make run` runs): one identity a line, never wrapped, the same
in the demo file scripts read, its tokens accepted; and demo ID numbers whose sex digit
(the 17th, GB 11643: odd for men, even for women) matches the person."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from gongji.cli import app
from gongji.domain.idcard import validate_certno
from gongji.services.operations import demo
from gongji.store.schema import persons
from pgserver import free_port

GONGJI = Path(sys.executable).with_name("gongji")

# Written out here, not read from the demo data: who is a man and who a woman.
SEX = {"卓玛": "F", "达瓦": "M", "平措": "M", "次仁央宗": "F", "扎西": "M",
       "黄丽": "F", "农伟": "M", "黄小明": "M", "欧阳芳": "F"}


def sex_of(certno: str) -> str:
    return "M" if int(validate_certno(certno)[16]) % 2 else "F"


def test_every_demo_persons_sex_digit_matches_their_sex(cli, world):
    names = {member[0]: member[1] for family in demo.FAMILIES.values()
             for member in family["members"]}
    assert sorted(names.values()) == sorted(SEX)
    assert {key: SEX[names[key]] for key in names} == demo.sexes()
    assert {names[key]: sex_of(certno) for key, certno in demo.certnos().items()} == SEX

    assert cli("demo").exit_code == 0
    with world.ctx.read() as uow:
        stored = uow.conn.execute(select(persons.c.psn_name, persons.c.certno)).all()
    assert {row.psn_name: sex_of(row.certno) for row in stored} == SEX


def _serve_demo_in_process(monkeypatch, tmp_path: Path, columns: str):  # noqa: ANN202
    """`gongji serve --demo` through CliRunner, uvicorn replaced: the app it would serve."""
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda application, **kw: served.update(app=application))
    monkeypatch.setattr("gongji.api.observability.configure_logging", lambda *a, **kw: None)
    demo_file = tmp_path / "out" / "demo.json"
    result = CliRunner().invoke(
        app, ["serve", "--demo", "--db", f"sqlite:///{tmp_path}/demo.db",
              "--demo-file", str(demo_file)],
        env={"COLUMNS": columns, "GONGJI_ADMIN_TOKEN": None, "GONGJI_SECRET_KEY": None,
             "GONGJI_DEMO": None, "GONGJI_DB_URL": None},
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return served["app"], result.stdout, json.loads(demo_file.read_text(encoding="utf-8"))


def _tokens(data: dict) -> list[str]:
    return [data["operator"]["token"]] + [entry["token"] for group in
                                          ("persons", "institutions", "clerks")
                                          for entry in data[group].values()]


def test_the_demo_files_tokens_work(monkeypatch, tmp_path):
    application, _, data = _serve_demo_in_process(monkeypatch, tmp_path, "250")
    mother, child = data["persons"]["zhuoma"], data["persons"]["pingcuo"]
    hospital = data["institutions"]["H54250001"]
    assert (mother["psn_name"], child["psn_name"]) == ("卓玛", "平措")
    assert hospital["admdvs"] == "542500"
    assert data["clerks"]["clerk-542500"]["admdvs"] == "542500"

    with TestClient(application) as client:
        account = client.get("/api/v1/account",
                             headers={"Authorization": f"Bearer {mother['token']}"})
        assert account.status_code == 200, account.text
        assert mother["psn_no"] in account.text
        envelope = {"infno": "1101", "msgid": "H54250001-demo-1101",
                    "mdtrtarea_admvs": "542500", "insuplc_admdvs": "542500",
                    "fixmedins_code": "H54250001", "opter": "001",
                    "inf_time": "2025-06-01 10:00:00",
                    "input": {"data": {"mdtrt_cert_type": "02",
                                       "mdtrt_cert_no": child["certno"]}}}
        answer = client.post("/fsi/api/rsfComIfsService/callService", json=envelope,
                             headers={"Authorization": f"Bearer {hospital['token']}"}).json()
        assert answer["infcode"] == 0, answer
        assert answer["output"]["baseinfo"]["psn_no"] == child["psn_no"]
        operator = client.get("/api/v1/persons/nobody",
                              headers={"Authorization": f"Bearer {data['operator']['token']}"})
        assert operator.status_code == 404  # the operator's token: known, nobody by that number


def test_printed_lines_are_whole_at_40_columns(monkeypatch, tmp_path):
    _, output, data = _serve_demo_in_process(monkeypatch, tmp_path, "40")
    lines = output.splitlines()
    identities = [line.split("\t") for line in lines if not line.startswith("#")]

    assert len(identities) == 1 + len(data["persons"]) + len(data["institutions"]) + len(
        data["clerks"])
    for token in _tokens(data):
        assert sum(token in line for line in lines) == 1, token
        assert token in {fields[-1] for fields in identities}
    people = {fields[1]: fields for fields in identities if fields[0] == "person"}
    for person in data["persons"].values():
        assert people[person["psn_name"]] == ["person", person["psn_name"], person["psn_no"],
                                              person["certno"], person["token"]]
    assert ["institution", "阿里地区人民医院", "H54250001", "542500",
            data["institutions"]["H54250001"]["token"]] in identities
    assert ["clerk", "经办人员", "clerk-451000", "451000",
            data["clerks"]["clerk-451000"]["token"]] in identities
    assert any(str((tmp_path / "out" / "demo.json").resolve()) in line for line in lines)


def test_make_run_prints_whole_lines_and_writes_the_file_beside_the_database(tmp_path):
    """The real process, its output a file (not a terminal) and COLUMNS=40."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGJI_")}
    env["COLUMNS"] = "40"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(GONGJI), "serve", "--demo", "--db", f"sqlite:///{tmp_path}/gongji.db",
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        demo_file = tmp_path / "gongji-demo.json"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        data = json.loads(demo_file.read_text(encoding="utf-8"))
        lines = log.read_text(encoding="utf-8").splitlines()
        for token in _tokens(data):
            assert sum(token in line for line in lines) == 1, token
        child = data["persons"]["pingcuo"]
        assert "\t".join(["person", "平措", child["psn_no"], child["certno"],
                          child["token"]]) in lines
        assert demo_file.stat().st_mode & 0o077 == 0  # it holds the operator's token
        account = httpx.get(f"http://127.0.0.1:{port}/api/v1/account", timeout=10,
                            headers={"Authorization": f"Bearer {child['token']}"})
        assert account.status_code == 200, account.text
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(30)
