"""What every use case needs: the engine and a clock (replaceable in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from gongji.services.clock import utc_now
from gongji.store.uow import UnitOfWork


@dataclass
class Context:
    engine: Engine
    clock: Callable[[], datetime] = field(default=utc_now)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def read(self) -> UnitOfWork:
        """A unit of work for queries: never commits, takes no write lock on SQLite."""
        return UnitOfWork(self.engine, readonly=True)

    def now(self) -> datetime:
        return self.clock()
