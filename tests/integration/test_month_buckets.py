"""Beijing days and months on their edges: the last day of a month after 16:00 UTC (Beijing
is already in the next month), the 29th–31st, midnight Beijing time, a year's turn and a
leap day. The pure helpers first; then, on a fixed clock and a fresh SQLite database, the
services that group by day or month for the pages, the exports and the report (entries,
settlements, the institution's day totals, the monthly report)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gongji.services.clock import inf_time, iso, local_date
from gongji.services.operations import report
from gongji.services.reads import statements
from gongji.services.reads.entries import list_entries
from gongji.services.reads.paging import parse_period
from gongji.services.settlement import reconciliation
from support import Clock, World, ok

Z = UTC


@pytest.mark.parametrize(("moment", "day", "shown"), [
    (datetime(2026, 11, 30, 15, 30, tzinfo=Z), date(2026, 11, 30), "2026-11-30T23:30:00+08:00"),
    (datetime(2026, 11, 30, 15, 59, 59, tzinfo=Z), date(2026, 11, 30), "2026-11-30T23:59:59+08:00"),
    (datetime(2026, 11, 30, 16, 0, tzinfo=Z), date(2026, 12, 1), "2026-12-01T00:00:00+08:00"),
    (datetime(2026, 11, 30, 16, 30, tzinfo=Z), date(2026, 12, 1), "2026-12-01T00:30:00+08:00"),
    (datetime(2026, 12, 31, 16, 30, tzinfo=Z), date(2027, 1, 1), "2027-01-01T00:30:00+08:00"),
    (datetime(2027, 1, 31, 15, 59, tzinfo=Z), date(2027, 1, 31), "2027-01-31T23:59:00+08:00"),
    (datetime(2028, 2, 28, 16, 0, tzinfo=Z), date(2028, 2, 29), "2028-02-29T00:00:00+08:00"),
    (datetime(2027, 3, 30, 16, 30, tzinfo=Z), date(2027, 3, 31), "2027-03-31T00:30:00+08:00"),
])
def test_an_instant_has_its_beijing_day_and_time(moment, day, shown):
    assert local_date(moment) == day
    assert iso(moment) == shown
    assert inf_time(moment) == shown[:10] + " " + shown[11:19]


@pytest.mark.parametrize(("month", "start", "end"), [
    ("2026-11", datetime(2026, 10, 31, 16, tzinfo=Z), datetime(2026, 11, 30, 16, tzinfo=Z)),
    ("2026-12", datetime(2026, 11, 30, 16, tzinfo=Z), datetime(2026, 12, 31, 16, tzinfo=Z)),
    ("2027-01", datetime(2026, 12, 31, 16, tzinfo=Z), datetime(2027, 1, 31, 16, tzinfo=Z)),
    ("2028-02", datetime(2028, 1, 31, 16, tzinfo=Z), datetime(2028, 2, 29, 16, tzinfo=Z)),
    ("2027-03", datetime(2027, 2, 28, 16, tzinfo=Z), datetime(2027, 3, 31, 16, tzinfo=Z)),
])
def test_a_report_month_is_a_beijing_calendar_month(month, start, end):
    assert report.parse_month(month) == (start, end)


def test_a_period_is_whole_beijing_days():
    period = parse_period("2026-12-01", "2026-12-31")
    assert (period.start, period.end) == (datetime(2026, 11, 30, 16, tzinfo=Z),
                                          datetime(2026, 12, 31, 16, tzinfo=Z))


# Each pair straddles a Beijing midnight that closes a month: one second before, and after.
EDGES = [(datetime(2026, 11, 30, 15, 30, tzinfo=Z), datetime(2026, 11, 30, 16, 30, tzinfo=Z)),
         (datetime(2027, 1, 31, 15, 59, 59, tzinfo=Z), datetime(2027, 1, 31, 16, 0, tzinfo=Z)),
         (datetime(2028, 2, 29, 15, 59, 59, tzinfo=Z), datetime(2028, 2, 29, 16, 0, tzinfo=Z))]


@pytest.mark.parametrize(("before", "after"), EDGES, ids=["nov-30", "jan-31", "feb-29-leap"])
def test_services_group_by_beijing_day_and_month(db_url, before, after):
    world = World(db_url, Clock(before))
    try:
        world.institution("H54250001")
        mother = world.person("卓玛", credit="500.00")
        child = world.person("平措", insutype="390")
        world.bind(mother, child, "child")
        world.clock.now = before
        late = ok(world.settle("H54250001", child, "10.00"))["setlinfo"]
        world.clock.now = after
        early = ok(world.settle("H54250001", child, "20.00"))["setlinfo"]
        last_day, first_day = local_date(before), local_date(after)
        assert (last_day.month % 12) + 1 == first_day.month and first_day.day == 1

        assert late["setl_time"][:10] == last_day.isoformat()
        assert early["setl_time"][:10] == first_day.isoformat()
        assert early["setl_id"].startswith(f"S{first_day:%Y%m%d}")

        def amounts(day: date) -> list[float]:
            found = list_entries(world.ctx, mother["psn_no"], day, day)["entries"]
            return [e["amount"] for e in found if e["kind"] == "settlement"]
        assert amounts(last_day) == [-10] and amounts(first_day) == [-20]

        def settled(day: date) -> list[str]:
            found = statements.list_settlements(world.ctx, child["psn_no"], day, day)
            return [s["setl_id"] for s in found["settlements"]]
        assert settled(last_day) == [late["setl_id"]]
        assert settled(first_day) == [early["setl_id"]]

        days = reconciliation.daily_totals(world.ctx, "H54250001", last_day.isoformat(),
                                           first_day.isoformat())["days"]
        assert [(d["date"], d["fixmedins_setl_cnt"]) for d in days] == [
            (last_day.isoformat(), 1), (first_day.isoformat(), 1)]

        def hospital_uses(day: date) -> tuple[int, int]:
            month = report.monthly(world.ctx, "542500", f"{day:%Y-%m}")
            hospital = dict(report.SCENES)["hospital"]
            line = next(line for line in month.scenes if line.item == hospital)
            return line.count, line.amount_fen
        assert hospital_uses(last_day) == (1, 1000)
        assert hospital_uses(first_day) == (1, 2000)
    finally:
        world.close()
