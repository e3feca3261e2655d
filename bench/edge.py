"""The edge's own cost per request (python -m bench.edge): the app called in-process, with
no server and no socket, on requests that stop before the database.

- gateway: a well-formed envelope for an infno nobody serves (9999) from an institution
  with a valid token: routing, the three middlewares, the token, the body guard, the
  dependencies, the envelope's parse and its refusal, the JSON answer and the log line.
- healthz: GET /healthz, the smallest answer there is.

The access log goes through the JSON formatter to /dev/null, as `serve` formats it. Prints
CPU microseconds per request (the best of --rounds, each of --requests) for each path.

--http: the same two requests through `gongji serve` (one process: uvloop, httptools, the
log to a file) driven by wrk over keep-alive connections; prints the server process's CPU
microseconds per request and the rate (which the client, on the same cores, holds down).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from gongji.api.auth import issue_token
from gongji.api.observability import configure_logging
from gongji.app import create_app
from gongji.settings import Settings

ADMIN = "bench-edge-admin-token-0123456789"
GATEWAY = "/fsi/api/rsfComIfsService/callService"
HOSPITAL = "H45010000001"


def _envelope() -> bytes:
    return json.dumps({
        "infno": "9999", "msgid": "edge-1", "mdtrtarea_admvs": "450100",
        "insuplc_admdvs": "450100", "fixmedins_code": HOSPITAL, "opter": "bench",
        "inf_time": "2025-06-01 10:00:00",
        "input": {"data": {"psn_no": "45000000000000000001", "mdtrt_cert_type": "02",
                           "medfee_sumamt": "120.00", "acct_used_flag": "1"}}}).encode()


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": method, "scheme": "http", "path": path,
            "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}


async def _call(app, method: str, path: str, headers: list, body: bytes) -> int:  # noqa: ANN001
    sent: list[dict] = []
    given = False

    async def receive() -> dict:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(_scope(method, path, list(headers)), receive, send)
    return sent[0]["status"]


async def _per_request_us(app, method: str, path: str, headers: list, body: bytes,  # noqa: ANN001
                          expected: int, requests: int) -> float:
    assert await _call(app, method, path, headers, body) == expected  # warm, and checked
    started = time.process_time()  # CPU of the whole process (pool threads too), not the
    for _ in range(requests):      # wall clock: others' load on the machine counts less
        await _call(app, method, path, headers, body)
    return (time.process_time() - started) / requests * 1e6


def _app(folder: Path):  # noqa: ANN202
    settings = Settings(admin_token=ADMIN, db_url=f"sqlite:///{folder / 'edge.db'}")
    configure_logging(settings.log_json)
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115
    return create_app(settings)


async def _measure(app, requests: int, rounds: int) -> dict[str, float]:  # noqa: ANN001
    token, _ = issue_token(app.state.settings.signing_key, "institution", HOSPITAL, 3600,
                           datetime.now(UTC))
    body = _envelope()
    post = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), (b"user-agent", b"wrk")]
    get = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk")]
    best = {"gateway": float("inf"), "healthz": float("inf")}
    for _ in range(rounds):
        best["gateway"] = min(best["gateway"], await _per_request_us(
            app, "POST", GATEWAY, post, body, 200, requests))
        best["healthz"] = min(best["healthz"], await _per_request_us(
            app, "GET", "/healthz", get, b"", 200, requests))
    return best


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, seconds: int, connections: int, script: Path | None) -> int:
    from bench.service import wrk_binary

    args = [wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds}s", url]
    out = subprocess.run(args + (["-s", str(script)] if script else []), capture_output=True,
                         text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw refusals:\n{out}")
    return int(next(line for line in out.splitlines() if "requests in" in line).split()[0])


def over_http(seconds: int, connections: int) -> dict[str, dict]:
    from bench.service import ADMIN_TOKEN, SECRET_KEY, Service

    key = Settings(admin_token=ADMIN_TOKEN, secret_key=SECRET_KEY).signing_key
    token, _ = issue_token(key, "institution", HOSPITAL, 3600, datetime.now(UTC))
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "edge.lua"
        script.write_text(f'wrk.method = "POST"\nwrk.body = [[{_envelope().decode()}]]\n'
                          'wrk.headers["Content-Type"] = "application/json"\n'
                          f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        with Service(f"sqlite:///{folder}/edge.db", 1, Path(folder) / "serve.log") as served:
            for name, path, lua in (("gateway", GATEWAY, script), ("healthz", "/healthz", None)):
                _wrk(served.base + path, 1, connections, lua)  # warm
                before = _cpu_s(served.proc.pid)
                answered = _wrk(served.base + path, seconds, connections, lua)
                spent = _cpu_s(served.proc.pid) - before
                found[name] = {"server_cpu_us": round(spent / answered * 1e6, 1),
                               "per_s": round(answered / seconds)}
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.edge", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="uvloop")
    parser.add_argument("--http", action="store_true", help="through gongji serve and wrk")
    parser.add_argument("--seconds", type=int, default=6, help="--http: per path")
    parser.add_argument("--connections", type=int, default=8, help="--http: wrk's")
    args = parser.parse_args(argv)
    if args.http:
        print(json.dumps(over_http(args.seconds, args.connections)
                         | {"connections": args.connections}, ensure_ascii=False))
        return
    with tempfile.TemporaryDirectory() as folder:
        app = _app(Path(folder))
        if args.loop == "uvloop":
            import uvloop

            best = uvloop.run(_measure(app, args.requests, args.rounds))
        else:
            best = asyncio.run(_measure(app, args.requests, args.rounds))
        app.state.ctx.engine.dispose()
    print(json.dumps({name: round(us, 1) for name, us in best.items()}
                     | {"unit": "CPU µs/request", "loop": args.loop, "requests": args.requests,
                        "rounds": args.rounds}, ensure_ascii=False))


if __name__ == "__main__":
    main()
