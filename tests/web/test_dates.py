"""Every date the pages show or group by is Beijing time (Asia/Shanghai), whatever zone the
browser is in (each test runs in UTC and in Asia/Shanghai, conftest.py) and whatever its own
clock says: the chart's "current month" is the server's, read in Beijing time.

The instants are the ones that broke the chart: the last day of a month after 16:00 UTC
(Beijing already in the next month), the 29th–31st (where `setMonth(m - 11)` overflows into
the month after), midnight Beijing time, a year's turn, a leap day."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from helpers import demo, settle_by_gateway, sign_in

pytestmark = pytest.mark.web
BEIJING = ZoneInfo("Asia/Shanghai")


def months_ending(instant: str, count: int = 12) -> list[str]:
    """The oracle: the `count` Beijing calendar months up to the one `instant` falls in."""
    local = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(BEIJING)
    index = local.year * 12 + local.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def chart_months(page: Page) -> list[tuple[str, str]]:
    """(YYYY-MM, amount) per bar, from the chart's accessible description."""
    label = page.locator("#chart").get_attribute("aria-label") or ""
    return [(f"{y}-{int(m):02d}", amount) for y, m, amount
            in re.findall(r"(\d{4})(?:-|年)(\d{1,2})月? ([\d.]+) ?元", label)]


INSTANTS = [
    "2026-11-30T23:30:00+08:00",  # last day of the month, Beijing 23:30 (15:30Z)
    "2026-11-30T16:30:00Z",  # UTC still November, Beijing already 1 December 00:30
    "2026-11-30T16:00:00Z",  # Beijing midnight exactly
    "2026-11-30T15:59:59.999Z",  # the last millisecond of November in Beijing
    "2026-10-31T23:30:00+08:00",  # 31st: setMonth(-11) would overflow
    "2027-01-31T23:30:00+08:00",  # 31 January: eleven months back is "31 February"
    "2027-03-29T10:00:00+08:00",  # 29th–31st: "29/30/31 April 2026" is fine, "31 April" is not
    "2027-03-30T10:00:00+08:00",
    "2027-03-31T10:00:00+08:00",
    "2026-12-31T16:30:00Z",  # Beijing already 2027: the year turns
    "2028-02-29T23:59:00+08:00",  # leap day
    "2028-03-31T00:30:00+08:00",  # just after midnight on a 31st (30 March in UTC)
]


def test_month_buckets_and_shown_times_are_beijing(page: Page, live_server: str,
                                                   browser_zone: str) -> None:
    page.goto(f"{live_server}/portal")
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert zone == browser_zone  # the browser really runs in the zone under test
    for instant in INSTANTS:
        months = page.evaluate("(iso) => Beijing.lastMonths(Date.parse(iso), 12)", instant)
        assert months == months_ending(instant), instant
        assert page.evaluate("(iso) => Beijing.monthOf(iso)", instant) == months_ending(instant)[-1]
    shown = page.evaluate("""() => [G.when("2026-11-30T16:30:00Z"),
        G.when("2026-12-01T00:30:00+08:00"), G.when("2026-11-30T23:59:59+08:00"),
        G.when("2026-11-30 23:59:59"), G.when(null), G.day("2026-11-30T16:30:00Z"),
        G.day("2026-11-30T23:59:59+08:00"), Beijing.stamp(Date.parse("2026-11-30T16:30:05Z"))]""")
    # shown as people in China write dates (the gateway's own stamp keeps its format)
    assert shown == ["2026年12月1日 00:30", "2026年12月1日 00:30", "2026年11月30日 23:59",
                     "2026年11月30日 23:59", "", "2026年12月1日", "2026年11月30日",
                     "2026-12-01 00:30:05"]


# Server instants are in the past: a token whose `iat` lies ahead of the real clock is refused.
@pytest.mark.parametrize(("server_now", "device_now"), [
    ("2026-11-30T23:30:00+08:00", "2026-11-30T23:30:00+08:00"),
    ("2026-12-01T00:30:00+08:00", "2026-12-01T00:30:00+08:00"),
    ("2026-01-31T23:30:00+08:00", "2026-01-31T23:30:00+08:00"),
    # a phone whose own clock is days behind: the server's month still decides
    ("2026-12-01T00:30:00+08:00", "2026-11-28T12:00:00+08:00"),
], ids=["last-day-2330", "first-day-0030", "jan-31", "device-clock-behind"])
def test_chart_ends_in_the_servers_beijing_month(page: Page, live_server: str,
                                                 server_now: str, device_now: str) -> None:
    page.clock.set_fixed_time(datetime.fromisoformat(device_now))
    people = demo(page, live_server)
    # 卓玛 pays for her mother: the entry lands on 卓玛's account, stamped by the server clock
    settle_by_gateway(page, live_server, people["次仁央宗"], "12.50")

    sign_in(page, live_server, "portal", "卓玛")
    expected = [(month, "0.00") for month in months_ending(server_now)[:-1]]
    expected.append((months_ending(server_now)[-1], "12.50"))
    expect(page.locator("#chart")).to_have_attribute("aria-label", re.compile(r"12\.50 ?元"))
    assert chart_months(page) == expected
    newest = datetime.fromisoformat(server_now).astimezone(BEIJING)
    expect(page.locator("#entries tbody tr").first).to_contain_text(
        f"{newest.year}年{newest.month}月{newest.day}日 {newest:%H:%M}")
    labels = page.locator("#chart svg text.month").all_text_contents()
    assert labels == [f"{int(m[5:])}月" for m, _ in expected]
    expect(page.locator("#chart-range")).to_have_text(
        f"{expected[0][0][:4]}年{int(expected[0][0][5:])}月—{newest.year}年{newest.month}月")
