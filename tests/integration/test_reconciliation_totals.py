"""3201 对总账 over a period: one bill is at most 99,999,999.99 yuan, but a period's sums may
be far larger, and must still be compared exactly."""

from __future__ import annotations

import pytest

from support import ok

H1 = "H54250001"


@pytest.fixture
def big_day(world):
    """Two cash bills of 60,000,000.01 yuan on 2025-06-01: 120,000,000.02 in all."""
    world.institution(H1)
    patient = world.person("次仁", insutype="390")
    for _ in range(2):
        ok(world.settle(H1, patient, "60000000.01", flag="0"))
    return patient


def _query(medfee: object, count: object = 2) -> dict:
    return {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-01",
            "medfee_sumamt": medfee, "fund_pay_sumamt": "0", "acct_pay": "0.00",
            "acct_mulaid_pay": 0, "fixmedins_setl_cnt": count}


@pytest.mark.parametrize("medfee", ["120000000.02", 120000000.02])
def test_totals_above_one_hundred_million_yuan_that_agree(world, big_day, medfee):
    out = ok(world.call(H1, "3201", _query(medfee)))

    assert out["stmt_rslt"] == "0", out
    assert out["medfee_sumamt"] == 120000000.02
    assert out["fixmedins_setl_cnt"] == 2


def test_totals_above_one_hundred_million_yuan_that_differ_by_a_fen(world, big_day):
    out = ok(world.call(H1, "3201", _query("120000000.03")))

    assert out["stmt_rslt"] == "1"
    assert out["medfee_sumamt"] == 120000000.02


@pytest.mark.parametrize("medfee", ["120000000.021", "-120000000.02", "1e9",
                                    "1000000000000.00", True])
def test_totals_are_still_parsed_exactly_and_bounded(world, big_day, medfee):
    answer = world.call(H1, "3201", _query(medfee))

    assert answer["infcode"] == -1
    assert answer["err_code"] == "INVALID_AMOUNT"


@pytest.mark.parametrize("count", [-1, "1000000001", 2.5, "２"])
def test_the_count_is_a_bounded_non_negative_integer(world, big_day, count):
    answer = world.call(H1, "3201", _query("120000000.02", count))

    assert answer["err_code"] == "INVALID_INPUT"
