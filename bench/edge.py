"""The edge's own cost per request (python -m bench.edge): the app called in-process, with
no server and no socket, on requests that stop before the database.

- gateway: a well-formed envelope for an infno nobody serves (9999) from an institution
  with a valid token: routing, the three middlewares, the token, the body guard, the
  dependencies, the envelope's parse and its refusal, the JSON answer and the log line.
- healthz: GET /healthz, the smallest answer there is.

The access log goes through the JSON formatter to /dev/null, as `serve` formats it. Prints
CPU microseconds per request (the best of --rounds, each of --requests) for each path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.edge", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="uvloop")
    args = parser.parse_args(argv)
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
