"""Time: UTC inside, Asia/Shanghai at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


def local_date(moment: datetime) -> date:
    return local(moment).date()


def iso(moment: datetime | None) -> str | None:
    """REST time: ISO 8601 with +08:00."""
    return None if moment is None else local(moment).isoformat(timespec="seconds")


def inf_time(moment: datetime) -> str:
    """Gateway time: yyyy-MM-dd HH:mm:ss in Asia/Shanghai."""
    return local(moment).strftime("%Y-%m-%d %H:%M:%S")


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
