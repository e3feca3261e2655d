"""Group commit racing itself on a real PostgreSQL: two worker processes (two Contexts on one
database, each with its own engine and writer) batching settlements that share helpers.
Batches of one writer must never deadlock batches of the other (their locks are taken in one
order), every msgid settles exactly once even when its retry reaches both workers at once,
and the ledger stays sound: balances equal the journal, nothing below zero."""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from gongji.store.schema import accounts, settlements
from support import (
    Clock,
    World,
    ledger_violations,
    ok,
    record_batches,
    settlement_job,
    writer_held,
)

THREADS = 16
BILLS_PER_THREAD = 15


@pytest.fixture
def workers(pg_url):
    """Two "worker processes": the same database and clock, an engine and a Batcher each,
    batches of at most 16 commands."""
    clock = Clock()
    pair = [World(pg_url, clock, pool_size=8) for _ in range(2)]
    for world in pair:
        world.ctx.batch_max_size = 16  # before its Batcher is made (on the first command)
    yield pair
    for world in pair:
        world.close()


@pytest.fixture
def batches(monkeypatch):
    """Every batch either writer runs (both share the module's run_batch)."""
    return record_batches(monkeypatch)


def _personal_total(world: World) -> int:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.sum(accounts.c.balance_fen))
                                .where(accounts.c.kind == "personal")).scalar_one()


def _settled(world: World) -> dict[str, int]:
    with world.ctx.read() as uow:
        rows = uow.conn.execute(select(settlements.c.msgid, func.count())
                                .group_by(settlements.c.msgid)).all()
    return {row[0]: row[1] for row in rows}


def _family(world: World) -> list[dict]:
    """A hot helper (60.00 yuan) bound to eight relatives, and eight pairs of one helper
    (20.00 yuan) and one relative; four of those relatives are bound to a second helper of
    another pair too, so that bills in one batch touch helpers in every order."""
    hot = world.person("热门共济人", credit="60.00")
    patients = []
    for i in range(8):
        relative = world.person(f"亲属{i}", "390")
        world.bind(hot, relative, "child")
        patients.append(relative)
    helpers = [world.person(f"共济人{i}", credit="20.00") for i in range(8)]
    for i, helper in enumerate(helpers):
        relative = world.person(f"受助人{i}", "390")
        world.bind(helper, relative, "sibling")
        if i % 2:
            world.bind(helpers[(i + 3) % 8], relative, "grandchild")
        patients.append(relative)
    return patients


def test_two_workers_batching_shared_helpers_never_deadlock_or_settle_twice(
        workers, batches, caplog):
    caplog.set_level(logging.WARNING, logger="gongji.batch")
    codes = [workers[0].institution(f"H{i:04d}", "hospital") for i in range(4)]
    patients = _family(workers[0])
    before = _personal_total(workers[0])
    start = threading.Barrier(THREADS)

    def bills(thread: int) -> list[tuple[str, dict]]:
        """This thread's bills: every other one on the hot helper's relatives."""
        draw = random.Random(thread)
        world = workers[thread % 2]
        start.wait()
        answers = []
        for n in range(BILLS_PER_THREAD):
            patient = patients[draw.randrange(8) if n % 2 else draw.randrange(8, 16)]
            msgid = f"W{thread:02d}-{n:03d}"
            amount = f"{draw.randint(1, 9)}.{draw.randint(0, 99):02d}"
            answers.append((msgid, world.settle(codes[n % 4], patient, amount, msgid=msgid)))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        # an exception here (a deadlock, say) would be raised by .result() and fail the test
        answers = [a for f in [pool.submit(bills, t) for t in range(THREADS)] for a in f.result()]

    refused = {msgid: a["err_code"] for msgid, a in answers if a["infcode"] != 0}
    assert refused == {}
    assert len(answers) == THREADS * BILLS_PER_THREAD
    assert _settled(workers[0]) == {msgid: 1 for msgid, _ in answers}
    drawn = sum(round((a["output"]["setlinfo"]["acct_pay"]
                       + a["output"]["setlinfo"]["acct_mulaid_pay"]) * 100) for _, a in answers)
    assert before - _personal_total(workers[0]) == drawn  # what the answers say moved, did
    assert drawn == before  # the bills outweigh every helper: all of it was drawn, no more
    assert ledger_violations(workers[0]) == {}
    batch_sizes = [len(batch) for batch in batches]
    assert max(batch_sizes) > 1, batch_sizes  # group commit did happen
    # not even a batch failed and was split: locks are taken in one order, so no deadlock
    # (splitting would hide one from the callers, at the cost of a second of waiting)
    assert [r.getMessage() for r in caplog.records if r.name == "gongji.batch"] == []
    print(f"{len(batch_sizes)} batches for {len(answers)} settlements, "
          f"largest {max(batch_sizes)}")


def test_a_retry_sent_to_both_workers_at_once_settles_once(workers):
    code = workers[0].institution("H0100", "hospital")
    helper = workers[0].person("共济人", credit="100.00")
    patient = workers[0].person("亲属", "390")
    workers[0].bind(helper, patient, "spouse")
    rounds = 30
    for run in range(rounds):
        msgid = f"TWICE-{run:03d}"
        start = threading.Barrier(4)

        def send(world: World, msgid: str = msgid, start: threading.Barrier = start) -> dict:
            start.wait()
            return world.settle(code, patient, "1.00", msgid=msgid)

        # two copies to each worker: repeats within one writer's queue and across the two
        with ThreadPoolExecutor(4) as pool:
            copies = list(pool.map(send, [workers[0], workers[1]] * 2))
        outputs = [ok(copy) for copy in copies]
        assert all(output == outputs[0] for output in outputs), run
    assert _settled(workers[0]) == {f"TWICE-{run:03d}": 1 for run in range(rounds)}
    assert workers[0].balance_fen(helper) == 10000 - rounds * 100
    assert ledger_violations(workers[0]) == {}


def test_batches_claiming_the_same_msgids_in_opposite_orders_wait_and_never_deadlock(
        workers, caplog):
    """The same eight msgids reach both workers, in opposite orders, and each worker runs
    them as one batch, both at once: the claims are taken in key order, so one batch waits
    for the other and then answers every copy from its first answer - no deadlock, no split,
    each bill settled once."""
    caplog.set_level(logging.WARNING, logger="gongji.batch")
    code = workers[0].institution("H0200", "hospital")
    helper = workers[0].person("共济人", credit="100.00")
    patients = [workers[0].person(f"亲属{i}", "390") for i in range(4)]
    for patient in patients:
        workers[0].bind(helper, patient, "child")
    for run in range(5):
        msgids = [f"ORDER-{run}-{i}" for i in range(8)]
        bills = {m: patients[i % 4] for i, m in enumerate(msgids)}
        batchers = [world.ctx.batcher for world in workers]
        with writer_held(*batchers):
            futures = {
                (side, m): batchers[side].submit(
                    settlement_job(workers[side], code, bills[m], "1.00", m))
                for side, order in ((0, msgids), (1, msgids[::-1])) for m in order}
        answers = {key: future.result(30) for key, future in futures.items()}
        for m in msgids:
            assert answers[(0, m)] == answers[(1, m)], m
    assert _settled(workers[0]) == {f"ORDER-{r}-{i}": 1 for r in range(5) for i in range(8)}
    assert workers[0].balance_fen(helper) == 10000 - 40 * 100
    assert [r.getMessage() for r in caplog.records if r.name == "gongji.batch"] == []
    assert ledger_violations(workers[0]) == {}
