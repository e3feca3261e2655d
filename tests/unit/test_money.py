"""Money at the edges: yuan in, exact fen inside."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.domain.money import MAX_FEN, round_half_up, to_fen, to_yuan, yuan_text


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        (0, 0),
        (12, 1200),
        (12.3, 1230),
        (12.34, 1234),
        (0.1, 10),
        (0.29, 29),
        ("12.34", 1234),
        (" 7.50 ", 750),
        ("0.01", 1),
        (Decimal("3.21"), 321),
        (99999999.99, MAX_FEN),
        ("99999999.99", MAX_FEN),
    ],
)
def test_parses_yuan_into_exact_fen(value, fen):
    assert to_fen(value) == fen


@pytest.mark.parametrize(
    "value",
    [
        "12.345",
        12.345,
        "-1",
        -1,
        -0.01,
        "NaN",
        float("nan"),
        float("inf"),
        "Infinity",
        "1e3",
        1e12,
        True,
        False,
        None,
        "",
        "abc",
        [1],
        100000000,
        "100000000",
    ],
)
def test_refuses_amounts_that_are_not_plain_yuan(value):
    with pytest.raises(DomainError) as err:
        to_fen(value)
    assert err.value.code == "INVALID_AMOUNT"


def test_yuan_text_always_shows_two_decimals():
    assert yuan_text(0) == "0.00"
    assert yuan_text(5) == "0.05"
    assert yuan_text(123456) == "1234.56"
    assert yuan_text(-1234) == "-12.34"


def test_round_half_up_rounds_halves_away_from_zero():
    assert round_half_up(5, 10) == 1
    assert round_half_up(4, 10) == 0
    assert round_half_up(15, 10) == 2
    assert round_half_up(25, 10) == 3


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_to_yuan_round_trips_every_amount(fen):
    assert to_fen(to_yuan(fen)) == fen


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_yuan_text_round_trips_every_amount(fen):
    assert to_fen(yuan_text(fen)) == fen
