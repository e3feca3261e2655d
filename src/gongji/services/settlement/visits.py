"""Outpatient visits (门诊就诊): 2201 挂号, 2202 退号, 2203 就诊信息上传.

A hospital registers a visit for a patient who shows their own credential; we issue the
visit's mdtrt_id. The visit is then the key of its fee lines (fees.py) and the row every
change to them locks first (visit_store.py).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, Row, exists, insert, select, update

from gongji.domain.errors import refuse
from gongji.domain.visit import (
    DEFAULT_MED_TYPE,
    Registration,
    VisitInfo,
    VisitRef,
    VisitStatus,
)
from gongji.services.clock import local_date
from gongji.services.settlement import visit_store
from gongji.services.settlement.settle import institution_for, patient_for
from gongji.store.schema import institutions, settlements, visits

HOSPITAL = "hospital"
OUTPATIENT, INPATIENT = "outpatient", "inpatient"  # visits.kind: a stay is an inpatient visit
_WRONG_KIND = {OUTPATIENT: "NOT_OUTPATIENT", INPATIENT: "NOT_A_STAY"}


def visit_for(conn: Connection, inst: Row, mdtrt_id: str, psn_no: str, *, lock: bool,
              kind: str = OUTPATIENT) -> Row:
    """The institution's own visit of this patient (VISIT_NOT_FOUND otherwise: another's
    visit is not revealed), locked when `lock`; a cancelled one is VISIT_CANCELLED; one of
    the other kind (a stay to an outpatient code, or the reverse) is refused."""
    visit = visit_store.visit_row(conn, mdtrt_id, lock=lock)
    if visit is None or visit.institution_id != inst.id or visit.psn_no != psn_no:
        raise refuse("VISIT_NOT_FOUND" if kind == OUTPATIENT else "STAY_NOT_FOUND")
    if visit.kind != kind:
        raise refuse(_WRONG_KIND[kind])
    if visit.status == VisitStatus.CANCELLED:  # a stay names its state, as every stay call does
        raise (refuse("VISIT_CANCELLED") if kind == OUTPATIENT
               else refuse("STAY_STATE", "入院已撤销"))
    return visit


def register(conn: Connection, inst_code: str, infno: str, msgid: str, reg: Registration,
             now: datetime, *, inst_type: str = HOSPITAL) -> dict:
    """2201 挂号: the credential must be the patient's own (as at settlement)."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    patient = patient_for(conn, reg, now)  # reads psn_no and the credential, as of a Bill
    earlier = registered_by(conn, inst_code, msgid)
    if earlier is not None:
        # The msgid registered before and its exactly-once record has been purged since:
        # the same visit again, never a second one.
        if earlier.psn_no != patient.psn_no:
            raise refuse("IDEMPOTENCY_CONFLICT")
        return {"data": {"mdtrt_id": earlier.mdtrt_id, "psn_no": earlier.psn_no,
                         "ipt_otp_no": earlier.ipt_otp_no}}
    mdtrt_id = f"M{local_date(now):%Y%m%d}{secrets.token_hex(6).upper()}"
    conn.execute(insert(visits).values(
        mdtrt_id=mdtrt_id, msgid=msgid, institution_id=inst.id, person_id=patient.id,
        psn_no=patient.psn_no, insutype=patient.insutype, med_type=DEFAULT_MED_TYPE,
        begntime=reg.begntime, ipt_otp_no=reg.ipt_otp_no, atddr_no=reg.atddr_no,
        dr_name=reg.dr_name, dept_code=reg.dept_code, dept_name=reg.dept_name, caty=reg.caty,
        status=VisitStatus.REGISTERED.value, created_at=now))
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": patient.psn_no,
                     "ipt_otp_no": reg.ipt_otp_no}}


def has_live_settlement(conn: Connection, mdtrt_id: str) -> bool:
    return conn.execute(select(exists().where(settlements.c.mdtrt_id == mdtrt_id,
                                              settlements.c.reversed_at.is_(None)))).scalar()


def cancel(conn: Connection, inst_code: str, infno: str, ref: VisitRef, now: datetime, *,
           inst_type: str = HOSPITAL) -> dict:
    """2202 退号 (and 2601 of a 2201): only while no settlement of the visit is live."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    visit = visit_for(conn, inst, ref.mdtrt_id, ref.psn_no, lock=True)
    if ref.ipt_otp_no is not None and ref.ipt_otp_no != visit.ipt_otp_no:
        raise refuse("VISIT_NOT_FOUND")
    if has_live_settlement(conn, visit.mdtrt_id):
        raise refuse("VISIT_SETTLED")
    conn.execute(update(visits).where(visits.c.id == visit.id)
                 .values(status=VisitStatus.CANCELLED.value, cancelled_at=now))
    return {"data": {"mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no,
                     "ipt_otp_no": visit.ipt_otp_no}}


def registered_by(conn: Connection, inst_code: str, msgid: str) -> Row | None:
    """The visit this institution registered with message `msgid` (2601 of a 2201), or
    None: (mdtrt_id, psn_no, ipt_otp_no, status)."""
    return conn.execute(
        select(visits.c.mdtrt_id, visits.c.psn_no, visits.c.ipt_otp_no, visits.c.status)
        .select_from(visits.join(institutions, visits.c.institution_id == institutions.c.id))
        .where(institutions.c.fixmedins_code == inst_code, visits.c.msgid == msgid)).first()


def record_info(conn: Connection, inst_code: str, infno: str, info: VisitInfo, now: datetime,
                *, inst_type: str = HOSPITAL) -> dict:
    """2203 就诊信息上传: the visit's 医疗类别 and its diagnoses, replacing earlier ones."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    visit = visit_for(conn, inst, info.mdtrt_id, info.psn_no, lock=True)
    conn.execute(update(visits).where(visits.c.id == visit.id)
                 .values(med_type=info.med_type, diseinfo=info.diseinfo_json))
    return {"data": {"mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no,
                     "med_type": info.med_type}}
