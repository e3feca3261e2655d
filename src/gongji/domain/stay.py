"""Inpatient stays (住院) as a HIS sends them, and the stay's own state machine. Pure.

A stay is admitted (2401 入院办理), may be discharged (2402 出院办理) and settled (2304
结算); each step has its undo (2404 入院撤销, 2405 出院撤销, 2305 结算撤销). `settled`
is not stored: a stay is settled while a live (unreversed) settlement of its mdtrt_id
exists, so every reversal path (2305, 2601 of a 2304) returns it to discharged by itself.

Which call may run in which state is one table (ALLOWED); anything else is STAY_STATE,
naming the state. A mid-stay settlement (中途结算, mid_setl_flag "1") is refused with
MID_SETTLEMENT_UNSUPPORTED: a stay settles once, after discharge, all its unsettled lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gongji.domain.codes import MidSetlFlag
from gongji.domain.errors import refuse
from gongji.domain.money import to_fen
from gongji.domain.text import check_printable
from gongji.domain.visit import (
    MAX_DISEINFO_CHARS,
    WHOLE_VISIT,
    BatchBill,
    SettlementRef,
    acct_flag,
    beijing_time,
    credential,
    diagnoses,
    insutype_of,
    text,
)

INPATIENT_MED_TYPE = "21"  # 医疗类别 普通住院
STAY_BATCH = "IPT"  # chrg_bchno recorded on a stay's settlement: the whole stay's lines


class StayStatus(StrEnum):
    """What is stored of a stay's life; SETTLED is derived (see module doc)."""

    ADMITTED = "admitted"  # 在院
    DISCHARGED = "discharged"  # 已出院，未结算
    SETTLED = "settled"  # 已结算
    CANCELLED = "cancelled"  # 入院已撤销


STORED = (StayStatus.ADMITTED, StayStatus.DISCHARGED, StayStatus.CANCELLED)
STATUS_WORDS = {StayStatus.ADMITTED: "在院", StayStatus.DISCHARGED: "已出院未结算",
                StayStatus.SETTLED: "已结算", StayStatus.CANCELLED: "入院已撤销"}


class StayCall(StrEnum):
    """What a HIS may ask of an existing stay, by the code that asks it."""

    UPLOAD = "2301"  # 费用明细上传
    DELETE = "2302"  # 费用明细撤销
    PRESETTLE = "2303"  # 预结算
    SETTLE = "2304"  # 结算
    REVERSE = "2305"  # 结算撤销
    DISCHARGE = "2402"  # 出院办理
    CANCEL_ADMISSION = "2404"  # 入院撤销
    CANCEL_DISCHARGE = "2405"  # 出院撤销


_A, _D, _S, _C = STORED[0], STORED[1], StayStatus.SETTLED, StayStatus.CANCELLED
# state → call → the state after it. Lines change only before settlement; a stay settles
# only once discharged; admission is cancelled only while in hospital (cancel the
# discharge first), so a stay with a live settlement can never be cancelled.
ALLOWED: dict[StayStatus, dict[StayCall, StayStatus]] = {
    _A: {StayCall.UPLOAD: _A, StayCall.DELETE: _A, StayCall.DISCHARGE: _D,
         StayCall.CANCEL_ADMISSION: _C},
    _D: {StayCall.UPLOAD: _D, StayCall.DELETE: _D, StayCall.PRESETTLE: _D,
         StayCall.SETTLE: _S, StayCall.CANCEL_DISCHARGE: _A},
    _S: {StayCall.REVERSE: _D},
    _C: {},
}


def current(stored: str, settled: bool) -> StayStatus:
    """The stay's state from its stored status and whether a live settlement holds it."""
    status = StayStatus(stored)
    if status not in STORED:
        raise ValueError(stored)
    return _S if settled and status == _D else status


def after(state: StayStatus, call: StayCall) -> StayStatus:
    """The state `call` leads to from `state`, or STAY_STATE naming both."""
    following = ALLOWED[state].get(call)
    if following is None:
        raise refuse("STAY_STATE", f"住院{STATUS_WORDS[state]}，不能办理 {call.value}")
    return following


@dataclass(frozen=True)
class Admission:
    """2401 入院办理: mdtrtinfo and the admission diagnoses."""

    psn_no: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    insutype: str | None
    begntime: datetime
    ipt_no: str  # 住院号, the HIS's own
    atddr_no: str | None
    chfpdr_name: str | None  # 主诊医师姓名
    adm_dept_codg: str | None
    adm_dept_name: str | None
    med_type: str
    diseinfo_json: str


def member(given: dict, name: str) -> dict:
    value = given.get(name)
    if not isinstance(value, dict):
        raise refuse("INVALID_INPUT", f"input.{name} 须为对象")
    return value


def parse_admission(given: dict) -> Admission:
    info = member(given, "mdtrtinfo")
    kind = info.get("med_type", INPATIENT_MED_TYPE)
    if kind not in (INPATIENT_MED_TYPE, "", None):
        raise refuse("INVALID_INPUT", f'med_type 须为 "{INPATIENT_MED_TYPE}"（普通住院）')
    cert_type, cert_no = credential(info)
    return Admission(
        psn_no=text(info, "psn_no", 30), mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no,
        insutype=insutype_of(info), begntime=beijing_time(info, "begntime"),
        ipt_no=text(info, "ipt_no", 30), atddr_no=text(info, "atddr_no", 30, required=False),
        chfpdr_name=text(info, "chfpdr_name", 50, required=False),
        adm_dept_codg=text(info, "adm_dept_codg", 30, required=False),
        adm_dept_name=text(info, "adm_dept_name", 100, required=False),
        med_type=INPATIENT_MED_TYPE, diseinfo_json=diagnoses(given))


@dataclass(frozen=True)
class StayRef:
    """2404 / 2405 (input.data), and the stay named by any later call."""

    mdtrt_id: str
    psn_no: str


def parse_stay_ref(data: dict) -> StayRef:
    return StayRef(text(data, "mdtrt_id", 30), text(data, "psn_no", 30))


@dataclass(frozen=True)
class Discharge:
    """2402 出院办理: dscginfo and the discharge diagnoses."""

    mdtrt_id: str
    psn_no: str
    endtime: datetime
    dscg_way: str | None  # 离院方式
    dscginfo_json: str
    diseinfo_json: str


def parse_discharge(given: dict) -> Discharge:
    info = member(given, "dscginfo")
    kept = json.dumps(info, ensure_ascii=False, default=str, sort_keys=True)
    if len(kept) > MAX_DISEINFO_CHARS:
        raise refuse("INVALID_INPUT", f"dscginfo 超过 {MAX_DISEINFO_CHARS} 个字符")
    check_printable(kept, "dscginfo")
    return Discharge(text(info, "mdtrt_id", 30), text(info, "psn_no", 30),
                     beijing_time(info, "endtime"),
                     text(info, "dscg_way", 6, required=False), kept, diagnoses(given))


@dataclass(frozen=True)
class LineRef:
    """2302 费用明细撤销: one line by feedetl_sn, or every unsettled line ("0000")."""

    mdtrt_id: str
    psn_no: str
    feedetl_sn: str

    @property
    def whole_stay(self) -> bool:
        return self.feedetl_sn == WHOLE_VISIT


def parse_line_ref(data: dict) -> LineRef:
    return LineRef(text(data, "mdtrt_id", 30), text(data, "psn_no", 30),
                   text(data, "feedetl_sn", 30))


def parse_stay_bill(data: dict) -> BatchBill:
    """2303/2304: the bill is every unsettled line of the stay (the batch STAY_BATCH)."""
    flag = data.get("mid_setl_flag", MidSetlFlag.AT_DISCHARGE.value)
    if flag == MidSetlFlag.MID_STAY:
        raise refuse("MID_SETTLEMENT_UNSUPPORTED")
    if flag not in (MidSetlFlag.AT_DISCHARGE, "", None):
        raise refuse("INVALID_INPUT", 'mid_setl_flag 须为 "0" 或 "1"')
    cert_type, cert_no = credential(data)
    return BatchBill(
        psn_no=text(data, "psn_no", 30), mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no,
        mdtrt_id=text(data, "mdtrt_id", 30), chrg_bchno=STAY_BATCH,
        med_type=INPATIENT_MED_TYPE, medfee_fen=to_fen(data.get("medfee_sumamt")),
        sent_parts_fen=(None, None, None, None), use_accounts=acct_flag(data),
        insutype=insutype_of(data))


def parse_stay_settlement_ref(data: dict) -> SettlementRef:
    """2305 结算撤销: the settlement, its patient and its stay (mdtrt_id required)."""
    return SettlementRef(text(data, "setl_id", 30), text(data, "psn_no", 30),
                         text(data, "mdtrt_id", 30))
