"""Periods and keyset pagination shared by the read models.

A period is two inclusive Asia/Shanghai dates, turned into a half-open UTC interval
[start of `from`, start of the day after `to`). A cursor is the (time, id) of the last
row a page showed, made opaque so clients never build one by hand.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gongji.domain.errors import refuse
from gongji.services.clock import day_start

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    start: datetime | None  # inclusive, UTC
    end: datetime | None  # exclusive, UTC
    date_from: date | None
    date_to: date | None


def parse_day(value: object, name: str) -> date | None:
    """A `YYYY-MM-DD` date (or a date object); None or "" means no bound."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise refuse("INVALID_INPUT", f"{name} 须为 YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise refuse("INVALID_INPUT", f"{name} 须为 YYYY-MM-DD")


def parse_period(date_from: object, date_to: object) -> Period:
    begin, end = parse_day(date_from, "from"), parse_day(date_to, "to")
    if begin and end and end < begin:
        raise refuse("INVALID_INPUT", "to 不能早于 from")
    return Period(instant_of(begin), instant_of(end, days_after=1), begin, end)


def instant_of(day: date | None, days_after: int = 0) -> datetime | None:
    """The UTC instant the Asia/Shanghai day `days_after` days after `day` starts; None (no
    bound) when that instant is outside what a datetime can hold.

    Only the calendar's ends fall outside: Beijing midnight of 0001-01-01 is 16:00 UTC of
    year 0, and 9999-12-31 has no day after. No data lies beyond them, so an open end
    selects exactly the rows the far end would: a far period means "everything", as a
    person asking for it expects, rather than a fault."""
    if day is None:
        return None
    try:
        return day_start(day + timedelta(days=days_after)).astimezone(UTC)
    except OverflowError:
        return None


def parse_limit(value: object, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise refuse("INVALID_INPUT", f"limit 须为 1–{maximum} 的整数")
    return value


@dataclass(frozen=True)
class Cursor:
    at: datetime
    row_id: int


def encode_cursor(at: datetime, row_id: int) -> str:
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    raw = f"{micros}.{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: object) -> Cursor | None:
    """The position a cursor names; None for no cursor; a forged or damaged one is refused."""
    if text is None or text == "":
        return None
    try:
        if not isinstance(text, str) or len(text) > 64:
            raise ValueError
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        micros_text, id_text = raw.split(".")
        if not (micros_text.isdigit() and id_text.isdigit()) or len(micros_text) > 17 \
                or len(id_text) > 18:  # keeps both within a signed 64-bit column
            raise ValueError
        return Cursor(_EPOCH + timedelta(microseconds=int(micros_text)), int(id_text))
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
        raise refuse("INVALID_INPUT", "cursor 无效") from None
