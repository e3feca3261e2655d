"""Write-behind in a unit of work: queued blind writes are seen, committed once, or dropped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from gongji.domain.errors import DomainError, refuse
from gongji.store.schema import notices
from gongji.store.writebehind import defer
from support import World


def _notice(person_id: int, world: World) -> dict:
    return {"person_id": person_id, "kind": "settlement", "text": "t", "amount_fen": -1,
            "at": world.clock()}


def _count(world: World) -> int:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.count()).select_from(notices)).scalar_one()


def _any_id(world: World) -> int:
    from gongji.store.schema import persons

    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.max(persons.c.id))).scalar_one()


def test_a_read_in_the_same_unit_of_work_sees_the_queued_write(world):
    world.person("甲")
    person_id = _any_id(world)
    with world.ctx.uow() as uow:
        defer(uow.conn, insert(notices).inline(), [_notice(person_id, world)])
        seen = uow.conn.execute(select(func.count()).select_from(notices)).scalar_one()
        assert seen == 1
    assert _count(world) == 0  # never committed


def test_queued_writes_are_committed_with_the_commit(world):
    world.person("甲")
    person_id = _any_id(world)
    with world.ctx.uow() as uow:
        defer(uow.conn, insert(notices).inline(), [_notice(person_id, world)] * 2)
        uow.commit()
    assert _count(world) == 2


def test_a_refusal_drops_the_queued_writes_and_the_next_unit_of_work_starts_clean(world):
    world.person("甲")
    person_id = _any_id(world)
    with pytest.raises(DomainError), world.ctx.uow() as uow:
        defer(uow.conn, insert(notices).inline(), [_notice(person_id, world)])
        raise refuse("INVALID_INPUT")
    with world.ctx.uow() as uow:
        uow.commit()
    assert _count(world) == 0


def test_a_failing_queued_write_fails_the_commit_as_an_integrity_error(pg_url):
    world = World(pg_url)
    try:
        world.person("甲")
        person_id = _any_id(world)
        with pytest.raises(IntegrityError), world.ctx.uow() as uow:
            defer(uow.conn, insert(notices).inline(), [_notice(person_id, world)])
            defer(uow.conn, insert(notices).inline(), [_notice(person_id + 999_999, world)])
            uow.commit()
        assert _count(world) == 0
    finally:
        world.close()


def test_a_failing_queued_write_fails_the_next_read_as_an_integrity_error(pg_url):
    world = World(pg_url)
    try:
        with pytest.raises(IntegrityError), world.ctx.uow() as uow:
            defer(uow.conn, insert(notices).inline(), [_notice(999_999, world)])
            uow.conn.execute(select(func.count()).select_from(notices))
        assert _count(world) == 0
    finally:
        world.close()
