"""Fee lines (费用明细): 2204 upload, 2205 delete a batch, and the classification of any
line by the patient's region catalogue (pharmacy drugdetail too), answered line by line.

The platform, not the institution, decides each line's four parts (domain/catalogue).
A call is all or nothing: one bad line refuses it, nothing stored. Every visit a call
touches is locked first (visit_store), in mdtrt_id order so two uploads cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Row, delete, insert, select

from gongji.domain.catalogue import LineClass, classify
from gongji.domain.catalogue_entry import MILLION
from gongji.domain.errors import refuse
from gongji.domain.fee_detail import SentLine
from gongji.domain.money import to_yuan
from gongji.domain.visit import BatchRef
from gongji.services.catalogue.items import items_for
from gongji.services.settlement.settle import institution_for
from gongji.services.settlement.visits import HOSPITAL, OUTPATIENT, visit_for
from gongji.store import repo
from gongji.store.schema import fee_lines


def classify_lines(conn: Connection, admdvs: str, lines: Sequence[SentLine]) -> list[LineClass]:
    """Each line by the catalogue of region `admdvs` in force on the day the fee arose
    (Beijing date of fee_ocur_time): one lookup per distinct day, usually one."""
    codes_by_day: dict = defaultdict(set)
    for sent in lines:
        codes_by_day[sent.fee_ocur_time.date()].add(sent.line.med_list_codg)
    items = {day: items_for(conn, admdvs, codes, day) for day, codes in codes_by_day.items()}
    return [classify(sent.line, items[sent.fee_ocur_time.date()].get(sent.line.med_list_codg))
            for sent in lines]


def line_answer(sent: SentLine, cls: LineClass) -> dict:
    """One item of 2204 `result` / 2101–2102 `detlcutinfo`: amounts in yuan; cnt and pric
    as sent (at most 12 and 14 significant digits: exact as JSON numbers)."""
    return {
        "feedetl_sn": sent.line.feedetl_sn,
        "det_item_fee_sumamt": to_yuan(sent.line.total_fen),
        "cnt": float(sent.line.cnt),
        "pric": float(sent.line.pric),
        "pric_uplmt_amt": None if cls.pric_uplmt is None else float(cls.pric_uplmt),
        "selfpay_prop": float(cls.selfpay_prop),
        "fulamt_ownpay_amt": to_yuan(cls.fulamt_ownpay_fen),
        "overlmt_amt": to_yuan(cls.overlmt_fen),
        "preselfpay_amt": to_yuan(cls.preselfpay_fen),
        "inscp_scp_amt": to_yuan(cls.inscp_fen),
        "chrgitm_lv": cls.chrgitm_lv,
    }


def line_row(sent: SentLine, cls: LineClass, now: datetime, *, visit_id: int | None = None,
             settlement_id: int | None = None) -> dict:
    """The stored line: exact integers for the count, the prices and the proportion."""
    return {
        "visit_id": visit_id, "settlement_id": settlement_id,
        "feedetl_sn": sent.line.feedetl_sn, "chrg_bchno": sent.chrg_bchno,
        "med_list_codg": sent.line.med_list_codg, "medins_list_codg": sent.medins_list_codg,
        "cnt_e4": sent.cnt_e4, "pric_uyuan": sent.pric_uyuan,
        "det_item_fee_sumamt_fen": sent.line.total_fen,
        "fulamt_ownpay_amt_fen": cls.fulamt_ownpay_fen, "overlmt_amt_fen": cls.overlmt_fen,
        "preselfpay_amt_fen": cls.preselfpay_fen, "inscp_scp_amt_fen": cls.inscp_fen,
        "chrgitm_lv": cls.chrgitm_lv, "selfpay_prop_ppm": int(cls.selfpay_prop * MILLION),
        "pric_uplmt_uyuan": None if cls.pric_uplmt is None else int(cls.pric_uplmt * MILLION),
        "fee_ocur_time": sent.fee_ocur_time, "created_at": now,
    }


def store_lines(conn: Connection, rows: list[dict]) -> None:
    if rows:
        conn.execute(insert(fee_lines), rows)


def upload(conn: Connection, inst_code: str, infno: str, lines: Sequence[SentLine],
           now: datetime, *, inst_type: str = HOSPITAL, kind: str = OUTPATIENT,
           admit: Callable[[Connection, Row], None] | None = None) -> dict:
    """2204 费用明细上传 (and 2301 for stays: `kind` inpatient, `admit` checking the stay's
    state under its lock): every line of this institution's open visits, classified and
    stored, or none."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    by_visit: dict[str, list[SentLine]] = defaultdict(list)
    for sent in lines:
        by_visit[sent.mdtrt_id].append(sent)
    classes: dict[tuple[str | None, str], LineClass] = {}
    rows = []
    for mdtrt_id in sorted(by_visit):  # one lock order for every uploader
        visit_lines = by_visit[mdtrt_id]
        visit = _visit_of_lines(conn, inst, mdtrt_id, visit_lines, kind)
        if admit is not None:
            admit(conn, visit)
        _refuse_taken(conn, visit, visit_lines)
        patient = repo.person_by_id(conn, visit.person_id)
        for sent, cls in zip(visit_lines, classify_lines(conn, patient.insuplc_admdvs,
                                                         visit_lines), strict=True):
            classes[(mdtrt_id, sent.line.feedetl_sn)] = cls
            rows.append(line_row(sent, cls, now, visit_id=visit.id))
    store_lines(conn, rows)
    return {"result": [line_answer(sent, classes[(sent.mdtrt_id, sent.line.feedetl_sn)])
                       for sent in lines]}


def _visit_of_lines(conn: Connection, inst: Row, mdtrt_id: str,
                    lines: list[SentLine], kind: str) -> Row:
    """The open visit the lines name, locked; every line must name its patient."""
    psn_nos = {sent.psn_no for sent in lines}
    if len(psn_nos) != 1:
        raise refuse("VISIT_NOT_FOUND")
    return visit_for(conn, inst, mdtrt_id, psn_nos.pop(), lock=True, kind=kind)


def _refuse_taken(conn: Connection, visit: Row, lines: list[SentLine]) -> None:
    """A feedetl_sn already uploaded for the visit, or a batch a live settlement holds."""
    sns = [sent.line.feedetl_sn for sent in lines]
    taken = conn.execute(select(fee_lines.c.feedetl_sn).where(
        fee_lines.c.visit_id == visit.id, fee_lines.c.feedetl_sn.in_(sns)).limit(1)).first()
    if taken is not None:
        raise refuse("FEEDETL_SN_DUPLICATE", taken.feedetl_sn)
    batches = sorted({sent.chrg_bchno for sent in lines})
    settled = conn.execute(select(fee_lines.c.chrg_bchno).where(
        fee_lines.c.visit_id == visit.id, fee_lines.c.chrg_bchno.in_(batches),
        fee_lines.c.settlement_id.is_not(None)).limit(1)).first()
    if settled is not None:
        raise refuse("BATCH_SETTLED", settled.chrg_bchno)


def delete_batch(conn: Connection, inst_code: str, infno: str, ref: BatchRef, now: datetime,
                 *, inst_type: str = HOSPITAL) -> dict:
    """2205 费用明细撤销: a batch's lines, or every unsettled line of the visit ("0000");
    a batch a live settlement holds cannot lose a line."""
    inst = institution_for(conn, inst_code, infno, inst_type)
    visit = visit_for(conn, inst, ref.mdtrt_id, ref.psn_no, lock=True)
    scope = fee_lines.c.visit_id == visit.id
    if not ref.whole_visit:
        scope = scope & (fee_lines.c.chrg_bchno == ref.chrg_bchno)
        held = conn.execute(select(fee_lines.c.id).where(
            scope, fee_lines.c.settlement_id.is_not(None)).limit(1)).first()
        if held is not None:
            raise refuse("BATCH_SETTLED", ref.chrg_bchno)
    deleted = conn.execute(delete(fee_lines).where(scope, fee_lines.c.settlement_id.is_(None)))
    if deleted.rowcount == 0 and not ref.whole_visit:
        raise refuse("NO_FEE_DETAIL")
    return {"data": {"mdtrt_id": visit.mdtrt_id, "chrg_bchno": ref.chrg_bchno,
                     "deleted_cnt": deleted.rowcount}}
