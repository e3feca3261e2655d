"""2601 冲正 racing its original on a real PostgreSQL. A 2207: every run ends "settled, then
reversed" or "never settled", never "settled and unreversed", and money never moves for a
message that never settled (the ledger balances, the helper has what she started with). A
2201: registered then cancelled, or never registered; never a visit left open."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from gongji.services.operations.verify import verify
from gongji.store.schema import settlements, spent_msgids, visits
from support import World

RUNS = 240
# Most runs release both at the same instant; every third run lets one side start 3 ms late,
# in turn, so that both endings are seen even on a loaded machine (a run of only one ending
# would prove nothing about the other), while the same-instant runs still race for real.
LAGS = ((0.0, 0.0), (0.003, 0.0), (0.0, 0.0), (0.0, 0.003), (0.0, 0.0), (0.0, 0.0))


def _lags(run: int) -> tuple[float, float]:
    """(original's lag, correction's lag) for this run."""
    return LAGS[run % len(LAGS)]


@pytest.fixture
def world(pg_url):
    w = World(pg_url, pool_size=8)
    yield w
    w.close()


def _race(world: World, code: str, patient: dict, msgid: str,
          lags: tuple[float, float]) -> tuple[dict, dict]:
    """The original 2207 and its 2601, released together (each after its lag)."""
    start = threading.Barrier(2)

    def original() -> dict:
        start.wait()
        time.sleep(lags[0])
        return world.settle(code, patient, "1.00", msgid=msgid)

    def correction() -> dict:
        start.wait()
        time.sleep(lags[1])
        return world.call(code, "2601", {"psn_no": patient["psn_no"], "omsgid": msgid,
                                         "oinfno": "2207"}, msgid=f"C-{msgid}")

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.submit(original), pool.submit(correction)
        return first.result(), second.result()


def _outcome(settled: dict, corrected: dict) -> str:
    assert corrected["infcode"] == 0, corrected
    if settled["infcode"] == 0:
        # the original won: the correction must have reversed exactly that settlement
        setlinfo = corrected["output"]["setlinfo"]
        assert setlinfo["reversed"] is True
        assert setlinfo["setl_id"] == settled["output"]["setlinfo"]["setl_id"]
        return "settled, then reversed"
    assert settled["err_code"] == "MSG_REVERSED", settled
    assert corrected["output"]["msg_spent"] is True
    return "never settled"


def test_a_correction_racing_its_original_never_leaves_it_settled(world):
    code = world.institution("H0601", "hospital")
    helper = world.person("共济人", credit="100.00")
    patient = world.person("亲属", insutype="390")
    world.bind(helper, patient, "spouse")
    outcomes = {"settled, then reversed": 0, "never settled": 0}
    for run in range(RUNS):
        outcomes[_outcome(*_race(world, code, patient, f"H0601-{run:05d}", _lags(run)))] += 1
        assert world.balance_fen(helper) == 10000, run
    with world.ctx.read() as uow:
        live = uow.conn.execute(select(func.count()).select_from(settlements)
                                .where(settlements.c.reversed_at.is_(None))).scalar()
        spent = uow.conn.execute(select(func.count()).select_from(spent_msgids)).scalar()
    assert live == 0 and spent == RUNS
    results = verify(world.ctx)
    assert all(not r.violations for r in results if not r.check.advisory)
    # both orders happened: the race was real, not one side always first
    print(f"2601 race, {RUNS} runs: {outcomes}")
    assert all(outcomes.values()), outcomes


def test_a_correction_racing_a_registration_never_leaves_the_visit_open(world):
    """The same key serialises a 2201 挂号 and its 2601: the visit is registered then
    cancelled, or never registered."""
    code = world.institution("H0602", "hospital")
    patient = world.person("患者", insutype="390")
    data = {"psn_no": patient["psn_no"], "insutype": "390", "mdtrt_cert_type": "02",
            "mdtrt_cert_no": patient["certno"], "begntime": "2025-06-01 10:00:00",
            "ipt_otp_no": "MZ1"}
    outcomes = {"registered, then cancelled": 0, "never registered": 0}
    for run in range(RUNS // 2):
        msgid = f"H0602-{run:05d}"
        start = threading.Barrier(2)

        lag_original, lag_correction = _lags(run)

        def original(msgid: str = msgid, start: threading.Barrier = start,
                     lag: float = lag_original) -> dict:
            start.wait()
            time.sleep(lag)
            return world.call(code, "2201", data, msgid=msgid)

        def correction(msgid: str = msgid, start: threading.Barrier = start,
                       lag: float = lag_correction) -> dict:
            start.wait()
            time.sleep(lag)
            return world.call(code, "2601", {"psn_no": patient["psn_no"], "omsgid": msgid,
                                             "oinfno": "2201"}, msgid=f"C-{msgid}")

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.submit(original), pool.submit(correction)
            registered, corrected = first.result(), second.result()
        assert corrected["infcode"] == 0, corrected
        if registered["infcode"] == 0:
            assert corrected["output"]["data"]["mdtrt_id"] == \
                registered["output"]["data"]["mdtrt_id"]
            outcomes["registered, then cancelled"] += 1
        else:
            assert registered["err_code"] == "MSG_REVERSED", registered
            assert corrected["output"]["msg_spent"] is True
            outcomes["never registered"] += 1
    with world.ctx.read() as uow:
        open_visits = uow.conn.execute(select(func.count()).select_from(visits).where(
            visits.c.status != "cancelled")).scalar()
    assert open_visits == 0
    print(f"2601 race with 2201, {RUNS // 2} runs: {outcomes}")
    assert all(outcomes.values()), outcomes
