"""Money is integer fen inside; yuan with two decimals at the edges."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from gongji.domain.errors import refuse

MAX_FEN = 9_999_999_999  # 99,999,999.99 yuan: the largest amount any field may carry
_HUNDRED = Decimal(100)


def to_fen(value: object) -> int:
    """Parse yuan given as a JSON number or a decimal string into exact fen.

    Refuses booleans, negatives, more than two decimals, NaN/Infinity, exponents in
    strings and anything above MAX_FEN.
    """
    if isinstance(value, bool) or value is None:
        raise refuse("INVALID_AMOUNT", "须为数字")
    if isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise refuse("INVALID_AMOUNT", "不是有限数值")
        # repr() is the shortest text that round-trips: it gives back what the client wrote.
        dec = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 20 or any(c not in "0123456789.-+" for c in text):
            raise refuse("INVALID_AMOUNT", "须为十进制数字")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise refuse("INVALID_AMOUNT", "须为十进制数字") from None
    elif isinstance(value, Decimal):
        dec = value
    else:
        raise refuse("INVALID_AMOUNT", "须为数字")
    if not dec.is_finite():
        raise refuse("INVALID_AMOUNT", "不是有限数值")
    if dec < 0:
        raise refuse("INVALID_AMOUNT", "不能为负数")
    fen = dec * _HUNDRED
    if fen != fen.to_integral_value():
        raise refuse("INVALID_AMOUNT", "最多两位小数")
    if fen > MAX_FEN:
        raise refuse("INVALID_AMOUNT", "超过上限 99999999.99")
    return int(fen)


def to_yuan(fen: int) -> float:
    """Fen as a JSON number of yuan. Exact for every amount up to MAX_FEN (shortest repr)."""
    return fen / 100 if fen % 100 else float(fen // 100)


def yuan_text(fen: int) -> str:
    """Fen as text with two decimals, for CSV, slips and messages: -1234 -> '-12.34'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half-up, for non-negative operands (fund amounts)."""
    return (2 * numerator + denominator) // (2 * denominator)
