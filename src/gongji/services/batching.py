"""Group commit: the commands that must run exactly once, many to one database transaction.

Why: a settlement's own work is a few milliseconds, but a commit per settlement (a WAL
flush, a round trip, a lock hand-over) and a thread per caller cost more than the work.
Each worker process has one writer (`Batcher`); callers queue their command and wait for
its own answer. The writer takes what is waiting (up to `max_size`, after at most
`max_wait_s` for more) and runs it as one batch (`run_batch`):

1. every idempotency key is claimed in one statement, the earlier answers of keys claimed
   before are read in one more (a repeat is answered as before, a changed payload refused);
2. each command's `prepare` step runs once for the batch: the settlement family reads and
   locks everything the batch may touch, set-based, in id order (settlement/prelock.py),
   so batches never wait for each other in a cycle;
3. the commands run in order on the one connection, each seeing what the earlier ones
   moved (two bills on one helper in one batch see each other), each answer kept with
   its key;
4. one COMMIT; then every caller gets its own result.

A refusal refuses only its command: if the command wrote nothing before refusing, the
batch goes on; if it had written, the batch is rolled back and run again without it.
A database error (a failed statement, a failed COMMIT) splits the batch in halves, each
run again, down to the one command at fault, which alone gets the error. No savepoint per
command: PostgreSQL keeps at most 64 subtransactions in shared memory before it spills.

Commands that read other keys' records (2601 冲正 spends the original's msgid) run alone
(`solo`), so what they see is what running one at a time would show. A key already in
the batch waits for the next one, where it finds its first answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter, Histogram
from sqlalchemy import Engine, event

from gongji.domain.errors import DomainError, refuse
from gongji.store import idempotency, writebehind
from gongji.store.uow import UnitOfWork

log = logging.getLogger("gongji.batch")

# Exported at /metrics with the service's other metrics (the default registry).
BATCH_SIZE = Histogram("gongji_batch_commands", "Commands per group-commit batch",
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
BATCH_SECONDS = Histogram("gongji_batch_seconds", "Time to run and commit one batch")
BATCH_SPLITS = Counter("gongji_batch_splits", "Batches split after a database error")

Body = Callable[[UnitOfWork], dict]
# A batch-wide step run before the commands: given the batch's connection and the hints
# of every command that named this step.
Prepare = Callable[[object, list], None]


@dataclass(eq=False)
class Job:
    """One command: its body runs in the batch's unit of work. `key` None: not keyed
    (a REST command sent without an Idempotency-Key)."""

    scope: str
    key: str | None
    request_hash: str
    body: Body
    at: datetime  # when it arrived: the claim's created_at
    solo: bool = False
    prepare: Prepare | None = None
    hint: object = None
    future: Future = field(default_factory=Future)

    @property
    def ident(self) -> tuple[str, str] | None:
        return None if self.key is None else (self.scope, self.key)


class Outcome:
    """What one attempt decided for each job: an answer, or an exception to raise."""

    def __init__(self) -> None:
        self.answers: dict[Job, dict] = {}
        self.errors: dict[Job, BaseException] = {}


# --- one batch ----------------------------------------------------------------------------

_WRITES = "gongji_writes"


def install_write_counter(engine: Engine) -> None:
    """Count the writes each connection executes, so that a refusal can tell whether its
    command wrote anything (a write-behind queue holds the rest)."""
    if getattr(engine, "_gongji_write_counter", False):
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, _cursor, statement, _params, context, _many):  # noqa: ANN001, ANN202
        if context is not None and context.execution_options.get(writebehind.SENDING):
            return  # counted by the write in writebehind.written()
        if not statement.lstrip()[:6].upper().startswith(("SELECT", "WITH")):
            conn.info[_WRITES] = conn.info.get(_WRITES, 0) + 1

    engine._gongji_write_counter = True  # type: ignore[attr-defined]


def run_batch(engine: Engine, jobs: Sequence[Job]) -> Outcome:
    """Run `jobs` in as few transactions as their faults allow (one when none)."""
    install_write_counter(engine)
    idents = [job.ident for job in jobs if job.ident is not None]
    if len(idents) != len(set(idents)):  # the writer keeps a repeat for the next batch
        raise ValueError("a batch may hold each idempotency key once")
    outcome = Outcome()
    _run_split(engine, list(jobs), outcome)
    return outcome


def _run_split(engine: Engine, jobs: list[Job], outcome: Outcome) -> None:
    while jobs:
        try:
            refused = _attempt(engine, jobs, outcome)
        except _Dirty as dirty:  # a refusal after a write: again without its command
            outcome.errors[dirty.job] = dirty.error
            jobs = [job for job in jobs if job is not dirty.job]
            continue
        except Exception as error:  # noqa: BLE001 - a database error, or a bug: split
            if len(jobs) == 1:
                outcome.errors[jobs[0]] = error
                return
            log.warning("batch of %d failed (%s); split", len(jobs), type(error).__name__)
            BATCH_SPLITS.inc()
            half = len(jobs) // 2
            _run_split(engine, jobs[:half], outcome)
            _run_split(engine, jobs[half:], outcome)
            return
        outcome.errors.update(refused)
        return


class _Dirty(Exception):
    def __init__(self, job: Job, error: DomainError):
        super().__init__(error.code)
        self.job, self.error = job, error


def _attempt(engine: Engine, jobs: list[Job], outcome: Outcome) -> dict[Job, DomainError]:
    """One transaction over `jobs`. Answers go into `outcome` only once it has committed;
    returns the clean refusals."""
    answers: dict[Job, dict] = {}
    refused: dict[Job, DomainError] = {}
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        writebehind.begin(conn, batch=True)
        keyed = [job for job in jobs if job.key is not None]
        earlier = idempotency.claim_many(
            conn, [(job.scope, job.key, job.request_hash, job.at) for job in keyed])
        live = []
        for job in jobs:
            found = earlier.get(job.ident) if job.key is not None else None
            if found is None:
                live.append(job)
            elif found.request_hash == idempotency.SPENT:  # a 2601 named it first
                refused[job] = refuse("MSG_REVERSED")
            elif found.request_hash != job.request_hash:
                refused[job] = refuse("IDEMPOTENCY_CONFLICT")
            else:
                answers[job] = found.response
        _prepare(conn, live)
        for job in live:
            writebehind.command_starts(conn)
            writes_before = _writes(conn)
            try:
                answer = job.body(uow)
            except DomainError as error:
                if _writes(conn) != writes_before:
                    raise _Dirty(job, error) from None
                refused[job] = error
                continue
            if job.key is not None:
                idempotency.store(conn, job.scope, job.key, answer)
            answers[job] = answer
        # a refusal keeps no record: its retry runs afresh
        idempotency.forget_many(conn, [job.ident for job in refused
                                       if job.key is not None and job in live])
        uow.commit()
    outcome.answers.update(answers)
    return refused


def _writes(conn) -> int:  # noqa: ANN001
    """Statements written at once, plus the writes queued behind, sent or not
    (store/writebehind)."""
    return conn.info.get(_WRITES, 0) + writebehind.written(conn)


def _prepare(conn, jobs: list[Job]) -> None:  # noqa: ANN001
    steps: dict[Prepare, list] = {}
    for job in jobs:
        if job.prepare is not None:
            steps.setdefault(job.prepare, []).append(job.hint)
    for step, hints in steps.items():
        step(conn, hints)


# --- the writer -----------------------------------------------------------------------------


class Batcher:
    """One writer thread per process, started on the first command and stopped after a
    second with nothing to do (so that short-lived contexts, as in tests, leave nothing
    running)."""

    IDLE_S = 1.0

    def __init__(self, engine: Engine, *, max_size: int = 64, max_wait_s: float = 0.0):
        self.engine = engine
        self.max_size = max(1, max_size)
        self.max_wait_s = max(0.0, max_wait_s)
        self._queue: deque[Job] = deque()
        self._ready = threading.Condition()
        self._writer: threading.Thread | None = None
        install_write_counter(engine)

    def submit(self, job: Job) -> Future:
        """Queue `job`; its future resolves to its answer (or raises its refusal)."""
        if threading.current_thread() is self._writer:
            raise RuntimeError("a command may not wait for another from inside a batch")
        with self._ready:
            self._queue.append(job)
            if self._writer is None:
                self._writer = threading.Thread(target=self._loop, name="gongji-writer",
                                                daemon=True)
                self._writer.start()
            self._ready.notify()
        return job.future

    def run(self, job: Job) -> dict:
        """Queue `job` and wait for its answer."""
        return self.submit(job).result()

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self._execute(batch)

    def _take(self) -> list[Job] | None:
        with self._ready:
            if not self._queue and not self._ready.wait_for(lambda: self._queue, self.IDLE_S):
                self._writer = None  # a later submit starts a new writer
                return None
        if self.max_wait_s and len(self._queue) < self.max_size:
            time.sleep(self.max_wait_s)  # let a few more arrive
        with self._ready:
            return self._form_batch()

    def _form_batch(self) -> list[Job]:
        """What is waiting, in arrival order: up to max_size; a solo command alone; a key
        already in the batch stays queued for the next."""
        batch: list[Job] = []
        keys: set[tuple[str, str]] = set()
        kept: deque[Job] = deque()
        while self._queue and len(batch) < self.max_size:
            job = self._queue.popleft()
            if job.solo and batch:
                kept.append(job)
                break
            if job.ident is not None and job.ident in keys:
                kept.append(job)
                continue
            batch.append(job)
            if job.ident is not None:
                keys.add(job.ident)
            if job.solo:
                break
        kept.extend(self._queue)
        self._queue = kept
        return batch

    def _execute(self, batch: list[Job]) -> None:
        BATCH_SIZE.observe(len(batch))
        started = time.perf_counter()
        try:
            outcome = run_batch(self.engine, batch)
        except BaseException as error:  # noqa: BLE001 - every caller must hear back
            outcome = Outcome()
            outcome.errors.update({job: error for job in batch})
        BATCH_SECONDS.observe(time.perf_counter() - started)
        for job in batch:
            if job in outcome.answers:
                job.future.set_result(outcome.answers[job])
            else:
                job.future.set_exception(outcome.errors.get(
                    job, RuntimeError("the batch ended without an answer for this command")))
