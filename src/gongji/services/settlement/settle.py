"""Settlement (结算): pre-settle, settle exactly once, reverse exactly once.

Order of work in one unit of work: identify the patient by their own credential,
read the usable helpers in deduction order, lock every account that may pay (in
id order) and the patient's fund accumulator, let the pure domain decide the
amounts, then write the settlement, its journal transaction and the notices.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from gongji.domain.bill import Bill
from gongji.domain.codes import AccountStatus, AcctUsedFlag, CertType, InsuStatus
from gongji.domain.decision import Decision, HelperAccount
from gongji.domain.errors import refuse
from gongji.domain.fund import pooled_fund
from gongji.domain.idcard import mask_name
from gongji.domain.money import to_yuan
from gongji.domain.visit import V1, Origin
from gongji.domain.waterfall import Source, allocate
from gongji.services.clock import inf_time, local_date
from gongji.services.money import notices
from gongji.services.policy.versions import policy_on
from gongji.services.reads.views import relation_to_you
from gongji.services.settlement import accumulators, evoucher, visit_store
from gongji.services.settlement.output import person_info_output, settlement_output
from gongji.store import quotas, repo
from gongji.store.held import held
from gongji.store.journal import (
    Leg,
    batch_ids,
    mark_reversed,
    mirror_legs,
    new_txn_id,
    next_txn_id_sql_by_dialect,
    post,
)
from gongji.store.schema import bindings, settlement_mulaid, settlements
from gongji.store.writebehind import defer


def institution_for(conn: Connection, code: str, infno: str, inst_type: str) -> Row:
    """The calling institution, refusing the other type's transaction codes: `inst_type`
    is the type `infno` is for, as the gateway's table of codes says."""
    inst = repo.institution_by_code(conn, code)
    if inst is None:
        raise refuse("INSTITUTION_NOT_FOUND")
    if inst_type != inst.fixmedins_type:
        raise refuse("INSTITUTION_TYPE", f"{infno} 不适用于 {inst.fixmedins_type}")
    return inst


def identify(conn: Connection, cert_type: str, cert_no: str, now: datetime) -> Row:
    """The person a credential names: 01 e-voucher, 02 ID number, 03 social-security card."""
    if cert_type == CertType.EVOUCHER:
        person_id = evoucher.resolve(conn, cert_no, now)
        row = repo.person_by_id(conn, person_id) if person_id else None
    elif cert_type == CertType.ID_NUMBER:
        row = repo.person_by_certno(conn, cert_no.strip().upper())
    else:
        row = repo.person_by_card(conn, cert_no)
    if row is None:
        raise refuse("PERSON_NOT_FOUND")
    return row


def patient_for(conn: Connection, bill: Bill, now: datetime) -> Row:
    """Real-name use: the credential must be the patient's own."""
    if bill.mdtrt_cert_type == CertType.EVOUCHER:
        patient = repo.person_by_psn_no(conn, bill.psn_no)
        holder = identify(conn, bill.mdtrt_cert_type, bill.mdtrt_cert_no, now) if patient else None
    else:  # ID number or card: patient and holder in one query
        column, cert_no = (("certno", bill.mdtrt_cert_no.strip().upper())
                           if bill.mdtrt_cert_type == CertType.ID_NUMBER
                           else ("card_no", bill.mdtrt_cert_no))
        patient, holder = _read_ahead(conn, bill.psn_no, column, cert_no)
        if patient is None:
            patient, holder = repo.person_and_holder(conn, bill.psn_no, column, cert_no)
    if patient is None or holder is None:
        raise refuse("PERSON_NOT_FOUND")
    if holder.id != patient.id:
        raise refuse("CREDENTIAL_MISMATCH")
    if patient.psn_insu_stas != InsuStatus.INSURED:
        raise refuse("PATIENT_NOT_INSURED")
    if bill.insutype is not None and bill.insutype != patient.insutype:
        raise refuse("INVALID_INPUT", "insutype 与参保险种不符")
    return patient


def _read_ahead(conn: Connection, psn_no: str, column: str,
                cert_no: str) -> tuple[Row | None, Row | None]:
    """The patient as the batch read them (settlement/prelock.py), when the credential is
    their own; (None, None) otherwise (the caller asks the database)."""
    rows = held(conn)
    patient = rows.persons.get(psn_no) if rows is not None else None
    if patient is not None and getattr(patient, column) == cert_no:
        return patient, patient
    return None, None


_HELPERS = (
    repo.active_helpers()
    .where(bindings.c.beneficiary_id == bindparam("patient_id"),
           # one activated after this settlement's time applies from the next one on
           bindings.c.activated_at <= bindparam("now"))
    .order_by(*repo.DEDUCTION_ORDER)
)


def usable_helpers(conn: Connection, patient_id: int, inst_admdvs: str,
                   now: datetime) -> list[HelperAccount]:
    """Active bindings in deduction order, minus helpers that may not pay here now."""
    usable = []
    rows = held(conn)
    if rows is not None and patient_id in rows.helpers:  # read by the batch, for any time
        found = [row for row in rows.helpers[patient_id] if row.activated_at <= now]
    else:
        found = conn.execute(_HELPERS, {"patient_id": patient_id, "now": now})
    for row in found:
        policy = policy_on(conn, row.insuplc_admdvs, local_date(now))  # the helper's region's
        if (row.psn_insu_stas == InsuStatus.INSURED and row.account_id is not None
                and row.status == AccountStatus.NORMAL
                and row.insutype in policy.helper_insutypes
                and policy.in_mutual_aid_area(inst_admdvs)):
            usable.append(HelperAccount(row.id, row.relation, row.helper_id, row.psn_no,
                                        row.psn_name, row.account_id, row.certno))
    return usable


def decide(conn: Connection, bill: Bill, patient: Row, inst: Row, now: datetime,
           lock: bool, scene: str | None = None) -> Decision:
    """Read (and for a real settlement, lock) what may pay, then let the domain decide.
    `scene` is the pooled fund's (the institution's type unless a stay says inpatient)."""
    scene = scene or inst.fixmedins_type
    helpers = usable_helpers(conn, patient.id, inst.admdvs, now)
    own_id = patient.account_id if patient.account_status == AccountStatus.NORMAL else None
    ids = [h.account_id for h in helpers] + ([own_id] if own_id else [])
    rows = repo.lock_accounts(conn, ids) if lock else repo.read_accounts(conn, ids)
    balances = {account_id: row.balance_fen for account_id, row in rows.items()}
    # Re-check the frozen flag on the row we hold, and (once the locks are held) that each
    # binding is still active: an unbinding may have committed since the read above.
    active = repo.active_binding_ids(conn, [h.binding_id for h in helpers]) if lock else None
    usable = [h for h in helpers if rows[h.account_id].status == AccountStatus.NORMAL
              and (active is None or h.binding_id in active)]
    if own_id and rows[own_id].status != AccountStatus.NORMAL:
        own_id = None
    # 共济额度: read under the same locks, which guard the quota columns (store/quotas.py)
    reserves = quotas.read(conn, [h.helper_id for h in usable] + [patient.id])
    # The patient's region's version in force on the settlement's date: read once per unit
    # of work (services/policy), so the version _insert_settlement records is this one.
    rule = policy_on(conn, patient.insuplc_admdvs, local_date(now)).fund_rule(scene)
    year = local_date(now).year
    acc = accumulators.read(conn, patient.id, year, scene, lock=lock)
    fund = pooled_fund(bill.inscp_fen, rule, acc)
    allocation = allocate(
        bill.medfee_fen - fund.fund_fen,
        Source(own_id, balances[own_id], reserves.own_cap(patient.id, balances[own_id]))
        if own_id else None,
        [Source(h.binding_id, balances[h.account_id],
                reserves.binding_cap(h.binding_id, h.helper_id, balances[h.account_id]))
         for h in usable],
        use_accounts=bill.use_accounts,
    )
    return Decision(fund, allocation, own_id, balances, {h.binding_id: h for h in usable},
                    {h.binding_id: reserves.remaining[h.binding_id] for h in usable
                     if h.binding_id in reserves.remaining})


def presettle(conn: Connection, inst_code: str, infno: str, bill: Bill, now: datetime, *,
              inst_type: str, origin: Origin = V1, msgid: str | None = None) -> dict:
    """预结算: the same answer a settlement would give now, with nothing moved."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    patient = patient_for(conn, bill, now)
    decision = decide(conn, bill, patient, inst, now, lock=False, scene=origin.fund_scene)
    own_balance = patient.balance_fen or 0
    return settlement_output(None, bill, decision, own_balance - decision.allocation.own_fen,
                             now, patient=patient, origin=origin, msgid=msgid)


def settle(conn: Connection, inst_code: str, infno: str, msgid: str, bill: Bill,
           now: datetime, *, inst_type: str, origin: Origin = V1) -> dict:
    """结算: move the money, exactly as decided under the locks, in this unit of work."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    patient = patient_for(conn, bill, now)
    decision = decide(conn, bill, patient, inst, now, lock=True, scene=origin.fund_scene)
    alloc = decision.allocation
    own_after = (decision.balance_after(decision.own_account_id, alloc.own_fen)
                 if decision.own_account_id else (patient.balance_fen or 0))
    setl_id = f"S{local_date(now):%Y%m%d}{secrets.token_hex(8).upper()}"
    settlement_id, txn_id = _insert_settlement(conn, setl_id, inst, patient, infno, msgid, bill,
                                               decision, own_after, now, origin)
    legs = _legs(conn, bill, patient, inst, decision)
    post(conn, txn_id, "settlement", legs, now, ref=setl_id, settlement_id=settlement_id)
    _insert_mulaid(conn, settlement_id, decision)
    accumulators.write(conn, patient.id, local_date(now).year,
                       origin.fund_scene or inst.fixmedins_type, decision.fund.after)
    if bill.mdtrt_cert_type == CertType.EVOUCHER:
        evoucher.mark_used(conn, bill.mdtrt_cert_no, settlement_id, now)
    notices.for_settlement(conn, patient, inst, decision, settlement_id, now,
                           scene=origin.fund_scene)
    return settlement_output(setl_id, bill, decision, own_after, now, patient=patient,
                             origin=origin, msgid=msgid)


_INSERT_SETTLEMENT = {
    dialect: insert(settlements).values(txn_id=txn_id_sql)
    .returning(settlements.c.id, settlements.c.txn_id)
    for dialect, txn_id_sql in next_txn_id_sql_by_dialect().items()}
_INSERT_MULAID = insert(settlement_mulaid).inline()  # no RETURNING: written behind


def _insert_settlement(conn: Connection, setl_id: str, inst: Row, patient: Row, infno: str,
                       msgid: str, bill: Bill, decision: Decision, own_after: int,
                       now: datetime, origin: Origin = V1) -> tuple[int, int]:
    """The settlement row, with its journal transaction id allocated in the same INSERT:
    (settlement id, txn id)."""
    alloc = decision.allocation
    values = dict(
        setl_id=setl_id, institution_id=inst.id, person_id=patient.id, infno=infno,
        msgid=msgid, mdtrt_cert_type=bill.mdtrt_cert_type, insutype=patient.insutype,
        acct_used_flag=(AcctUsedFlag.USED if bill.use_accounts else AcctUsedFlag.NOT_USED).value,
        medfee_sumamt_fen=bill.medfee_fen, fulamt_ownpay_amt_fen=bill.fulamt_ownpay_fen,
        overlmt_selfpay_fen=bill.overlmt_selfpay_fen, preselfpay_amt_fen=bill.preselfpay_fen,
        inscp_scp_amt_fen=bill.inscp_fen, fund_pay_sumamt_fen=decision.fund.fund_fen,
        psn_part_amt_fen=bill.medfee_fen - decision.fund.fund_fen,
        acct_pay_fen=alloc.own_fen, acct_mulaid_pay_fen=alloc.mulaid_fen,
        psn_cash_pay_fen=alloc.cash_fen, balc_fen=own_after,
        deductible_applied_fen=decision.fund.deductible_applied_fen,
        fund_year=local_date(now).year, fund_scene=origin.fund_scene or inst.fixmedins_type,
        setl_time=now, setl_date=local_date(now),
        mdtrt_id=origin.mdtrt_id, chrg_bchno=origin.chrg_bchno, med_type=origin.med_type,
        policy_version=policy_on(conn, patient.insuplc_admdvs, local_date(now)).version,
    )
    rows = held(conn)
    if rows is not None and (inst.fixmedins_code, msgid) in rows.msgids_checked:
        if (inst.fixmedins_code, msgid) in rows.settled:  # see below
            raise refuse("MSGID_ALREADY_SETTLED")
        settlement_id, txn_id = batch_ids(conn, rows)  # nothing to wait for
        defer(conn, _INSERT_SETTLEMENT_WITH_IDS, values | {"id": settlement_id,
                                                           "txn_id": txn_id})
        return settlement_id, txn_id
    try:
        if rows is not None and conn.dialect.name == "sqlite":  # ids counted by the batch
            values |= dict(zip(("id", "txn_id"), batch_ids(conn, rows), strict=True))
            conn.execute(_INSERT_SETTLEMENT_WITH_IDS, values)
            return values["id"], values["txn_id"]
        row = conn.execute(_INSERT_SETTLEMENT[conn.dialect.name], values).one()
    except IntegrityError as exc:
        # The msgid settled before and its idempotency record has been purged since (its
        # retention ended): refuse rather than charge twice. The unit of work rolls back.
        if _DUPLICATE_MSGID.search(str(exc.orig)):
            raise refuse("MSGID_ALREADY_SETTLED") from None
        raise
    return row.id, row.txn_id


_INSERT_SETTLEMENT_WITH_IDS = insert(settlements).inline()


# uq_settlements_institution_msgid as PostgreSQL and SQLite name it in the error.
_DUPLICATE_MSGID = re.compile(
    r"uq_settlements_institution_msgid|settlements\.institution_id, settlements\.msgid")


def _insert_mulaid(conn: Connection, settlement_id: int, decision: Decision) -> None:
    rows = []
    for seq, (binding_id, amount_fen) in enumerate(decision.allocation.helpers, start=1):
        helper = decision.helpers[binding_id]
        rows.append({"settlement_id": settlement_id, "seq": seq, "helper_id": helper.helper_id,
                     "binding_id": binding_id, "account_id": helper.account_id,
                     "relation": helper.relation, "amount_fen": amount_fen})
    if rows:
        defer(conn, _INSERT_MULAID, rows)
    # Every path that records helpers' parts lowers their quotas in the same breath.
    quotas.draw(conn, decision.allocation.helpers, decision.quota_remaining)


def _legs(conn: Connection, bill: Bill, patient: Row, inst: Row, decision: Decision) -> list[Leg]:
    """Fund, own account, each helper and cash pay; the institution receives the total."""
    alloc = decision.allocation
    fund_acct = repo.system_account(conn, f"fund:{patient.insuplc_admdvs}", "fund")
    cash_acct = repo.system_account(conn, "cash", "cash")
    legs = [Leg(fund_acct, -decision.fund.fund_fen, counterpart_id=patient.id),
            Leg(cash_acct, -alloc.cash_fen, counterpart_id=patient.id),
            Leg(inst.account_id, bill.medfee_fen, counterpart_id=patient.id)]
    if decision.own_account_id:
        legs.append(Leg(decision.own_account_id, -alloc.own_fen,
                        decision.balance_after(decision.own_account_id, alloc.own_fen),
                        counterpart_id=patient.id, institution_id=inst.id))
    for binding_id, amount_fen in alloc.helpers:
        helper = decision.helpers[binding_id]
        legs.append(Leg(helper.account_id, -amount_fen,
                        decision.balance_after(helper.account_id, amount_fen),
                        counterpart_id=patient.id, binding_id=binding_id,
                        institution_id=inst.id))
    return legs


# A reversal code undoes settlements of its own code only (an inpatient 2304 by 2305).
SETTLED_BY = {"2103": "2102", "2208": "2207", "2305": "2304"}


def reverse(conn: Connection, inst_code: str, infno: str, setl_id: str, psn_no: str,
            now: datetime, *, inst_type: str, mdtrt_id: str | None = None) -> dict:
    """结算撤销: every account gets back exactly what it paid, once.

    The refund mirrors the settlement's own journal transaction (journal.mirror_legs), not
    today's reference data: the fund of the region the patient was insured in then, the
    accounts that paid then, whatever has moved or ended since."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    original = conn.execute(select(settlements).where(
        settlements.c.setl_id == setl_id, settlements.c.institution_id == inst.id)).first()
    patient = repo.person_by_psn_no(conn, psn_no)
    if original is None or patient is None or original.person_id != patient.id:
        raise refuse("SETTLEMENT_NOT_FOUND")
    if mdtrt_id is not None and original.mdtrt_id != mdtrt_id:  # 2208 naming a visit
        raise refuse("SETTLEMENT_NOT_FOUND")
    if original.infno != SETTLED_BY.get(infno, original.infno):  # 2208 of a 2304: not its
        raise refuse("SETTLEMENT_NOT_FOUND")
    visit_store.free_lines(conn, original)  # the visit's lock before any account's
    txn_id = new_txn_id(conn)
    if not mark_reversed(conn, settlements.c.id, original.id, txn_id, now):
        raise refuse("ALREADY_REVERSED")
    legs = mirror_legs(conn, original.txn_id)
    post(conn, txn_id, "reversal", legs, now, ref=setl_id, settlement_id=original.id)
    quotas.give_back(conn, legs)  # each binding's draw back into its quota, capped
    accumulators.give_back_settlement(conn, original)
    parts = conn.execute(select(settlement_mulaid).where(
        settlement_mulaid.c.settlement_id == original.id).order_by(settlement_mulaid.c.seq)).all()
    notices.for_reversal(conn, patient, inst, parts, original.id, now)
    return {"setlinfo": {
        "setl_id": setl_id, "psn_no": psn_no, "reversed": True,
        "medfee_sumamt": to_yuan(-original.medfee_sumamt_fen),
        "fund_pay_sumamt": to_yuan(-original.fund_pay_sumamt_fen),
        "psn_part_amt": to_yuan(-original.psn_part_amt_fen),
        "acct_pay": to_yuan(-original.acct_pay_fen),
        "acct_mulaid_pay": to_yuan(-original.acct_mulaid_pay_fen),
        "psn_cash_pay": to_yuan(-original.psn_cash_pay_fen),
        "balc": to_yuan(_own_balance_after(legs, patient)), "setl_time": inf_time(now)},
        "mulaid_detail": _reversal_detail(conn, parts)}


def _own_balance_after(legs: list[Leg], patient: Row) -> int:
    """balc: the patient's own balance after the refund. The own leg is the personal one
    drawn without a binding; with none (nothing came from the own account) the balance is
    unchanged."""
    own = [leg.balance_after_fen for leg in legs
           if leg.balance_after_fen is not None and leg.binding_id is None]
    return own[-1] if own else (patient.balance_fen or 0)


def _reversal_detail(conn: Connection, parts: list[Row]) -> list[dict]:
    """What each helper got back, named as in the settlement's own answer."""
    helpers = repo.persons_by_ids(conn, [p.helper_id for p in parts])
    return [{"helper_psn_no": helpers[p.helper_id].psn_no,
             "helper_name": mask_name(helpers[p.helper_id].psn_name),
             "relation": p.relation,
             "kin_to_patient": relation_to_you(p.relation, False,
                                               helpers[p.helper_id].certno),
             "amount": to_yuan(-p.amount_fen)} for p in parts]


def person_info(conn: Connection, cert_type: str, cert_no: str, now: datetime) -> dict:
    """1101 人员信息获取: the person and their own balance (never a helper's)."""
    person = identify(conn, cert_type, cert_no, now)
    return person_info_output(person, now)

