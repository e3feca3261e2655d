"""Every endpoint × every role answers the status of the table in authorisation_table.py:
no token 401, a wrong role 403, another person's resource 404 (as if it did not exist),
a clerk of another region 404 (as if the person or resource did not exist). An endpoint added without a row fails here."""

from __future__ import annotations

import pytest

from authorisation_table import ROWS, Row, served_endpoints
from security_world import ROLES, SecurityWorld

AUTH_CODES = {401: {"UNAUTHENTICATED"}, 403: {"FORBIDDEN"}}


def test_every_endpoint_the_app_serves_has_a_row_and_every_row_an_endpoint(sqlite_world):
    served = served_endpoints(sqlite_world.app)
    tabled = [(row.method, row.route) for row in ROWS]

    assert len(tabled) == len(set(tabled)), "a route is in the table twice"
    assert sorted(served - set(tabled)) == [], "endpoints without a row in the table"
    assert sorted(set(tabled) - served) == [], "rows for endpoints the app no longer serves"


def answers(world: SecurityWorld, row: Row) -> list[tuple[str, int, dict | None]]:
    """(role, status, JSON error body or None) for each role, one fresh call each."""
    seen = []
    for role in ROLES:
        call = row.call(world)
        response = world.client.request(row.method, call.url, json=call.body,
                                        headers=world.headers(role, call.owner))
        body = None
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
        seen.append((role, response.status_code, body))
    return seen


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_each_role_gets_the_status_the_table_gives_it(sqlite_world, row):
    seen = answers(sqlite_world, row)

    got = tuple(status for _, status, _ in seen)
    table = "\n".join(f"  {role:<12} expected {want}  got {status}  {body or ''}"
                      for (role, status, body), want in zip(seen, row.expect, strict=True))
    assert got == row.expect, f"{row.id}:\n{table}"
    for role, status, body in seen:
        if status >= 400 and row.route != "/web/demo/identities":
            assert body and body.get("code") and body.get("message"), (role, status, body)
        if status in AUTH_CODES:
            assert body["code"] in AUTH_CODES[status], (role, body)
