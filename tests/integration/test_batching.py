"""Group commit (services/batching.py) on SQLite and PostgreSQL: several exactly-once commands
in one transaction, each answered on its own - a refusal refuses only its command, a database
error fails only the command at fault, a failed COMMIT loses nothing, a repeated msgid is
answered from its first answer, and the commands of one batch see each other: bills on one
helper or one patient, and a credit, a premium or a reversal between them.

Jobs are built with gateway.accept (support.accepted) and run together by calling
batching.run_batch, or queued on the Batcher while its writer is held busy (writer_held),
so that what forms one batch is decided by the test, not by timing."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from gongji.domain.errors import DomainError, refuse
from gongji.services import batching
from gongji.services.batching import Batcher, Job
from gongji.services.money import premium
from gongji.store import writebehind
from gongji.store.schema import idempotency, postings, settlements
from gongji.store.uow import UnitOfWork
from support import (
    World,
    accepted,
    ledger_violations,
    ok,
    record_batches,
    settlement_job,
    writer_held,
)

HOSPITAL = "H54250001"
SCOPE = f"fsi:{HOSPITAL}"  # idempotent.gateway_scope of the hospital


@pytest.fixture
def scene(world):
    """A hospital; a helper with 100.00 yuan bound to two residents (wife, son); a rich
    helper bound to a third resident, so that good bills have money to draw."""
    world.institution(HOSPITAL, "hospital")
    helper = world.person("共济人", credit="100.00")
    wife, son = world.person("妻子", "390"), world.person("儿子", "390")
    world.bind(helper, wife, "spouse")
    world.bind(helper, son, "child")
    rich = world.person("富裕的共济人", credit="1000.00")
    niece = world.person("亲属", "390")
    world.bind(rich, niece, "spouse")
    batching.install_write_counter(world.ctx.engine)  # what a Batcher installs first
    return dict(helper=helper, wife=wife, son=son, rich=rich, niece=niece)


# --- helpers ------------------------------------------------------------------------------------


def _keys(world: World) -> dict[str, str]:
    """The stored idempotency records of the hospital: msgid -> stored answer text."""
    with world.ctx.read() as uow:
        rows = uow.conn.execute(select(idempotency.c.key, idempotency.c.response)
                                .where(idempotency.c.scope == SCOPE)).all()
    return {row.key: row.response for row in rows}


def _settled(world: World) -> dict[str, int]:
    """msgid -> how many settlements it made."""
    with world.ctx.read() as uow:
        rows = uow.conn.execute(select(settlements.c.msgid, func.count())
                                .group_by(settlements.c.msgid)).all()
    return {row[0]: row[1] for row in rows}


def _record_attempts(monkeypatch) -> list[list[Job]]:  # noqa: ANN001
    """Every transaction run_batch tries, as the list of its jobs."""
    attempts: list[list[Job]] = []
    real = batching._attempt

    def counted(engine, jobs, outcome):  # noqa: ANN001, ANN202
        attempts.append(list(jobs))
        return real(engine, jobs, outcome)

    monkeypatch.setattr(batching, "_attempt", counted)
    return attempts


def _job(body, key: str | None = None, *, solo: bool = False) -> Job:  # noqa: ANN001
    return Job("test:batching", key, "h" if key else "", body, datetime.now(UTC), solo=solo)


def _trace(key: str):  # noqa: ANN202
    """A body that writes a row of its own (an idempotency record under a test scope), then
    answers - what is left of that row tells whether its transaction committed."""

    def body(uow: UnitOfWork) -> dict:
        uow.conn.execute(insert(idempotency).values(
            scope="test:trace", key=key, request_hash="t", response="{}",
            created_at=datetime.now(UTC)))
        return {"traced": key}

    return body


def _traces(world: World) -> set[str]:
    with world.ctx.read() as uow:
        return set(uow.conn.execute(select(idempotency.c.key)
                                    .where(idempotency.c.scope == "test:trace")).scalars())


# --- forming a batch (Batcher._form_batch), no database -------------------------------------------


@pytest.fixture
def idle_batcher():
    """A Batcher whose writer never starts: jobs are put in its queue by hand."""
    engine = create_engine("sqlite://")
    yield lambda **kw: Batcher(engine, **kw)
    engine.dispose()


def _queued(batcher: Batcher, *jobs: Job) -> None:
    batcher._queue.extend(jobs)


def test_a_batch_takes_what_waits_in_arrival_order_up_to_max_size(idle_batcher):
    batcher = idle_batcher(max_size=3)
    jobs = [_job(None, f"k{i}") for i in range(7)]
    _queued(batcher, *jobs)
    assert batcher._form_batch() == jobs[:3]
    assert batcher._form_batch() == jobs[3:6]
    assert batcher._form_batch() == jobs[6:]
    assert batcher._form_batch() == [] and not batcher._queue


def test_a_solo_command_runs_in_a_batch_of_its_own(idle_batcher):
    batcher = idle_batcher(max_size=10)
    a, b, solo, c = _job(None, "a"), _job(None, "b"), _job(None, "s", solo=True), _job(None, "c")
    _queued(batcher, a, b, solo, c)
    assert batcher._form_batch() == [a, b]  # the solo one does not join them...
    assert batcher._form_batch() == [solo]  # ...runs next, alone, before what came after it
    assert batcher._form_batch() == [c]


def test_a_repeated_key_waits_for_the_next_batch(idle_batcher):
    batcher = idle_batcher(max_size=10)
    first, other = _job(None, "m1"), _job(None, "m2")
    repeat, again = _job(None, "m1"), _job(None, "m1")
    elsewhere = Job("test:other-scope", "m1", "h", None, datetime.now(UTC))  # another caller's
    unkeyed = [_job(None), _job(None)]  # no key: never a repeat of each other
    _queued(batcher, first, repeat, other, again, elsewhere, *unkeyed)
    assert batcher._form_batch() == [first, other, elsewhere, *unkeyed]
    assert batcher._form_batch() == [repeat]  # one repeat per batch, in arrival order
    assert batcher._form_batch() == [again]


# --- refusals -------------------------------------------------------------------------------------


def test_a_refusal_in_a_batch_refuses_only_its_own_command(world, scene, monkeypatch):
    attempts = _record_attempts(monkeypatch)
    ghost = dict(scene["wife"], psn_no="9" * 20)  # no such insured person
    good_1 = settlement_job(world, HOSPITAL, scene["wife"], "30.00", "R-1")
    refused = settlement_job(world, HOSPITAL, ghost, "30.00", "R-2")
    good_2 = settlement_job(world, HOSPITAL, scene["niece"], "50.00", "R-3")
    outcome = batching.run_batch(world.ctx.engine, [good_1, refused, good_2])

    assert len(attempts) == 1  # a refusal that wrote nothing costs no second transaction
    assert outcome.errors[refused].code == "PERSON_NOT_FOUND"
    assert refused not in outcome.answers and set(outcome.errors) == {refused}
    assert outcome.answers[good_1]["setlinfo"]["acct_mulaid_pay"] == 30
    assert outcome.answers[good_2]["setlinfo"]["acct_mulaid_pay"] == 50
    assert world.balances(scene["helper"], scene["rich"]) == [7000, 95000]
    stored = _keys(world)
    assert set(stored) == {"R-1", "R-3"}  # the refused msgid keeps no record
    assert _settled(world) == {"R-1": 1, "R-3": 1}
    assert ledger_violations(world) == {}
    # its retry runs afresh: the same msgid now with a bill of a real patient settles
    retry = ok(world.settle(HOSPITAL, scene["son"], "10.00", msgid="R-2"))
    assert retry["setlinfo"]["acct_mulaid_pay"] == 10
    assert world.balance_fen(scene["helper"]) == 6000


def test_an_unstorable_bill_in_a_batch_fails_alone_and_coded(world, scene):
    """A NUL in psn_no: PostgreSQL cannot even compare it; SQLite finds nobody. Either way
    the others of the batch settle, and the gateway can answer it with a coded refusal."""
    from sqlalchemy.exc import DataError

    nul = dict(scene["wife"], psn_no="\x00" + scene["wife"]["psn_no"])
    good = settlement_job(world, HOSPITAL, scene["niece"], "50.00", "N-1")
    bad = settlement_job(world, HOSPITAL, nul, "30.00", "N-2")
    outcome = batching.run_batch(world.ctx.engine, [good, bad])

    assert outcome.answers[good]["setlinfo"]["acct_mulaid_pay"] == 50
    assert isinstance(outcome.errors[bad], DataError) or outcome.errors[bad].code == \
        "PERSON_NOT_FOUND"
    assert _settled(world) == {"N-1": 1}
    assert ledger_violations(world) == {}


def test_a_refusal_after_a_write_leaves_nothing_and_the_others_commit(world, scene, monkeypatch):
    attempts = _record_attempts(monkeypatch)

    def writes_then_refuses(uow: UnitOfWork) -> dict:
        _trace("dirty")(uow)
        raise refuse("INVALID_INPUT", "写入之后才发现不合规")

    good_1 = settlement_job(world, HOSPITAL, scene["wife"], "30.00", "D-1")
    dirty = _job(writes_then_refuses, "D-2")
    traced = _job(_trace("clean"), "D-3")
    good_2 = settlement_job(world, HOSPITAL, scene["niece"], "50.00", "D-4")
    jobs = [good_1, dirty, traced, good_2]
    outcome = batching.run_batch(world.ctx.engine, jobs)

    assert outcome.errors[dirty].code == "INVALID_INPUT" and set(outcome.errors) == {dirty}
    assert outcome.answers[traced] == {"traced": "clean"}
    assert set(outcome.answers) == {good_1, traced, good_2}
    # rolled back, then run again without it: two transactions, only the second committed
    assert [len(a) for a in attempts] == [4, 3] and dirty not in attempts[1]
    assert _traces(world) == {"clean"}  # nothing of the dirty command is left
    with world.ctx.read() as uow:
        assert uow.conn.execute(select(func.count()).select_from(idempotency).where(
            idempotency.c.key == "D-2")).scalar_one() == 0
    assert world.balances(scene["helper"], scene["rich"]) == [7000, 95000]
    assert _settled(world) == {"D-1": 1, "D-4": 1}  # once each, though each ran twice
    assert ledger_violations(world) == {}


def test_earlier_records_in_a_batch_answer_as_before(world, scene, monkeypatch):
    """A retry of an answered msgid gets its first answer; the same msgid with another bill is
    a conflict; a msgid a 2601 spent is refused - and none of them loses the record it met."""
    first = ok(world.settle(HOSPITAL, scene["wife"], "20.00", msgid="E-1"))
    corrected = ok(world.call(HOSPITAL, "2601", {"psn_no": scene["son"]["psn_no"],
                                                 "omsgid": "E-2", "oinfno": "2207"},
                              msgid="E-C"))
    assert corrected["msg_spent"] is True
    attempts = _record_attempts(monkeypatch)
    retry = settlement_job(world, HOSPITAL, scene["wife"], "20.00", "E-1")
    changed = settlement_job(world, HOSPITAL, scene["wife"], "25.00", "E-1")
    spent = settlement_job(world, HOSPITAL, scene["son"], "10.00", "E-2")
    fresh = settlement_job(world, HOSPITAL, scene["niece"], "40.00", "E-3")
    # changed and retry share a key: run as two batches, as the Batcher would form them
    outcome = batching.run_batch(world.ctx.engine, [retry, spent, fresh])
    conflict = batching.run_batch(world.ctx.engine, [changed])

    assert outcome.answers[retry] == first
    assert outcome.errors[spent].code == "MSG_REVERSED"
    assert outcome.answers[fresh]["setlinfo"]["acct_mulaid_pay"] == 40
    assert conflict.errors[changed].code == "IDEMPOTENCY_CONFLICT"
    assert len(attempts) == 2
    assert world.balances(scene["helper"], scene["rich"]) == [8000, 96000]
    assert _settled(world) == {"E-1": 1, "E-3": 1}
    # the records they met are still there: a later exact retry is answered as the first
    assert ok(world.settle(HOSPITAL, scene["wife"], "20.00", msgid="E-1")) == first
    again = world.settle(HOSPITAL, scene["son"], "10.00", msgid="E-2")
    assert again["err_code"] == "MSG_REVERSED"
    assert ledger_violations(world) == {}


# --- a msgid repeated inside one batch ------------------------------------------------------------


def test_a_repeat_queued_with_its_first_is_answered_once_with_the_first_answer(
        world, scene, monkeypatch):
    batcher = world.ctx.batcher
    batches = record_batches(monkeypatch)
    with writer_held(batcher) as blocker:
        first = settlement_job(world, HOSPITAL, scene["wife"], "30.00", "P-1")
        repeat = settlement_job(world, HOSPITAL, scene["wife"], "30.00", "P-1")
        other = settlement_job(world, HOSPITAL, scene["niece"], "50.00", "P-2")
        futures = [batcher.submit(job) for job in (first, repeat, other)]
    answers = [future.result(30) for future in futures]

    assert answers[0] == answers[1]  # the repeat got the first answer...
    assert answers[0]["setlinfo"]["acct_mulaid_pay"] == 30
    assert answers[2]["setlinfo"]["acct_mulaid_pay"] == 50
    # ...from the next batch, where it found the first one's stored record
    assert batches == [[blocker], [first, other], [repeat]]
    assert world.balances(scene["helper"], scene["rich"]) == [7000, 95000]
    assert _settled(world) == {"P-1": 1, "P-2": 1}
    assert ledger_violations(world) == {}


def test_a_msgid_reused_for_another_bill_in_one_batch_is_a_conflict(world, scene, monkeypatch):
    batcher = world.ctx.batcher
    batches = record_batches(monkeypatch)
    with writer_held(batcher):
        first = settlement_job(world, HOSPITAL, scene["wife"], "30.00", "Q-1")
        changed = settlement_job(world, HOSPITAL, scene["wife"], "45.00", "Q-1")
        futures = [batcher.submit(job) for job in (first, changed)]
    assert futures[0].result(30)["setlinfo"]["acct_mulaid_pay"] == 30
    error = futures[1].exception(30)
    assert isinstance(error, DomainError) and error.code == "IDEMPOTENCY_CONFLICT"
    assert len(batches) == 3  # the blocker, the first, the reuse
    assert world.balance_fen(scene["helper"]) == 7000
    assert _settled(world) == {"Q-1": 1}
    kept = json.loads(_keys(world)["Q-1"])  # the first bill's answer is the one kept
    assert kept["setlinfo"]["setl_id"] == futures[0].result()["setlinfo"]["setl_id"]


# --- database errors --------------------------------------------------------------------------------


def _fail_first_commit(monkeypatch) -> list[str]:  # noqa: ANN001
    """COMMIT fails once (a dropped connection, say), then works: the calls, in order."""
    calls: list[str] = []
    real = UnitOfWork.commit

    def commit(self: UnitOfWork) -> None:
        if not calls:
            calls.append("failed")
            raise OperationalError("COMMIT", {}, Exception("与数据库的连接中断"))
        calls.append("committed")
        real(self)

    monkeypatch.setattr(UnitOfWork, "commit", commit)
    return calls


def test_a_failed_commit_splits_the_batch_and_every_command_ends_once(world, scene, monkeypatch):
    patients = [scene["wife"], scene["son"], scene["niece"], scene["niece"]]
    jobs = [settlement_job(world, HOSPITAL, p, "10.00", f"C-{i}") for i, p in enumerate(patients)]
    attempts = _record_attempts(monkeypatch)
    commits = _fail_first_commit(monkeypatch)
    outcome = batching.run_batch(world.ctx.engine, jobs)

    assert outcome.errors == {} and set(outcome.answers) == set(jobs)
    assert commits == ["failed", "committed", "committed"]
    assert attempts == [jobs, jobs[:2], jobs[2:]]  # the whole, then each half
    assert _settled(world) == {f"C-{i}": 1 for i in range(4)}
    stored = _keys(world)
    assert sorted(stored) == [f"C-{i}" for i in range(4)]
    for job in jobs:  # each answer kept under its own msgid
        kept = json.loads(stored[job.key])["setlinfo"]["setl_id"]
        assert kept == outcome.answers[job]["setlinfo"]["setl_id"]
    assert world.balances(scene["helper"], scene["rich"]) == [8000, 98000]
    assert ledger_violations(world) == {}


def test_a_commit_that_fails_for_one_command_answers_only_the_others(world, scene, monkeypatch):
    """COMMIT fails whenever one command is in the transaction (as a constraint checked at
    commit would): the others are answered, that one only with the error - never with the
    answer its body computed in a transaction that did not commit."""
    patients = [scene["wife"], scene["son"], scene["niece"]]
    jobs = [settlement_job(world, HOSPITAL, p, "10.00", f"K-{i}") for i, p in enumerate(patients)]
    culprit = jobs[1]
    attempts = _record_attempts(monkeypatch)
    real = UnitOfWork.commit

    def commit(self: UnitOfWork) -> None:
        if culprit in attempts[-1]:
            raise OperationalError("COMMIT", {}, Exception("提交时约束检查失败"))
        real(self)

    monkeypatch.setattr(UnitOfWork, "commit", commit)
    outcome = batching.run_batch(world.ctx.engine, jobs)

    assert set(outcome.answers) == {jobs[0], jobs[2]}
    assert set(outcome.errors) == {culprit}
    assert isinstance(outcome.errors[culprit], OperationalError)
    assert _settled(world) == {"K-0": 1, "K-2": 1} and set(_keys(world)) == {"K-0", "K-2"}
    assert world.balances(scene["helper"], scene["rich"]) == [9000, 99000]
    assert ledger_violations(world) == {}


def _duplicate_key_body(*, deferred: bool):  # noqa: ANN202
    """A body whose write breaks the idempotency table's primary key: executed at once, or
    queued behind (store/writebehind: on PostgreSQL it fails only at COMMIT)."""

    def body(uow: UnitOfWork) -> dict:
        row = {"scope": "test:trace", "key": "taken", "request_hash": "t", "response": "{}",
               "created_at": datetime.now(UTC)}
        statement = insert(idempotency)
        if deferred:
            writebehind.defer(uow.conn, statement, [row])
        else:
            uow.conn.execute(statement, [row])
        return {"wrote": "a duplicate"}

    return body


@pytest.mark.parametrize("deferred", [False, True], ids=["at-once", "at-commit"])
def test_a_database_error_fails_only_the_command_at_fault(world, scene, monkeypatch, deferred):
    with world.ctx.uow() as uow:  # the row the faulty command will collide with
        _trace("taken")(uow)
        uow.commit()
    patients = [scene["wife"], scene["son"], scene["niece"], scene["niece"]]
    goods = [settlement_job(world, HOSPITAL, p, "10.00", f"F-{i}") for i, p in enumerate(patients)]
    faulty = _job(_duplicate_key_body(deferred=deferred), "F-X")
    jobs = [*goods[:2], faulty, *goods[2:]]
    attempts = _record_attempts(monkeypatch)
    outcome = batching.run_batch(world.ctx.engine, jobs)

    assert set(outcome.errors) == {faulty} and isinstance(outcome.errors[faulty], IntegrityError)
    assert set(outcome.answers) == set(goods)
    # halves down to the culprit: [5] -> [2] ok, [3] -> [1] culprit, [2] ok
    assert attempts == [jobs, jobs[:2], jobs[2:], [faulty], jobs[3:]]
    assert _settled(world) == {f"F-{i}": 1 for i in range(4)}
    assert "F-X" not in _keys(world) and _traces(world) == {"taken"}
    assert world.balances(scene["helper"], scene["rich"]) == [8000, 98000]
    assert ledger_violations(world) == {}


def test_every_caller_hears_back_when_the_batch_itself_breaks(world, scene, monkeypatch):
    """Not a command's fault but the writer's (a bug in run_batch): every waiting caller gets
    the error, none waits forever, and the writer goes on with the next batch."""
    batcher = world.ctx.batcher

    def broken(_engine, _jobs):  # noqa: ANN001, ANN202
        raise RuntimeError("批处理本身出错")

    with writer_held(batcher):
        monkeypatch.setattr(batching, "run_batch", broken)
        futures = [batcher.submit(settlement_job(world, HOSPITAL, scene["niece"], "1.00",
                                                 f"B-{i}")) for i in range(3)]
    assert all(isinstance(f.exception(30), RuntimeError) for f in futures)
    monkeypatch.undo()
    assert batcher.run(settlement_job(world, HOSPITAL, scene["niece"], "1.00", "B-0"))
    assert _settled(world) == {"B-0": 1}


# --- commands of one batch see each other ---------------------------------------------------------


@pytest.mark.parametrize("warm", [False, True], ids=["first-bills", "after-a-bill"])
def test_two_bills_on_one_helper_in_one_batch_see_each_other(world, scene, monkeypatch, warm):
    """"after-a-bill": a settlement committed before, so that the batch finds the system
    accounts (fund, cash) made and cached - the first command of the batch reads them,
    the next ones do not, and their writes queued behind must still go in order."""
    if warm:
        ok(world.settle(HOSPITAL, scene["niece"], "1.00", msgid="S-0"))
    attempts = _record_attempts(monkeypatch)
    wife = settlement_job(world, HOSPITAL, scene["wife"], "80.00", "S-1")
    son = settlement_job(world, HOSPITAL, scene["son"], "80.00", "S-2")
    outcome = batching.run_batch(world.ctx.engine, [wife, son])

    assert len(attempts) == 1  # one transaction for both
    first, second = outcome.answers[wife]["setlinfo"], outcome.answers[son]["setlinfo"]
    assert (first["acct_mulaid_pay"], first["psn_cash_pay"]) == (80, 0)
    assert (second["acct_mulaid_pay"], second["psn_cash_pay"]) == (20, 60)  # what was left
    assert world.balance_fen(scene["helper"]) == 0
    with world.ctx.read() as uow:
        lowest = uow.conn.execute(select(func.min(postings.c.balance_after_fen))).scalar_one()
    assert lowest == 0  # no posting ever took an account below zero
    assert _settled(world) == {"S-1": 1, "S-2": 1} | ({"S-0": 1} if warm else {})
    assert ledger_violations(world) == {}


def test_two_bills_of_one_patient_in_one_batch_see_each_other(world, scene, monkeypatch):
    """The same patient twice in a batch (two prescriptions filled at once): the second
    bill finds the deductible the first one used and the helper's money it left."""
    attempts = _record_attempts(monkeypatch)
    wife = scene["wife"]
    first = settlement_job(world, HOSPITAL, wife, "600.00", "W-1", inscp="500.00")
    second = settlement_job(world, HOSPITAL, wife, "600.00", "W-2", inscp="500.00")
    outcome = batching.run_batch(world.ctx.engine, [first, second])

    assert len(attempts) == 1 and outcome.errors == {}
    one, two = outcome.answers[first]["setlinfo"], outcome.answers[second]["setlinfo"]
    # the 200.00 deductible is met by the first bill alone: (500 - 200) * 60 %, then 500 * 60 %
    assert (one["fund_pay_sumamt"], two["fund_pay_sumamt"]) == (180, 300)
    assert (one["acct_mulaid_pay"], two["acct_mulaid_pay"]) == (100, 0)
    assert world.accumulator(wife) == (20000, 48000)
    assert world.balance_fen(scene["helper"]) == 0
    assert _settled(world) == {"W-1": 1, "W-2": 1}
    assert ledger_violations(world) == {}


# --- the writer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("max_size", [64, 8])
def test_many_threads_at_once_share_few_batches(world, scene, monkeypatch, max_size):
    batcher = Batcher(world.ctx.engine, max_size=max_size)
    batches = record_batches(monkeypatch)
    callers = 24
    futures: list = [None] * callers

    def send(i: int) -> None:
        futures[i] = batcher.submit(settlement_job(world, HOSPITAL, scene["niece"], "1.00",
                                                   f"T-{i:02d}"))

    with writer_held(batcher):
        threads = [threading.Thread(target=send, args=(i,)) for i in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(batcher._queue) == callers  # all waiting, none run yet
    answers = [future.result(30) for future in futures]

    assert all(a["setlinfo"]["acct_mulaid_pay"] == 1 for a in answers)
    sizes = [len(batch) for batch in batches[1:]]  # after the blocker's own
    assert sum(sizes) == callers and max(sizes) <= max_size
    assert len(sizes) == -(-callers // max_size)  # as few batches as max_size allows
    assert world.balance_fen(scene["rich"]) == 100000 - callers * 100
    assert _settled(world) == {f"T-{i:02d}": 1 for i in range(callers)}
    assert ledger_violations(world) == {}


def test_a_command_may_not_wait_for_another_from_inside_a_batch(world, scene):
    batcher = world.ctx.batcher

    def nested(_uow: UnitOfWork) -> dict:
        return batcher.run(_job(lambda _u: {}))

    error = batcher.submit(_job(nested, "N-1")).exception(30)
    assert isinstance(error, RuntimeError)  # refused at once, not a writer waiting on itself
    with world.ctx.read() as uow:  # and its claim went with its transaction
        assert uow.conn.execute(select(idempotency.c.key).where(
            idempotency.c.key == "N-1")).first() is None


def test_a_database_error_reaches_its_caller_through_the_writer(world, scene):
    """The caller's view of the culprit (what the gateway route awaits): its future raises the
    database error; the writer goes on with the next command."""
    with world.ctx.uow() as uow:
        _trace("taken")(uow)
        uow.commit()
    future = world.ctx.batcher.submit(_job(_duplicate_key_body(deferred=True), "G-1"))
    assert isinstance(future.exception(30), DBAPIError)
    assert ok(world.settle(HOSPITAL, scene["niece"], "1.00", msgid="G-2"))


# --- commands of different kinds in one batch -----------------------------------------------------


def _queue_blocking(batcher: Batcher, call) -> Future:  # noqa: ANN001
    """Run `call` (a service that waits for its command's answer) on a thread of its own, and
    return once its command is queued - so that the order of the queue is the test's."""
    waiting = len(batcher._queue)
    result: Future = Future()

    def run() -> None:
        try:
            result.set_result(call())
        except BaseException as error:  # noqa: BLE001 - handed to the test
            result.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    for _ in range(3000):
        if len(batcher._queue) > waiting:
            return result
        time.sleep(0.01)
    raise AssertionError("the command was never queued")


def test_a_credit_and_a_premium_in_a_batch_see_and_are_seen_by_its_settlements(
        world, scene, monkeypatch):
    """[bill 80 on the helper (100.00), credit her 500, she pays her son's premium, bill 80
    for him]: each sees what the ones before it moved, in one transaction."""
    batcher = world.ctx.batcher
    batches = record_batches(monkeypatch)
    attempts = _record_attempts(monkeypatch)
    helper, son = scene["helper"], scene["son"]
    with writer_held(batcher):
        first = batcher.submit(settlement_job(world, HOSPITAL, scene["wife"], "80.00", "X-1"))
        credit = _queue_blocking(batcher, lambda: world.credit(helper, "500.00", "X-credit"))
        paid = _queue_blocking(batcher, lambda: premium.pay(
            world.ctx, helper["psn_no"], {"beneficiary_certno": son["certno"], "year": 2025}))
        last = batcher.submit(settlement_job(world, HOSPITAL, son, "80.00", "X-2"))
    bill_1, premium_paid, bill_2 = first.result(30), paid.result(30), last.result(30)
    credit.result(30)

    assert [len(batch) for batch in batches] == [1, 4]  # the blocker, then all four at once
    assert [len(a) for a in attempts] == [1, 4]  # ...in one transaction, none split off
    assert bill_1["setlinfo"]["acct_mulaid_pay"] == 80
    amount_fen = round(premium_paid["amount"] * 100)
    assert 0 < amount_fen <= 52000
    # the premium saw the bill before it and the credit; the last bill saw all three
    assert round(premium_paid["balance"] * 100) == 2000 + 50000 - amount_fen
    left = 52000 - amount_fen
    assert round(bill_2["setlinfo"]["acct_mulaid_pay"] * 100) == min(8000, left)
    assert world.balance_fen(helper) == left - min(8000, left)
    assert ledger_violations(world) == {}


def test_a_reversal_in_a_batch_gives_back_what_the_next_bill_draws(world, scene, monkeypatch):
    """[reverse a bill, the same bill again]: the second finds the helper's money and the
    patient's deductible and fund totals as the reversal left them, in the same transaction."""
    wife = scene["wife"]
    spent = ok(world.settle(HOSPITAL, wife, "1500.00", "1400.00", msgid="V-1"))["setlinfo"]
    assert (spent["fund_pay_sumamt"], spent["acct_mulaid_pay"]) == (720, 100)
    assert world.accumulator(wife) == (20000, 72000)
    attempts = _record_attempts(monkeypatch)
    back = accepted(world, HOSPITAL, "2208", {"setl_id": spent["setl_id"],
                                              "psn_no": wife["psn_no"]}, "V-2").job
    again = settlement_job(world, HOSPITAL, wife, "1500.00", "V-3", inscp="1400.00")
    outcome = batching.run_batch(world.ctx.engine, [back, again])

    assert len(attempts) == 1 and outcome.errors == {}
    assert outcome.answers[back]["setlinfo"]["acct_mulaid_pay"] == -100
    second = outcome.answers[again]["setlinfo"]
    # the deductible counted again (720, not 840) and the refund drawn again: seen
    assert (second["fund_pay_sumamt"], second["acct_mulaid_pay"]) == (720, 100)
    assert world.balance_fen(scene["helper"]) == 0
    assert world.accumulator(wife) == (20000, 72000)
    assert ledger_violations(world) == {}


def test_a_correction_queued_behind_its_original_runs_after_it_alone(world, scene, monkeypatch):
    batcher = world.ctx.batcher
    batches = record_batches(monkeypatch)
    with writer_held(batcher):
        original = settlement_job(world, HOSPITAL, scene["wife"], "30.00", "Y-1")
        correction = accepted(world, HOSPITAL, "2601", {
            "psn_no": scene["wife"]["psn_no"], "omsgid": "Y-1", "oinfno": "2207"}, "Y-C").job
        other = settlement_job(world, HOSPITAL, scene["niece"], "5.00", "Y-2")
        futures = [batcher.submit(job) for job in (original, correction, other)]
    settled, corrected, _ = (future.result(30) for future in futures)

    assert batches[1:] == [[original], [correction], [other]]
    assert corrected["setlinfo"]["reversed"] is True
    assert corrected["setlinfo"]["setl_id"] == settled["setlinfo"]["setl_id"]
    assert world.balances(scene["helper"], scene["rich"]) == [10000, 99500]
    assert ledger_violations(world) == {}


def test_a_refused_premium_between_bills_refuses_only_itself(world, scene, monkeypatch):
    """The premium (400.00 by the region's policy) finds too little once the bill before it
    has drawn - after the earlier writes were sent to the database for its read: refused,
    alone, and the bills before and after it commit in the same transaction."""
    batcher = world.ctx.batcher
    attempts = _record_attempts(monkeypatch)
    helper, son = scene["helper"], scene["son"]
    with writer_held(batcher):
        first = batcher.submit(settlement_job(world, HOSPITAL, scene["wife"], "80.00", "Z-1"))
        paid = _queue_blocking(batcher, lambda: premium.pay(
            world.ctx, helper["psn_no"], {"beneficiary_certno": son["certno"], "year": 2025},
            "Z-premium"))
        last = batcher.submit(settlement_job(world, HOSPITAL, son, "30.00", "Z-2"))
    assert first.result(30)["setlinfo"]["acct_mulaid_pay"] == 80
    assert paid.exception(30).code == "INSUFFICIENT_BALANCE"
    assert last.result(30)["setlinfo"]["acct_mulaid_pay"] == 20
    assert [len(a) for a in attempts[1:]] == [3]  # one transaction: the refusal wrote nothing
    assert world.balance_fen(helper) == 0
    assert _settled(world) == {"Z-1": 1, "Z-2": 1}
    assert ledger_violations(world) == {}


_TRACE_ROW = insert(idempotency)  # one statement for every trace row: its rows share a group


def _deferred_trace(key: str, *, then_read: bool = False, then_refuse: bool = False):  # noqa: ANN202
    """A body that queues its trace row behind (store/writebehind), may then read (which sends
    the queue, its row with the rows queued before it) and may then refuse."""

    def body(uow: UnitOfWork) -> dict:
        writebehind.defer(uow.conn, _TRACE_ROW, {
            "scope": "test:trace", "key": key, "request_hash": "t", "response": "{}",
            "created_at": datetime.now(UTC)})
        if then_read:
            uow.conn.execute(select(func.count()).select_from(idempotency)).scalar_one()
        if then_refuse:
            raise refuse("INVALID_INPUT", "写入之后才发现不合规")
        return {"traced": key}

    return body


def test_a_refusal_whose_write_went_out_with_earlier_ones_is_still_a_write(world, scene,
                                                                          monkeypatch):
    """The earlier command's row and the refused command's row leave in one statement when the
    refused one reads: that is still a write of the refused command, so the batch is run again
    without it, and its row is not committed."""
    attempts = _record_attempts(monkeypatch)
    bill = settlement_job(world, HOSPITAL, scene["wife"], "30.00", "W-0")  # the batch holds
    first = _job(_deferred_trace("W-1"), "W-1")  # rows (store/held.py): its writes are grouped
    dirty = _job(_deferred_trace("W-2", then_read=True, then_refuse=True), "W-2")
    outcome = batching.run_batch(world.ctx.engine, [bill, first, dirty])
    assert set(outcome.errors) == {dirty} and outcome.answers[first] == {"traced": "W-1"}
    assert [len(a) for a in attempts] == [3, 2]
    assert _traces(world) == {"W-1"}
    assert _settled(world) == {"W-0": 1} and ledger_violations(world) == {}
