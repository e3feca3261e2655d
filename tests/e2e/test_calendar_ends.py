"""Periods at the ends of the calendar and odd paging parameters are never a 5xx.

`from=0001-01-01` starts before the first instant a UTC datetime can hold (Beijing midnight
is 16:00 UTC the day before) and `to=9999-12-31` ends after the last one (the day after
does not exist). Such a far end selects what an open end selects: everything. A malformed
date, cursor or limit stays a coded 422. Every read that takes a period is tried, on
SQLite and PostgreSQL (backend_world)."""

from __future__ import annotations

import pytest

FAR = [("0001-01-01", "9999-12-31"), ("0001-01-01", None), (None, "9999-12-31"),
       ("0001-01-01", "0001-01-01"), ("9999-12-31", "9999-12-31"), ("0001-01-02", "9999-12-30")]


def _routes(world) -> dict[str, tuple[str, dict]]:  # noqa: ANN001
    """path -> (who calls, whose data): every read that takes from/to."""
    return {
        "/api/v1/account/entries": ("owner", world.mother),
        "/api/v1/account/entries.csv": ("owner", world.mother),
        "/api/v1/account/entries.xlsx": ("owner", world.mother),
        "/api/v1/settlements": ("owner", world.child),
        f"/api/v1/hall/persons/{world.mother['certno']}/entries": ("clerk", world.mother),
    }


def _get(world, path: str, params: dict):  # noqa: ANN001, ANN202
    role, owner = _routes(world)[path]
    return world.client.get(path, params={k: v for k, v in params.items() if v is not None},
                            headers=world.headers(role, owner))


def _paths(world) -> list[str]:  # noqa: ANN001
    return list(_routes(world))


@pytest.mark.parametrize(("date_from", "date_to"), FAR)
def test_a_period_at_the_ends_of_the_calendar_is_answered(backend_world, date_from, date_to):
    world = backend_world
    for path in _paths(world):
        answer = _get(world, path, {"from": date_from, "to": date_to})
        assert answer.status_code == 200, (path, answer.text)


def test_the_whole_calendar_selects_what_no_period_selects(backend_world):
    world = backend_world
    whole = {"from": "0001-01-01", "to": "9999-12-31"}
    for path in ("/api/v1/account/entries", "/api/v1/settlements",
                 f"/api/v1/hall/persons/{world.mother['certno']}/entries",
                 "/api/v1/account/entries.csv"):
        everything = _get(world, path, {})
        assert everything.status_code == 200
        far = _get(world, path, whole)
        assert far.status_code == 200, far.text
        assert far.content == everything.content, path
    entries = _get(world, "/api/v1/account/entries", whole).json()["entries"]
    assert entries, "the seeded mother has entries"


@pytest.mark.parametrize("params", [
    {"from": "0000-12-31"}, {"to": "10000-01-01"}, {"from": "9999-12-32"}, {"from": "1-1-1"},
    {"from": "2025-13-01"}, {"to": "２０２５-０１-０１"}, {"from": "2025-06-02", "to": "2025-06-01"},
    {"from": "9999-12-31", "to": "0001-01-01"},
])
def test_a_malformed_or_reversed_period_is_a_coded_422(backend_world, params):
    world = backend_world
    for path in _paths(world):
        answer = _get(world, path, params)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["code"] == "INVALID_INPUT"


CURSORS = ["x", "=", "!!!", "AAAA", "MC4w", "LTEuMQ", "OTk5OTk5OTk5OTk5OTk5OTkuMQ", "\u202e",
           "MTAwLi0x", "a" * 64, "MDAwMDAwMDAwMDAwMDAwMDAuOTk5OTk5OTk5OTk5OTk5OTk5"]
LIMITS = ["0", "-1", "501", "99999999999999999999999", "1e3", "abc", "１"]


@pytest.mark.parametrize("cursor", CURSORS)
def test_a_damaged_cursor_is_never_a_5xx(backend_world, cursor):
    world = backend_world
    for path in ("/api/v1/account/entries", "/api/v1/settlements",
                 f"/api/v1/hall/persons/{world.mother['certno']}/entries"):
        answer = _get(world, path, {"cursor": cursor})
        assert answer.status_code in (200, 422), (path, cursor, answer.text)
        if answer.status_code == 422:
            assert answer.json()["code"] == "INVALID_INPUT"


@pytest.mark.parametrize("limit", LIMITS)
def test_a_bad_page_size_is_a_coded_422(backend_world, limit):
    world = backend_world
    for path in ("/api/v1/account/entries", "/api/v1/settlements",
                 f"/api/v1/hall/persons/{world.mother['certno']}/entries"):
        answer = _get(world, path, {"limit": limit})
        assert answer.status_code == 422, (path, limit, answer.text)
        assert answer.json()["code"] == "INVALID_INPUT"
