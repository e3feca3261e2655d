"""No secret is ever defaulted: the real `gongji serve` process refuses to start without an
operator token, or with a well-known or short one; only `--demo` makes one up, a new
random one at every start, so a demo's token is worthless to the next demo."""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest

from service import GongjiServer

TOKEN = re.compile(r"demo-admin-[A-Za-z0-9_-]{20,}")


@pytest.mark.parametrize("admin_token", [None, "", "changeme", "admin", "short-token-1"],
                         ids=["unset", "empty", "changeme", "admin", "too-short"])
def test_serve_exits_with_an_error_without_a_proper_operator_token(tmp_path, admin_token):
    server = GongjiServer(f"sqlite:///{tmp_path}/gongji.db", tmp_path / "serve.log",
                          admin_token=admin_token)

    proc = server.launch()
    try:
        returncode = proc.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
        pytest.fail(f"gongji serve started without a proper token:\n{server.log_tail()}")

    assert returncode != 0
    assert "GONGJI_ADMIN_TOKEN" in server.log_path.read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base_url}/healthz", timeout=1.0)


def test_each_demo_start_makes_a_new_random_operator_token(tmp_path):
    seen = []
    for start in range(2):
        server = GongjiServer(f"sqlite:///{tmp_path}/demo.db", tmp_path / f"demo{start}.log",
                              admin_token=None, extra_args=("--demo",))
        server.env["COLUMNS"] = "300"  # the printed table keeps each token on one line
        server.start()
        try:
            [token] = set(TOKEN.findall(server.log_path.read_text()))
            seen.append(token)
            persons = [httpx.get(f"{server.base_url}/api/v1/persons/nobody", timeout=10,
                                 headers={"Authorization": f"Bearer {t}"}).status_code
                       for t in seen]
        finally:
            server.stop()
        assert persons[-1] == 404  # this start's token is the operator's
        assert persons[:-1] == [401] * start  # the earlier start's is nobody's

    assert seen[0] != seen[1]
