"""psycopg errors raised as SQLAlchemy's own, for the statements sent to psycopg directly
(pipelines, unprepared statements): callers catch IntegrityError, DataError and the rest
the same way whichever road a statement took."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc


@contextmanager
def as_sqlalchemy_errors() -> Iterator[None]:
    import psycopg  # only PostgreSQL comes here; SQLite installs need not load it

    try:
        yield
    except psycopg.Error as error:
        raise exc.DBAPIError.instance(None, None, error, psycopg.Error) from error
