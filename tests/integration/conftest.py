"""Fixtures shared by the integration tests; `world` is each module's own."""

from __future__ import annotations

import pytest


@pytest.fixture
def pair(world):
    """A helper with 10.00 yuan and his wife, a resident, registered as spouses."""
    helper = world.person("丈夫", credit="10.00")
    wife = world.person("妻子", "390")
    world.kin(helper, wife, "spouse")
    return helper, wife
