"""Resident ID numbers: check digit, validation, birth date, masking."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.domain.idcard import (
    age_on,
    birth_date,
    check_digit,
    is_minor,
    make_certno,
    mask_certno,
    mask_name,
    validate_certno,
)

SAMPLE = "11010519491231002X"  # the textbook GB 11643 example


def _refused(certno, today=None):
    with pytest.raises(DomainError) as err:
        validate_certno(certno, today)
    assert err.value.code == "INVALID_CERTNO"
    return err.value


def test_check_digit_matches_the_standard_example():
    assert check_digit(SAMPLE[:17]) == "X"


def test_check_digit_needs_seventeen_digits():
    with pytest.raises(ValueError):
        check_digit("1234")


def test_validation_normalizes_whitespace_and_lowercase_x():
    assert validate_certno(" 11010519491231002x ") == SAMPLE


@pytest.mark.parametrize(
    "certno",
    [
        "",
        "11010519491231002",  # 17 chars
        "11010519491231002XX",  # 19 chars
        "1101051949123100AX",  # letter inside
        "11010519491231002Y",  # bad last char
        "１１０１０５１９４９１２３１００２X",  # full-width digits
        "110105194912310021",  # wrong check digit
    ],
)
def test_refuses_malformed_numbers(certno):
    _refused(certno)


def test_refuses_non_strings():
    _refused(110105194912310021)


def test_refuses_impossible_birth_dates():
    body = "110105" + "20230229" + "001"
    assert "出生日期" in _refused(body + check_digit(body)).message


def test_refuses_birth_dates_in_the_future_or_before_1900():
    today = date(2025, 6, 1)
    for born in (today + timedelta(days=1), date(1899, 12, 31)):
        body = f"110105{born:%Y%m%d}001"
        _refused(body + check_digit(body), today)


def test_the_future_is_the_callers_today_not_the_clock():
    born = date(2025, 6, 2)
    body = f"110105{born:%Y%m%d}001"
    certno = body + check_digit(body)
    assert validate_certno(certno, born) == certno
    _refused(certno, born - timedelta(days=1))


def test_reads_the_birth_date():
    assert birth_date(SAMPLE) == date(1949, 12, 31)


def test_age_counts_full_years_only():
    certno = make_certno("542521", date(2008, 6, 15), 1)
    assert age_on(certno, date(2026, 6, 14)) == 17
    assert age_on(certno, date(2026, 6, 15)) == 18


def test_leap_day_births_turn_older_on_the_first_of_march():
    certno = make_certno("451002", date(2008, 2, 29), 3)
    assert age_on(certno, date(2026, 2, 28)) == 17
    assert age_on(certno, date(2026, 3, 1)) == 18


def test_age_before_birth_is_refused():
    certno = make_certno("451002", date(2010, 1, 1), 3)
    with pytest.raises(DomainError):
        age_on(certno, date(2009, 12, 31))


def test_a_person_is_a_minor_until_the_eighteenth_birthday():
    certno = make_certno("542521", date(2008, 6, 15), 1)
    assert is_minor(certno, date(2026, 6, 14))
    assert not is_minor(certno, date(2026, 6, 15))


def test_masks_all_but_the_region_and_last_four():
    certno = make_certno("542521", date(1980, 1, 1), 1)
    assert mask_certno(certno) == "542521********" + certno[-4:]
    assert mask_certno("542521198001010012") == "542521********0012"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧阳**"),
        ("司马相如", "司马**"),
        ("一", "*"),
        ("", ""),
    ],
)
def test_masks_names_keeping_the_surname(name, masked):
    assert mask_name(name) == masked


def test_make_certno_sets_the_sex_digit():
    female = make_certno("451002", date(1990, 5, 5), 101, female=True)
    male = make_certno("451002", date(1990, 5, 5), 100, female=False)
    assert int(female[16]) % 2 == 0
    assert int(male[16]) % 2 == 1


def test_make_certno_refuses_bad_parts():
    with pytest.raises(ValueError):
        make_certno("54252", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_certno("542521", date(1990, 1, 1), 1000)


_births = st.dates(min_value=date(1900, 1, 1), max_value=date.today())


@given(
    st.sampled_from(["542500", "542521", "451000", "451002", "110105"]),
    _births,
    st.integers(0, 999),
    st.none() | st.booleans(),
)
def test_made_numbers_are_valid_and_carry_their_birth_date(region, born, seq, female):
    certno = make_certno(region, born, seq, female)
    assert validate_certno(certno) == certno
    assert birth_date(certno) == born
    assert certno.startswith(region)
    if female is not None:
        assert (int(certno[16]) % 2 == 0) == female


@given(_births, st.integers(0, 999), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(born, seq, position, delta):
    certno = make_certno("542521", born, seq)
    digit = (int(certno[position]) + delta) % 10
    changed = certno[:position] + str(digit) + certno[position + 1 :]
    with pytest.raises(DomainError):
        validate_certno(changed)
