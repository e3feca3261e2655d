"""Money is integer fen inside; yuan with two decimals at the edges."""

from __future__ import annotations

import math
from decimal import Context, Decimal, InvalidOperation

from gongji.domain.errors import refuse

MAX_FEN = 9_999_999_999  # 99,999,999.99 yuan: the largest amount any field may carry
# A period's sum (3201 对总账 totals) is not one bill: 999,999,999,999.99 yuan. Fifteen
# significant digits, so to_yuan's float still round-trips to the exact fen.
MAX_TOTAL_FEN = 99_999_999_999_999


def to_fen(value: object, limit_fen: int = MAX_FEN) -> int:
    """Parse yuan given as a JSON number or a decimal string into exact fen.

    Refuses booleans, negatives, more than two decimals, NaN/Infinity, exponents in
    strings and anything above `limit_fen` (one bill's MAX_FEN unless said otherwise).
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
    # Compared exactly, before any arithmetic: 1E+999999999 × 100 would overflow.
    if dec > Decimal(limit_fen).scaleb(-2):
        raise refuse("INVALID_AMOUNT", f"超过上限 {yuan_text(limit_fen)}")
    return _fen_exactly(dec)


def _fen_exactly(dec: Decimal) -> int:
    """dec × 100 as an integer, or refuse. Done on the digits, not in the decimal context:
    its 28-digit precision would round 1.0000000000000000000000000000001 to 1.00."""
    _, digits, exponent = dec.as_tuple()
    text = "".join(map(str, digits))
    significant = text.rstrip("0")
    if not significant:
        return 0
    exponent += len(text) - len(significant)  # 100.000 is 100.00: trailing zeros are exact
    if exponent < -2:
        raise refuse("INVALID_AMOUNT", "最多两位小数")
    return int(significant) * 10 ** (exponent + 2)  # few digits: dec is within the limit


def json_default(value: object) -> object:
    """json.dumps `default` for the Decimals that exact JSON parsing yields.

    A Decimal a double holds exactly is written as that double, so equal numbers (1.5,
    1.50, 15E-1) give equal text, the same text as before numbers were parsed as Decimal.
    Any other is written as its exact text, in a string: it can never be a valid amount."""
    if isinstance(value, Decimal):
        as_float = float(value)
        if math.isfinite(as_float) and Decimal(repr(as_float)) == value:
            return as_float
        exact = Context(prec=max(len(value.as_tuple().digits), 1))  # normalize, never round
        return str(value.normalize(exact)) if value.is_finite() else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


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
