"""Fixtures shared by the integration tests: `world` on each database of the run, `pg_world`
for races on PostgreSQL (a pool as large as the threads that race); a module that needs
another World (a smaller pool, its own clock) defines its own `world`."""

from __future__ import annotations

import pytest

from support import World


@pytest.fixture
def world(db_url):
    w = World(db_url)
    yield w
    w.close()


@pytest.fixture
def pg_world(pg_url):
    w = World(pg_url, pool_size=32)
    yield w
    w.close()


@pytest.fixture
def pair(world):
    """A helper with 10.00 yuan and his wife, a resident, registered as spouses."""
    helper = world.person("丈夫", credit="10.00")
    wife = world.person("妻子", "390")
    world.kin(helper, wife, "spouse")
    return helper, wife
