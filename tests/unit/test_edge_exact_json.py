"""Exact JSON numbers: request hashes with Decimals inside, and the bill's flag."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gongji.domain.bill import parse_bill
from gongji.domain.errors import DomainError
from gongji.store.idempotency import request_hash


def test_equal_numbers_hash_alike_and_as_before():
    as_floats = request_hash(json.loads('{"a": 1.5, "b": [100.0, 2]}'))
    for text in ('{"a": 1.5, "b": [100.0, 2]}', '{"a": 1.50, "b": [1e2, 2]}',
                 '{"a": 15E-1, "b": [100.000, 2]}'):
        assert request_hash(json.loads(text, parse_float=Decimal)) == as_floats


def test_numbers_a_float_cannot_hold_hash_apart():
    exact = request_hash({"a": Decimal("0.29999999999999999")})
    assert exact != request_hash({"a": Decimal("0.3")})
    assert exact == request_hash({"a": Decimal("0.299999999999999990")})


BILL = {"psn_no": "P1", "mdtrt_cert_type": "02", "mdtrt_cert_no": "X", "medfee_sumamt": "1.00",
        "fulamt_ownpay_amt": "1.00"}


@pytest.mark.parametrize("flag", [True, False, 1.0, 0.0, Decimal("1"), 1, 0, "true", None])
def test_the_flag_is_the_contracts_text_only(flag):
    with pytest.raises(DomainError) as caught:
        parse_bill(BILL | {"acct_used_flag": flag})
    assert caught.value.code == "INVALID_INPUT"


def test_the_flag_reads_as_sent():
    assert parse_bill(BILL | {"acct_used_flag": "1"}).use_accounts is True
    assert parse_bill(BILL | {"acct_used_flag": "0"}).use_accounts is False
    assert parse_bill(BILL).use_accounts is True  # absent: as before, accounts may pay


@pytest.mark.parametrize("text", ["1.0000000000000000000000000000001", "0.001", "1E-999999999",
                                  "99999999.990000000000000000000000001"])
def test_to_fen_refuses_what_the_decimal_context_would_round(text):
    from gongji.domain.money import to_fen

    with pytest.raises(DomainError) as caught:
        to_fen(Decimal(text))
    assert caught.value.code == "INVALID_AMOUNT"


def test_to_fen_keeps_exact_amounts_whatever_their_form():
    from gongji.domain.money import to_fen

    assert [to_fen(Decimal(t)) for t in ("1E+2", "100.000000000000000000000000000000", "0E+9",
                                         "12.5", "99999999.99")] == [10000, 10000, 0, 1250,
                                                                    9999999999]
    with pytest.raises(DomainError):
        to_fen(Decimal("1E+999999999"))
