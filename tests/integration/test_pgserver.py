"""The test infrastructure itself: the throwaway server and the fresh-database fixtures."""

import psycopg
import sqlalchemy as sa

import pgserver


def test_server_answers(pg_server_url):
    with psycopg.connect(pgserver.conninfo(pg_server_url)) as conn:
        version = conn.execute("select version()").fetchone()[0]
    assert version.startswith("PostgreSQL ")


def _tables(url):
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_fresh_databases_are_independent(db_url, make_db_url):
    other_url = make_db_url()
    assert other_url != db_url
    assert _tables(db_url) == _tables(other_url)  # both start as the migrated template

    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table scratch_only_here (id integer primary key)"))
        conn.execute(sa.text("insert into scratch_only_here values (1)"))
    engine.dispose()

    assert "scratch_only_here" in _tables(db_url)
    assert "scratch_only_here" not in _tables(other_url)
    assert "scratch_only_here" not in _tables(make_db_url())


def test_pg_url_is_marked_and_fresh(pg_url, request):
    assert request.node.get_closest_marker("pg") is not None
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        name = conn.execute(sa.text("select current_database()")).scalar_one()
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert name.startswith("t_") and "scratch_only_here" not in tables
