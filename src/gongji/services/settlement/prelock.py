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
quotas after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, literal, select, text, tuple_, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.domain.bill import Bill
from gongji.domain.codes import CertType
from gongji.domain.fee_detail import DrugBill
from gongji.domain.lifecycle import BindingStatus
from gongji.services.clock import local_date
from gongji.services.policy import versions
from gongji.store import quotas
from gongji.store.held import HeldAccount, hold
from gongji.store.repo import person_query
from gongji.store.schema import (
    accounts,
    bindings,
    institutions,
    persons,
    settlements,
    spent_msgids,
)
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
    for row in conn.execute(_INSTITUTIONS, {"codes": sorted({h.fixmedins_code for h in hints})}):
        held.institutions[row.fixmedins_code] = row
    patients = {row.psn_no: row for row in conn.execute(
        _PATIENTS, {"psn_nos": sorted({h.psn_no for h in hints})})}
    held.persons.update(patients)
    patient_ids = sorted({p.id for p in patients.values()})
    helpers = conn.execute(_HELPERS, {"ids": patient_ids}).all() if patient_ids else []
    for row in helpers:
        held.helpers.setdefault(row.beneficiary_id, []).append(row)
    for patient_id in patient_ids:
        held.helpers.setdefault(patient_id, [])
    _lock_accounts(conn, held, [p.account_id for p in patients.values()]
                   + [h.account_id for h in helpers])
    # Under the locks: which bindings are still active (an unbinding takes the same lock
    # first, so none can end before the batch commits), and their quotas.
    quotas.hold_quotas(conn, [h.helper_id for h in helpers] + patient_ids)
    _lock_accumulators(conn, held, hints, patients)
    _check_msgids(conn, held, hints)
    held.ids.extend(_next_ids(conn, len(hints)))
    regions = {p.insuplc_admdvs for p in patients.values()} | {h.insuplc_admdvs
                                                              for h in helpers}
    for day in {local_date(h.now) for h in hints}:
        versions.read_ahead(conn, regions, day)


def _next_ids(conn: Connection, n: int) -> list[tuple[int, int]]:
    """PostgreSQL: (settlement id, journal transaction id) for each settlement the batch
    may write, in one round trip; handed out first to last (settle.py pops them). SQLite
    counts on from the largest ids instead (store/journal.next_ids)."""
    if conn.dialect.name != "postgresql":
        return []
    return [tuple(row) for row in conn.execute(_NEXT_IDS, {"n": n})][::-1]


def _check_msgids(conn: Connection, held, hints: list[Hint]) -> None:  # noqa: ANN001
    """Which msgids a 2601 spent, and which settled before (their exactly-once records
    purged since): one read each for the batch."""
    keys = sorted({(h.fixmedins_code, h.msgid) for h in hints})
    codes = sorted({code for code, _ in keys})
    msgids = sorted({msgid for _, msgid in keys})
    wanted = set(keys)
    query = union_all(*(
        select(literal(name).label("kind"), institutions.c.fixmedins_code, table.c.msgid)
        .join(institutions, institutions.c.id == table.c.institution_id)
        .where(institutions.c.fixmedins_code.in_(codes), table.c.msgid.in_(msgids))
        for name, table in (("spent", spent_msgids), ("settled", settlements))))
    for kind, code, msgid in conn.execute(query):
        if (code, msgid) in wanted:
            (held.spent if kind == "spent" else held.settled).add((code, msgid))
    held.msgids_checked.update(keys)


# One round trip for the whole batch's ids (settlement/settle.py writes with them).
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('settlements', 'id')), "
                 "nextval('journal_txn_ids') FROM generate_series(1, :n)")


_INSTITUTIONS = select(institutions).where(
    institutions.c.fixmedins_code.in_(bindparam("codes", expanding=True)))
_PATIENTS = person_query().where(persons.c.psn_no.in_(bindparam("psn_nos", expanding=True)))
# Every active binding of the batch's patients, in deduction order; the settlement's own
# time decides (settle.usable_helpers) which of them had begun when it arrived.
_HELPERS = (
    select(bindings.c.id, bindings.c.beneficiary_id, bindings.c.relation,
           bindings.c.activated_at, persons.c.id.label("helper_id"), persons.c.psn_no,
           persons.c.psn_name, persons.c.certno, persons.c.psn_insu_stas, persons.c.insutype,
           persons.c.insuplc_admdvs, accounts.c.id.label("account_id"), accounts.c.status)
    .select_from(bindings.join(persons, persons.c.id == bindings.c.helper_id)
                 .outerjoin(accounts, accounts.c.person_id == persons.c.id))
    .where(bindings.c.beneficiary_id.in_(bindparam("ids", expanding=True)),
           bindings.c.status == BindingStatus.ACTIVE)
    .order_by(bindings.c.beneficiary_id, bindings.c.order_pos, bindings.c.activated_at,
              bindings.c.id)
)
_LOCK = (select(accounts.c.id, accounts.c.balance_fen, accounts.c.status)
         .where(accounts.c.id.in_(bindparam("ids", expanding=True)))
         .order_by(accounts.c.id))


def _lock_accounts(conn: Connection, held, ids: list[int | None]) -> None:  # noqa: ANN001
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return
    query = _LOCK.with_for_update() if conn.dialect.name == "postgresql" else _LOCK
    for row in conn.execute(query, {"ids": ids}):
        held.accounts[row.id] = HeldAccount(row.id, row.balance_fen, row.status)


def _lock_accumulators(conn: Connection, held, hints: list[Hint],  # noqa: ANN001
                       patients: dict) -> None:
    """Create the missing rows and lock all, in key order, in one statement."""
    keys = sorted({(patients[h.psn_no].id, local_date(h.now).year, h.scene)
                   for h in hints if h.psn_no in patients})
    if not keys:
        return
    query = (select(acc_table.c.person_id, acc_table.c.year, acc_table.c.scene,
                    acc_table.c.deductible_used_fen, acc_table.c.fund_paid_fen)
             .where(tuple_(acc_table.c.person_id, acc_table.c.year,
                           acc_table.c.scene).in_(keys))
             .order_by(acc_table.c.person_id, acc_table.c.year, acc_table.c.scene))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    for row in conn.execute(query):
        held.accumulators[(row.person_id, row.year, row.scene)] = [row.deductible_used_fen,
                                                                   row.fund_paid_fen]
    missing = [key for key in keys if key not in held.accumulators]
    if missing:  # a first settlement of the year: made here, and so held by this batch
        insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert_fn(acc_table).on_conflict_do_nothing(), [
            {"person_id": p, "year": y, "scene": s, "deductible_used_fen": 0,
             "fund_paid_fen": 0} for p, y, s in missing])
        rows = conn.execute(query.where(tuple_(acc_table.c.person_id, acc_table.c.year,
                                               acc_table.c.scene).in_(missing)))
        for row in rows:
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
    return Hint(fixmedins_code, msgid, bill.psn_no, bill.mdtrt_cert_type, now, scene)

