"""journal.post_batch: many legs, one transaction, balances moved set-based and guarded
as journal.post moves them; a refused batch moves nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gongji.domain.errors import InvariantViolation
from gongji.services.operations.verify import verify
from gongji.store import repo
from gongji.store.journal import Leg, new_txn_id, post_batch
from gongji.store.schema import journal_txns, persons, postings
from support import World


def _account(world: World, person: dict) -> int:
    with world.ctx.read() as uow:
        return repo.person_by_id(uow.conn, uow.conn.execute(
            select(persons.c.id).where(persons.c.psn_no == person["psn_no"])).scalar_one()
        ).account_id


def _post(world: World, legs_for) -> int:  # noqa: ANN001
    """Lock the accounts, build the legs from the locked balances, post; the txn id."""
    with world.ctx.uow() as uow:
        source = repo.system_account(uow.conn, "contrib:542500", "contribution")
        txn_id = new_txn_id(uow.conn)
        post_batch(uow.conn, txn_id, "credit", legs_for(uow.conn, source), world.clock(),
                   txn_kind="credit_batch")
        uow.commit()
    return txn_id


def _journal_counts(world: World) -> tuple[int, int]:
    with world.ctx.read() as uow:
        return tuple(uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (journal_txns, postings))


def test_a_batch_moves_every_account_once_with_each_leg_s_balance_after(world):
    first, second = world.person("卓玛", credit="1.00"), world.person("达瓦")
    a, b = _account(world, first), _account(world, second)

    def legs(conn, source):  # noqa: ANN001, ANN202
        held = {i: r.balance_fen for i, r in repo.lock_accounts(conn, [a, b]).items()}
        return [Leg(a, 250, held[a] + 250), Leg(b, 300, held[b] + 300),
                Leg(a, 50, held[a] + 300), Leg(source, -600)]

    txn_id = _post(world, legs)

    assert world.balances(first, second) == [400, 300]
    with world.ctx.read() as uow:
        rows = uow.conn.execute(select(postings.c.account_id, postings.c.amount_fen,
                                       postings.c.balance_after_fen)
                                .where(postings.c.txn_id == txn_id).order_by(postings.c.id)
                                ).all()
        kind = uow.conn.execute(select(journal_txns.c.kind)
                                .where(journal_txns.c.id == txn_id)).scalar_one()
    assert [tuple(r) for r in rows][:3] == [(a, 250, 350), (b, 300, 300), (a, 50, 400)]
    assert kind == "credit_batch"
    assert not [r for r in verify(world.ctx) if r.total]


@pytest.mark.parametrize("case", ["overdraft", "unbalanced", "stale balance",
                                  "broken chain"])
def test_a_refused_batch_moves_nothing(world, case):
    first, second = world.person("卓玛", credit="1.00"), world.person("达瓦", credit="2.00")
    a, b = _account(world, first), _account(world, second)
    before = (world.balances(first, second), _journal_counts(world))

    def legs(conn, source):  # noqa: ANN001, ANN202
        held = {i: r.balance_fen for i, r in repo.lock_accounts(conn, [a, b]).items()}
        return {
            "overdraft": [Leg(b, 100, held[b] + 100), Leg(a, -150, held[a] - 150),
                          Leg(source, 50)],
            "unbalanced": [Leg(b, 100, held[b] + 100), Leg(a, 100, held[a] + 100),
                           Leg(source, -150)],
            "stale balance": [Leg(a, 100, held[a] + 100), Leg(b, 100, held[b] + 99),
                              Leg(source, -200)],
            "broken chain": [Leg(a, 100, held[a] + 100), Leg(a, 100, held[a] + 150),
                             Leg(source, -200)],
        }[case]

    with pytest.raises(InvariantViolation):
        _post(world, legs)

    assert (world.balances(first, second), _journal_counts(world)) == before
