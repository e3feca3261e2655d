"""Bills made of fee lines (CONTRACT v2): a hospital's batch of a visit (2206/2207 with
mdtrt_id) and a pharmacy's drugdetail (2101/2102). The lines make the bill; then the v1
settlement runs unchanged (settle.presettle / settle.settle) with the bill's origin.

A batch settles once: under the visit's lock its lines are read, must exist
(NO_FEE_DETAIL) and be free (BATCH_SETTLED), and are then tied to the new settlement in
the same unit of work. A reversal unties them (visit_store.free_lines).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, func, select, update

from gongji.domain.bill import Bill
from gongji.domain.catalogue import bill_parts
from gongji.domain.errors import refuse
from gongji.domain.fee_detail import DrugBill
from gongji.domain.visit import BatchBill, Origin, bill_of_lines
from gongji.services.settlement import settle
from gongji.services.settlement.fees import classify_lines, line_answer, line_row, store_lines
from gongji.services.settlement.visits import visit_for
from gongji.store.schema import fee_lines, settlements

_c = fee_lines.c
_BATCH_SUMS = select(
    func.count(), func.count(_c.settlement_id),
    func.coalesce(func.sum(_c.fulamt_ownpay_amt_fen), 0),
    func.coalesce(func.sum(_c.overlmt_amt_fen), 0),
    func.coalesce(func.sum(_c.preselfpay_amt_fen), 0),
    func.coalesce(func.sum(_c.inscp_scp_amt_fen), 0))


def batch_bill(conn: Connection, inst: Row, req: BatchBill, *,
               lock: bool) -> tuple[Row, Bill, Origin]:
    """The visit, and the bill of its batch chrg_bchno from the classified lines."""
    visit = visit_for(conn, inst, req.mdtrt_id, req.psn_no, lock=lock)
    lines, held, *parts = conn.execute(_BATCH_SUMS.where(
        _c.visit_id == visit.id, _c.chrg_bchno == req.chrg_bchno)).one()
    if lines == 0:
        raise refuse("NO_FEE_DETAIL")
    if held:
        raise refuse("BATCH_SETTLED", req.chrg_bchno)
    bill = bill_of_lines(req.psn_no, (req.mdtrt_cert_type, req.mdtrt_cert_no), req.medfee_fen,
                         req.sent_parts_fen, tuple(int(p) for p in parts), req.use_accounts,
                         req.insutype)
    return visit, bill, Origin(visit.mdtrt_id, req.chrg_bchno, req.med_type or visit.med_type)


def presettle_batch(conn: Connection, inst_code: str, infno: str, msgid: str, req: BatchBill,
                    now: datetime, *, inst_type: str) -> dict:
    """2206 with mdtrt_id: what settling the batch would give now, nothing held."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    _, bill, origin = batch_bill(conn, inst, req, lock=False)
    return settle.presettle(conn, inst_code, infno, bill, now, inst_type=inst_type,
                            origin=origin, msgid=msgid)


def settle_batch(conn: Connection, inst_code: str, infno: str, msgid: str, req: BatchBill,
                 now: datetime, *, inst_type: str) -> dict:
    """2207 with mdtrt_id: settle the batch and tie its lines to the settlement."""
    inst = settle.institution_for(conn, inst_code, infno, inst_type)
    visit, bill, origin = batch_bill(conn, inst, req, lock=True)  # the visit's lock, to commit
    answer = settle.settle(conn, inst_code, infno, msgid, bill, now, inst_type=inst_type,
                           origin=origin)
    conn.execute(update(fee_lines).where(_c.visit_id == visit.id,
                                         _c.chrg_bchno == req.chrg_bchno,
                                         _c.settlement_id.is_(None))
                 .values(settlement_id=_settlement_id(answer)))
    return answer


def _settlement_id(answer: dict):  # noqa: ANN202 - a scalar subquery
    """The new settlement's row id, by the setl_id its answer carries."""
    return (select(settlements.c.id)
            .where(settlements.c.setl_id == answer["setlinfo"]["setl_id"]).scalar_subquery())


def _drug_bill(conn: Connection, drug: DrugBill, now: datetime) -> tuple[Bill, list[dict], list]:
    """The pharmacy's bill from its lines, classified by the patient's region catalogue."""
    patient = settle.patient_for(conn, drug, now)  # reads psn_no and credential, as a Bill's
    classes = classify_lines(conn, patient.insuplc_admdvs, drug.lines)
    parts = bill_parts(classes)
    bill = drug.bill((parts.fulamt_ownpay_fen, parts.overlmt_selfpay_fen, parts.preselfpay_fen,
                      parts.inscp_fen))
    answers = [line_answer(sent, cls) for sent, cls in zip(drug.lines, classes, strict=True)]
    return bill, answers, classes


def presettle_drugs(conn: Connection, inst_code: str, infno: str, msgid: str, drug: DrugBill,
                    now: datetime, *, inst_type: str) -> dict:
    """2101 with drugdetail: the pre-settlement and each line's classification."""
    settle.institution_for(conn, inst_code, infno, inst_type)
    bill, answers, _ = _drug_bill(conn, drug, now)
    answer = settle.presettle(conn, inst_code, infno, bill, now, inst_type=inst_type,
                              origin=Origin(med_type=drug.med_type), msgid=msgid)
    return answer | {"detlcutinfo": answers}


def settle_drugs(conn: Connection, inst_code: str, infno: str, msgid: str, drug: DrugBill,
                 now: datetime, *, inst_type: str) -> dict:
    """2102 with drugdetail: settle, and keep the lines with the settlement."""
    settle.institution_for(conn, inst_code, infno, inst_type)
    bill, answers, classes = _drug_bill(conn, drug, now)
    answer = settle.settle(conn, inst_code, infno, msgid, bill, now, inst_type=inst_type,
                           origin=Origin(med_type=drug.med_type))
    settlement_id = conn.execute(select(settlements.c.id).where(
        settlements.c.setl_id == answer["setlinfo"]["setl_id"])).scalar_one()
    store_lines(conn, [line_row(sent, cls, now, settlement_id=settlement_id)
                       for sent, cls in zip(drug.lines, classes, strict=True)])
    return answer | {"detlcutinfo": answers}
