"""Who may bind to whom (SPEC §1–§2): pure checks over snapshots of both parties."""

from __future__ import annotations

from dataclasses import dataclass

from gongji.domain.codes import AccountStatus, InsuStatus, KinshipVerification
from gongji.domain.errors import refuse
from gongji.domain.kinship import Relation
from gongji.domain.policy import RegionPolicy


@dataclass(frozen=True)
class Party:
    person_id: int
    insutype: str
    admdvs: str
    insu_stas: str  # InsuStatus
    account_status: str  # AccountStatus: normal | frozen | none
    balance_fen: int


def check_helper(helper: Party, policy: RegionPolicy) -> None:
    """共济人: a 310 member of the region, account normal, balance > 0 where required."""
    if helper.insu_stas != InsuStatus.INSURED:
        raise refuse("HELPER_NOT_ELIGIBLE", "参保状态非正常")
    if (helper.insutype not in policy.helper_insutypes
            or helper.account_status == AccountStatus.NONE):
        raise refuse("HELPER_NOT_ELIGIBLE", "须为职工医保参保人员且有个人账户")
    if helper.account_status != AccountStatus.NORMAL:
        raise refuse("HELPER_NOT_ELIGIBLE", "个人账户状态非正常")
    if policy.helper_requires_positive_balance and helper.balance_fen <= 0:
        raise refuse("HELPER_NOT_ELIGIBLE", "个人账户余额须大于 0")


def check_beneficiary(beneficiary: Party, policy: RegionPolicy) -> None:
    """被共济人: insured in basic medical insurance (310 or 390), status normal."""
    if beneficiary.insu_stas != InsuStatus.INSURED:
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
        return KinshipVerification.REGISTRY
    if (registered is None
            and helper_policy.kinship_verification == KinshipVerification.DECLARATION):
        # 承诺制: the helper's signed declaration stands in for the registry
        return KinshipVerification.DECLARATION
    raise refuse("KINSHIP_NOT_VERIFIED")


@dataclass(frozen=True)
class NamedRelative:
    """What the registry says about the person a helper named by ID number and name."""

    is_self: bool  # the helper's own ID number
    known: bool  # someone holds the ID number
    name_matches: bool  # ... under exactly that name
    registered: Relation | None  # the registry's kinship between the helper and them


def check_named_relative(named: NamedRelative, helper_policy: RegionPolicy) -> str:
    """May the helper learn anything about the person named? Returns the basis ("registry"
    or "declaration"), or refuses.

    Only a relative the kinship registry ties to the helper is told why an invitation
    fails (another name, ineligible, relation not admitted): the registry has already
    made them family. Anyone else gets KINSHIP_NOT_VERIFIED, whether the ID number is
    unknown, the name wrong or right, the person suspended or of another region, so an
    invitation cannot probe who is registered, under which name or with which status.
    In a 承诺制 region the helper's declaration is the basis for an unregistered
    relative: the invitation goes out (pending) once the ID number and name agree, and
    the relative's eligibility is checked when they accept, not told to the helper."""
    if named.is_self:
        raise refuse("SELF_BINDING")  # the caller's own number: nothing to hide
    if named.registered is not None:
        if not named.name_matches:
            raise refuse("NAME_MISMATCH")
        return KinshipVerification.REGISTRY
    if (helper_policy.kinship_verification == KinshipVerification.DECLARATION and named.known
            and named.name_matches):
        return KinshipVerification.DECLARATION
    raise refuse("KINSHIP_NOT_VERIFIED")


def verify_declared(helper: Party, relation: Relation, helper_policy: RegionPolicy) -> str:
    """An invitation on the helper's declaration (承诺制): only what concerns the helper
    is checked now; verify_pair runs in full when the relative accepts."""
    if not helper_policy.admits_relation(relation):
        raise refuse("RELATION_NOT_ADMITTED")
    check_helper(helper, helper_policy)
    return KinshipVerification.DECLARATION


def insurance_ended_or_moved(before: object, values: dict) -> bool:
    """The 2026 national rule's trigger: insurance ends (suspended) or moves region."""
    ended = (values.get("psn_insu_stas") == InsuStatus.SUSPENDED
             and before.psn_insu_stas != InsuStatus.SUSPENDED)
    moved = values.get("insuplc_admdvs", before.insuplc_admdvs) != before.insuplc_admdvs
    return ended or moved
