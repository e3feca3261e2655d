"""SQLite writers of one process queue on the engine's writer lock (store/db.writer_lock)
rather than in SQLite's sleeping busy handler; readers never take it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from gongji.store.db import make_engine, writer_lock
from gongji.store.uow import UnitOfWork


@pytest.fixture
def engine(sqlite_url):
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def held_by_another_thread(lock: threading.RLock) -> bool:
    """Whether a thread other than the caller holds the lock (RLock is reentrant here)."""
    seen: list[bool] = []

    def probe() -> None:
        free = lock.acquire(blocking=False)
        if free:
            lock.release()
        seen.append(not free)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return seen[0]


def test_a_write_unit_of_work_holds_the_writer_lock_until_it_ends(engine):
    lock = writer_lock(engine)
    assert lock is not None and not held_by_another_thread(lock)
    with UnitOfWork(engine) as uow:
        uow.conn.execute(text("SELECT 1"))
        assert held_by_another_thread(lock)
        uow.commit()
    assert not held_by_another_thread(lock)


def test_a_reader_does_not_take_it(engine):
    with UnitOfWork(engine, readonly=True):
        assert not held_by_another_thread(writer_lock(engine))


def test_a_refusal_inside_the_unit_of_work_releases_it(engine):
    with pytest.raises(ValueError), UnitOfWork(engine):
        raise ValueError("refused")
    assert not held_by_another_thread(writer_lock(engine))


def test_the_second_writer_waits_for_the_first_and_then_proceeds(engine):
    first_in, first_may_leave = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with UnitOfWork(engine) as uow:
            first_in.set()
            first_may_leave.wait(10)
            order.append("first")
            uow.commit()

    def second() -> None:
        first_in.wait(10)
        with UnitOfWork(engine) as uow:
            order.append("second")
            uow.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait(10)
    assert order == []  # the second is waiting: it has not entered
    first_may_leave.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first", "second"]


def test_postgresql_engines_have_none(pg_url):
    engine = make_engine(pg_url)
    try:
        assert writer_lock(engine) is None
    finally:
        engine.dispose()
