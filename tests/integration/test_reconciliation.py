"""Reconciliation on SQLite and PostgreSQL: 3201 totals, 3202 detail comparison, and the
institution's REST day totals and per-settlement detail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gongji.domain.money import to_fen
from gongji.services.settlement import reconciliation
from gongji.store.schema import institutions, settlements
from support import ok

FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay")
H1 = "H54250001"


@pytest.fixture
def books(world):
    """On 2025-06-01 (Shanghai): three settlements at H1, one of them reversed, one at H2;
    on 2025-06-02 one more at H1."""
    world.institution(H1)
    world.institution("H54250002")
    mother = world.person("卓玛", credit="2000.00")
    employee = world.person("次仁", credit="60.00")
    child = world.person("平措", insutype="390")
    world.bind(mother, child, "child")
    day1 = [ok(world.settle(H1, child, "1500.00", "1400.00"))["setlinfo"],
            ok(world.settle(H1, employee, "250.55"))["setlinfo"]]
    reversed_one = world.settle(H1, child, "99.99")
    ok(world.reverse(H1, reversed_one, child))
    ok(world.settle("H54250002", child, "10.00"))
    world.clock.advance(days=1)
    day2 = [ok(world.settle(H1, child, "80.00"))["setlinfo"]]
    return {"day1": day1, "day2": day2, "reversed": reversed_one["output"]["setlinfo"],
            "child": child}


def claimed(settlements: list[dict], begin: str = "2025-06-01",
            end: str = "2025-06-02") -> dict:
    totals = {name: sum(to_fen(s[name]) for s in settlements) for name in FIELDS}
    return {"stmt_begndate": begin, "stmt_enddate": end,
            **{name: f"{fen // 100}.{fen % 100:02d}" for name, fen in totals.items()},
            "fixmedins_setl_cnt": len(settlements)}


def totals(world, data: dict) -> dict:
    return ok(world.call(H1, "3201", data))


def test_agreeing_totals_answer_0_with_the_systems_own_totals(world, books):
    answer = totals(world, claimed(books["day1"] + books["day2"]))
    assert answer["stmt_rslt"] == "0"
    assert answer["fixmedins_setl_cnt"] == 3
    assert answer["medfee_sumamt"] == 1500 + 250.55 + 80
    assert answer["fund_pay_sumamt"] == 720 and answer["acct_pay"] == 60


@pytest.mark.parametrize("field", FIELDS)
def test_one_fen_off_in_any_total_answers_1(world, books, field):
    data = claimed(books["day1"] + books["day2"])
    data[field] = str((to_fen(data[field]) + 1) / 100)
    answer = totals(world, data)
    assert answer["stmt_rslt"] == "1"
    assert to_fen(answer[field]) == to_fen(data[field]) - 1


def test_a_count_one_off_answers_1(world, books):
    data = claimed(books["day1"] + books["day2"]) | {"fixmedins_setl_cnt": 4}
    assert totals(world, data)["stmt_rslt"] == "1"


def test_reversed_settlements_are_excluded_from_the_totals(world, books):
    with_reversed = claimed(books["day1"] + books["day2"] + [books["reversed"]])
    assert totals(world, with_reversed)["stmt_rslt"] == "1"
    assert totals(world, claimed(books["day1"] + books["day2"]))["stmt_rslt"] == "0"


def test_only_settlements_dated_in_the_range_count(world, books):
    assert totals(world, claimed(books["day1"], end="2025-06-01"))["stmt_rslt"] == "0"
    assert totals(world, claimed(books["day2"], begin="2025-06-02"))["stmt_rslt"] == "0"
    empty = claimed([], begin="2025-05-01", end="2025-05-31")
    assert totals(world, empty)["stmt_rslt"] == "0"


def test_a_settlement_reversed_after_it_was_reconciled_drops_out(world, books):
    data = claimed(books["day2"], begin="2025-06-02")
    assert totals(world, data)["stmt_rslt"] == "0"
    ok(world.reverse(H1, {"output": {"setlinfo": books["day2"][0]}}, books["child"]))
    assert totals(world, data)["stmt_rslt"] == "1"
    assert totals(world, claimed([], begin="2025-06-02"))["stmt_rslt"] == "0"


# --- 3202 -----------------------------------------------------------------------------------------


def detail(settlements: list[dict], begin: str = "2025-06-01", end: str = "2025-06-02",
           **changed: dict) -> dict:
    items = [{"setl_id": s["setl_id"], **{name: s[name] for name in FIELDS}}
             | changed.get(s["setl_id"], {}) for s in settlements]
    return {"stmt_begndate": begin, "stmt_enddate": end, "detail": items}


def compare(world, data: dict) -> dict:
    return ok(world.call(H1, "3202", data))


def test_a_matching_detail_list_answers_0(world, books):
    answer = compare(world, detail(books["day1"] + books["day2"]))
    assert answer["stmt_rslt"] == "0" and answer["differences"] == []
    assert answer["agree_cnt"] == answer["sys_setl_cnt"] == answer["fixmedins_setl_cnt"] == 3


def test_detail_names_every_settlement_that_differs_or_is_missing_on_either_side(world, books):
    first, second = books["day1"]
    outside = books["day2"][0]
    data = detail([first, books["reversed"], outside], end="2025-06-01",
                  **{first["setl_id"]: {"acct_mulaid_pay": first["acct_mulaid_pay"] + 0.01}})
    data["detail"].append({"setl_id": "S20250601NOSUCHSETTLEMENT", "medfee_sumamt": 1,
                           "fund_pay_sumamt": 0, "acct_pay": 0, "acct_mulaid_pay": 0})
    answer = compare(world, data)
    assert answer["stmt_rslt"] == "1" and answer["agree_cnt"] == 0
    found = {d["setl_id"]: d for d in answer["differences"]}
    assert {k: d["diff_type"] for k, d in found.items()} == {
        first["setl_id"]: "amount_differs",
        second["setl_id"]: "missing_at_institution",
        books["reversed"]["setl_id"]: "reversed_in_system",
        outside["setl_id"]: "out_of_range",
        "S20250601NOSUCHSETTLEMENT": "unknown_to_system",
    }
    differs = found[first["setl_id"]]
    assert differs["diff_fields"] == ["acct_mulaid_pay"]
    assert to_fen(differs["fixmedins"]["acct_mulaid_pay"]) - to_fen(
        differs["sys"]["acct_mulaid_pay"]) == 1
    assert found[second["setl_id"]]["fixmedins"] is None
    assert found["S20250601NOSUCHSETTLEMENT"]["sys"] is None
    assert answer["diff_cnt"] == 5 and not answer["truncated"]


def test_another_institutions_settlement_is_unknown_to_this_one(world, books):
    with world.ctx.read() as uow:
        other = uow.conn.execute(select(settlements.c.setl_id).join(
            institutions, institutions.c.id == settlements.c.institution_id).where(
            institutions.c.fixmedins_code == "H54250002")).scalar_one()
    answer = compare(world, detail([books["day1"][0] | {"setl_id": other}], end="2025-06-01"))
    kinds = {d["setl_id"]: d["diff_type"] for d in answer["differences"]}
    assert kinds[other] == "unknown_to_system"


@pytest.mark.parametrize("bad", [
    {"detail": "none"},
    {"detail": [{"setl_id": "A", "medfee_sumamt": 1, "fund_pay_sumamt": 0, "acct_pay": 0,
                 "acct_mulaid_pay": 0}] * 2},
    {"detail": [{"setl_id": "", "medfee_sumamt": 1}]},
    {"detail": [{"setl_id": "A", "medfee_sumamt": -1, "fund_pay_sumamt": 0, "acct_pay": 0,
                 "acct_mulaid_pay": 0}]},
    {"stmt_enddate": "2025-05-01"},
])
def test_a_malformed_detail_list_is_refused_with_a_code(world, books, bad):
    data = {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-02", "detail": []} | bad
    answer = world.call(H1, "3202", data)
    assert answer["infcode"] == -1
    assert answer["err_code"] in ("INVALID_INPUT", "INVALID_AMOUNT")


def test_a_full_list_of_max_detail_items_fits_one_envelope(world, books):
    """The body limit leaves room for 3202's longest list; other envelopes stay small."""
    items = [{"setl_id": f"S20250601{i:016X}", "medfee_sumamt": "99999999.99",
              "fund_pay_sumamt": "99999999.99", "acct_pay": "0.00", "acct_mulaid_pay": "0.00"}
             for i in range(reconciliation.MAX_DETAIL)]
    data = {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-02", "detail": items}
    answer = compare(world, data)
    assert answer["fixmedins_setl_cnt"] == reconciliation.MAX_DETAIL
    assert answer["stmt_rslt"] == "1" and answer["truncated"]

    padded = world.call(H1, "3201", claimed(books["day1"]) | {"pad": "x" * 300_000})
    assert (padded["infcode"], padded["err_code"]) == (-1, "INVALID_INPUT")


# --- REST reads for the institution ---------------------------------------------------------------


def test_day_totals_exclude_reversed_settlements_and_count_them(world, books):
    answer = reconciliation.daily_totals(world.ctx, H1, "2025-05-31", "2025-06-02")
    assert [d["date"] for d in answer["days"]] == ["2025-06-01", "2025-06-02"]
    day1, day2 = answer["days"]
    assert day1["medfee_sumamt"] == 1750.55 and day1["fixmedins_setl_cnt"] == 2
    assert day1["reversed_cnt"] == 1 and day2["reversed_cnt"] == 0
    assert answer["totals"]["medfee_sumamt"] == 1830.55
    assert answer["totals"]["fixmedins_setl_cnt"] == 3
    data = claimed(books["day1"] + books["day2"])
    assert all(to_fen(answer["totals"][name]) == to_fen(data[name]) for name in FIELDS)


def test_detail_of_a_day_lists_every_settlement_with_reversals_flagged(world, books):
    answer = reconciliation.settlements_on(world.ctx, H1, "2025-06-01")
    listed = [(s["setl_id"], s["reversed"]) for s in answer["settlements"]]
    assert listed == [(books["day1"][0]["setl_id"], False), (books["day1"][1]["setl_id"], False),
                      (books["reversed"]["setl_id"], True)]
    first = reconciliation.settlements_on(world.ctx, H1, "2025-06-01", limit=2)
    rest = reconciliation.settlements_on(world.ctx, H1, "2025-06-01",
                                         cursor=first["next_cursor"], limit=2)
    assert [s["setl_id"] for s in first["settlements"] + rest["settlements"]] == [
        s for s, _ in listed]
    assert rest["next_cursor"] is None
    patient = answer["settlements"][0]
    assert patient["psn_name"] == "平*" and "*" in patient["certno"]
