"""Inpatient stays (住院): 2401 入院办理, 2404 入院撤销, 2402 出院办理, 2405 出院撤销,
2301/2302 the stay's fee lines, 2303/2304 pre-settle and settle every unsettled line of the
stay, 2305 结算撤销.

A stay is a visit of kind inpatient plus its `stays` row. Every call locks the visit row
first (visit_store, as any visit's lines are guarded), reads the stay's state under that
lock and asks the pure state machine (domain/stay.py) whether the call may run; so a 2301
racing a 2304 of the same stay is either in the bill or refused, never half. The bill is
then settled by the v1 path (settle.settle) with the fund scene "inpatient": the pooled
fund by fund_rules.inpatient and its own accumulator, the personal burden by the same
waterfall (own account, helpers in order, cash).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from gongji.domain.errors import refuse
from gongji.domain.fee_detail import SentLine
from gongji.domain.policy import INPATIENT as INPATIENT_SCENE
from gongji.domain.stay import (
    INPATIENT_MED_TYPE,
    Admission,
    Discharge,
    LineRef,
    StayCall,
    StayRef,
    StayStatus,
    after,
    current,
)
from gongji.domain.visit import BatchBill, Origin, SettlementRef, VisitStatus, bill_of_lines
from gongji.services.clock import local_date
from gongji.services.settlement import fees, settle
from gongji.services.settlement.visits import (
    HOSPITAL,
    INPATIENT,
    has_live_settlement,
    registered_by,
    visit_for,
)
from gongji.store.schema import fee_lines, settlements, stays, visits


def _answer(visit: Row, **more: object) -> dict:
    return {"result": {"mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no,
                       "ipt_no": visit.ipt_otp_no, **more}}


def state_of(conn: Connection, visit: Row) -> StayStatus:
    """The stay's state, read under its visit's lock."""
    stored = conn.execute(select(stays.c.status).where(stays.c.visit_id == visit.id)).scalar_one()
    return current(stored, has_live_settlement(conn, visit.mdtrt_id))


def stay_for(conn: Connection, inst: Row, ref: StayRef, call: StayCall, *,
             lock: bool = True) -> tuple[Row, StayStatus]:
    """The institution's own stay of this patient, locked, and the state `call` leads to
    (STAY_STATE when the call may not run now, a cancelled stay's included)."""
    visit = visit_for(conn, inst, ref.mdtrt_id, ref.psn_no, lock=lock, kind=INPATIENT)
    return visit, after(state_of(conn, visit), call)


def admit(conn: Connection, inst_code: str, infno: str, msgid: str, adm: Admission,
          now: datetime, *, inst_type: str = HOSPITAL) -> dict:
    """2401 入院办理: the credential must be the patient's own (as at settlement)."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    patient = settle.patient_for(conn, adm, now)
    earlier = registered_by(conn, inst_code, msgid)
    if earlier is not None:  # exactly-once record purged since: the same stay again
        if earlier.psn_no != patient.psn_no:
            raise refuse("IDEMPOTENCY_CONFLICT")
        return {"result": {"mdtrt_id": earlier.mdtrt_id, "psn_no": earlier.psn_no,
                           "ipt_no": earlier.ipt_otp_no}}
    mdtrt_id = f"Z{local_date(now):%Y%m%d}{secrets.token_hex(6).upper()}"  # Z: 住院
    visit_id = conn.execute(insert(visits).values(
        mdtrt_id=mdtrt_id, msgid=msgid, institution_id=inst.id, person_id=patient.id,
        psn_no=patient.psn_no, insutype=patient.insutype, med_type=adm.med_type,
        begntime=adm.begntime, ipt_otp_no=adm.ipt_no, atddr_no=adm.atddr_no,
        dr_name=adm.chfpdr_name, dept_code=adm.adm_dept_codg, dept_name=adm.adm_dept_name,
        diseinfo=adm.diseinfo_json, status=VisitStatus.REGISTERED.value, kind=INPATIENT,
        created_at=now)
        .returning(visits.c.id)).scalar_one()
    conn.execute(insert(stays).values(visit_id=visit_id, status=StayStatus.ADMITTED.value,
                                      updated_at=now))
    return {"result": {"mdtrt_id": mdtrt_id, "psn_no": patient.psn_no, "ipt_no": adm.ipt_no}}


def _set_state(conn: Connection, visit: Row, state: StayStatus, now: datetime,
               **discharge: object) -> None:
    conn.execute(update(stays).where(stays.c.visit_id == visit.id)
                 .values(status=state.value, updated_at=now, **discharge))


def cancel_admission(conn: Connection, inst_code: str, infno: str, ref: StayRef,
                     now: datetime, *, inst_type: str = HOSPITAL) -> dict:
    """2404 入院撤销: only while in hospital (so never with a live settlement)."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    visit, state = stay_for(conn, inst, ref, StayCall.CANCEL_ADMISSION)
    conn.execute(update(visits).where(visits.c.id == visit.id)
                 .values(status=VisitStatus.CANCELLED.value, cancelled_at=now))
    _set_state(conn, visit, state, now)
    return _answer(visit, stay_status=state.value)


def discharge(conn: Connection, inst_code: str, infno: str, dscg: Discharge, now: datetime,
              *, inst_type: str = HOSPITAL) -> dict:
    """2402 出院办理: the discharge time (not before admission) and its diagnoses."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    visit, state = stay_for(conn, inst, StayRef(dscg.mdtrt_id, dscg.psn_no),
                            StayCall.DISCHARGE)
    if dscg.endtime < visit.begntime:
        raise refuse("INVALID_INPUT", "endtime 不能早于入院时间 begntime")
    _set_state(conn, visit, state, now, endtime=dscg.endtime, dscg_way=dscg.dscg_way,
               dscginfo=dscg.dscginfo_json, dscg_diseinfo=dscg.diseinfo_json)
    return _answer(visit, stay_status=state.value)


def cancel_discharge(conn: Connection, inst_code: str, infno: str, ref: StayRef,
                     now: datetime, *, inst_type: str = HOSPITAL) -> dict:
    """2405 出院撤销: back in hospital; lines may change again."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    visit, state = stay_for(conn, inst, ref, StayCall.CANCEL_DISCHARGE)
    _set_state(conn, visit, state, now, endtime=None, dscg_way=None, dscginfo=None,
               dscg_diseinfo=None)
    return _answer(visit, stay_status=state.value)


def _may_upload(conn: Connection, visit: Row) -> None:
    after(state_of(conn, visit), StayCall.UPLOAD)


def upload(conn: Connection, inst_code: str, infno: str, lines: tuple[SentLine, ...],
           now: datetime, *, inst_type: str = HOSPITAL) -> dict:
    """2301 费用明细上传: as 2204 (classified by the catalogue, all or nothing), to stays
    that are neither settled nor cancelled."""
    return fees.upload(conn, inst_code, infno, lines, now, inst_type=inst_type,
                       kind=INPATIENT, admit=_may_upload)


def delete_lines(conn: Connection, inst_code: str, infno: str, ref: LineRef, now: datetime,
                 *, inst_type: str = HOSPITAL) -> dict:
    """2302 费用明细撤销: one unsettled line, or every one ("0000")."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    visit, _ = stay_for(conn, inst, StayRef(ref.mdtrt_id, ref.psn_no), StayCall.DELETE)
    scope = (fee_lines.c.visit_id == visit.id) & fee_lines.c.settlement_id.is_(None)
    if not ref.whole_stay:
        scope = scope & (fee_lines.c.feedetl_sn == ref.feedetl_sn)
    deleted = conn.execute(delete(fee_lines).where(scope)).rowcount
    if deleted == 0 and not ref.whole_stay:
        raise refuse("NO_FEE_DETAIL", ref.feedetl_sn)
    return _answer(visit, feedetl_sn=ref.feedetl_sn, deleted_cnt=deleted)


_c = fee_lines.c
_UNSETTLED_SUMS = select(
    func.count(), func.coalesce(func.sum(_c.fulamt_ownpay_amt_fen), 0),
    func.coalesce(func.sum(_c.overlmt_amt_fen), 0),
    func.coalesce(func.sum(_c.preselfpay_amt_fen), 0),
    func.coalesce(func.sum(_c.inscp_scp_amt_fen), 0)).where(_c.settlement_id.is_(None))


def _stay_bill(conn: Connection, inst: Row, req: BatchBill, call: StayCall, *, lock: bool):
    """The stay (checked for `call`) and the bill of every unsettled line of it."""
    visit, _ = stay_for(conn, inst, StayRef(req.mdtrt_id, req.psn_no), call, lock=lock)
    lines, *parts = conn.execute(_UNSETTLED_SUMS.where(_c.visit_id == visit.id)).one()
    if lines == 0:
        raise refuse("NO_FEE_DETAIL")
    bill = bill_of_lines(req.psn_no, (req.mdtrt_cert_type, req.mdtrt_cert_no), req.medfee_fen,
                         req.sent_parts_fen, tuple(int(p) for p in parts), req.use_accounts,
                         req.insutype)
    return visit, bill, Origin(visit.mdtrt_id, None, INPATIENT_MED_TYPE,
                               fund_scene=INPATIENT_SCENE)


def presettle(conn: Connection, inst_code: str, infno: str, msgid: str, req: BatchBill,
              now: datetime, *, inst_type: str = HOSPITAL) -> dict:
    """2303 预结算: what 2304 would give now, nothing held or moved."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    _, bill, origin = _stay_bill(conn, inst, req, StayCall.PRESETTLE, lock=False)
    return settle.presettle(conn, inst_code, infno, bill, now, inst_type=inst_type,
                            origin=origin, msgid=msgid)


def settle_stay(conn: Connection, inst_code: str, infno: str, msgid: str, req: BatchBill,
                now: datetime, *, inst_type: str = HOSPITAL) -> dict:
    """2304 结算: settle the stay's unsettled lines and tie them to the settlement, under
    the stay's lock (taken before any account lock)."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    visit, bill, origin = _stay_bill(conn, inst, req, StayCall.SETTLE, lock=True)
    answer = settle.settle(conn, inst_code, infno, msgid, bill, now, inst_type=inst_type,
                           origin=origin)
    settlement_id = (select(settlements.c.id)
                     .where(settlements.c.setl_id == answer["setlinfo"]["setl_id"])
                     .scalar_subquery())
    conn.execute(update(fee_lines).where(_c.visit_id == visit.id, _c.settlement_id.is_(None))
                 .values(settlement_id=settlement_id))
    return answer


def reverse(conn: Connection, inst_code: str, infno: str, ref: SettlementRef, now: datetime,
            *, inst_type: str = HOSPITAL) -> dict:
    """2305 结算撤销: a settled stay's settlement, exactly once (settle.reverse frees its
    lines, and the stay is discharged again: `settled` is the live settlement itself)."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    visit = visit_for(conn, inst, ref.mdtrt_id, ref.psn_no, lock=True, kind=INPATIENT)
    if state_of(conn, visit) != StayStatus.SETTLED:
        # Not settled now: a settlement of this stay is already reversed, or none exists.
        found = conn.execute(select(settlements.c.id).where(
            settlements.c.setl_id == ref.setl_id, settlements.c.mdtrt_id == ref.mdtrt_id,
            settlements.c.institution_id == inst.id)).first()
        raise refuse("ALREADY_REVERSED" if found else "SETTLEMENT_NOT_FOUND")
    return settle.reverse(conn, inst_code, infno, ref.setl_id, ref.psn_no, now,
                          inst_type=inst_type, mdtrt_id=ref.mdtrt_id)
