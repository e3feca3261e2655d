"""A batch's settlements, prepared together (services/batching.py calls `prepare` once per
batch with every settlement's `Hint`): the reference rows they read, set-based, and every
row they may change, locked in one statement per table in id order.

Lock order, the same as one settlement alone takes: personal accounts (ascending id), then
fund accumulators (ascending key). Two batches, or a batch and a single command, therefore
never wait for each other in a cycle. Everything read or locked here is kept in the
transaction's store/held.py for the settlements to use: they then ask the database only
for what the batch could not know in advance.

What this reads ahead is what settle.py would read one settlement at a time, with the same
meaning: patients and helpers before the locks (re-checked under them), binding activity and
quotas after them. The reads themselves are prelock_reads.py: two round trips on
PostgreSQL, whatever the size of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.domain.bill import Bill
from gongji.domain.codes import CertType
from gongji.domain.fee_detail import DrugBill
from gongji.services.clock import local_date
from gongji.services.policy import versions
from gongji.services.settlement.prelock_reads import accumulators_of, before_locks, take_locks
from gongji.store.held import Held, HeldAccount, hold
from gongji.store.schema import fund_accumulators as acc_table


@dataclass(frozen=True)
class Hint:
    """What a settlement will touch, known from its input alone."""

    fixmedins_code: str
    msgid: str
    psn_no: str
    cert_type: str
    now: datetime
    scene: str  # the pooled fund's scene: the institution type the code is for


def prepare(conn: Connection, hints: list[Hint]) -> None:
    """Read and lock, for the whole batch, what its settlements will need."""
    held = hold(conn)
    keys = sorted({(h.fixmedins_code, h.msgid) for h in hints})
    read = before_locks(conn, sorted({code for code, _ in keys}),
                        sorted({h.psn_no for h in hints}),
                        sorted({msgid for _, msgid in keys}), len(hints))
    held.institutions.update((row.fixmedins_code, row) for row in read.institutions)
    patients = {row.psn_no: row for row in read.patients}
    held.persons.update(patients)
    for patient in patients.values():
        held.helpers.setdefault(patient.id, [])
    for row in read.helpers:
        held.helpers[row.beneficiary_id].append(row)
    _mark_msgids(held, set(keys), read.marks)
    held.ids.extend(read.ids[::-1])  # settle.py pops them: first to last
    accumulator_keys = sorted({(patients[h.psn_no].id, local_date(h.now).year, h.scene)
                               for h in hints if h.psn_no in patients})
    regions = ({p.insuplc_admdvs for p in patients.values()}
               | {h.insuplc_admdvs for h in read.helpers})
    days = sorted({local_date(h.now) for h in hints})
    policies = versions.not_yet_read(conn, regions, days[0]) if len(days) == 1 else []
    locked = take_locks(
        conn,
        sorted({i for i in [p.account_id for p in patients.values()]
                + [h.account_id for h in read.helpers] if i is not None}),
        sorted({h.helper_id for h in read.helpers} | {p.id for p in patients.values()}),
        accumulator_keys, (versions.rows_to_read(policies), days[0]) if policies else None)
    _hold(held, locked, {h.helper_id for h in read.helpers} | {p.id for p in patients.values()})
    _make_missing_accumulators(conn, held, accumulator_keys)
    if locked.policy_rows is not None:
        versions.keep_read(conn, policies, days[0], locked.policy_rows)
    for day in days:  # what the round trip above did not read (a batch at midnight)
        versions.read_ahead(conn, regions, day)


def _mark_msgids(held: Held, keys: set[tuple[str, str]], marks: list) -> None:
    """Which msgids a 2601 spent, and which settled before (their exactly-once records
    purged since)."""
    for kind, code, msgid in marks:
        if (code, msgid) in keys:
            (held.spent if kind == "spent" else held.settled).add((code, msgid))
    held.msgids_checked.update(keys)


def _hold(held: Held, locked, helper_ids: set[int]) -> None:  # noqa: ANN001
    """Keep what the locks returned: balances, the bindings still active (an unbinding
    takes the same account lock first, so none can end before the batch commits) with
    their quotas, and the accumulators."""
    for row in locked.accounts:
        held.accounts[row.id] = HeldAccount(row.id, row.balance_fen, row.status)
    for row in locked.bindings:
        held.active_bindings.add(row.id)
        if row.quota_remaining_fen is not None:
            held.quotas[row.id] = (row.helper_id, row.quota_remaining_fen)
    held.quota_helpers.update(helper_ids)
    for row in locked.accumulators:
        held.accumulators[(row.person_id, row.year, row.scene)] = [row.deductible_used_fen,
                                                                   row.fund_paid_fen]


def _make_missing_accumulators(conn: Connection, held: Held, keys: list) -> None:
    """A first settlement of the year: its accumulator is made here, and so held."""
    missing = [key for key in keys if key not in held.accumulators]
    if not missing:
        return
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    made = conn.execute(
        insert_fn(acc_table).on_conflict_do_nothing().returning(
            acc_table.c.person_id, acc_table.c.year, acc_table.c.scene),
        [{"person_id": p, "year": y, "scene": s, "deductible_used_fen": 0, "fund_paid_fen": 0}
         for p, y, s in missing]).all()
    for row in made:  # made by this batch: held until it commits
        held.accumulators[(row.person_id, row.year, row.scene)] = [0, 0]
    raced = [key for key in missing if key not in held.accumulators]
    if raced:  # made by another transaction since the lock above: lock them now
        for row in conn.execute(accumulators_of(raced)):
            held.accumulators[(row.person_id, row.year, row.scene)] = [
                row.deductible_used_fen, row.fund_paid_fen]


def hint_for(fixmedins_code: str, msgid: str, bill: object, now: datetime,
             scene: str) -> Hint | None:
    """The hint of a bill in totals (v1) or a pharmacy's drug lines, naming its patient by
    ID number or card. Not of an e-voucher (resolved inside its settlement), nor of a
    visit's batch or a stay: those lock their visit or stay before any account, which a
    batch that locked its accounts first could not keep to."""
    if not isinstance(bill, Bill | DrugBill):
        return None
    if bill.mdtrt_cert_type not in (CertType.ID_NUMBER, CertType.CARD):
        return None
    if "\x00" in bill.psn_no + msgid + fixmedins_code:  # no database stores it: let the
        return None  # command's own statements refuse it, not the batch's reads
    return Hint(fixmedins_code, msgid, bill.psn_no, bill.mdtrt_cert_type, now, scene)
