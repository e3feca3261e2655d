"""Shared fixtures: fresh, migrated, empty databases on SQLite and PostgreSQL.

    db_url      each test runs twice, ids [sqlite] and [pg]; pg runs are marked `pg`
    sqlite_url  SQLite only: a copy of a template file migrated once per session
    pg_url      PostgreSQL only: CREATE DATABASE ... TEMPLATE of a database migrated
                once per session (per xdist worker), dropped after the test
    make_db_url, make_sqlite_url, make_pg_url
                factories for more fresh databases in one test (same backend as
                db_url for make_db_url); all are cleaned up after the test
    pg_server_url  the server itself (its `postgres` database): a ThrowawayPostgres
                started once per worker, or GONGJI_TEST_PG_URL if set (an existing
                server where we may CREATE DATABASE; nothing is started then)

If PostgreSQL cannot start, tests that need it error out with the reason; they are
never skipped.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgserver  # noqa: E402  (tests/pgserver.py)

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _migrate(url: str) -> None:
    from gongji.store.migrate import upgrade  # imported late: tests without a database skip it

    upgrade(url)


def pytest_collection_modifyitems(items):
    for item in items:
        if {"pg_url", "make_pg_url", "pg_server_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pg)


# --- SQLite ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _migrate(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # fold any WAL into the file we copy
    con.close()
    return path


@pytest.fixture
def make_sqlite_url(_sqlite_template, tmp_path):
    def make() -> str:
        path = tmp_path / f"gongji-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(_sqlite_template, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture
def sqlite_url(make_sqlite_url) -> str:
    return make_sqlite_url()


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server_url():
    if os.environ.get("GONGJI_TEST_PG_URL"):
        yield os.environ["GONGJI_TEST_PG_URL"]
        return
    with pgserver.ThrowawayPostgres() as server:
        yield server.url


@pytest.fixture(scope="session")
def _pg_admin(pg_server_url):
    with psycopg.connect(pgserver.conninfo(pg_server_url), autocommit=True) as conn:
        yield conn


def _drop_database(admin, name: str) -> None:
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _pg_template(pg_server_url, _pg_admin) -> str:
    name = f"gongji_tpl_{WORKER}"

    def drop():  # a template database must be demoted before it can be dropped
        if _pg_admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            _pg_admin.execute(f'ALTER DATABASE "{name}" IS_TEMPLATE false')
            _drop_database(_pg_admin, name)

    drop()  # left over from a killed run against GONGJI_TEST_PG_URL
    _pg_admin.execute(f'CREATE DATABASE "{name}"')
    _migrate(pgserver.with_database(pg_server_url, name))
    # CREATE DATABASE ... TEMPLATE needs the template to have no sessions; forbid new ones.
    _pg_admin.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
    _pg_admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
    yield name
    drop()


@pytest.fixture
def make_pg_url(pg_server_url, _pg_admin, _pg_template):
    created = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex}"
        _pg_admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"')
        created.append(name)
        return pgserver.with_database(pg_server_url, name)

    yield make
    for name in created:
        _drop_database(_pg_admin, name)


@pytest.fixture
def pg_url(make_pg_url) -> str:
    return make_pg_url()


# --- both -----------------------------------------------------------------------------------------


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("pg", id="pg", marks=pytest.mark.pg)])
def make_db_url(request):
    return request.getfixturevalue(f"make_{request.param}_url")


@pytest.fixture
def db_url(make_db_url) -> str:
    return make_db_url()


@pytest.fixture
def world(db_url):
    """The World builder (tests/support.py) on a fresh database of each backend."""
    from support import World

    w = World(db_url)
    yield w
    w.close()
