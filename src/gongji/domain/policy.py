"""Region rules as data: one TOML file per pooling region (统筹区) in gongji/policies/.

File format: every value is a table `{ value = ..., source = "..." }`, with `example = true`
on values that are placeholders to be set from the regional notice. Money is written in
yuan (`*_yuan`), ratios in percent (`ratio_percent`), as notices state them; they are read
into fen and basis points. `RegionPolicy.sources` and `.examples` are keyed by the dotted
path of the value in the file, e.g. `fund_rules.hospital.deductible_yuan`.

A new national rule a region may switch on later is a new field here, not a code fork.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from gongji.domain.codes import (
    ADMDVS,
    Channel,
    InstitutionType,
    InsuType,
    KinshipVerification,
    values,
)
from gongji.domain.errors import DomainError, refuse
from gongji.domain.fund import BP_WHOLE, FundRule
from gongji.domain.kinship import Relation
from gongji.domain.money import to_fen

CHANNELS = values(Channel)
INSTITUTION_TYPES = values(InstitutionType)
INSUTYPES = values(InsuType)  # 职工 / 城乡居民
KINSHIP_VERIFICATIONS = values(KinshipVerification)  # 亲属关系核验 / 承诺制

_SCALAR_KEYS = (
    "admdvs",
    "name",
    "admitted_relations",
    "helper_insutypes",
    "helper_requires_positive_balance",
    "beneficiary_insutypes",
    "mutual_aid_area_prefixes",
    "channels",
    "invitation_expiry_days",
    "kinship_verification",
    "auto_end_on_insurance_change",
    "mutual_aid_quota_enabled",
)
_PREMIUM_KEY = "premium_yuan_by_year"
_FUND_KEY = "fund_rules"
_FUND_RULE_KEYS = ("deductible_yuan", "ratio_percent", "annual_cap_yuan")
_LEAF_KEYS = frozenset({"value", "source", "example"})


@dataclass(frozen=True)
class RegionPolicy:
    admdvs: str
    name: str
    admitted_relations: frozenset[Relation]
    helper_insutypes: frozenset[str]
    helper_requires_positive_balance: bool
    beneficiary_insutypes: frozenset[str]
    mutual_aid_area_prefixes: tuple[str, ...]
    channels: tuple[str, ...]
    invitation_expiry_days: int
    kinship_verification: str
    premium_fen_by_year: dict[int, int]
    auto_end_on_insurance_change: bool
    mutual_aid_quota_enabled: bool
    fund_rules: dict[str, FundRule]
    sources: dict[str, str] = field(default_factory=dict)
    examples: frozenset[str] = frozenset()

    def admits_relation(self, r: Relation) -> bool:
        return r in self.admitted_relations

    def in_mutual_aid_area(self, admdvs: str) -> bool:
        """Whether an institution in `admdvs` may settle with mutual-aid funds of this region."""
        if not isinstance(admdvs, str) or not _is_digits(admdvs, 6):
            return False
        return admdvs.startswith(self.mutual_aid_area_prefixes)

    def premium_fen(self, year: int) -> int | None:
        """Resident individual contribution for `year`; None when that year is not open."""
        return self.premium_fen_by_year.get(year)

    def fund_rule(self, inst_type: str) -> FundRule:
        rule = self.fund_rules.get(inst_type)
        if rule is None:
            raise refuse("INSTITUTION_TYPE", str(inst_type)[:40])
        return rule


# --- parsing -------------------------------------------------------------------------


def _is_digits(text: str, length: int | None = None) -> bool:
    return text.isascii() and text.isdigit() and (length is None or len(text) == length)


class _Reader:
    """Unwraps `{ value, source, example }` leaves, recording sources and example flags."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}
        self.examples: set[str] = set()

    def leaf(self, node: object, path: str) -> object:
        if not isinstance(node, dict) or "value" not in node:
            raise ValueError(f'{path}: must be a table {{ value = ..., source = "..." }}')
        unknown = set(node) - _LEAF_KEYS
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        source = node.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"{path}: needs a non-empty source")
        example = node.get("example", False)
        if not isinstance(example, bool):
            raise ValueError(f"{path}: example must be true or false")
        self.sources[path] = source.strip()
        if example:
            self.examples.add(path)
        return node["value"]


def _text(value: object, path: str, allowed: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{path}: must be a non-empty string")
    if allowed is not None and value not in allowed:
        raise ValueError(f"{path}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _flag(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{path}: must be true or false")
    return value


def _texts(value: object, path: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """A non-empty list of distinct strings, order kept (channels are shown in this order)."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{path}: must be a non-empty list")
    items = tuple(_text(v, f"{path}[{i}]", allowed) for i, v in enumerate(value))
    if len(set(items)) != len(items):
        raise ValueError(f"{path}: duplicate entries")
    return items


def _yuan_fen(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{path}: must be a number of yuan")
    try:
        return to_fen(value)
    except DomainError as exc:
        raise ValueError(f"{path}: {exc.message}") from None


def _percent_bp(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{path}: must be a number of percent")
    # repr() gives back the digits written in the file, so 62.5 is exactly 6250 bp.
    bp = Decimal(repr(value) if isinstance(value, float) else value) * 100
    if not bp.is_finite() or bp != bp.to_integral_value() or not 0 <= bp <= BP_WHOLE:
        raise ValueError(f"{path}: must be within 0..100 with at most two decimals")
    return int(bp)


def _table(data: dict, key: str) -> dict:
    node = data.get(key)
    if not isinstance(node, dict):
        raise ValueError(f"{key}: missing table")
    return node


def _premiums(reader: _Reader, node: dict) -> dict[int, int]:
    premiums: dict[int, int] = {}
    for year_text, leaf in node.items():
        path = f"{_PREMIUM_KEY}.{year_text}"
        if not _is_digits(year_text, 4) or not 2000 <= int(year_text) <= 2100:
            raise ValueError(f"{path}: the key must be a year such as 2025")
        fen = _yuan_fen(reader.leaf(leaf, path), path)
        if fen <= 0:
            raise ValueError(f"{path}: premium must be positive")
        premiums[int(year_text)] = fen
    return premiums


def _fund_rules(reader: _Reader, node: dict) -> dict[str, FundRule]:
    if set(node) != set(INSTITUTION_TYPES):
        raise ValueError(f"{_FUND_KEY}: needs exactly the tables {', '.join(INSTITUTION_TYPES)}")
    rules: dict[str, FundRule] = {}
    for inst_type in INSTITUTION_TYPES:
        base = f"{_FUND_KEY}.{inst_type}"
        table = node[inst_type]
        if not isinstance(table, dict) or set(table) != set(_FUND_RULE_KEYS):
            raise ValueError(f"{base}: needs exactly {', '.join(_FUND_RULE_KEYS)}")
        values = {k: reader.leaf(table[k], f"{base}.{k}") for k in _FUND_RULE_KEYS}
        rules[inst_type] = FundRule(
            deductible_fen=_yuan_fen(values["deductible_yuan"], f"{base}.deductible_yuan"),
            ratio_bp=_percent_bp(values["ratio_percent"], f"{base}.ratio_percent"),
            annual_cap_fen=_yuan_fen(values["annual_cap_yuan"], f"{base}.annual_cap_yuan"),
        )
    return rules


def parse_policy(data: dict) -> RegionPolicy:
    """Build a RegionPolicy from a parsed TOML document; ValueError names the bad value."""
    if not isinstance(data, dict):
        raise ValueError("policy must be a table")
    expected = set(_SCALAR_KEYS) | {_PREMIUM_KEY, _FUND_KEY}
    unknown, missing = set(data) - expected, expected - set(data)
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    if missing:
        raise ValueError(f"missing keys {sorted(missing)}")

    reader = _Reader()
    raw = {key: reader.leaf(data[key], key) for key in _SCALAR_KEYS}

    admdvs = _text(raw["admdvs"], "admdvs")
    if not _is_digits(admdvs, 6):
        raise ValueError("admdvs: must be 6 digits")
    relations = _texts(raw["admitted_relations"], "admitted_relations", tuple(Relation))
    prefixes = _texts(raw["mutual_aid_area_prefixes"], "mutual_aid_area_prefixes")
    if not all(_is_digits(p) and 1 <= len(p) <= 6 for p in prefixes):
        raise ValueError("mutual_aid_area_prefixes: each must be 1 to 6 digits")
    if not admdvs.startswith(prefixes):
        raise ValueError("mutual_aid_area_prefixes: must include the region itself")
    expiry_days = raw["invitation_expiry_days"]
    if type(expiry_days) is not int or not 1 <= expiry_days <= 365:  # bool is not a day count
        raise ValueError("invitation_expiry_days: must be a whole number within 1..365")

    return RegionPolicy(
        admdvs=admdvs,
        name=_text(raw["name"], "name"),
        admitted_relations=frozenset(Relation(r) for r in relations),
        helper_insutypes=frozenset(_texts(raw["helper_insutypes"], "helper_insutypes", INSUTYPES)),
        helper_requires_positive_balance=_flag(
            raw["helper_requires_positive_balance"], "helper_requires_positive_balance"
        ),
        beneficiary_insutypes=frozenset(
            _texts(raw["beneficiary_insutypes"], "beneficiary_insutypes", INSUTYPES)
        ),
        mutual_aid_area_prefixes=prefixes,
        channels=_texts(raw["channels"], "channels", CHANNELS),
        invitation_expiry_days=expiry_days,
        kinship_verification=_text(
            raw["kinship_verification"], "kinship_verification", KINSHIP_VERIFICATIONS
        ),
        premium_fen_by_year=_premiums(reader, _table(data, _PREMIUM_KEY)),
        auto_end_on_insurance_change=_flag(
            raw["auto_end_on_insurance_change"], "auto_end_on_insurance_change"
        ),
        mutual_aid_quota_enabled=_flag(raw["mutual_aid_quota_enabled"], "mutual_aid_quota_enabled"),
        fund_rules=_fund_rules(reader, _table(data, _FUND_KEY)),
        sources=dict(reader.sources),
        examples=frozenset(reader.examples),
    )


# --- loading -------------------------------------------------------------------------


def _bundled_dir() -> Traversable:
    return resources.files("gongji").joinpath("policies")


def load_policies(directory: Path | None = None) -> dict[str, RegionPolicy]:
    """Read every *.toml in `directory` (default: the bundled gongji/policies)."""
    folder: Traversable = directory if directory is not None else _bundled_dir()
    policies: dict[str, RegionPolicy] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml") or not entry.is_file():
            continue
        try:
            policy = parse_policy(tomllib.loads(entry.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise ValueError(f"policy file {entry.name}: {exc}") from exc
        # The file name is the key operators look for; a mismatch is a copy-paste slip.
        if entry.name.removesuffix(".toml") != policy.admdvs:
            raise ValueError(
                f"policy file {entry.name}: admdvs {policy.admdvs} does not match the file name"
            )
        policies[policy.admdvs] = policy
    return policies


@functools.cache
def _bundled() -> dict[str, RegionPolicy]:
    return load_policies()


def get_policy(admdvs: str) -> RegionPolicy:
    """The bundled policy of a pooling region (read once per process)."""
    policy = _bundled().get(admdvs) if isinstance(admdvs, str) else None
    if policy is None:
        raise refuse("INVALID_REGION", str(admdvs)[:20])
    return policy


def known_regions() -> tuple[str, ...]:
    return tuple(sorted(_bundled()))


def check_region(admdvs: object) -> str:
    if not isinstance(admdvs, str) or not ADMDVS.fullmatch(admdvs):
        raise refuse("INVALID_REGION", "须为6位数字")
    get_policy(admdvs)  # refuses a region with no policy
    return admdvs
