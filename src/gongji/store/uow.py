"""Unit of work: one command, one database transaction, one commit.

Nothing is written unless `commit()` is called; leaving the block without it
rolls everything back, so a refusal half-way through leaves no trace.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from gongji.store import writebehind
from gongji.store.db import writer_lock


class UnitOfWork:
    def __init__(self, engine: Engine, *, readonly: bool = False):
        self._engine = engine
        self._readonly = readonly
        self.conn: Connection

    def __enter__(self) -> UnitOfWork:
        self._writer = None if self._readonly else writer_lock(self._engine)
        if self._writer is not None:
            self._writer.acquire()
        try:
            self.conn = self._engine.connect()
            if self._readonly:  # SQLite: a reader need not take the write lock
                self.conn = self.conn.execution_options(gongji_readonly=True)
            self._tx = self.conn.begin()
        except BaseException:
            self._release()
            raise
        if not self._readonly:
            writebehind.begin(self.conn)
        return self

    def commit(self) -> None:
        writebehind.commit(self.conn, self._tx)

    def __exit__(self, *exc: object) -> None:
        try:
            writebehind.end(self.conn)  # unsent writes go with the rollback
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            try:
                self.conn.close()
            finally:
                self._release()

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
