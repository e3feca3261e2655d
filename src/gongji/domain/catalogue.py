"""医保目录: how one fee line splits into the four parts of a bill (CONTRACT v2).

Pure arithmetic in fen. Prices and quantities arrive as exact Decimals (a unit price
limit may carry more than two decimals), so every product is taken as an exact Fraction
and rounded to the fen half-up once, never through float or a 28-digit context.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from gongji.domain.codes import ChrgitmLv
from gongji.domain.errors import refuse
from gongji.domain.money import yuan_text

# An item the catalogue does not know is the patient's in full, shown as 丙类 with
# 自付比例 1, the way the national interface answers a self-pay line.
UNLISTED_SELFPAY_PROP = Decimal(1)


@dataclass(frozen=True)
class CatalogueItem:
    """One effective catalogue entry for a region (the lookup has chosen region or province)."""

    med_list_codg: str  # 医保目录编码
    med_list_name: str  # 医保目录名称
    chrgitm_lv: str  # 收费项目等级: ChrgitmLv
    selfpay_prop: Decimal  # 先行自付比例, 0..1 (乙类)
    pric_uplmt: Decimal | None  # 最高限价, yuan per unit; None: no limit


@dataclass(frozen=True)
class FeeLine:
    """A fee line as sent (2204 feedetail, 2101/2102 drugdetail)."""

    feedetl_sn: str  # 费用明细流水号
    med_list_codg: str
    cnt: Decimal  # 数量
    pric: Decimal  # 单价, yuan per unit, as sent
    total_fen: int  # det_item_fee_sumamt 明细项目费用总额


@dataclass(frozen=True)
class LineClass:
    """What the catalogue made of one line; the four *_fen parts sum to its total."""

    chrgitm_lv: str
    pric_uplmt: Decimal | None
    selfpay_prop: Decimal
    fulamt_ownpay_fen: int  # fulamt_ownpay_amt 全自费金额
    overlmt_fen: int  # overlmt_amt 超限价金额
    preselfpay_fen: int  # preselfpay_amt 先行自付金额
    inscp_fen: int  # inscp_scp_amt 符合政策范围金额

    @property
    def total_fen(self) -> int:
        return self.fulamt_ownpay_fen + self.overlmt_fen + self.preselfpay_fen + self.inscp_fen


@dataclass(frozen=True)
class BillParts:
    """A bill's four parts: the sums over its lines (overlmt_amt → overlmt_selfpay)."""

    fulamt_ownpay_fen: int
    overlmt_selfpay_fen: int
    preselfpay_fen: int
    inscp_fen: int

    @property
    def total_fen(self) -> int:
        return (self.fulamt_ownpay_fen + self.overlmt_selfpay_fen + self.preselfpay_fen
                + self.inscp_fen)


def fen_half_up(yuan: Fraction) -> int:
    """Exact yuan (non-negative) to fen, rounding half-up: 0.005 → 1 fen."""
    scaled = yuan * 100
    return (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)


def line_fen(pric: Decimal, cnt: Decimal) -> int:
    """round(pric × cnt) to the fen: what det_item_fee_sumamt must be."""
    return fen_half_up(Fraction(pric) * Fraction(cnt))


def classify(line: FeeLine, item: CatalogueItem | None) -> LineClass:
    """Split one line by the patient's region catalogue, exactly as CONTRACT v2 says."""
    _check_line(line)
    total = line.total_fen
    if item is None or item.chrgitm_lv == ChrgitmLv.SELF_PAY:
        return _all_own_pay(line, item)
    overlmt = _over_limit_fen(line, item.pric_uplmt)
    base = total - overlmt
    preselfpay = 0
    if item.chrgitm_lv == ChrgitmLv.CLASS_B:
        preselfpay = fen_half_up(Fraction(base) * Fraction(item.selfpay_prop) / 100)
    return LineClass(item.chrgitm_lv, item.pric_uplmt, item.selfpay_prop,
                     fulamt_ownpay_fen=0, overlmt_fen=overlmt,
                     preselfpay_fen=preselfpay, inscp_fen=base - preselfpay)


def bill_parts(classes: Iterable[LineClass]) -> BillParts:
    """Sum the lines' parts into the bill's four parts."""
    fulamt = overlmt = preselfpay = inscp = 0
    for line in classes:
        fulamt += line.fulamt_ownpay_fen
        overlmt += line.overlmt_fen
        preselfpay += line.preselfpay_fen
        inscp += line.inscp_fen
    return BillParts(fulamt, overlmt, preselfpay, inscp)


def _check_line(line: FeeLine) -> None:
    """The line must be finite, non-negative and its total the rounded price × count."""
    for name, value in (("cnt", line.cnt), ("pric", line.pric)):
        if not value.is_finite() or value < 0:
            raise refuse("INVALID_INPUT", f"费用明细 {line.feedetl_sn} 的 {name} 须为非负数")
    if line.total_fen < 0:
        raise refuse("INVALID_AMOUNT", f"费用明细 {line.feedetl_sn} 的总额不能为负数")
    expected = line_fen(line.pric, line.cnt)
    if line.total_fen != expected:
        raise refuse("AMOUNT_MISMATCH",
                     f"费用明细 {line.feedetl_sn}：明细总额 {yuan_text(line.total_fen)}"
                     f" ≠ 单价 × 数量 {yuan_text(expected)}")


def _all_own_pay(line: FeeLine, item: CatalogueItem | None) -> LineClass:
    if item is None:
        return LineClass(ChrgitmLv.SELF_PAY.value, None, UNLISTED_SELFPAY_PROP,
                         line.total_fen, 0, 0, 0)
    return LineClass(item.chrgitm_lv, item.pric_uplmt, item.selfpay_prop,
                     line.total_fen, 0, 0, 0)


def _over_limit_fen(line: FeeLine, limit: Decimal | None) -> int:
    """The part above the price limit; never negative since the total is round(pric × cnt)."""
    if limit is None or line.pric <= limit:
        return 0
    return line.total_fen - line_fen(limit, line.cnt)
