"""Region rules as data (政策): what a pooling region (统筹区) allows, as plain values.

A policy is a set of named rules, each a plain JSON value (the same names the shipped
files in gongji/policies/ and the REST API use):

    admitted_relations, helper_insutypes, helper_requires_positive_balance,
    beneficiary_insutypes, mutual_aid_area_prefixes, channels, invitation_expiry_days,
    kinship_verification, auto_end_on_insurance_change, mutual_aid_quota_enabled,
    premium_yuan_by_year ({"2027": 420}), fund_rules ({"hospital" | "pharmacy" |
    "inpatient": {"deductible_yuan", "ratio_percent", "annual_cap_yuan"}})

Each rule has one parser (plain value → typed value, or INVALID_POLICY naming the rule and
why) and one renderer (typed value → canonical plain value), so what is stored, shown and
applied is the same thing. Money is yuan at this edge and fen inside; ratios percent at
this edge and basis points inside. Where the rules come from (files, dated versions in the
database) is not this module's concern: see domain/policy_files.py and services/policy/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

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
from gongji.domain.money import to_fen, to_yuan

CHANNELS = values(Channel)
INSUTYPES = values(InsuType)  # 职工 / 城乡居民
KINSHIP_VERIFICATIONS = values(KinshipVerification)  # 亲属关系核验 / 承诺制
INPATIENT = "inpatient"  # 住院: a fund-rule scene beside the two institution types
FUND_SCENES = (*values(InstitutionType), INPATIENT)
# A settlement's scene (settlements.fund_scene) as a reader is told it: entries, exports.
SCENE_ZH = {"hospital": "门诊", "pharmacy": "购药", INPATIENT: "住院"}
FUND_RULE_KEYS = ("deductible_yuan", "ratio_percent", "annual_cap_yuan")


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
    # Which dated version this is (services/policy); None for one built from files alone.
    version: int | None = None
    effective_from: date | None = None
    sources: dict[str, str] = field(default_factory=dict)
    examples: frozenset[str] = frozenset()

    def admits_relation(self, r: Relation) -> bool:
        return r in self.admitted_relations

    def in_mutual_aid_area(self, admdvs: str) -> bool:
        """Whether an institution in `admdvs` may settle with mutual-aid funds of this region."""
        if not isinstance(admdvs, str) or not ADMDVS.fullmatch(admdvs):
            return False
        return admdvs.startswith(self.mutual_aid_area_prefixes)

    def premium_fen(self, year: int) -> int | None:
        """Resident individual contribution for `year`; None when that year is not open."""
        return self.premium_fen_by_year.get(year)

    def fund_rule(self, scene: str) -> FundRule:
        rule = self.fund_rules.get(scene)
        if rule is None:
            raise refuse("INSTITUTION_TYPE", str(scene)[:40])
        return rule


# --- one parser and one renderer per rule ----------------------------------------------


class _Bad(ValueError):
    """Why a value is refused, in Chinese; the caller prefixes the rule's name."""


def _texts(value: object, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """A non-empty list of distinct strings, order kept (channels are shown in this order)."""
    if not isinstance(value, list) or not value:
        raise _Bad("须为非空列表")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _Bad(f"第 {i + 1} 项须为非空字符串")
        if allowed is not None and item not in allowed:
            raise _Bad(f"第 {i + 1} 项 {item!r} 不在 {', '.join(allowed)} 之中")
    if len(set(value)) != len(value):
        raise _Bad("有重复项")
    return tuple(value)


def _in_order(items: frozenset[str], order: tuple[str, ...]) -> list[str]:
    return [code for code in order if code in items]


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad("须为 true 或 false")
    return value


def _yuan(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _Bad("须为金额（元）")
    try:
        return to_fen(value)
    except DomainError as exc:
        raise _Bad(exc.message) from None


def _percent_bp(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _Bad("须为百分数")
    if isinstance(value, str) and not _PERCENT_TEXT.fullmatch(value):
        # Decimal() alone would take "１２" (full-width), " 12 ", "1e1" and "-0"
        raise _Bad("须为百分数，如 60 或 62.5")
    try:  # repr() gives back the digits written, so 62.5 is exactly 6250 bp
        bp = Decimal(repr(value) if isinstance(value, float) else value) * 100
    except InvalidOperation:
        raise _Bad("须为百分数") from None
    if not bp.is_finite() or bp != bp.to_integral_value() or not 0 <= bp <= BP_WHOLE:
        raise _Bad("须在 0–100 之间，最多两位小数")
    return int(bp)


_PERCENT_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)


def _percent(bp: int) -> int | float:
    return bp // 100 if bp % 100 == 0 else bp / 100


def _relations(value: object) -> frozenset[Relation]:
    return frozenset(Relation(r) for r in _texts(value, values(Relation)))


def _insutypes(value: object) -> frozenset[str]:
    return frozenset(_texts(value, INSUTYPES))


def _prefixes(value: object) -> tuple[str, ...]:
    prefixes = _texts(value)
    if not all(p.isascii() and p.isdigit() and 1 <= len(p) <= 6 for p in prefixes):
        raise _Bad("每项须为 1–6 位数字")
    return prefixes


def _expiry_days(value: object) -> int:
    if type(value) is not int or not 1 <= value <= 365:  # bool is not a day count
        raise _Bad("须为 1–365 的整数天数")
    return value


def _kinship(value: object) -> str:
    if value not in KINSHIP_VERIFICATIONS:
        raise _Bad(f"须为 {', '.join(KINSHIP_VERIFICATIONS)} 之一")
    return value


def _premiums(value: object) -> dict[int, int]:
    if not isinstance(value, dict):
        raise _Bad('须为按年份的金额表，如 {"2027": 420}')
    premiums = {}
    for year, amount in value.items():
        if not (isinstance(year, str) and year.isascii() and year.isdigit() and len(year) == 4
                and 2000 <= int(year) <= 2100):
            raise _Bad(f"年份 {str(year)[:10]!r} 须为 2000–2100 的四位年份")
        try:
            fen = _yuan(amount)
        except _Bad as bad:
            raise _Bad(f"{year}：{bad}") from None
        if fen <= 0:
            raise _Bad(f"{year}：缴费金额须大于 0")
        premiums[int(year)] = fen
    return premiums


def _render_premiums(premiums: dict[int, int]) -> dict[str, float]:
    return {str(year): to_yuan(fen) for year, fen in sorted(premiums.items())}


def _fund_rules(value: object) -> dict[str, FundRule]:
    if not isinstance(value, dict) or set(value) != set(FUND_SCENES):
        raise _Bad(f"须恰好包含 {', '.join(FUND_SCENES)}")
    rules = {}
    for scene in FUND_SCENES:
        table = value[scene]
        if not isinstance(table, dict) or set(table) != set(FUND_RULE_KEYS):
            raise _Bad(f"{scene} 须恰好包含 {', '.join(FUND_RULE_KEYS)}")
        try:
            rules[scene] = FundRule(deductible_fen=_yuan(table["deductible_yuan"]),
                                    ratio_bp=_percent_bp(table["ratio_percent"]),
                                    annual_cap_fen=_yuan(table["annual_cap_yuan"]))
        except _Bad as bad:
            raise _Bad(f"{scene}：{bad}") from None
    return rules


def _render_fund_rules(rules: dict[str, FundRule]) -> dict[str, dict]:
    return {scene: {"deductible_yuan": to_yuan(rule.deductible_fen),
                    "ratio_percent": _percent(rule.ratio_bp),
                    "annual_cap_yuan": to_yuan(rule.annual_cap_fen)}
            for scene, rule in rules.items()}


@dataclass(frozen=True)
class _Rule:
    field: str  # the RegionPolicy field it fills
    parse: Callable[[object], object]
    render: Callable[[object], object]


RULES: dict[str, _Rule] = {
    "admitted_relations": _Rule("admitted_relations", _relations,
                                lambda v: _in_order(v, values(Relation))),
    "helper_insutypes": _Rule("helper_insutypes", _insutypes, lambda v: _in_order(v, INSUTYPES)),
    "helper_requires_positive_balance": _Rule("helper_requires_positive_balance", _flag, bool),
    "beneficiary_insutypes": _Rule("beneficiary_insutypes", _insutypes,
                                   lambda v: _in_order(v, INSUTYPES)),
    "mutual_aid_area_prefixes": _Rule("mutual_aid_area_prefixes", _prefixes, list),
    "channels": _Rule("channels", lambda v: _texts(v, CHANNELS), list),
    "invitation_expiry_days": _Rule("invitation_expiry_days", _expiry_days, int),
    "kinship_verification": _Rule("kinship_verification", _kinship, str),
    "auto_end_on_insurance_change": _Rule("auto_end_on_insurance_change", _flag, bool),
    "mutual_aid_quota_enabled": _Rule("mutual_aid_quota_enabled", _flag, bool),
    "premium_yuan_by_year": _Rule("premium_fen_by_year", _premiums, _render_premiums),
    "fund_rules": _Rule("fund_rules", _fund_rules, _render_fund_rules),
}
RULE_NAMES = tuple(RULES)


def invalid(rule: str, why: str) -> DomainError:
    return refuse("INVALID_POLICY", f"{rule}：{why}")


def parse_rule(name: object, value: object) -> object:
    """The typed value of one rule, or INVALID_POLICY naming the rule and why."""
    rule = RULES.get(name) if isinstance(name, str) else None
    if rule is None:
        raise invalid(str(name)[:40], "未知规则")
    try:
        return rule.parse(value)
    except _Bad as bad:
        raise invalid(name, str(bad)) from None


def normalize_rules(changes: object) -> dict:
    """Rules as sent (a map of some rules) → the same rules in canonical plain form (what
    is stored): each checked on its own; checks across rules are build_policy's."""
    if not isinstance(changes, dict) or not changes:
        raise refuse("INVALID_POLICY", "rules 须为至少包含一条规则的对象")
    canonical = {}
    for name, value in sorted(changes.items(), key=lambda kv: str(kv[0])):
        typed = parse_rule(name, value)  # refuses an unknown name before it is looked up
        canonical[name] = RULES[name].render(typed)
    return canonical


def build_policy(admdvs: str, name: str, rules: dict, *, version: int | None = None,
                 effective_from: date | None = None, sources: dict | None = None,
                 examples: frozenset[str] = frozenset()) -> RegionPolicy:
    """A complete policy of one pooling region from its plain rules; INVALID_POLICY names
    the first missing, unknown or bad rule."""
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise invalid(unknown[0], "未知规则")
    missing = [r for r in RULE_NAMES if r not in rules]
    if missing:
        raise invalid(missing[0], "缺少此规则")
    typed = {RULES[r].field: parse_rule(r, rules[r]) for r in RULE_NAMES}
    if not admdvs.startswith(typed["mutual_aid_area_prefixes"]):
        raise invalid("mutual_aid_area_prefixes", f"须包含本统筹区 {admdvs}")
    return RegionPolicy(admdvs=admdvs, name=name, version=version, effective_from=effective_from,
                        sources=dict(sources or {}), examples=examples, **typed)


def render_rules(policy: RegionPolicy) -> dict:
    """Every rule of a policy in canonical plain form (what GET /policies answers)."""
    return {name: rule.render(getattr(policy, rule.field)) for name, rule in RULES.items()}


def apply_changes(rules: dict, changes: dict) -> dict:
    """A rule sent replaces that rule's whole value (a map too); the others keep theirs."""
    return {**rules, **changes}
