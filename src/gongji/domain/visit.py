"""Outpatient visits (门诊就诊) as a HIS sends them: registration (2201), cancellation
(2202), the visit's information and diagnoses (2203), a fee batch settled (2206/2207
with mdtrt_id). Pure: each parser checks one input and returns a value, or refuses.

Fields are the national interface's own; free text is bounded and printable, times are
`yyyy-MM-dd HH:mm:ss` in Beijing time (China has kept UTC+8 without daylight saving
since 1991, so a fixed offset is exact).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from gongji.domain.bill import ACCT_USED_FLAGS, CERT_TYPES, INSUTYPES, Bill
from gongji.domain.codes import AcctUsedFlag
from gongji.domain.errors import refuse
from gongji.domain.money import to_fen, yuan_text
from gongji.domain.text import check_printable

BEIJING = timezone(timedelta(hours=8))
DEFAULT_MED_TYPE = "11"  # 普通门诊
MED_TYPE = re.compile(r"^[0-9A-Za-z]{1,6}$")  # 医疗类别 (11 普通门诊, 13 急诊, 14 门诊慢特病…)
MAX_DIAGNOSES = 50
MAX_DISEINFO_CHARS = 20_000  # stored JSON text of one visit's diagnoses
WHOLE_VISIT = "0000"  # 2205 chrg_bchno: every unsettled line of the visit
TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
# The years a visit or a fee can happen in. HIS systems write "0001-01-01 00:00:00" for "no
# date"; in UTC that is before year 1, which no datetime (nor column) holds.
TIME_YEARS = range(1900, 2100)


class VisitStatus(StrEnum):
    """A visit's life: registered (挂号) until cancelled (退号, 2202)."""

    REGISTERED = "registered"
    CANCELLED = "cancelled"


def text(data: dict, name: str, limit: int, *, required: bool = True) -> str | None:
    """A bounded printable field; absent or "" is None when not required."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise refuse("INVALID_INPUT", f"{name} 必填")
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise refuse("INVALID_INPUT", f"{name} 须为 1–{limit} 个字符")
    if value.isascii() and value.isprintable():  # codes and numbers: no per-character look-up
        return value.strip()
    return check_printable(value, name).strip()


def beijing_time(data: dict, name: str, *, required: bool = True) -> datetime | None:
    """`yyyy-MM-dd HH:mm:ss` Beijing time as an aware datetime."""
    value = text(data, name, 19, required=required)
    if value is None:
        return None
    found = TIME.fullmatch(value)  # a regular expression: strptime costs 30 µs a line
    try:
        if found is None or int(found.group(1)) not in TIME_YEARS:
            raise ValueError(value)
        return datetime(*map(int, found.groups()), tzinfo=BEIJING)
    except ValueError:
        raise refuse("INVALID_INPUT", f"{name} 须为 {TIME_YEARS.start}–{TIME_YEARS.stop - 1} "
                     "年间的 yyyy-MM-dd HH:mm:ss") from None


def med_type(data: dict, *, default: str | None = DEFAULT_MED_TYPE) -> str | None:
    value = data.get("med_type")
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not MED_TYPE.fullmatch(value):
        raise refuse("INVALID_INPUT", "med_type 须为 1–6 位字母或数字")
    return value


def credential(data: dict) -> tuple[str, str]:
    cert_type = data.get("mdtrt_cert_type")
    if cert_type not in CERT_TYPES:
        raise refuse("INVALID_INPUT", "mdtrt_cert_type 须为 01、02 或 03")
    return cert_type, text(data, "mdtrt_cert_no", 200)


def insutype_of(data: dict) -> str | None:
    value = data.get("insutype")
    if value is None or value == "":
        return None
    if value not in INSUTYPES:
        raise refuse("INVALID_INPUT", "insutype 须为 310 或 390")
    return value


@dataclass(frozen=True)
class Registration:
    """2201 挂号. Named like a Bill's credential fields: the patient is found the same way."""

    psn_no: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    insutype: str | None
    begntime: datetime
    ipt_otp_no: str  # 住院/门诊号, the HIS's own
    atddr_no: str | None  # 主治医生编码
    dr_name: str | None
    dept_code: str | None
    dept_name: str | None
    caty: str | None  # 科别


def parse_registration(data: dict) -> Registration:
    cert_type, cert_no = credential(data)
    return Registration(
        psn_no=text(data, "psn_no", 30), mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no,
        insutype=insutype_of(data), begntime=beijing_time(data, "begntime"),
        ipt_otp_no=text(data, "ipt_otp_no", 30),
        atddr_no=text(data, "atddr_no", 30, required=False),
        dr_name=text(data, "dr_name", 50, required=False),
        dept_code=text(data, "dept_code", 30, required=False),
        dept_name=text(data, "dept_name", 100, required=False),
        caty=text(data, "caty", 10, required=False))


@dataclass(frozen=True)
class VisitRef:
    """2202 退号 (and 2601 of a 2201): which visit, for which patient."""

    mdtrt_id: str
    psn_no: str
    ipt_otp_no: str | None  # checked against the visit's when sent


def parse_visit_ref(data: dict) -> VisitRef:
    return VisitRef(text(data, "mdtrt_id", 30), text(data, "psn_no", 30),
                    text(data, "ipt_otp_no", 30, required=False))


@dataclass(frozen=True)
class VisitInfo:
    """2203 就诊信息上传: the 医疗类别 and the diagnoses, kept as given (bounded JSON)."""

    mdtrt_id: str
    psn_no: str
    med_type: str
    diseinfo_json: str


def diagnoses(given: dict) -> str:
    """input.diseinfo (2203, and a stay's 2401/2402) as bounded, printable JSON text."""
    items = given.get("diseinfo", [])
    if not isinstance(items, list) or len(items) > MAX_DIAGNOSES or not all(
            isinstance(item, dict) for item in items):
        raise refuse("INVALID_INPUT", f"diseinfo 须为至多 {MAX_DIAGNOSES} 项的对象列表")
    stored = json.dumps(items, ensure_ascii=False, default=str, sort_keys=True)
    if len(stored) > MAX_DISEINFO_CHARS:
        raise refuse("INVALID_INPUT", f"diseinfo 超过 {MAX_DISEINFO_CHARS} 个字符")
    check_printable(stored, "diseinfo")
    return stored


def parse_visit_info(given: dict) -> VisitInfo:
    info = given.get("mdtrtinfo")
    if not isinstance(info, dict):
        raise refuse("INVALID_INPUT", "input.mdtrtinfo 须为对象")
    return VisitInfo(text(info, "mdtrt_id", 30), text(info, "psn_no", 30), med_type(info),
                     diagnoses(given))


@dataclass(frozen=True)
class BatchRef:
    """2205 费用明细撤销: a batch of the visit's lines, or every unsettled one ("0000")."""

    mdtrt_id: str
    chrg_bchno: str
    psn_no: str

    @property
    def whole_visit(self) -> bool:
        return self.chrg_bchno == WHOLE_VISIT


def parse_batch_ref(data: dict) -> BatchRef:
    return BatchRef(text(data, "mdtrt_id", 30), text(data, "chrg_bchno", 30),
                    text(data, "psn_no", 30))


PARTS = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


@dataclass(frozen=True)
class BatchBill:
    """2206/2207 with mdtrt_id: the bill is batch `chrg_bchno` of the visit. The parts the
    HIS sent are kept to be compared with the computed ones (None: not sent, or "")."""

    psn_no: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    mdtrt_id: str
    chrg_bchno: str
    med_type: str | None  # None: the visit's
    medfee_fen: int
    sent_parts_fen: tuple[int | None, int | None, int | None, int | None]
    use_accounts: bool
    insutype: str | None


def acct_flag(data: dict) -> bool:
    flag = data.get("acct_used_flag", AcctUsedFlag.USED.value)
    if not isinstance(flag, str) or flag not in ACCT_USED_FLAGS:
        raise refuse("INVALID_INPUT", 'acct_used_flag 须为 "1" 或 "0"')
    return flag == AcctUsedFlag.USED


def sent_amount(data: dict, name: str) -> int | None:
    """An optional amount: absent, null or "" is not sent (some HIS send "" for parts)."""
    value = data.get(name)
    return None if value is None or value == "" else to_fen(value)


def parse_batch_bill(data: dict) -> BatchBill:
    cert_type, cert_no = credential(data)
    chrg_bchno = text(data, "chrg_bchno", 30)
    if chrg_bchno == WHOLE_VISIT:
        raise refuse("INVALID_INPUT", "chrg_bchno 须为一个收费批次号")
    return BatchBill(
        psn_no=text(data, "psn_no", 30), mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no,
        mdtrt_id=text(data, "mdtrt_id", 30), chrg_bchno=chrg_bchno,
        med_type=med_type(data, default=None), medfee_fen=to_fen(data.get("medfee_sumamt")),
        sent_parts_fen=tuple(sent_amount(data, name) for name in PARTS),
        use_accounts=acct_flag(data), insutype=insutype_of(data))


def has_visit(data: dict) -> bool:
    """A 2206/2207 names a visit (v2) when it carries a non-empty mdtrt_id."""
    value = data.get("mdtrt_id")
    return value is not None and value != ""


def bill_of_lines(psn_no: str, cert: tuple[str, str], sent_total_fen: int,
                  sent_parts_fen: tuple[int | None, ...], parts_fen: tuple[int, int, int, int],
                  use_accounts: bool, insutype: str | None) -> Bill:
    """The Bill the lines make: the platform computed the parts; the institution's total
    must be theirs, and any part it sent must be the computed one."""
    total_fen = sum(parts_fen)
    if sent_total_fen != total_fen:
        raise refuse("AMOUNT_MISMATCH", f"medfee_sumamt {yuan_text(sent_total_fen)} ≠ "
                                        f"明细合计 {yuan_text(total_fen)}")
    for name, sent, computed in zip(PARTS, sent_parts_fen, parts_fen, strict=True):
        if sent is not None and sent != computed:
            raise refuse("AMOUNT_MISMATCH",
                         f"{name} {yuan_text(sent)} ≠ 按目录计算的 {yuan_text(computed)}")
    if total_fen == 0:
        raise refuse("INVALID_AMOUNT", "medfee_sumamt 须大于 0")
    return Bill(psn_no=psn_no, mdtrt_cert_type=cert[0], mdtrt_cert_no=cert[1],
                medfee_fen=total_fen, fulamt_ownpay_fen=parts_fen[0],
                overlmt_selfpay_fen=parts_fen[1], preselfpay_fen=parts_fen[2],
                inscp_fen=parts_fen[3], use_accounts=use_accounts, insutype=insutype)


@dataclass(frozen=True)
class Origin:
    """Where a settlement's bill came from, kept on the settlement: the visit and batch
    (2207 with mdtrt_id), the 医疗类别; all None for a v1 bill."""

    mdtrt_id: str | None = None
    chrg_bchno: str | None = None
    med_type: str | None = None
    # The pooled fund's scene when not the institution's type: "inpatient" for a stay.
    fund_scene: str | None = None


V1 = Origin()


@dataclass(frozen=True)
class SettlementRef:
    """5203 结算信息查询 and 2208 撤销: a settlement, its patient, and (when sent) the
    visit it must belong to."""

    setl_id: str
    psn_no: str
    mdtrt_id: str | None


def parse_settlement_ref(data: dict) -> SettlementRef:
    return SettlementRef(text(data, "setl_id", 30), text(data, "psn_no", 30),
                         text(data, "mdtrt_id", 30, required=False))
