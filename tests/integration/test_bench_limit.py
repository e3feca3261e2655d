"""The benchmark's world and its limit function do what the service does (bench/)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from gongji.api import gateway
from gongji.services.context import Context
from gongji.store.db import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench/
from bench import dataset, limit  # noqa: E402
from bench.sqlite_mode import envelope  # noqa: E402


def test_the_world_has_families_of_two_to_five_and_one_to_three_helpers_each():
    world, rows = dataset.build(3000)
    assert world.persons == len(rows.persons) == 3000
    helpers = Counter(row[2] for row in rows.bindings)  # beneficiary -> bindings
    assert set(helpers.values()) <= {1, 2, 3}
    assert len(world.hot_patients) == 4
    hot_helpers = {row[1] for row in rows.bindings if row[2] > 3000 - 4}
    assert len(hot_helpers) == 1
    by_txn = Counter()
    for posting in rows.postings:
        by_txn[posting[0]] += posting[2]
    assert set(by_txn.values()) == {0}


@pytest.fixture
def loaded(pg_url):
    engine = make_engine(pg_url)
    world = dataset.load(engine, 300)
    limit.install(engine, world)
    yield engine, world
    engine.dispose()


def _balances(engine) -> dict[str, int]:  # noqa: ANN001
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT p.psn_no, a.balance_fen FROM accounts a JOIN persons p ON p.id = a.person_id"
        )).all())


def test_the_limit_function_settles_a_bill_as_the_service_would(loaded):
    import random

    engine, world = loaded
    ctx = Context(engine)
    rng = random.Random(5)
    for n in range(20):
        code, body = envelope(rng, world, f"T{n}")
        bill = json.loads(body)["input"]["data"]
        pre = json.loads(body) | {"infno": "2206", "msgid": f"P{n}"}
        _, quoted = gateway.process(ctx, code, json.dumps(pre).encode())
        assert quoted["infcode"] == 0, quoted
        before = _balances(engine)
        with engine.begin() as conn:
            answer = json.loads(conn.execute(text(
                "SELECT bench_settle(:code, '2207', :msgid, :psn_no, '02', :certno, :fee, :own,"
                " :inscp)"), {
                "code": code, "msgid": f"L{n}", "psn_no": bill["psn_no"],
                "certno": bill["mdtrt_cert_no"], "fee": _fen(bill["medfee_sumamt"]),
                "own": _fen(bill["fulamt_ownpay_amt"]), "inscp": _fen(bill["inscp_scp_amt"]),
            }).scalar_one())
        expected, got = quoted["output"], answer
        for field in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc"):
            assert float(got["setlinfo"][field]) == expected["setlinfo"][field], field
        assert [(d["helper_psn_no"], float(d["amount"])) for d in got["mulaid_detail"]] == \
            [(d["helper_psn_no"], d["amount"]) for d in expected["mulaid_detail"]]
        after = _balances(engine)
        for detail in expected["mulaid_detail"]:
            drawn = before[detail["helper_psn_no"]] - after[detail["helper_psn_no"]]
            assert drawn == _fen(str(detail["amount"]))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(amount_fen) FROM postings")).scalar() == 0


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def test_the_writer_bench_settles_whole_batches_and_counts_cpu(db_url, monkeypatch):
    """bench/writer.py: every batch settles in full, its CPU is counted, and the ledger
    stays sound; the server's CPU is read from /proc for a process and its children."""
    import os

    from bench import writer
    from support import World, ledger_violations

    monkeypatch.setattr(writer, "BATCHES", 3)
    monkeypatch.setattr(writer, "WARM", 1)
    engine = make_engine(db_url)
    try:
        result = writer.run(engine, dataset.load(engine, 300), None)
    finally:
        engine.dispose()
    assert result["settlements"] == 3 * writer.BATCH and result["python_ms"] > 0
    assert writer._tree_cpu_s(os.getpid()) > 0
    check = World(db_url)
    try:
        assert ledger_violations(check) == {}
        with check.ctx.read() as uow:
            settled = uow.conn.execute(text(
                "SELECT count(*) FROM settlements WHERE msgid LIKE 'w%'")).scalar_one()
        assert settled == 4 * writer.BATCH  # the warm-up batch and the three measured
    finally:
        check.close()
