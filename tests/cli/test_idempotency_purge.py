"""Exactly-once records are kept for a retention period, then `gongji idempotency purge`
removes them in batches. A retry after that is evaluated again, and the settlement's own
(institution, msgid) uniqueness still keeps it from moving money twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text

from gongji.services.operations.verify import verify
from gongji.settings import Settings
from gongji.store.schema import idempotency, settlements
from support import ok


def _rows(world) -> int:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.count()).select_from(idempotency)).scalar_one()


def _settlements(world) -> int:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.count()).select_from(settlements)).scalar_one()


@pytest.fixture
def books(world):
    """100 days ago a credit (REST, keyed by its ref) and five gateway settlements; 10 days
    ago two more settlements: one record each."""
    world.clock.now = datetime.now(UTC) - timedelta(days=100)
    hospital = world.institution()
    patient = world.person("次仁", credit="100")
    old = [world.settle(hospital, patient, "1.00", msgid=f"OLD{n}") for n in range(5)]
    world.clock.now = datetime.now(UTC) - timedelta(days=10)
    recent = [world.settle(hospital, patient, "1.00", msgid=f"NEW{n}") for n in range(2)]
    for answer in old + recent:
        ok(answer)
    assert _rows(world) == 8
    return {"hospital": hospital, "patient": patient, "old": old, "recent": recent}


def test_purge_removes_records_older_than_the_retention_setting(cli, world, books):
    result = cli("idempotency", "purge", env={"GONGJI_IDEMPOTENCY_RETENTION_DAYS": "30"})

    assert result.exit_code == 0, result.output
    assert "已删除 6 条" in result.output
    assert _rows(world) == 2


def test_purge_older_than_days_overrides_the_setting_and_works_in_small_batches(
        cli, world, books):
    result = cli("idempotency", "purge", "--older-than-days", "5", "--batch-size", "2")

    assert result.exit_code == 0, result.output
    assert "已删除 8 条" in result.output
    assert _rows(world) == 0


def test_purge_keeps_everything_within_the_default_retention(cli, world, books):
    result = cli("idempotency", "purge")

    assert result.exit_code == 0, result.output
    assert "已删除 6 条" in result.output  # default 90 days: the 100-day-old ones go
    assert _rows(world) == 2


def test_purge_refuses_less_than_a_day(cli, world, books):
    result = cli("idempotency", "purge", "--older-than-days", "0")

    assert result.exit_code != 0
    assert _rows(world) == 8


def test_a_settlement_retried_after_its_record_was_purged_moves_nothing(cli, world, books):
    world.clock.now = datetime.now(UTC)
    before = world.balance_fen(books["patient"])
    assert cli("idempotency", "purge", "--older-than-days", "30").exit_code == 0

    retry = world.settle(books["hospital"], books["patient"], "1.00", msgid="OLD0")

    assert retry["infcode"] == -1
    assert retry["err_code"] == "MSGID_ALREADY_SETTLED"
    assert world.balance_fen(books["patient"]) == before
    assert _settlements(world) == 7
    assert not [r for r in verify(world.ctx) if r.total]


def test_a_settlement_whose_record_is_gone_cannot_settle_twice(world):
    """Whatever removed the record (a purge, an operator), the settlement row refuses the
    same msgid of the same institution."""
    hospital = world.institution()
    patient = world.person("次仁", credit="100")
    ok(world.settle(hospital, patient, "30.00", msgid="M-1"))
    with world.ctx.uow() as uow:
        uow.conn.execute(text("DELETE FROM idempotency"))
        uow.commit()

    retry = world.settle(hospital, patient, "30.00", msgid="M-1")

    assert retry["err_code"] == "MSGID_ALREADY_SETTLED"
    assert world.balance_fen(patient) == 7000
    assert _settlements(world) == 1
    other = world.institution("H54250002")
    ok(world.settle(other, patient, "30.00", msgid="M-1"))  # msgids are per institution


def test_a_reversal_retried_after_its_record_was_purged_is_refused_and_moves_nothing(
        cli, world, books):
    world.clock.now = datetime.now(UTC) - timedelta(days=99)
    ok(world.reverse(books["hospital"], books["old"][0], books["patient"], msgid="REV0"))
    before = world.balance_fen(books["patient"])
    assert cli("idempotency", "purge", "--older-than-days", "30").exit_code == 0

    world.clock.now = datetime.now(UTC)
    retry = world.reverse(books["hospital"], books["old"][0], books["patient"], msgid="REV0")

    assert retry["err_code"] == "ALREADY_REVERSED"
    assert world.balance_fen(books["patient"]) == before


def test_retention_days_setting_default_and_bounds(monkeypatch):
    monkeypatch.delenv("GONGJI_IDEMPOTENCY_RETENTION_DAYS", raising=False)
    assert Settings().idempotency_retention_days == 90
    monkeypatch.setenv("GONGJI_IDEMPOTENCY_RETENTION_DAYS", "30")
    assert Settings().idempotency_retention_days == 30
    for bad in ("0", "-1", "abc"):
        monkeypatch.setenv("GONGJI_IDEMPOTENCY_RETENTION_DAYS", bad)
        with pytest.raises(ValidationError):
            Settings()
