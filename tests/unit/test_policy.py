"""Region policies as data: every shipped file loads, every value is sourced, a province's
rules reach its regions, and a bad rule is refused with its name and why."""

import copy
import tomllib
from dataclasses import fields
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.domain.fund import FundRule
from gongji.domain.kinship import Relation
from gongji.domain.policy import (
    RULE_NAMES,
    RegionPolicy,
    build_policy,
    normalize_rules,
    render_rules,
)
from gongji.domain.policy_files import (
    check_region,
    known_regions,
    known_scopes,
    load_layers,
    parse_layer,
    regions_of,
    shipped_layers,
    shipped_policy,
)

ALI, BAISE = "542500", "451000"
TIBET = ("540100", "540200", "540300", "540400", "540500", "540600", "542500")
GUANGXI = tuple(f"45{n:02d}00" for n in range(1, 15))


def _file(admdvs):
    path = resources.files("gongji").joinpath("policies", f"{admdvs}.toml")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _leaf_paths(node, prefix=""):
    """Dotted paths of every { value, source } table in a parsed policy file."""
    if "value" in node:
        return [prefix]
    return [p for k, v in node.items() for p in _leaf_paths(v, f"{prefix}.{k}" if prefix else k)]


def test_every_pooling_region_of_tibet_and_guangxi_is_shipped():
    assert known_regions() == tuple(sorted(TIBET + GUANGXI))
    assert known_scopes() == tuple(sorted(TIBET + GUANGXI + ("540000", "450000")))
    assert regions_of("540000") == TIBET and regions_of("450000") == GUANGXI
    assert regions_of(ALI) == (ALI,)


@pytest.mark.parametrize("admdvs", TIBET + GUANGXI)
def test_every_region_has_a_complete_policy_with_province_wide_mutual_aid(admdvs):
    policy = shipped_policy(admdvs)
    assert policy.admdvs == admdvs and policy.name.startswith(("西藏", "广西"))
    assert policy.mutual_aid_area_prefixes == (admdvs[:2],)
    assert set(policy.fund_rules) == {"hospital", "pharmacy", "inpatient"}
    assert policy.auto_end_on_insurance_change is False
    assert policy.mutual_aid_quota_enabled is False
    # every value carries a source, and the example ones are marked as such
    assert set(render_rules(policy)) == set(RULE_NAMES)
    for path in policy.examples:
        assert path in policy.sources


@pytest.mark.parametrize("admdvs", known_scopes())
def test_every_value_of_every_file_is_sourced(admdvs):
    data = _file(admdvs)
    for path in _leaf_paths(data):
        node = data
        for key in path.split("."):
            node = node[key]
        assert node["source"].strip(), path


def test_a_region_without_a_text_of_its_own_inherits_every_rule_and_says_so():
    lhasa = shipped_layers()["540100"]
    assert lhasa.rules == {}
    text = resources.files("gongji").joinpath("policies", "540100.toml").read_text("utf-8")
    assert "Every rule is 540000.toml's" in text
    assert shipped_policy("540100").sources["channels"] == shipped_policy(ALI).sources["channels"]


def test_values_not_sourced_for_a_whole_province_are_examples_there():
    guangxi = shipped_layers()["450000"]
    assert {"kinship_verification", "helper_requires_positive_balance"} <= guangxi.examples
    # 百色's own text states them: not examples for Baise
    baise = shipped_policy(BAISE)
    assert "kinship_verification" not in baise.examples
    assert "seed 001" in baise.sources["helper_requires_positive_balance"]
    assert "kinship_verification" in shipped_policy("450100").examples


def test_ali_rules_match_the_spec():
    ali = shipped_policy(ALI)
    assert ali.name == "西藏阿里地区"
    assert ali.admitted_relations == frozenset(Relation)
    assert ali.helper_insutypes == {"310"}
    assert ali.helper_requires_positive_balance is True
    assert ali.beneficiary_insutypes == {"310", "390"}
    assert ali.mutual_aid_area_prefixes == ("54",)
    assert ali.channels == ("national_app", "mini_program", "hall", "kiosk")
    assert ali.kinship_verification == "registry"
    assert ali.invitation_expiry_days == 7
    assert ali.premium_fen(2025) == 40000 and ali.premium_fen(2024) is None


def test_baise_rules_match_the_spec():
    baise = shipped_policy(BAISE)
    assert baise.name == "广西百色市"
    assert baise.admitted_relations == frozenset(Relation)
    assert baise.helper_requires_positive_balance is False
    assert baise.mutual_aid_area_prefixes == ("45",)
    assert baise.channels == ("national_app", "wechat", "website", "hall", "kiosk")
    assert baise.fund_rule("hospital") == FundRule(20000, 6000, 200000)
    assert baise.fund_rule("inpatient") == FundRule(50000, 8000, 10000000)
    assert "inpatient" in " ".join(p for p in baise.examples if p.startswith("fund_rules"))


def test_every_rule_fills_a_field():
    typed = {f.name for f in fields(RegionPolicy)} - {"sources", "examples", "version",
                                                      "effective_from", "admdvs", "name"}
    assert len(RULE_NAMES) == len(typed)


@pytest.mark.parametrize("admdvs", ["999999", "", "54250", None, "540000"])
def test_an_unknown_region_or_a_province_is_not_a_pooling_region(admdvs):
    with pytest.raises(DomainError) as err:
        check_region(admdvs)
    assert err.value.code == "INVALID_REGION"


def test_mutual_aid_area_is_the_province():
    assert shipped_policy(BAISE).in_mutual_aid_area("450100")
    assert not shipped_policy(BAISE).in_mutual_aid_area("540100")
    assert not shipped_policy(BAISE).in_mutual_aid_area("45")


# --- a rule refused with its name and why --------------------------------------------------

BAD_RULES = [
    ({"surprise": 1}, "surprise：未知规则"),
    ({"admitted_relations": ["cousin"]}, "admitted_relations：第 1 项"),
    ({"admitted_relations": []}, "admitted_relations：须为非空列表"),
    ({"helper_insutypes": ["320"]}, "helper_insutypes"),
    ({"helper_requires_positive_balance": 1}, "helper_requires_positive_balance：须为 true"),
    ({"channels": ["hall", "hall"]}, "channels：有重复项"),
    ({"channels": ["fax"]}, "channels：第 1 项"),
    ({"mutual_aid_area_prefixes": ["4x"]}, "mutual_aid_area_prefixes：每项须为"),
    ({"invitation_expiry_days": 0}, "invitation_expiry_days"),
    ({"invitation_expiry_days": True}, "invitation_expiry_days"),
    ({"invitation_expiry_days": Decimal("7.0")}, "invitation_expiry_days"),
    ({"kinship_verification": "trust"}, "kinship_verification"),
    ({"premium_yuan_by_year": {"25": 400}}, "premium_yuan_by_year：年份"),
    ({"premium_yuan_by_year": {"2027": "400.001"}}, "premium_yuan_by_year：2027："),
    ({"premium_yuan_by_year": {"2027": 0}}, "缴费金额须大于 0"),
    ({"premium_yuan_by_year": [420]}, "premium_yuan_by_year"),
    ({"fund_rules": {"hospital": {}}}, "fund_rules：须恰好包含"),
    ({"auto_end_on_insurance_change": "yes"}, "auto_end_on_insurance_change"),
]


@pytest.mark.parametrize(("rules", "message"), BAD_RULES)
def test_a_bad_rule_is_refused_with_its_name_and_why(rules, message):
    with pytest.raises(DomainError) as err:
        normalize_rules(rules)
    assert err.value.code == "INVALID_POLICY" and err.value.status == 422
    assert message in err.value.message


def _fund(**scene_changes):
    rules = render_rules(shipped_policy(ALI))["fund_rules"]
    for scene, values in scene_changes.items():
        rules[scene] = {**rules[scene], **values}
    return {"fund_rules": rules}


@pytest.mark.parametrize(("rules", "message"), [
    (_fund(hospital={"ratio_percent": 101}), "fund_rules：hospital：须在 0–100"),
    (_fund(inpatient={"ratio_percent": "60.001"}), "fund_rules：inpatient"),
    *[(_fund(hospital={"ratio_percent": text}), "fund_rules：hospital：须为百分数")
      for text in ("１２", " 12", "12 ", "1e1", "-0", "+5", "", "12.", ".5", "NaN")],
    (_fund(pharmacy={"annual_cap_yuan": -1}), "fund_rules：pharmacy：金额不合法"),
    ({"fund_rules": {k: v for k, v in _fund()["fund_rules"].items() if k != "inpatient"}},
     "须恰好包含 hospital, pharmacy, inpatient"),
])
def test_a_bad_fund_rule_names_its_scene(rules, message):
    with pytest.raises(DomainError) as err:
        normalize_rules(rules)
    assert message in err.value.message


def test_a_policy_must_be_complete_and_reach_its_own_region():
    rules = render_rules(shipped_policy(ALI))
    with pytest.raises(DomainError, match="channels：缺少此规则"):
        build_policy(ALI, "阿里", {k: v for k, v in rules.items() if k != "channels"})
    with pytest.raises(DomainError, match="mutual_aid_area_prefixes：须包含本统筹区"):
        build_policy(ALI, "阿里", {**rules, "mutual_aid_area_prefixes": ["45"]})


def test_ratio_and_money_are_exact():
    rules = normalize_rules(_fund(hospital={"ratio_percent": 62.5, "deductible_yuan": "0.10"}))
    assert rules["fund_rules"]["hospital"]["ratio_percent"] == 62.5
    policy = build_policy(ALI, "阿里", {**render_rules(shipped_policy(ALI)), **rules})
    assert policy.fund_rule("hospital").ratio_bp == 6250
    assert policy.fund_rule("hospital").deductible_fen == 10


# --- canonical form: what is stored is what is shown is what is applied -------------------

yuan = st.integers(min_value=0, max_value=99_999_999_99).map(lambda fen: Decimal(fen).scaleb(-2))
scene = st.fixed_dictionaries({
    "deductible_yuan": yuan, "annual_cap_yuan": yuan,
    "ratio_percent": st.integers(0, 10_000).map(lambda bp: Decimal(bp).scaleb(-2))})
any_rules = st.fixed_dictionaries({}, optional={
    "admitted_relations": st.lists(st.sampled_from(list(Relation)), min_size=1, unique=True),
    "channels": st.lists(st.sampled_from(["national_app", "hall", "kiosk", "wechat"]),
                         min_size=1, unique=True),
    "invitation_expiry_days": st.integers(1, 365),
    "premium_yuan_by_year": st.dictionaries(st.integers(2000, 2100).map(str),
                                            yuan.filter(lambda y: y > 0), max_size=3),
    "fund_rules": st.fixed_dictionaries({"hospital": scene, "pharmacy": scene,
                                         "inpatient": scene}),
    "auto_end_on_insurance_change": st.booleans(),
}).filter(bool)


@given(any_rules)
def test_the_canonical_form_is_a_fixed_point_and_keeps_every_fen(rules):
    once = normalize_rules(rules)
    assert normalize_rules(once) == once
    policy = build_policy(ALI, "阿里", {**render_rules(shipped_policy(ALI)), **once})
    if "fund_rules" in rules:
        sent = rules["fund_rules"]["hospital"]
        assert policy.fund_rule("hospital").deductible_fen == int(sent["deductible_yuan"] * 100)
        assert policy.fund_rule("hospital").ratio_bp == int(sent["ratio_percent"] * 100)
    if "premium_yuan_by_year" in rules:
        assert policy.premium_fen_by_year == {
            int(y): int(v * 100) for y, v in rules["premium_yuan_by_year"].items()}


# --- the files ---------------------------------------------------------------------------------


def _broken(admdvs, mutate):
    data = copy.deepcopy(_file(admdvs))
    mutate(data)
    return data


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("name"), "missing keys"),
    (lambda d: d.update(name="阿里"), "name: must be a table"),
    (lambda d: d["name"].update(source=""), "name: needs a non-empty source"),
    (lambda d: d["name"].update(example="yes"), "name: example must be"),
    (lambda d: d["name"].update(note="x"), "name: unknown keys"),
    (lambda d: d["admdvs"].update(value="5425"), "admdvs"),
    (lambda d: d.update(surprise={"value": 1, "source": "x"}), "surprise：未知规则"),
])
def test_a_malformed_file_is_refused_with_a_clear_message(mutate, message):
    with pytest.raises(ValueError, match=message):
        parse_layer(_broken(ALI, mutate))


def _copy_files(tmp_path, *names):
    for name in names:
        text = resources.files("gongji").joinpath("policies", f"{name}.toml").read_text("utf-8")
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")


def test_a_directory_is_loaded_and_file_names_must_match_admdvs(tmp_path):
    _copy_files(tmp_path, "540000", ALI)
    (tmp_path / "README.txt").write_text("not a policy", encoding="utf-8")
    assert set(load_layers(tmp_path)) == {"540000", ALI}
    (tmp_path / "540100.toml").write_text(
        (tmp_path / f"{ALI}.toml").read_text("utf-8"), encoding="utf-8")
    with pytest.raises(ValueError, match="540100.toml"):
        load_layers(tmp_path)


def test_a_region_without_its_province_file_is_refused(tmp_path):
    _copy_files(tmp_path, ALI)
    with pytest.raises(ValueError, match=f"{ALI}.toml"):
        load_layers(tmp_path)


def test_a_province_whose_rules_break_a_region_is_refused(tmp_path):
    _copy_files(tmp_path, "540000", ALI)
    path = tmp_path / "540000.toml"
    path.write_text(path.read_text("utf-8").replace('value = ["54"]', 'value = ["45"]'), "utf-8")
    with pytest.raises(ValueError, match="mutual_aid_area_prefixes"):
        load_layers(tmp_path)


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path):
    (tmp_path / "542500.toml").write_text("admdvs = = 1", encoding="utf-8")
    with pytest.raises(ValueError, match="542500.toml"):
        load_layers(tmp_path)
