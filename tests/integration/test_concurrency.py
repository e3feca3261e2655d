"""Concurrency on a real PostgreSQL: no overdraft, exactly-once under racing retries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from gongji.store.schema import postings, settlements
from support import ok


def test_thirty_pharmacies_charging_one_helper_never_overdraw_it(pg_world):
    codes = [pg_world.institution(f"P{i:04d}", "pharmacy") for i in range(30)]
    helper = pg_world.person("共济人", credit="1000.00")
    patients = []
    for i in range(30):
        patient = pg_world.person(f"亲属{i}", insutype="390")
        pg_world.bind(helper, patient, "child")
        patients.append(patient)

    def charge(i: int) -> dict:
        return ok(pg_world.settle(codes[i], patients[i], "100.00", infno="2102"))["setlinfo"]

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(charge, range(30)))
    drawn = sum(r["acct_mulaid_pay"] for r in results)
    cash = sum(r["psn_cash_pay"] for r in results)
    assert drawn == 1000 and cash == 2000
    assert pg_world.balance_fen(helper) == 0
    with pg_world.ctx.read() as uow:  # the journal agrees, and no posting ever left it negative
        lows = uow.conn.execute(select(func.min(postings.c.balance_after_fen))).scalar()
        assert lows == 0


def test_twenty_copies_of_one_request_debit_once(pg_world):
    code = pg_world.institution("H0001", "hospital")
    helper = pg_world.person("共济人", credit="1000.00")
    patient = pg_world.person("亲属", insutype="390")
    pg_world.bind(helper, patient, "spouse")

    def send(_: int) -> dict:
        return pg_world.settle(code, patient, "100.00", msgid="SAME-MSG")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))
    outputs = {str(ok(a)) for a in answers}
    assert len(outputs) == 1
    assert pg_world.balance_fen(helper) == 90000
    with pg_world.ctx.read() as uow:
        assert uow.conn.execute(select(func.count()).select_from(settlements)).scalar() == 1


def test_racing_reversals_refund_once(pg_world):
    code = pg_world.institution("H0002", "hospital")
    helper = pg_world.person("共济人", credit="500.00")
    patient = pg_world.person("亲属", insutype="390")
    pg_world.bind(helper, patient, "parent")
    answer = pg_world.settle(code, patient, "200.00")

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: pg_world.reverse(code, answer, patient), range(10)))
    assert sum(r["infcode"] == 0 for r in results) == 1
    assert {r["err_code"] for r in results if r["infcode"] != 0} == {"ALREADY_REVERSED"}
    assert pg_world.balance_fen(helper) == 50000


def test_opposite_bindings_settling_at_once_do_not_deadlock(pg_world):
    """Two spouses helping each other, both settling at once, many times: locks are
    taken in account-id order, so neither waits forever."""
    code = pg_world.institution("H0003", "hospital")
    a = pg_world.person("甲", credit="300.00")
    b = pg_world.person("乙", credit="300.00")
    pg_world.bind(a, b, "spouse")
    pg_world.bind(b, a, "spouse", register=False)

    def settle(i: int) -> dict:
        return ok(pg_world.settle(code, a if i % 2 else b, "7.00"))["setlinfo"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(settle, range(120)))
    paid = sum(r["acct_pay"] + r["acct_mulaid_pay"] for r in results)
    assert round(paid, 2) == 600 and pg_world.balances(a, b) == [0, 0]
