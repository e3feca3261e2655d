"""Schemathesis over the app's own OpenAPI document, in process: for every documented
operation, requests generated from its schema (valid ones, and invalid ones: wrong types,
missing fields, out-of-range values, odd unicode, NUL characters) are sent with the token
of every role the authorisation table lets through. No answer may be a 5xx, and every
answer must be as documented: a documented status, content type and body schema (the
refusals' `{"code", "message"}` included); invalid input must be refused with a 4xx; and
after each operation's cases the books still balance (`gongji verify`'s checks).

Runs on SQLite and PostgreSQL (which refuses NUL characters in text: that must not
become a 500). `make test` sends a few cases per operation; `make test-deep` hundreds.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from authorisation_table import ROWS, Row
from figures import record
from gongji.services.operations.verify import verify
from security_world import ROLES, SecurityWorld

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]
FUZZED = [row for row in ROWS if row.route.startswith(("/api/v1/", "/fsi/"))]
GATEWAY = "/fsi/api/rsfComIfsService/callService"
FAST_EXAMPLES, DEEP_EXAMPLES = 6, 150
TALLY = {"cases": 0, "requests": 0}


def tokens_allowed(world: SecurityWorld, row: Row) -> dict[str, str]:
    """One token per role the table lets past authentication and the role check."""
    allowed = {}
    for role, status in zip(ROLES, row.expect, strict=True):
        if role not in ("none", "other") and status not in (401, 403):
            allowed[role] = world.headers(role, world.mother)["Authorization"]
    return allowed


def schema_of(world: SecurityWorld):  # noqa: ANN201
    if not hasattr(world, "openapi_schema"):
        world.openapi_schema = schemathesis.openapi.from_asgi("/openapi.json", world.app)
    return world.openapi_schema


def checks_for(case, checks: list) -> list:  # noqa: ANN001
    """A query parameter sent as a list or object goes out repeated (`from=a&from=b`);
    FastAPI reads the last value, as most servers do, and judges only that one. Whether
    the others are refused is not what these checks are for."""
    if any(isinstance(value, (list, dict)) for value in (case.query or {}).values()):
        return [c for c in checks if c is not negative_data_rejection]
    return checks


def fuzz(world: SecurityWorld, row: Row, examples: int) -> None:
    before = dict(TALLY)
    fuzz_operation(world, row, examples)
    broken = [(r.check.name, r.violations) for r in verify(world.ctx) if r.total]
    assert broken == [], f"the books no longer balance after fuzzing {row.id}"
    record(f"schemathesis {world.backend} {row.id}: {TALLY['cases'] - before['cases']} cases, "
           f"{TALLY['requests'] - before['requests']} requests, no violation")


def fuzz_operation(world: SecurityWorld, row: Row, examples: int) -> None:
    operation = schema_of(world)[row.route][row.method]
    tokens = tokens_allowed(world, row)
    # The gateway answers refusals with HTTP 200 and infcode -1, as the national interface
    # does: its envelope schema is checked, and test_fuzz_gateway.py fuzzes it in depth.
    checks = [c for c in CHECKS if row.route != GATEWAY or c is not negative_data_rejection]
    assert tokens, f"{row.id}: no role may call it, nothing to fuzz"
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # noqa: ANN001
            TALLY["cases"] += 1
            for authorization in tokens.values():
                headers = {"Authorization": authorization}
                response = case.call(headers=headers)
                TALLY["requests"] += 1
                case.validate_response(response, checks=checks_for(case, checks),
                                       headers=headers)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (an operation without input)
            assert mode is GenerationMode.NEGATIVE, row.id


@pytest.mark.parametrize("row", FUZZED, ids=[row.id for row in FUZZED])
def test_generated_requests_get_documented_answers_and_never_a_server_error(backend_world, row):
    fuzz(backend_world, row, FAST_EXAMPLES)


@pytest.mark.deep
@pytest.mark.parametrize("row", FUZZED, ids=[row.id for row in FUZZED])
def test_many_generated_requests_get_documented_answers_and_never_a_server_error(
        backend_world, row):
    fuzz(backend_world, row, DEEP_EXAMPLES)
