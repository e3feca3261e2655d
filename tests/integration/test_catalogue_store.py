"""医保目录 on SQLite and PostgreSQL: the region's item over its province's, validity
dates, upsert counts, the 5,000-item limit and the whole-call refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from gongji.domain.errors import DomainError
from gongji.services.catalogue import loading, lookup
from gongji.services.catalogue.items import items_for
from gongji.services.context import Context
from gongji.store.db import make_engine
from gongji.store.schema import catalogue_items

DAY = date(2026, 12, 1)


class Clock:
    """A clock the test moves (10:00 Beijing time on DAY)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def ctx(db_url):
    context = Context(make_engine(db_url), Clock())
    yield context
    context.engine.dispose()


def item(codg: str = "XA01", admdvs: str = "540000", **over) -> dict:
    base = {"admdvs": admdvs, "med_list_codg": codg, "med_list_name": "阿莫西林胶囊",
            "chrgitm_lv": "02", "selfpay_prop": "0.1", "pric_uplmt_amt": None}
    return {**base, **over}


def stored(ctx) -> int:
    with ctx.read() as uow:
        return uow.conn.execute(select(func.count()).select_from(catalogue_items)).scalar()


def lookup_items(ctx, admdvs: str, codes, on: date = DAY):
    with ctx.read() as uow:
        return items_for(uow.conn, admdvs, codes, on)


def refused(ctx, items) -> DomainError:
    with pytest.raises(DomainError) as caught:
        loading.load_items(ctx, items)
    return caught.value


def test_a_regions_item_overrides_its_provinces(ctx):
    loading.load_items(ctx, [item("XA01", "540000", selfpay_prop="0.1"),
                             item("XA01", "542500", selfpay_prop="0.2",
                                  pric_uplmt_amt="12.0325"),
                             item("XB02", "540000", chrgitm_lv="01", selfpay_prop="0")])

    found = lookup_items(ctx, "542500", ["XA01", "XB02", "UNKNOWN"])
    assert set(found) == {"XA01", "XB02"}
    assert found["XA01"].selfpay_prop == Decimal("0.2")
    assert found["XA01"].pric_uplmt == Decimal("12.0325")
    assert found["XB02"].chrgitm_lv == "01"  # the province's, for every region of it
    other = lookup_items(ctx, "540100", ["XA01"])
    assert other["XA01"].selfpay_prop == Decimal("0.1") and other["XA01"].pric_uplmt is None


def test_another_provinces_item_is_never_taken(ctx):
    loading.load_items(ctx, [item("XA01", "450000")])
    assert lookup_items(ctx, "542500", ["XA01"]) == {}
    assert set(lookup_items(ctx, "451000", ["XA01"])) == {"XA01"}


def test_an_item_applies_only_between_its_dates(ctx):
    loading.load_items(ctx, [
        item("OLD", begndate="2025-01-01", enddate="2026-11-30"),
        item("NEW", begndate="2026-12-01"),
        item("EDGE", begndate="2026-12-01", enddate="2026-12-01"),
        item("XA01", "540000", selfpay_prop="0.1"),
        item("XA01", "542500", selfpay_prop="0.3", enddate="2026-11-30")])

    found = lookup_items(ctx, "542500", ["OLD", "NEW", "EDGE", "XA01"])
    assert set(found) == {"NEW", "EDGE", "XA01"}
    # The region's item has ended: the province's applies again.
    assert found["XA01"].selfpay_prop == Decimal("0.1")
    assert set(lookup_items(ctx, "542500", ["OLD", "NEW", "EDGE"], date(2026, 11, 30))) == {
        "OLD"}


def test_upsert_counts_inserted_updated_and_unchanged(ctx):
    first = loading.load_items(ctx, [item("A"), item("B"), item("C")])
    assert first == {"inserted": 3, "updated": 0, "unchanged": 0}

    again = loading.load_items(ctx, [item("A"), item("B", med_list_name="阿莫西林片"),
                                     item("C", pric_uplmt_amt="3.5"), item("D")])
    assert again == {"inserted": 1, "updated": 2, "unchanged": 1}
    assert stored(ctx) == 4
    assert lookup_items(ctx, "542500", ["B"])["B"].med_list_name == "阿莫西林片"
    assert lookup_items(ctx, "542500", ["C"])["C"].pric_uplmt == Decimal("3.5")


def test_reloading_the_same_items_rewrites_nothing(ctx):
    loading.load_items(ctx, [item("A"), item("B")])
    with ctx.read() as uow:
        before = uow.conn.execute(select(catalogue_items.c.updated_at)).scalars().all()
    ctx.clock.advance(hours=1)

    assert loading.load_items(ctx, [item("A"), item("B")]) == {
        "inserted": 0, "updated": 0, "unchanged": 2}
    with ctx.read() as uow:
        assert uow.conn.execute(select(catalogue_items.c.updated_at)).scalars().all() == before


def test_five_thousand_items_load_in_one_call_and_one_more_is_refused(ctx):
    items = [item(f"X{n:05d}") for n in range(loading.MAX_ITEMS)]
    assert loading.load_items(ctx, items)["inserted"] == loading.MAX_ITEMS

    error = refused(ctx, [*items, item("X99999")])
    assert error.code == "INVALID_CATALOGUE_ITEM" and error.status == 422
    assert stored(ctx) == loading.MAX_ITEMS


@pytest.mark.parametrize(("bad", "field"), [
    ({"chrgitm_lv": "04"}, "chrgitm_lv"),
    ({"selfpay_prop": "1.01"}, "selfpay_prop"),
    ({"selfpay_prop": "-0.1"}, "selfpay_prop"),
    ({"selfpay_prop": 0.1}, "selfpay_prop"),  # a float is not the text that was sent
    ({"selfpay_prop": None}, "selfpay_prop"),  # 乙类 without its proportion
    ({"pric_uplmt_amt": "1E+2"}, "pric_uplmt_amt"),
    ({"pric_uplmt_amt": "0.0000001"}, "pric_uplmt_amt"),
    ({"admdvs": "110000"}, "admdvs"),
    ({"admdvs": "549900"}, "admdvs"),
    ({"med_list_codg": ""}, "med_list_codg"),
    ({"med_list_name": "阿莫\u200b西林"}, "med_list_name"),
    ({"begndate": "2026-12-01", "enddate": "2026-11-30"}, "enddate"),
    ({"begndate": "2026-02-30"}, "begndate"),
])
def test_one_bad_item_refuses_the_whole_call_naming_its_index_and_field(ctx, bad, field):
    error = refused(ctx, [item("GOOD1"), item("GOOD2"), item("BAD", **bad)])
    assert error.code == "INVALID_CATALOGUE_ITEM" and error.status == 422
    assert f"items[2].{field}" in error.message
    assert stored(ctx) == 0


def test_the_same_item_twice_in_one_call_is_refused(ctx):
    error = refused(ctx, [item("A"), item("B"), item("A")])
    assert "items[2].med_list_codg" in error.message and "items[0]" in error.message
    assert stored(ctx) == 0


def test_an_empty_list_is_refused(ctx):
    assert refused(ctx, []).code == "INVALID_CATALOGUE_ITEM"
    assert refused(ctx, {"items": []}).code == "INVALID_CATALOGUE_ITEM"


def test_fractions_are_stored_exactly(ctx):
    loading.load_items(ctx, [item("T", selfpay_prop="0.123456", pric_uplmt_amt="99999999.99"),
                             item("U", chrgitm_lv="03", selfpay_prop="1",
                                  pric_uplmt_amt="0.000001")])
    found = lookup_items(ctx, "542500", ["T", "U"])
    assert found["T"].selfpay_prop == Decimal("0.123456")
    assert found["T"].pric_uplmt == Decimal("99999999.99")
    assert found["U"].pric_uplmt == Decimal("0.000001")


def test_a_code_looked_up_gives_the_regions_effective_item(ctx):
    loading.load_items(ctx, [item("XA01", "540000", selfpay_prop="0.1"),
                             item("XA01", "542500", selfpay_prop="0.15",
                                  pric_uplmt_amt="12.0325")])
    shown = lookup.effective_item(ctx, "542500", "XA01")
    assert shown == {"admdvs": "542500", "med_list_codg": "XA01",
                     "med_list_name": "阿莫西林胶囊", "chrgitm_lv": "02",
                     "selfpay_prop": "0.15", "pric_uplmt_amt": "12.0325",
                     "begndate": None, "enddate": None}
    assert lookup.effective_item(ctx, "540100", "XA01")["selfpay_prop"] == "0.1"
    with pytest.raises(DomainError) as caught:
        lookup.effective_item(ctx, "542500", "NOPE")
    assert caught.value.code == "CATALOGUE_ITEM_NOT_FOUND"


def test_search_by_code_or_name_prefix_gives_at_most_twenty(ctx):
    loading.load_items(ctx, [item(f"XA{n:02d}", med_list_name=f"药品{n}") for n in range(30)]
                       + [item("XA05", "542500", med_list_name="本地药品"),
                          item("ZZ01", med_list_name="阿莫西林%胶囊")])

    by_code = lookup.search(ctx, "542500", "xa")["items"]
    assert [i["med_list_codg"] for i in by_code] == [f"XA{n:02d}" for n in range(20)]
    assert by_code[5]["med_list_name"] == "本地药品" and by_code[5]["admdvs"] == "542500"
    assert [i["med_list_codg"] for i in lookup.search(ctx, "542500", "阿莫西林%")["items"]] == [
        "ZZ01"]
    assert lookup.search(ctx, "542500", "阿莫%")["items"] == []  # % is literal, not a pattern


def test_concurrent_loads_of_the_same_items_in_opposite_orders_both_succeed(pg_url):
    """PostgreSQL: rows are written in key order, so two loads wait for each other instead
    of deadlocking, and every item is stored once."""
    import threading

    contexts = [Context(make_engine(pg_url), Clock()) for _ in range(2)]
    items = [item(f"R{n:04d}", ("540000", "450000")[n % 2]) for n in range(2000)]
    orders = [items, items[::-1]]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def load(n: int) -> None:
        barrier.wait()
        try:
            for round_ in range(3):
                changed = [{**i, "med_list_name": f"名称{round_}"} for i in orders[n]]
                loading.load_items(contexts[n], changed)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for context in contexts:
        context.engine.dispose()

    assert errors == []
    with Context(make_engine(pg_url)).read() as uow:
        names = uow.conn.execute(select(catalogue_items.c.med_list_name)).scalars().all()
    assert len(names) == 2000 and set(names) == {"名称2"}
