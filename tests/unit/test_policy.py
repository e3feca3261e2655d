"""Region policies: both bundled files load, every value is sourced, bad files are refused."""

import copy
import tomllib
from dataclasses import fields
from importlib import resources

import pytest

from gongji.domain.errors import DomainError
from gongji.domain.fund import FundRule
from gongji.domain.kinship import Relation
from gongji.domain.policy import (
    RegionPolicy,
    get_policy,
    known_regions,
    load_policies,
    parse_policy,
)

ALI, BAISE = "542500", "451000"


def _bundled_data(admdvs):
    path = resources.files("gongji").joinpath("policies", f"{admdvs}.toml")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _leaf_paths(node, prefix=""):
    """Dotted paths of every { value, source } table in a parsed policy file."""
    if "value" in node:
        return [prefix]
    return [p for k, v in node.items() for p in _leaf_paths(v, f"{prefix}.{k}" if prefix else k)]


def test_both_regions_are_bundled():
    assert known_regions() == (BAISE, ALI)
    assert set(load_policies()) == {ALI, BAISE}


def test_ali_rules_match_the_spec():
    ali = get_policy(ALI)
    assert ali.name == "西藏阿里地区"
    assert ali.admitted_relations == frozenset(Relation)
    assert ali.helper_insutypes == {"310"}
    assert ali.helper_requires_positive_balance is True
    assert ali.beneficiary_insutypes == {"310", "390"}
    assert ali.mutual_aid_area_prefixes == ("54",)
    assert ali.channels == ("national_app", "mini_program", "hall", "kiosk")
    assert ali.kinship_verification == "registry"
    assert ali.invitation_expiry_days == 7


def test_baise_rules_match_the_spec():
    baise = get_policy(BAISE)
    assert baise.name == "广西百色市"
    assert baise.admitted_relations == frozenset(Relation)
    assert baise.helper_requires_positive_balance is False
    assert baise.mutual_aid_area_prefixes == ("45",)
    assert baise.channels == ("national_app", "wechat", "website", "hall", "kiosk")


@pytest.mark.parametrize("admdvs", [ALI, BAISE])
def test_newer_national_rules_are_off_until_switched_on(admdvs):
    policy = get_policy(admdvs)
    assert policy.auto_end_on_insurance_change is False
    assert policy.mutual_aid_quota_enabled is False


@pytest.mark.parametrize("admdvs", [ALI, BAISE])
def test_every_value_in_the_file_has_a_source(admdvs):
    policy = get_policy(admdvs)
    leaves = _leaf_paths(_bundled_data(admdvs))
    assert set(policy.sources) == set(leaves)
    assert all(text.strip() for text in policy.sources.values())
    # every policy field is fed from the file
    fed = {p.split(".")[0] for p in leaves}
    fed = {"premium_fen_by_year" if f == "premium_yuan_by_year" else f for f in fed}
    assert fed == {f.name for f in fields(RegionPolicy)} - {"sources", "examples"}


@pytest.mark.parametrize("admdvs", [ALI, BAISE])
def test_fund_rules_and_premiums_are_marked_as_examples(admdvs):
    policy = get_policy(admdvs)
    for inst_type in ("hospital", "pharmacy"):
        for key in ("deductible_yuan", "ratio_percent", "annual_cap_yuan"):
            assert f"fund_rules.{inst_type}.{key}" in policy.examples
    assert {"premium_yuan_by_year.2025", "premium_yuan_by_year.2026"} <= policy.examples
    assert "assumption to confirm" in policy.sources["premium_yuan_by_year.2025"]
    assert "admdvs" not in policy.examples


@pytest.mark.parametrize("admdvs", [ALI, BAISE])
def test_premium_is_open_for_2025_and_2026_only(admdvs):
    policy = get_policy(admdvs)
    assert policy.premium_fen(2025) == 40000
    assert policy.premium_fen(2026) == 40000
    assert policy.premium_fen(2024) is None


def test_fund_rules_are_read_into_fen_and_basis_points():
    ali = get_policy(ALI)
    assert ali.fund_rule("hospital") == FundRule(20000, 6000, 200000)
    assert ali.fund_rule("pharmacy") == FundRule(0, 5000, 80000)


def test_unknown_institution_type_is_refused():
    with pytest.raises(DomainError) as err:
        get_policy(ALI).fund_rule("clinic")
    assert err.value.code == "INSTITUTION_TYPE"


def test_mutual_aid_area_is_the_whole_province():
    ali = get_policy(ALI)
    assert ali.in_mutual_aid_area("542521")
    assert ali.in_mutual_aid_area("540102")
    assert not ali.in_mutual_aid_area("451002")
    assert not ali.in_mutual_aid_area("54")
    assert get_policy(BAISE).in_mutual_aid_area("450100")


def test_admits_relation_by_policy():
    data = _bundled_data(ALI)
    data["admitted_relations"]["value"] = ["spouse", "parent", "child"]
    policy = parse_policy(data)
    assert policy.admits_relation(Relation.SPOUSE)
    assert not policy.admits_relation(Relation.SIBLING)


@pytest.mark.parametrize("admdvs", ["999999", "", "54250", None])
def test_unknown_region_is_refused(admdvs):
    with pytest.raises(DomainError) as err:
        get_policy(admdvs)
    assert err.value.code == "INVALID_REGION"


def _broken(mutate):
    data = copy.deepcopy(_bundled_data(ALI))
    mutate(data)
    return data


def _set(path, value):
    def mutate(data):
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("channels"), "missing keys"),
        (_set("surprise", {"value": 1, "source": "x"}), "unknown keys"),
        (_set("name", "西藏阿里地区"), "name: must be a table"),
        (_set("name.source", ""), "name: needs a non-empty source"),
        (_set("name.example", "yes"), "name: example must be"),
        (_set("name.note", "x"), "name: unknown keys"),
        (_set("admdvs.value", "5425"), "admdvs"),
        (_set("admitted_relations.value", ["cousin"]), "admitted_relations[0]"),
        (_set("admitted_relations.value", []), "admitted_relations"),
        (_set("helper_insutypes.value", ["320"]), "helper_insutypes[0]"),
        (_set("helper_requires_positive_balance.value", 1), "helper_requires_positive_balance"),
        (_set("mutual_aid_area_prefixes.value", ["45"]), "must include the region"),
        (_set("channels.value", ["hall", "hall"]), "duplicate"),
        (_set("channels.value", ["fax"]), "channels[0]"),
        (_set("invitation_expiry_days.value", 0), "invitation_expiry_days"),
        (_set("invitation_expiry_days.value", True), "invitation_expiry_days"),
        (_set("kinship_verification.value", "trust"), "kinship_verification"),
        (_set("premium_yuan_by_year.25", {"value": 400, "source": "x"}), "premium_yuan_by_year.25"),
        (_set("premium_yuan_by_year.2025.value", 400.001), "premium_yuan_by_year.2025"),
        (_set("premium_yuan_by_year.2025.value", 0), "premium must be positive"),
        (_set("premium_yuan_by_year.2025.value", "400"), "premium_yuan_by_year.2025"),
        (lambda d: d["fund_rules"].pop("pharmacy"), "fund_rules"),
        (lambda d: d["fund_rules"]["hospital"].pop("ratio_percent"), "fund_rules.hospital"),
        (_set("fund_rules.hospital.ratio_percent.value", 101), "ratio_percent"),
        (_set("fund_rules.hospital.ratio_percent.value", 60.001), "ratio_percent"),
        (_set("fund_rules.hospital.annual_cap_yuan.value", -1), "annual_cap_yuan"),
    ],
)
def test_malformed_policies_are_refused_with_a_clear_message(mutate, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(_broken(mutate))


def test_ratio_may_carry_two_decimals():
    policy = parse_policy(_broken(_set("fund_rules.hospital.ratio_percent.value", 62.5)))
    assert policy.fund_rule("hospital").ratio_bp == 6250


def test_a_directory_is_loaded_and_file_names_must_match_admdvs(tmp_path):
    text = resources.files("gongji").joinpath("policies", f"{ALI}.toml").read_text(encoding="utf-8")
    (tmp_path / f"{ALI}.toml").write_text(text, encoding="utf-8")
    (tmp_path / "README.txt").write_text("not a policy", encoding="utf-8")
    assert set(load_policies(tmp_path)) == {ALI}

    (tmp_path / "540000.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="540000.toml"):
        load_policies(tmp_path)


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path):
    (tmp_path / "542500.toml").write_text("admdvs = = 1", encoding="utf-8")
    with pytest.raises(ValueError, match="542500.toml"):
        load_policies(tmp_path)
