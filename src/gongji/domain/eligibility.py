"""Who may bind to whom (SPEC §1–§2): pure checks over snapshots of both parties."""

from __future__ import annotations

from dataclasses import dataclass

from gongji.domain.errors import refuse
from gongji.domain.kinship import Relation
from gongji.domain.policy import RegionPolicy


@dataclass(frozen=True)
class Party:
    person_id: int
    insutype: str
    admdvs: str
    insu_stas: str  # '1' insured, '2' suspended
    account_status: str  # normal | frozen | none
    balance_fen: int


def check_helper(helper: Party, policy: RegionPolicy) -> None:
    """共济人: a 310 member of the region, account normal, balance > 0 where required."""
    if helper.insu_stas != "1":
        raise refuse("HELPER_NOT_ELIGIBLE", "参保状态非正常")
    if helper.insutype not in policy.helper_insutypes or helper.account_status == "none":
        raise refuse("HELPER_NOT_ELIGIBLE", "须为职工医保参保人员且有个人账户")
    if helper.account_status != "normal":
        raise refuse("HELPER_NOT_ELIGIBLE", "个人账户状态非正常")
    if policy.helper_requires_positive_balance and helper.balance_fen <= 0:
        raise refuse("HELPER_NOT_ELIGIBLE", "个人账户余额须大于 0")


def check_beneficiary(beneficiary: Party, policy: RegionPolicy) -> None:
    """被共济人: insured in basic medical insurance (310 or 390), status normal."""
    if beneficiary.insu_stas != "1":
        raise refuse("BENEFICIARY_NOT_ELIGIBLE", "参保状态非正常")
    if beneficiary.insutype not in policy.beneficiary_insutypes:
        raise refuse("BENEFICIARY_NOT_ELIGIBLE", "须为基本医疗保险参保人员")


def verify_pair(helper: Party, beneficiary: Party, relation: Relation,
                registered: Relation | None, helper_policy: RegionPolicy,
                beneficiary_policy: RegionPolicy) -> str:
    """Every check for a new binding; returns how the kinship was verified.

    `relation` is what the beneficiary is to the helper; `registered` is what the
    kinship registry says, if anything. Both regions' policies must admit it."""
    if helper.person_id == beneficiary.person_id:
        raise refuse("SELF_BINDING")
    if not (helper_policy.admits_relation(relation)
            and beneficiary_policy.admits_relation(relation)):
        raise refuse("RELATION_NOT_ADMITTED")
    check_helper(helper, helper_policy)
    check_beneficiary(beneficiary, beneficiary_policy)
    if registered == relation:
        return "registry"
    if registered is None and helper_policy.kinship_verification == "declaration":
        return "declaration"  # 承诺制: the helper's signed declaration stands in for the registry
    raise refuse("KINSHIP_NOT_VERIFIED")
