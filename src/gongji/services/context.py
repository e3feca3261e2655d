"""What every use case needs: the engine and a clock (replaceable in tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from gongji.services.batching import Batcher
from gongji.services.clock import utc_now
from gongji.store.uow import UnitOfWork

_MADE = threading.Lock()


@dataclass
class Context:
    engine: Engine
    clock: Callable[[], datetime] = field(default=utc_now)
    # Group commit (services/batching.py): the most commands one transaction takes, and how
    # long the writer waits for more once the first has come (0: take what is waiting).
    batch_max_size: int = 64
    batch_wait_s: float = 0.0
    _batcher: Batcher | None = field(default=None, init=False, repr=False)

    @property
    def batcher(self) -> Batcher:
        """The process's writer for exactly-once commands on this engine."""
        with _MADE:
            if self._batcher is None:
                self._batcher = Batcher(self.engine, max_size=self.batch_max_size,
                                        max_wait_s=self.batch_wait_s)
        return self._batcher

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def read(self) -> UnitOfWork:
        """A unit of work for queries: never commits, takes no write lock on SQLite."""
        return UnitOfWork(self.engine, readonly=True)

    def now(self) -> datetime:
        return self.clock()
