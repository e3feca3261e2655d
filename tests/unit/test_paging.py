"""Periods: any two dates the calendar holds make a period or a coded refusal, never a
fault; a far end is no bound, a near one is the exact Beijing midnight in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.services.clock import SHANGHAI
from gongji.services.reads.paging import instant_of, parse_period


@given(st.dates(), st.dates())
def test_any_two_dates_make_a_period_or_a_coded_refusal(first, second):
    for date_from, date_to in ((first, second), (first.isoformat(), second.isoformat())):
        try:
            period = parse_period(date_from, date_to)
        except DomainError as refused:
            assert refused.code == "INVALID_INPUT" and second < first
            continue
        for bound in (period.start, period.end):
            assert bound is None or bound.utcoffset() is not None


@given(st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)))
def test_a_day_inside_the_calendar_is_bounded_by_its_beijing_midnights(day):
    period = parse_period(day, day)
    assert period.start == datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    assert (period.end - period.start).total_seconds() == 86400


@pytest.mark.parametrize(("day", "days_after"), [(date(1, 1, 1), 0), (date(9999, 12, 31), 1)])
def test_the_ends_of_the_calendar_are_no_bound(day, days_after):
    assert instant_of(day, days_after) is None


def test_the_whole_calendar_is_an_open_period():
    period = parse_period("0001-01-01", "9999-12-31")
    assert (period.start, period.end) == (None, None)
    assert (period.date_from, period.date_to) == (date(1, 1, 1), date(9999, 12, 31))
    assert parse_period("0001-01-01", "0001-01-01").end == datetime(1, 1, 2, tzinfo=SHANGHAI)
    assert parse_period(None, "2025-06-01").end == datetime(2025, 6, 1, 16, tzinfo=UTC)
