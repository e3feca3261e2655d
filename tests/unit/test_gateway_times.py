"""The answer envelope's times, for any clock readings: Beijing time in the interface's
format, respond_time never before refmsg_time, inf_refmsgid carrying refmsg_time's second."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from gongji.api.gateway import _answer

BEIJING = ZoneInfo("Asia/Shanghai")
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                       timezones=st.just(UTC))


@dataclass
class FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@given(received=moments, later=st.timedeltas(min_value=timedelta(seconds=-5),
                                             max_value=timedelta(seconds=5)))
def test_answer_times_are_beijing_and_ordered(received, later):
    # the second reading may even be earlier (a clock stepped back): never answered so
    answer = _answer({"mdtrtarea_admvs": "542500"}, "M1", {}, None, received,
                     FixedClock(received + later))
    refmsg = datetime.strptime(answer["refmsg_time"], "%Y%m%d%H%M%S%f").replace(tzinfo=BEIJING)
    respond = datetime.strptime(answer["respond_time"], "%Y%m%d%H%M%S%f").replace(tzinfo=BEIJING)
    assert len(answer["refmsg_time"]) == len(answer["respond_time"]) == 17
    assert refmsg == received.replace(microsecond=received.microsecond // 1000 * 1000)
    assert respond >= refmsg
    assert answer["inf_refmsgid"][:6] == "542500"
    assert answer["inf_refmsgid"][6:20] == f"{received.astimezone(BEIJING):%Y%m%d%H%M%S}"
    assert len(answer["inf_refmsgid"]) == 30 and answer["inf_refmsgid"].isdigit()
    assert answer["infcode"] == 0 and answer["warn_msg"] == ""


@given(region=st.one_of(st.none(), st.text(max_size=8), st.integers()))
def test_a_missing_or_odd_region_gives_six_zeros_or_the_insured_region(region):
    envelope = {"mdtrtarea_admvs": region, "insuplc_admdvs": "451000"}
    answer = _answer(envelope, None, None, None, datetime(2025, 6, 1, tzinfo=UTC),
                     FixedClock(datetime(2025, 6, 1, tzinfo=UTC)))
    ok = isinstance(region, str) and len(region) == 6 and region.isascii() and region.isdigit()
    assert answer["inf_refmsgid"][:6] == (region if ok else "451000")
    assert _answer(None, None, None, None, datetime(2025, 6, 1, tzinfo=UTC),
                   FixedClock(datetime(2025, 6, 1, tzinfo=UTC)))["inf_refmsgid"][:6] == "000000"
