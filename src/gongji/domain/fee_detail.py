"""Fee lines as institutions send them: a hospital's 2204 `feedetail`, a pharmacy's
2101/2102 `druginfo` + `drugdetail`. Pure: parse and check a whole call, or refuse it.

Quantities and unit prices are exact Decimals (no float ever), bounded so they fit the
stored integers: cnt × 10,000 and the price in micro-yuan (store/schema.fee_lines). That
the line's total is round(pric × cnt) is the catalogue's check (domain/catalogue.classify).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from gongji.domain.bill import Bill
from gongji.domain.catalogue import FeeLine
from gongji.domain.errors import refuse
from gongji.domain.money import to_fen
from gongji.domain.visit import (
    PARTS,
    acct_flag,
    beijing_time,
    bill_of_lines,
    credential,
    insutype_of,
    med_type,
    sent_amount,
    text,
)

MAX_LINES = 1_000  # per call, 2204 and drugdetail alike
CNT_PLACES, PRIC_PLACES = 4, 6  # 数量 16,4 and 单价 16,6 in the national interface
MAX_UNITS = Decimal("99999999")  # above this a count or unit price is not a fee line


@dataclass(frozen=True)
class SentLine:
    """One line as sent: what the catalogue classifies, and what is kept beside it."""

    line: FeeLine
    mdtrt_id: str | None  # 2204 only
    psn_no: str | None
    chrg_bchno: str | None  # 2204 only
    medins_list_codg: str | None
    fee_ocur_time: datetime

    @property
    def cnt_e4(self) -> int:
        return int(self.line.cnt.scaleb(CNT_PLACES))

    @property
    def pric_uyuan(self) -> int:
        return int(self.line.pric.scaleb(PRIC_PLACES))


def exact_decimal(value: object, name: str, places: int, *, positive: bool) -> Decimal:
    """A count or unit price, exactly as written, with at most `places` decimals."""
    if isinstance(value, bool) or value is None:
        raise refuse("INVALID_INPUT", f"{name} 须为数字")
    if isinstance(value, str):
        value = value.strip()
        if not value or len(value) > 24 or any(c not in "0123456789.+-" for c in value):
            raise refuse("INVALID_INPUT", f"{name} 须为十进制数字")
    elif isinstance(value, float):
        value = repr(value)  # the shortest text that round-trips: what the client wrote
    elif not isinstance(value, int | Decimal):
        raise refuse("INVALID_INPUT", f"{name} 须为数字")
    try:
        dec = Decimal(value)
    except InvalidOperation:
        raise refuse("INVALID_INPUT", f"{name} 须为十进制数字") from None
    if not dec.is_finite() or dec < 0 or (positive and dec == 0) or dec > MAX_UNITS:
        raise refuse("INVALID_INPUT", f"{name} 须为{'正数' if positive else '非负数'}，"
                                      f"不超过 {MAX_UNITS}")
    scaled = dec.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise refuse("INVALID_INPUT", f"{name} 最多 {places} 位小数")
    return dec


def _line(raw: object, index: int, *, of_visit: bool, batch_required: bool) -> SentLine:
    if not isinstance(raw, dict):
        raise refuse("INVALID_INPUT", f"第 {index} 条费用明细须为对象")
    sn = text(raw, "feedetl_sn", 30)
    fee = FeeLine(feedetl_sn=sn, med_list_codg=text(raw, "med_list_codg", 50),
                  cnt=exact_decimal(raw.get("cnt"), "cnt", CNT_PLACES, positive=True),
                  pric=exact_decimal(raw.get("pric"), "pric", PRIC_PLACES, positive=False),
                  total_fen=to_fen(raw.get("det_item_fee_sumamt")))
    return SentLine(
        line=fee,
        mdtrt_id=text(raw, "mdtrt_id", 30) if of_visit else None,
        psn_no=text(raw, "psn_no", 30, required=of_visit),
        chrg_bchno=(text(raw, "chrg_bchno", 30, required=batch_required) or STAY_BATCH)
        if of_visit else None,
        medins_list_codg=text(raw, "medins_list_codg", 50, required=False),
        fee_ocur_time=beijing_time(raw, "fee_ocur_time"))


def parse_lines(given: object, member: str, *, of_visit: bool,
                batch_required: bool = True) -> tuple[SentLine, ...]:
    """1–MAX_LINES lines; a feedetl_sn twice for one visit (or one pharmacy bill) refuses
    the call, as one already stored would."""
    if not isinstance(given, list) or not 1 <= len(given) <= MAX_LINES:
        raise refuse("INVALID_INPUT", f"{member} 须为 1–{MAX_LINES} 条费用明细")
    lines = tuple(_line(raw, i, of_visit=of_visit, batch_required=batch_required)
                  for i, raw in enumerate(given, start=1))
    seen: set[tuple[str | None, str]] = set()
    for sent in lines:
        key = (sent.mdtrt_id, sent.line.feedetl_sn)
        if key in seen:
            raise refuse("FEEDETL_SN_DUPLICATE", sent.line.feedetl_sn)
        seen.add(key)
    return lines


def parse_feedetail(given: dict) -> tuple[SentLine, ...]:
    """2204 费用明细上传: input.feedetail."""
    return parse_lines(given.get("feedetail"), "feedetail", of_visit=True)


# The batch a stay's line is kept under when its 2301 names none: a stay settles every
# unsettled line at once (2304), so the batch only records what the HIS sent.
STAY_BATCH = "ZY"


def parse_stay_feedetail(given: dict) -> tuple[SentLine, ...]:
    """2301 住院费用明细上传: as 2204, but `chrg_bchno` is optional (the national 2301 line
    does not always carry it); a line without one is kept under STAY_BATCH."""
    return parse_lines(given.get("feedetail"), "feedetail", of_visit=True,
                       batch_required=False)


@dataclass(frozen=True)
class DrugBill:
    """2101/2102 as a pharmacy system sends it: the bill is its lines, classified here."""

    psn_no: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    medfee_fen: int
    sent_parts_fen: tuple[int | None, int | None, int | None, int | None]
    use_accounts: bool
    insutype: str | None
    med_type: str | None
    lines: tuple[SentLine, ...]

    def bill(self, parts_fen: tuple[int, int, int, int]) -> Bill:
        return bill_of_lines(self.psn_no, (self.mdtrt_cert_type, self.mdtrt_cert_no),
                             self.medfee_fen, self.sent_parts_fen, parts_fen,
                             self.use_accounts, self.insutype)


def parse_drug_bill(given: dict) -> DrugBill:
    info = given.get("druginfo")
    if not isinstance(info, dict):
        raise refuse("INVALID_INPUT", "input.druginfo 须为对象")
    cert_type, cert_no = credential(info)
    return DrugBill(
        psn_no=text(info, "psn_no", 30), mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no,
        medfee_fen=to_fen(info.get("medfee_sumamt")),
        sent_parts_fen=tuple(sent_amount(info, name) for name in PARTS),
        use_accounts=acct_flag(info), insutype=insutype_of(info),
        med_type=med_type(info, default=None),
        lines=parse_lines(given.get("drugdetail"), "drugdetail", of_visit=False))
