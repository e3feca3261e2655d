"""Resident ID numbers (公民身份号码, GB 11643-1999) and the masking shown to others.

Layout: 6-digit address code, 8-digit birth date YYYYMMDD, 3-digit sequence (odd for
men, even for women), 1 check character computed by ISO 7064 MOD 11-2.

The domain reads no clock: whoever refuses a birth date in the future passes `today`.
"""

from __future__ import annotations

from datetime import date

from gongji.domain.errors import refuse

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_MAP = "10X98765432"  # indexed by (weighted sum mod 11)
_EARLIEST_BIRTH = date(1900, 1, 1)


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("check_digit needs exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_MAP[total % 11]


def _parse_birth(digits8: str) -> date | None:
    try:
        return date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        return None


def validate_certno(certno: str, today: date | None = None) -> str:
    """Normalize (strip, x→X) and check a number; refuse INVALID_CERTNO with the reason.

    A birth date after `today` (the caller's date, Asia/Shanghai) is refused; without
    `today` only the earliest birth date is checked (a number already admitted, or one
    made from a given birth date)."""
    if not isinstance(certno, str):
        raise refuse("INVALID_CERTNO", "须为字符串")
    text = certno.strip().upper()
    if len(text) != 18:
        raise refuse("INVALID_CERTNO", "须为18位")
    body, last = text[:17], text[17]
    # isdigit() alone accepts full-width and other Unicode digits; ids are ASCII only.
    if not (body.isascii() and body.isdigit()) or last not in "0123456789X":
        raise refuse("INVALID_CERTNO", "前17位须为数字，末位为数字或X")
    born = _parse_birth(body[6:14])
    if born is None:
        raise refuse("INVALID_CERTNO", "出生日期不存在")
    if born < _EARLIEST_BIRTH or (today is not None and born > today):
        raise refuse("INVALID_CERTNO", "出生日期超出合理范围")
    if check_digit(body) != last:
        raise refuse("INVALID_CERTNO", "校验码错误")
    return text


def birth_date(certno: str) -> date:
    text = validate_certno(certno)
    born = _parse_birth(text[6:14])
    if born is None:  # unreachable after validation; keeps the type checker honest
        raise refuse("INVALID_CERTNO", "出生日期不存在")
    return born


def age_on(certno: str, day: date) -> int:
    """Full years on `day`. Someone born on 29 Feb turns a year older on 1 Mar in common years."""
    born = birth_date(certno)
    if day < born:
        raise refuse("INVALID_INPUT", "日期早于出生日期")
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_minor(certno: str, day: date) -> bool:
    """Under 18 by the birth date in the number (a minor cannot confirm a binding alone)."""
    return age_on(certno, day) < 18


def mask_certno(certno: str) -> str:
    """First 6 and last 4 kept, the rest '*': 542521********0012."""
    text = certno.strip().upper()
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(name: str) -> str:
    """张三→张*, 王小明→王**, 欧阳娜娜→欧阳**, 一→*.

    A name of 4+ characters keeps two: most such names start with a compound surname.
    """
    text = name.strip()
    if len(text) <= 1:
        return "*" * len(text)
    keep = 2 if len(text) >= 4 else 1
    return text[:keep] + "*" * (len(text) - keep)


def is_female(certno: str) -> bool:
    """GB 11643: the 17th character (the sequence number's last digit) is even for a woman."""
    return int(certno[16]) % 2 == 0


def make_certno(region6: str, birth: date, seq3: int, female: bool | None = None) -> str:
    """Build a valid number for demo and test data; `female` fixes the parity of digit 17."""
    if len(region6) != 6 or not (region6.isascii() and region6.isdigit()):
        raise ValueError("region6 must be 6 ASCII digits")
    if not 0 <= seq3 <= 999:
        raise ValueError("seq3 must be within 0..999")
    if female is not None and (seq3 % 2 == 0) != female:
        seq3 ^= 1  # flip the lowest bit: stays within 0..999 and fixes the sex digit
    body = f"{region6}{birth:%Y%m%d}{seq3:03d}"
    return validate_certno(body + check_digit(body))
