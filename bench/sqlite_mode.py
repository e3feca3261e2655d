"""The embedded SQLite mode: the same world and settlements, through HTTP and in-process."""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
from argparse import Namespace
from pathlib import Path

from bench import dataset, service
from bench.dataset import World
from gongji.api import gateway
from gongji.services.context import Context
from gongji.store.db import make_engine
from gongji.store.migrate import upgrade


def run(opts: Namespace, work: Path, stamp: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="gongji-bench-sqlite-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        started = time.monotonic()
        world = dataset.load(engine, opts.persons)
        load_s = round(time.monotonic() - started, 1)
        files = service.write_inputs(world, work / "sqlite")
        http = []
        # One process: SQLite has one writer anyway.
        with service.Service(url, 1, files["patients"].parent / "service.log") as svc:
            service.run_wrk(svc.base, 8, opts.warmup, files["patients"], files["hospitals"],
                            f"sw{stamp}")
            for clients in (1, 8):
                result = service.run_wrk(svc.base, clients, opts.seconds, files["patients"],
                                         files["hospitals"], f"s{clients}-{stamp}")
                http.append({"clients": clients, "service": result})
        in_process = settle_in_process(Context(engine), world, opts.seconds, f"sp{stamp}")
        engine.dispose()
    return {"persons": world.persons, "load_s": load_s, "http": http, "in_process": in_process}


def envelope(rng: random.Random, world: World, msgid: str) -> tuple[str, bytes]:
    """The same random 2207 the wrk script sends: (institution code, body)."""
    psn_no, certno, admdvs = rng.choice(world.patients)
    code = rng.choice(world.hospitals[admdvs])
    fee = rng.randint(5000, 30000)
    inscp = fee * rng.randint(60, 90) // 100

    def yuan(fen: int) -> str:
        return f"{fen // 100}.{fen % 100:02d}"

    body = {"infno": "2207", "msgid": msgid, "mdtrtarea_admvs": admdvs,
            "insuplc_admdvs": admdvs, "fixmedins_code": code, "opter": "bench",
            "inf_time": "2025-06-01 10:00:00",
            "input": {"data": {"psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno,
                               "medfee_sumamt": yuan(fee), "fulamt_ownpay_amt": yuan(fee - inscp),
                               "overlmt_selfpay": "0", "preselfpay_amt": "0",
                               "inscp_scp_amt": yuan(inscp), "acct_used_flag": "1"}}}
    return code, json.dumps(body).encode()


def settle_in_process(ctx: Context, world: World, seconds: float, tag: str,
                      threads: int = 8) -> dict:
    """gateway.process from `threads` threads at once: the service without HTTP, its batch
    writer fed as a loaded server's would be."""
    done, failed = [0] * threads, [0] * threads
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(11 + n)
        while time.monotonic() < deadline:
            code, body = envelope(rng, world, f"{tag}-{n}-{done[n] + failed[n]}")
            _, answer = gateway.process(ctx, code, body)
            if answer["infcode"] == 0:
                done[n] += 1
            else:
                failed[n] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return {"per_s": round(sum(done) / elapsed, 1), "count": sum(done),
            "failed": sum(failed), "threads": threads}
