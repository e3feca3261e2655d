"""One catalogue item as an operator loads it (REST or file), checked and made storable.

Fractions are kept exact as integer millionths: 先行自付比例 0.15 → 150,000 and a unit
price limit of 0.0325 yuan → 32,500 micro-yuan. Six decimals are more than any
national catalogue uses; a seventh is refused rather than rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from gongji.domain.codes import ADMDVS, ChrgitmLv, values
from gongji.domain.errors import DomainError, refuse
from gongji.domain.money import MAX_FEN
from gongji.domain.text import unprintable

CHRGITM_LVS = values(ChrgitmLv)
PROVINCES = ("540000", "450000")  # 西藏自治区, 广西壮族自治区: ours, every region of them
# Their pooling regions (CONTRACT v2): Tibet's seven prefectures, Guangxi's fourteen cities.
REGIONS = frozenset({"540100", "540200", "540300", "540400", "540500", "540600", "542500",
                     *(f"45{n:02d}00" for n in range(1, 15))})
MILLION = 1_000_000
MAX_UYUAN = MAX_FEN * 10_000  # 99,999,999.99 yuan in micro-yuan
MED_LIST_CODG = re.compile(r"[0-9A-Za-z][0-9A-Za-z._\-]{0,49}")  # 医保目录编码
NAME_LONGEST = 200
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class CatalogueEntry:
    """A row of catalogue_items, values as stored."""

    admdvs: str
    med_list_codg: str
    med_list_name: str
    chrgitm_lv: str
    selfpay_prop_ppm: int
    pric_uplmt_uyuan: int | None
    begndate: date | None
    enddate: date | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.admdvs, self.med_list_codg)


class EntryError(ValueError):
    """What is wrong with one field of an item, before the caller names the item."""

    def __init__(self, field: str, why: str):
        super().__init__(f"{field}：{why}")
        self.field = field
        self.why = why


def province_of(admdvs: str) -> str:
    """The province of a region: 542500 → 540000."""
    return admdvs[:2] + "0000"


def from_millionths(value: int) -> Decimal:
    """Stored millionths back to an exact Decimal without trailing zeros: 150000 → 0.15."""
    return _plain(Decimal(value).scaleb(-6))


def catalogue_region(admdvs: object) -> str:
    """A province of ours or one of its pooling regions."""
    if not isinstance(admdvs, str) or not ADMDVS.fullmatch(admdvs):
        raise EntryError("admdvs", "须为6位数字")
    if admdvs in PROVINCES or admdvs in REGIONS:
        return admdvs
    raise EntryError("admdvs", "须为西藏、广西的省级区划（540000、450000）或其统筹区")


def parse_entry(raw: object) -> CatalogueEntry:
    """Check one item; EntryError names the first bad field."""
    if not isinstance(raw, dict):
        raise EntryError("item", "须为对象")
    lv = raw.get("chrgitm_lv")
    if not isinstance(lv, str) or lv not in CHRGITM_LVS:
        raise EntryError("chrgitm_lv", "须为 01（甲类）、02（乙类）或 03（丙类）")
    begin = _date(raw.get("begndate"), "begndate")
    end = _date(raw.get("enddate"), "enddate")
    if begin and end and end < begin:
        raise EntryError("enddate", "不能早于 begndate")
    return CatalogueEntry(
        admdvs=catalogue_region(raw.get("admdvs")),
        med_list_codg=_code(raw.get("med_list_codg")),
        med_list_name=_name(raw.get("med_list_name")),
        chrgitm_lv=lv,
        selfpay_prop_ppm=_prop(raw.get("selfpay_prop"), required=lv == ChrgitmLv.CLASS_B),
        pric_uplmt_uyuan=_limit(raw.get("pric_uplmt_amt")),
        begndate=begin,
        enddate=end,
    )


def item_error(index: int, error: EntryError) -> DomainError:
    """The whole call's refusal, naming the item by its index and the field."""
    return refuse("INVALID_CATALOGUE_ITEM", f"items[{index}].{error.field} {error.why}")


def _code(value: object) -> str:
    if not isinstance(value, str) or not MED_LIST_CODG.fullmatch(value.strip()):
        raise EntryError("med_list_codg", "须为 1–50 位字母、数字、点、横线或下划线")
    return value.strip()


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > NAME_LONGEST:
        raise EntryError("med_list_name", f"须为 1–{NAME_LONGEST} 个字符")
    bad = unprintable(value)
    if bad is not None:
        raise EntryError("med_list_name", f"含有不可见字符（U+{ord(bad):04X}）")
    return value.strip()


def _decimal(value: object, field: str) -> Decimal | None:
    """A decimal given as text or an exact JSON number; None for null or empty text.
    Never a float or a bool: their value is not the text that was written."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise EntryError(field, "须为十进制数字")
    text = str(value).strip()
    if len(text) > 24 or any(c not in "0123456789." for c in text):
        raise EntryError(field, "须为非负十进制数字（不含指数）")
    try:
        dec = Decimal(text)
    except InvalidOperation:
        raise EntryError(field, "须为十进制数字") from None
    if not dec.is_finite():
        raise EntryError(field, "须为有限数值")
    return dec


def _millionths(dec: Decimal, field: str) -> int:
    scaled = dec.scaleb(6)
    if scaled != scaled.to_integral_value():
        raise EntryError(field, "最多六位小数")
    return int(scaled)


def _prop(value: object, *, required: bool) -> int:
    dec = _decimal(value, "selfpay_prop")
    if dec is None:
        if required:
            raise EntryError("selfpay_prop", "乙类项目须给出先行自付比例")
        return 0
    if dec > 1:
        raise EntryError("selfpay_prop", "须在 0 与 1 之间")
    return _millionths(dec, "selfpay_prop")


def _limit(value: object) -> int | None:
    dec = _decimal(value, "pric_uplmt_amt")
    if dec is None:
        return None
    if dec > Decimal(MAX_UYUAN).scaleb(-6):
        raise EntryError("pric_uplmt_amt", "超过上限 99999999.99")
    return _millionths(dec, "pric_uplmt_amt")


def _date(value: object, field: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):  # a spreadsheet's date cell
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not DATE_TEXT.fullmatch(value.strip()):
        raise EntryError(field, "须为 YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise EntryError(field, "不是有效日期") from None


def _plain(dec: Decimal) -> Decimal:
    """0.150000 → 0.15 and 12.000000 → 12, never 1.2E+1 (normalize alone would)."""
    normal = dec.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal
