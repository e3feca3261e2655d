"""Write-behind inside a unit of work on PostgreSQL: blind writes share one round trip.

`defer(conn, statement, params)` queues a write whose result nobody reads (an INSERT
without RETURNING, an UPDATE whose row count is not checked). The queue goes to the
server in order, in one psycopg pipeline, just before the next statement executed the
ordinary way - so every read still sees every earlier write - and at commit, where the
COMMIT joins the same round trip. A refusal before commit drops the queue with the rest
of the unit of work. On SQLite (no network) and outside a unit of work, defer() executes
at once.

Why: a settlement's tail (postings, journal row, accumulator, mulaid rows, notices, the
stored idempotent answer, COMMIT) was seven round trips, while the account locks were
held; it is one now (bench/, profiled).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, RootTransaction, event

from gongji.store import rowsets
from gongji.store.held import held
from gongji.store.pgerrors import as_sqlalchemy_errors

_QUEUE = "gongji_write_behind"


def install(engine: Engine) -> None:
    """Flush queued writes before any other statement on this engine's connections."""

    @event.listens_for(engine, "before_execute")
    def _flush_first(conn, *_args):  # noqa: ANN001, ANN202
        if conn.info.get(_QUEUE):
            flush(conn)


def begin(conn: Connection, *, batch: bool = False) -> None:
    """Start queueing on this connection: on PostgreSQL always; on SQLite for a batch,
    whose queued rows go as one statement per kind of row (`_send`)."""
    if batch or conn.dialect.name == "postgresql":
        conn.info[_QUEUE] = []


def end(conn: Connection) -> None:
    """Stop queueing and forget anything not sent (the unit of work is over)."""
    conn.info.pop(_QUEUE, None)
    conn.info.pop(_STARTS, None)
    conn.info.pop(_SENT, None)


def defer(conn: Connection, statement, params=None) -> None:  # noqa: ANN001
    """Execute `statement` now, or with the next round trip when queueing."""
    queue = conn.info.get(_QUEUE)
    if queue is None:
        conn.execute(statement, params)
    else:
        queue.append((statement, params))


_STARTS = "gongji_write_behind_starts"


def command_starts(conn: Connection) -> None:
    """A batch's next command begins: where its writes start in the queue (`_send`
    keeps each command's writes in their order)."""
    queue = conn.info.get(_QUEUE)
    if queue is not None:
        conn.info.setdefault(_STARTS, []).append(len(queue))


_SENT = "gongji_write_behind_sent"
# Executions of queued writes carry this option: a counter of statements (services/
# batching.py) leaves them to written(), which counts them by the write, not by statement.
SENDING = "gongji_write_behind"


def written(conn: Connection) -> int:
    """How many writes were queued on this connection, sent or not. Sending does not change
    it, however the writes are grouped into statements: a command that queued a write has
    changed it, even if its write left in one statement with the writes queued before it."""
    return conn.info.get(_SENT, 0) + len(conn.info.get(_QUEUE) or ())


def flush(conn: Connection) -> None:
    """Send the queued writes in one round trip."""
    pending = _take(conn)
    if pending:
        with _pipeline(conn):
            _send(conn, pending)


def commit(conn: Connection, transaction: RootTransaction) -> None:
    """Send the queued writes and COMMIT in one round trip."""
    pending = _take(conn)
    if not pending:
        transaction.commit()
        return
    try:
        with _pipeline(conn):
            _send(conn, pending)
            transaction.commit()
    except BaseException:
        # Nothing was committed; leave the connection idle for the pool, as a
        # failed COMMIT sent on its own would.
        if conn.dialect.name == "postgresql":
            conn.connection.driver_connection.rollback()
        raise


def _take(conn: Connection) -> list:
    queue = conn.info.get(_QUEUE)
    if not queue:
        return []
    pending = list(queue)
    queue.clear()  # before sending: the statements below must not flush again
    conn.info[_SENT] = conn.info.get(_SENT, 0) + len(pending)
    starts = conn.info.pop(_STARTS, [])
    # The commands whose writes are queued: from each start to the next (what comes
    # before the first start is the rest of a command flushed part-way).
    bounds = sorted({0, *(s for s in starts if s < len(pending)), len(pending)})
    return [pending[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if a < b]


def _send(conn: Connection, pending: list) -> None:
    """In a batch (store/held.py): each statement once, with every row queued for it (an
    INSERT of many rows is one statement), in the order the statements were first queued.
    A batch's settlements queue the same statements in the same order, so every row still
    follows the rows it depends on (a settlement before its postings, postings before
    their transaction row, one balance's moves in turn). Elsewhere: as queued. On PostgreSQL
    the many rows of one statement go as one command where store/rowsets.py can write them
    so, not a command per row."""
    if held(conn) is None:
        ordered = [write for command in pending for write in command]
    else:
        ordered = _grouped(pending)
    for statement, params in ordered:
        if isinstance(params, list) and rowsets.write_many(conn, statement, params,
                                                            **{SENDING: True}):
            continue
        conn.execute(statement, params, execution_options={SENDING: True})


def _grouped(commands: list[list]) -> list:
    """Merge the commands' writes into as few statements as keep two orders: each
    command's own writes in turn, and the rows of one statement in command order (one
    row's changes, a balance or an accumulator, apply in turn). A write joins the newest
    group of its statement (and shape of row) if that comes after the group of its
    command's previous write; otherwise it starts a new group at the end."""
    groups: list[tuple[object, list | object]] = []
    newest: dict[int, tuple[int, frozenset | None]] = {}  # statement -> newest group, shape
    for command in commands:
        position = -1
        for statement, params in command:
            rows = params if isinstance(params, list) else [params]
            shape = (frozenset(rows[0]) if rows and isinstance(rows[0], dict)
                     and all(isinstance(r, dict) and frozenset(r) == frozenset(rows[0])
                             for r in rows) else None)
            last, last_shape = newest.get(id(statement), (None, None))
            if last is not None and last > position and shape is not None \
                    and shape == last_shape:
                groups[last][1].extend(rows)
                position = last
                continue
            groups.append((statement, list(rows) if shape is not None else params))
            position = len(groups) - 1
            newest[id(statement)] = (position, shape)
    return [(statement, rows[0] if isinstance(rows, list) and len(rows) == 1 else rows)
            for statement, rows in groups]


@contextmanager
def _pipeline(conn: Connection) -> Iterator[None]:
    """A psycopg pipeline; an error found at its sync is raised as SQLAlchemy's own
    (IntegrityError etc.), as if the failing statement had run alone. SQLite: no network,
    nothing to pipeline."""
    if conn.dialect.name != "postgresql":
        yield
        return
    with as_sqlalchemy_errors(), conn.connection.driver_connection.pipeline():
        yield
