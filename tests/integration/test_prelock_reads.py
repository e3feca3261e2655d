"""A batch's prepare step (settlement/prelock.py, prelock_reads.py) reads, on SQLite and
PostgreSQL alike, what the one-at-a-time reads of settle.py read: the patient with their
account, the helpers in deduction order with aware times, the msgids that settled, the
locked balances and accumulators, and the same region policies."""

from __future__ import annotations

from datetime import UTC, datetime

from gongji.services.clock import local_date
from gongji.services.policy import versions
from gongji.services.settlement import prelock, settle
from gongji.store import repo
from gongji.store.held import held
from gongji.store.uow import UnitOfWork
from support import ok

HOSPITAL = "H54250001"
NOW = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


def test_the_batch_reads_what_one_settlement_reads(world):
    world.institution(HOSPITAL, "hospital")
    first, second = world.person("甲", credit="100.00"), world.person("乙", credit="50.00")
    patient = world.person("病人", "390")  # a resident: no account of their own
    world.bind(first, patient, "child")
    world.bind(second, patient, "child")
    ok(world.settle(HOSPITAL, patient, "30.00", msgid="M1"))  # from 甲

    hints = [prelock.Hint(HOSPITAL, msgid, patient["psn_no"], "02", NOW, "hospital")
             for msgid in ("M1", "M2")]
    with UnitOfWork(world.ctx.engine) as uow:
        conn = uow.conn
        prelock.prepare(conn, hints)
        rows = held(conn)
        person = rows.persons[patient["psn_no"]]
        assert (person.account_id, person.balance_fen) == (None, None)
        assert tuple(person) == tuple(repo.person_by_psn_no(conn, patient["psn_no"]))
        alone = conn.execute(settle._HELPERS, {"patient_id": person.id, "now": NOW}).all()
        batch = rows.helpers[person.id]
        assert [tuple(r) for r in batch] == [tuple(r) for r in alone]
        assert [r.psn_no for r in batch] == [first["psn_no"], second["psn_no"]]
        assert all(r.activated_at.tzinfo is not None for r in batch)
        assert rows.institutions[HOSPITAL].created_at.tzinfo is not None
        assert rows.settled == {(HOSPITAL, "M1")} and not rows.spent
        assert {a.balance_fen for a in rows.accounts.values()} == {7000, 5000}
        accumulator = rows.accumulators[(person.id, 2025, "hospital")]
        day = local_date(NOW)
        kept = versions._memo(conn)
        assert (patient["insuplc_admdvs"], day) in kept
    assert accumulator == list(world.accumulator(patient))
    with world.ctx.read() as uow:
        assert versions.policy_on(uow.conn, patient["insuplc_admdvs"], day) is \
            kept[(patient["insuplc_admdvs"], day)]
