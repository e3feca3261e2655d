"""Binding changes racing each other and racing settlements, on a real PostgreSQL.

The central promise (SPEC §7): an unbinding is effective for every settlement that starts
after it commits. The race test timestamps each settlement's start and the moment the
unbinding's commit has returned, on one monotonic clock, and checks every settlement that
started after that moment; a control run with a stale list of helpers shows the check
does catch a violation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from gongji.domain.errors import DomainError
from gongji.services.binding import invitations, unbinding
from gongji.services.binding.actor import Actor
from gongji.services.operations.verify import verify
from gongji.services.settlement import settle as settlement
from gongji.store.schema import bindings, settlement_mulaid
from support import Clock, World, ok


@pytest.fixture
def world(pg_url):
    w = World(pg_url, pool_size=32)
    yield w
    w.close()


@dataclass(frozen=True)
class Attempt:
    started: float  # time.perf_counter() just before the settlement was sent
    drew_on_helper: bool


@dataclass
class Race:
    attempts: list[Attempt]
    unbind_sent: float
    unbind_committed: float  # perf_counter() after the unbinding's commit returned

    def started_after_commit(self) -> list[Attempt]:
        return [a for a in self.attempts if a.started > self.unbind_committed]

    def violations(self) -> list[Attempt]:
        """Settlements that started after the unbinding committed and still drew on it."""
        return [a for a in self.started_after_commit() if a.drew_on_helper]

    def charged_before(self) -> list[Attempt]:
        return [a for a in self.attempts if a.started < self.unbind_sent and a.drew_on_helper]


def race_unbinding_against_settlements(world: World, workers: int = 8, warmup: int = 40,
                                       after: int = 60) -> tuple[Race, dict, int]:
    """Settle 1.00 yuan again and again from `workers` threads while the helper unbinds;
    stop once `after` settlements have started after the unbinding committed."""
    code = world.institution("P0001", "pharmacy")
    helper = world.person("共济人", credit="100000.00")
    patient = world.person("亲属", insutype="390")
    binding_id = world.bind(helper, patient, "spouse")
    attempts: list[Attempt] = []
    lock = threading.Lock()
    stop = threading.Event()
    committed: list[float] = []

    def keep_settling() -> None:
        try:
            while not stop.is_set():
                started = time.perf_counter()
                out = ok(world.settle(code, patient, "1.00", infno="2102"))
                drew = any(line["helper_psn_no"] == helper["psn_no"]
                           for line in out["mulaid_detail"])
                with lock:
                    attempts.append(Attempt(started, drew))
                    if committed and sum(a.started > committed[0] for a in attempts) >= after:
                        stop.set()
        finally:
            stop.set()  # one failing worker ends the race instead of leaving the others spinning

    def unbind_mid_stream() -> float:
        while len(attempts) < warmup and not stop.is_set():
            time.sleep(0.001)
        sent = time.perf_counter()
        unbinding.unbind(world.ctx, binding_id, Actor("person", helper["psn_no"], "national_app"))
        committed.append(time.perf_counter())
        return sent

    with ThreadPoolExecutor(workers + 1) as pool:
        settlers = [pool.submit(keep_settling) for _ in range(workers)]
        sent = pool.submit(unbind_mid_stream)
        for future in settlers:
            future.result(timeout=300)
        unbind_sent = sent.result()
    return Race(attempts, unbind_sent, committed[0]), helper, binding_id


def test_no_settlement_that_starts_after_the_unbinding_commits_draws_on_the_helper(world):
    race, helper, binding_id = race_unbinding_against_settlements(world)
    assert race.violations() == []
    assert len(race.started_after_commit()) >= 60
    assert len(race.charged_before()) >= 40  # the helper really was being drawn on until then
    # the ledger agrees: the helper paid exactly the settlements that drew on them
    drawn = sum(a.drew_on_helper for a in race.attempts)
    assert world.balance_fen(helper) == 100000_00 - drawn * 100
    with world.ctx.read() as uow:
        lines = uow.conn.execute(select(func.count()).select_from(settlement_mulaid).where(
            settlement_mulaid.c.binding_id == binding_id)).scalar_one()
    assert lines == drawn


def test_the_race_check_catches_a_settlement_that_trusts_a_stale_list_of_helpers(
        world, monkeypatch):
    """Control: if settlement read helpers from anywhere but its own unit of work (here a
    cache filled before the unbinding), the same check reports violations."""
    fresh: Callable = settlement.usable_helpers
    cache: dict = {}

    def stale(conn, patient_id, inst_admdvs, now):  # noqa: ANN001, ANN202
        if patient_id not in cache:
            cache[patient_id] = fresh(conn, patient_id, inst_admdvs, now)
        return cache[patient_id]

    monkeypatch.setattr(settlement, "usable_helpers", stale)
    monkeypatch.setattr(settlement.repo, "active_binding_ids", lambda conn, ids: set(ids))
    race, _, _ = race_unbinding_against_settlements(world, workers=4, warmup=10, after=20)
    assert len(race.violations()) >= 20


# --- lifecycle commands racing each other -------------------------------------------------------


def all_at_once(n: int, call: Callable[[int], dict]) -> list[dict | str]:
    """Run `call` from n threads released together; each result is the answer or the code."""
    barrier = threading.Barrier(n)

    def run(i: int) -> dict | str:
        barrier.wait()
        try:
            return call(i)
        except DomainError as error:
            return error.code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def invitation_body(person: dict) -> dict:
    return {"beneficiary_certno": person["certno"], "beneficiary_name": person["psn_name"],
            "relation": "spouse", "channel": "national_app"}


def active_bindings(world: World) -> int:
    with world.ctx.read() as uow:
        return uow.conn.execute(select(func.count()).select_from(bindings).where(
            bindings.c.status == "active")).scalar_one()


def test_racing_invitations_for_one_pair_leave_one_pending(world, pair):
    helper, wife = pair
    results = all_at_once(8, lambda _: invitations.invite(world.ctx, helper["psn_no"],
                                                          invitation_body(wife)))
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sorted(r for r in results if isinstance(r, str)) == ["INVITATION_EXISTS"] * 7


def test_racing_answers_to_one_invitation_have_one_winner_and_one_binding(world, pair):
    helper, wife = pair
    invitation_id = invitations.invite(world.ctx, helper["psn_no"],
                                       invitation_body(wife))["invitation_id"]

    def answer(i: int) -> dict:
        if i % 3 == 2:
            return invitations.withdraw(world.ctx, helper["psn_no"], invitation_id)
        return invitations.accept(world.ctx, wife["psn_no"], invitation_id)

    results = all_at_once(9, answer)
    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1
    assert {r for r in results if isinstance(r, str)} == {"INVITATION_NOT_PENDING"}
    assert active_bindings(world) == (1 if winners[0]["status"] == "active" else 0)


def test_both_parties_and_a_clerk_unbinding_at_once_unbind_once(world, pair):
    helper, wife = pair
    binding_id = world.bind(helper, wife, "spouse", register=False)
    actors = [Actor("person", helper["psn_no"]), Actor("person", wife["psn_no"]),
              Actor("clerk", "clerk-1", "hall", "542500")]
    results = all_at_once(6, lambda i: unbinding.unbind(world.ctx, binding_id, actors[i % 3],
                                                        {"documents_checked": True}))
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sorted(r for r in results if isinstance(r, str)) == ["BINDING_NOT_ACTIVE"] * 5
    assert active_bindings(world) == 0


class TickingClock(Clock):
    """Strictly increasing: every reading is one microsecond after the one before, in the
    order the readings were taken, as a real clock's would be."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(microseconds=1)
            return self.now


def test_settlement_times_agree_with_the_unbinding_time_under_a_race(pg_url):
    """`verify` checks by timestamps that no settlement drew on a binding after it ended.
    Under a race that must hold too: a settlement that drew on the helper is stamped no
    later than the unbinding, because an unbinding waits for the helper's account lock
    and reads the clock only then."""
    world = World(pg_url, clock=TickingClock(), pool_size=32)
    try:
        race, _, _ = race_unbinding_against_settlements(world)
        assert race.violations() == []
        failed = {r.check.name: r.violations for r in verify(world.ctx) if r.total}
        assert failed == {}
    finally:
        world.close()
