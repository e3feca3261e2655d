"""The gateway's transaction codes, one row each: how its input is parsed, which service
answers it, whether it moves money (and so is kept exactly once), which institution type
may send it, how it is counted and how it is documented. Adding a code is one row here.

The table lives at the edge because it names the services' handlers and parsers; the
services learn what they need of a row (the institution type a code is for) as an
argument, never by importing this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from gongji.domain import fee_detail, stay, visit
from gongji.domain.bill import Bill, parse_bill
from gongji.domain.errors import refuse
from gongji.services.settlement import (
    batches,
    correction,
    fees,
    inquiry,
    reconciliation,
    signin,
    stays,
    visits,
)
from gongji.services.settlement import settle as settlement

Kind = Literal["read", "money", "reversal", "session", "record"]
InstitutionType = Literal["hospital", "pharmacy", "any"]
MAX_BODY_BYTES = 256 * 1024
# 3202 carries the institution's whole list (reconciliation.MAX_DETAIL items), 2204 and
# 2101/2102 up to 1,000 fee lines (domain/fee_detail.MAX_LINES); the body guard
# (bodyguard.GATEWAY_MAX_BYTES) stops reading beyond this, with a 413.
MAX_DETAIL_BODY_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Call:
    """What a handler may need of the envelope besides its parsed input."""

    fixmedins_code: str
    infno: str
    msgid: str
    now: datetime
    institution: InstitutionType  # the row's: the type the code is for


@dataclass(frozen=True)
class Code:
    """One transaction code. `parse` checks input.data before any unit of work starts (it
    raises INVALID_INPUT); `handler` runs inside one, with what `parse` returned."""

    infno: str
    kind: Kind
    institution: InstitutionType
    parse: Callable[[dict], Any]
    handler: Callable[[Connection, Call, Any], dict]
    metric: str | None  # infno label on gongji_settlements; None: not a settlement, not counted
    description: str
    max_body_bytes: int = MAX_BODY_BYTES
    # What `parse` is given: "data" is input.data (v1 and most codes); "input" is the whole
    # input object, for codes whose input holds other members (2203 mdtrtinfo, 2204
    # feedetail, 2101/2102 druginfo + drugdetail, 9001 signIn).
    takes: Literal["data", "input"] = "data"
    # Runs in a batch of its own (services/batching.py): it reads another message's
    # exactly-once record, which a shared batch would have claimed ahead of it.
    alone: bool = False

    @property
    def exactly_once(self) -> bool:
        """Whatever moves money is keyed by (fixmedins_code, msgid); a read keeps no record,
        so its msgid is not spent (a pre-settlement and its settlement may share one)."""
        return self.kind != "read"


# --- parsers: input.data → what the handler needs --------------------------------------------


def _credential(data: dict) -> tuple[str, str]:
    cert_type, cert_no = data.get("mdtrt_cert_type"), data.get("mdtrt_cert_no")
    if cert_type not in ("01", "02", "03") or not isinstance(cert_no, str) or not cert_no:
        raise refuse("INVALID_INPUT", "mdtrt_cert_type 须为 01/02/03，mdtrt_cert_no 必填")
    return cert_type, cert_no


def _settlement_ref(data: dict) -> tuple[str, str]:
    setl_id, psn_no = data.get("setl_id"), data.get("psn_no")
    if not isinstance(setl_id, str) or not isinstance(psn_no, str) or not setl_id or not psn_no:
        raise refuse("INVALID_INPUT", "setl_id、psn_no 必填")
    return setl_id, psn_no


# --- handlers: the service call, in the caller's unit of work ----------------------------------


def _person_info(conn: Connection, call: Call, credential: tuple[str, str]) -> dict:
    return settlement.person_info(conn, *credential, call.now)


def _presettle(conn: Connection, call: Call, bill: Any) -> dict:
    return settlement.presettle(conn, call.fixmedins_code, call.infno, bill, call.now,
                                inst_type=call.institution, msgid=call.msgid)


def _settle(conn: Connection, call: Call, bill: Any) -> dict:
    return settlement.settle(conn, call.fixmedins_code, call.infno, call.msgid, bill, call.now,
                             inst_type=call.institution)


def _reverse(conn: Connection, call: Call, ref: tuple[str, str]) -> dict:
    return settlement.reverse(conn, call.fixmedins_code, call.infno, *ref, call.now,
                              inst_type=call.institution)


def _totals(conn: Connection, call: Call, query: Any) -> dict:
    return reconciliation.totals(conn, call.fixmedins_code, query)


def _detail(conn: Connection, call: Call, query: Any) -> dict:
    return reconciliation.compare_detail(conn, call.fixmedins_code, query)


# --- sign-in (9001/9002) and 2601 冲正 --------------------------------------------------

SIGN_IN = "9001"  # the one code an envelope's sign_no is not checked for


def _sign_in(conn: Connection, call: Call, request: signin.SignIn) -> dict:
    return signin.sign_in(conn, call.fixmedins_code, call.msgid, request, call.now)


def _sign_out(conn: Connection, call: Call, request: signin.SignOut) -> dict:
    return signin.sign_out(conn, call.fixmedins_code, call.msgid, request, call.now)


def _correct(conn: Connection, call: Call, request: correction.Correction) -> dict:
    return correction.correct(conn, call.fixmedins_code, call.msgid, request, call.now)


# --- visits, fee lines, bills of lines, 5203 --------------------------------------------


def _bill_or_batch(data: dict) -> Any:
    """2206/2207: a batch of a visit when mdtrt_id is sent (v2), else the v1 bill."""
    return visit.parse_batch_bill(data) if visit.has_visit(data) else parse_bill(data)


def _bill_or_drugs(given: dict) -> Any:
    """2101/2102: the v1 `input.data` bill when it is there, else druginfo + drugdetail."""
    if "data" in given:
        if not isinstance(given["data"], dict):
            raise refuse("INVALID_INPUT", "input.data 须为对象")
        return parse_bill(given["data"])
    return fee_detail.parse_drug_bill(given)


def _by_bill_form(v1: Callable, batch: Callable, drugs: Callable) -> Callable:
    """One handler for the three forms a bill arrives in: v1 totals, a visit's batch of
    lines (by mdtrt_id), a pharmacy's drug lines."""
    def handler(conn: Connection, call: Call, bill: Any) -> dict:
        if isinstance(bill, Bill):
            return v1(conn, call, bill)
        of_lines = batch if isinstance(bill, visit.BatchBill) else drugs
        return of_lines(conn, call.fixmedins_code, call.infno, call.msgid, bill, call.now,
                        inst_type=call.institution)
    return handler


_presettle_any = _by_bill_form(_presettle, batches.presettle_batch, batches.presettle_drugs)
_settle_any = _by_bill_form(_settle, batches.settle_batch, batches.settle_drugs)


def _reverse_of_visit(conn: Connection, call: Call, ref: visit.SettlementRef) -> dict:
    return settlement.reverse(conn, call.fixmedins_code, call.infno, ref.setl_id, ref.psn_no,
                              call.now, inst_type=call.institution, mdtrt_id=ref.mdtrt_id)


def _register(conn: Connection, call: Call, reg: visit.Registration) -> dict:
    return visits.register(conn, call.fixmedins_code, call.infno, call.msgid, reg, call.now,
                           inst_type=call.institution)


def _cancel(conn: Connection, call: Call, ref: visit.VisitRef) -> dict:
    return visits.cancel(conn, call.fixmedins_code, call.infno, ref, call.now,
                         inst_type=call.institution)


def _visit_info(conn: Connection, call: Call, info: visit.VisitInfo) -> dict:
    return visits.record_info(conn, call.fixmedins_code, call.infno, info, call.now,
                              inst_type=call.institution)


def _upload(conn: Connection, call: Call, lines: tuple) -> dict:
    return fees.upload(conn, call.fixmedins_code, call.infno, lines, call.now,
                       inst_type=call.institution)


def _delete_batch(conn: Connection, call: Call, ref: visit.BatchRef) -> dict:
    return fees.delete_batch(conn, call.fixmedins_code, call.infno, ref, call.now,
                             inst_type=call.institution)


def _settlement_info(conn: Connection, call: Call, ref: visit.SettlementRef) -> dict:
    return inquiry.settlement_info(conn, call.fixmedins_code, ref)


# --- inpatient stays: 2401–2405, 2301–2305 ----------------------------------------------


def _stay_call(handler: Callable[..., dict], *, with_msgid: bool = False) -> Callable:
    """A stay service called with the caller's code, infno (and msgid), input and time."""
    def run(conn: Connection, call: Call, request: Any) -> dict:
        head = (call.fixmedins_code, call.infno) + ((call.msgid,) if with_msgid else ())
        return handler(conn, *head, request, call.now, inst_type=call.institution)
    return run


_ROWS = (
    Code("9001", "session", "any", signin.parse_sign_in, _sign_in, None, "签到",
         takes="input"),
    Code("9002", "session", "any", signin.parse_sign_out, _sign_out, None, "签退",
         takes="input"),
    Code("2601", "reversal", "any", correction.parse_correction, _correct, None,
         "冲正（应答丢失后撤销原结算，或作废未结算的报文号）", alone=True),
    Code("1101", "read", "any", _credential, _person_info, None, "人员信息获取"),
    Code("2101", "read", "pharmacy", _bill_or_drugs, _presettle_any, "2101", "药店预结算",
         takes="input", max_body_bytes=MAX_DETAIL_BODY_BYTES),
    Code("2102", "money", "pharmacy", _bill_or_drugs, _settle_any, "2102", "药店结算",
         takes="input", max_body_bytes=MAX_DETAIL_BODY_BYTES),
    Code("2103", "reversal", "pharmacy", _settlement_ref, _reverse, "2103", "药店结算撤销"),
    Code("2201", "record", "hospital", visit.parse_registration, _register, None, "门诊挂号"),
    Code("2202", "record", "hospital", visit.parse_visit_ref, _cancel, None, "门诊挂号撤销"),
    Code("2203", "record", "hospital", visit.parse_visit_info, _visit_info, None,
         "门诊就诊信息上传", takes="input"),
    Code("2204", "record", "hospital", fee_detail.parse_feedetail, _upload, None,
         "门诊费用明细信息上传", takes="input", max_body_bytes=MAX_DETAIL_BODY_BYTES),
    Code("2205", "record", "hospital", visit.parse_batch_ref, _delete_batch, None,
         "门诊费用明细信息撤销"),
    Code("2206", "read", "hospital", _bill_or_batch, _presettle_any, "2206", "门诊预结算"),
    Code("2207", "money", "hospital", _bill_or_batch, _settle_any, "2207", "门诊结算"),
    Code("2208", "reversal", "hospital", visit.parse_settlement_ref, _reverse_of_visit, "2208",
         "门诊结算撤销"),
    Code("2401", "record", "hospital", stay.parse_admission,
         _stay_call(stays.admit, with_msgid=True), None, "入院办理", takes="input"),
    Code("2404", "record", "hospital", stay.parse_stay_ref, _stay_call(stays.cancel_admission),
         None, "入院办理撤销"),
    Code("2402", "record", "hospital", stay.parse_discharge, _stay_call(stays.discharge), None,
         "出院办理", takes="input"),
    Code("2405", "record", "hospital", stay.parse_stay_ref, _stay_call(stays.cancel_discharge),
         None, "出院办理撤销"),
    Code("2301", "record", "hospital", fee_detail.parse_stay_feedetail, _stay_call(stays.upload),
         None, "住院费用明细信息上传", takes="input", max_body_bytes=MAX_DETAIL_BODY_BYTES),
    Code("2302", "record", "hospital", stay.parse_line_ref, _stay_call(stays.delete_lines),
         None, "住院费用明细信息撤销"),
    Code("2303", "read", "hospital", stay.parse_stay_bill,
         _stay_call(stays.presettle, with_msgid=True), "2303", "住院预结算"),
    Code("2304", "money", "hospital", stay.parse_stay_bill,
         _stay_call(stays.settle_stay, with_msgid=True), "2304", "住院结算（不支持中途结算）"),
    Code("2305", "reversal", "hospital", stay.parse_stay_settlement_ref,
         _stay_call(stays.reverse), "2305", "住院结算撤销"),
    Code("5203", "read", "any", visit.parse_settlement_ref, _settlement_info, None,
         "结算信息查询"),
    Code("3201", "read", "any", reconciliation.parse_totals_query, _totals, None,
         "医药机构费用结算对总账"),
    Code("3202", "read", "any", reconciliation.parse_detail_query, _detail, None,
         "医药机构费用结算对明细账", max_body_bytes=MAX_DETAIL_BODY_BYTES),
)
CODES: dict[str, Code] = {row.infno: row for row in _ROWS}

_TYPES = {"hospital": "定点医院", "pharmacy": "定点零售药店", "any": "医院与药店"}
_KINDS = {"read": "只读，不占用 msgid", "money": "动用资金，按 msgid 只执行一次",
          "record": "写入就诊或费用明细，按 msgid 只执行一次",
          "session": "签到签退，按 msgid 只执行一次（重发得到同一签到编号）",
          "reversal": "撤销，按 msgid 只执行一次"}


def describe() -> str:
    """The gateway route's OpenAPI description: every code, from the table."""
    lines = [f"- `{row.infno}` {row.description}（{_TYPES[row.institution]}；"
             f"{_KINDS[row.kind]}）" for row in _ROWS]
    return "国家医保接口报文。交易编号：\n\n" + "\n".join(lines)


def listed() -> str:
    """The codes in one line, for the envelope schema's infno field."""
    return "交易编号：" + "、".join(CODES)
