"""`gongji verify` recomputes the ledger from the journal and names every violation,
including rows changed directly in the database behind the service's back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from gongji.services.binding.actor import Actor
from gongji.services.binding.unbinding import unbind
from gongji.services.money.credits import reverse_credit
from gongji.store.schema import accounts, persons, settlements
from support import ok


@pytest.fixture
def ledger(world):
    """A helper, her child bound to her, a hospital: one settlement drawing on her, one
    reversed, a credit reversed."""
    helper = world.person("卓玛", credit="1000")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    world.bind(helper, child, "child")
    hospital = world.institution()
    kept = ok(world.settle(hospital, child, "1500", "1400"))
    undone = world.settle(hospital, child, "100")
    ok(world.reverse(hospital, undone, child))
    world.credit(helper, "10", "wrong-credit")
    reverse_credit(world.ctx, "wrong-credit")
    return {"helper": helper, "setl_id": kept["setlinfo"]["setl_id"]}


def _execute(world, sql: str, **params) -> None:  # noqa: ANN001
    with world.ctx.uow() as uow:
        uow.conn.execute(text(sql), params)
        uow.commit()


def test_verify_passes_on_a_consistent_ledger(cli, ledger):
    result = cli("verify")

    assert result.exit_code == 0, result.output
    assert "全部核验通过" in result.output


def test_verify_finds_a_balance_changed_behind_the_journal(cli, world, ledger):
    helper = ledger["helper"]
    with world.ctx.read() as uow:
        account_id = uow.conn.execute(
            select(accounts.c.id).join(persons, persons.c.id == accounts.c.person_id)
            .where(persons.c.psn_no == helper["psn_no"])).scalar_one()
    _execute(world, "UPDATE accounts SET balance_fen = balance_fen + 100 WHERE id = :id",
             id=account_id)

    result = cli("verify")

    assert result.exit_code == 1
    assert "✗ balance_matches_journal" in result.output
    assert f"账户 psn:{helper['psn_no']}" in result.output
    assert "按分录重算为 220.00 元" in result.output
    assert "✗ settlement_postings" not in result.output


def test_verify_finds_a_settlement_whose_amounts_were_moved_between_fund_and_cash(
        cli, world, ledger):
    # The parts still add up, so the table's CHECKs let it through; the journal disagrees.
    _execute(world, "UPDATE settlements SET fund_pay_sumamt_fen = fund_pay_sumamt_fen - 100,"
                    " psn_part_amt_fen = psn_part_amt_fen + 100,"
                    " psn_cash_pay_fen = psn_cash_pay_fen + 100 WHERE setl_id = :s",
             s=ledger["setl_id"])

    result = cli("verify")

    assert result.exit_code == 1
    assert "✗ settlement_postings" in result.output
    assert f"结算 {ledger['setl_id']}" in result.output


def test_verify_finds_a_helper_charged_before_the_binding_was_active(cli, world, ledger):
    with world.ctx.read() as uow:
        setl_time = uow.conn.execute(select(settlements.c.setl_time).where(
            settlements.c.setl_id == ledger["setl_id"])).scalar_one()
    earlier = (setl_time - timedelta(days=1)).replace(tzinfo=None)
    _execute(world, "UPDATE settlements SET setl_time = :t WHERE setl_id = :s",
             t=earlier, s=ledger["setl_id"])

    result = cli("verify")

    assert result.exit_code == 1
    assert "✗ mulaid_binding_active" in result.output
    assert f"结算 {ledger['setl_id']} 共济明细 1" in result.output


def test_verify_accepts_a_settlement_at_the_same_instant_as_the_unbinding(cli, world):
    """Settled, then unbound, on a clock that did not move: the settlement came first."""
    helper = world.person("卓玛", credit="1000")
    child = world.person("平措", insutype="390", born=date(2012, 5, 20))
    binding_id = world.bind(helper, child, "child")
    hospital = world.institution()
    drew = ok(world.settle(hospital, child, "100"))
    assert drew["mulaid_detail"][0]["helper_psn_no"] == helper["psn_no"]
    unbind(world.ctx, binding_id, Actor("person", helper["psn_no"], "national_app"))

    result = cli("verify")

    assert result.exit_code == 0, result.output
