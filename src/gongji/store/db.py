"""Engines for SQLite (embedded default) and PostgreSQL, from the same code."""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from gongji.store import writebehind

_writer_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine tuned for the dialect. SQLite writers take the lock up front
    (BEGIN IMMEDIATE) so two writers never deadlock on a lock upgrade."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=pool_size, max_overflow=0)
        _tune_sqlite(engine)
        writebehind.install(engine)  # a batch queues on SQLite too
        _writer_locks[engine] = threading.RLock()
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                           pool_pre_ping=True)
    writebehind.install(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        readonly = conn.get_execution_options().get("gongji_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def writer_lock(engine: Engine) -> threading.RLock | None:
    """SQLite has one writer at a time. Threads of one process queue for it on this lock,
    and are woken the moment it is free, instead of in SQLite's busy handler, which
    sleeps and polls (up to 100 ms a turn) and so loses most of a busy second. Other
    processes on the same file still meet the busy handler. None for PostgreSQL."""
    return _writer_locks.get(engine)
