"""The import rules, written once: what both import paths (row by row in
services/operations/imports.py, set-based on PostgreSQL in bulk.py) decide about a row.

Each verdict is pure: it is given what the registry holds for the row (looked up one
row at a time, or for a whole batch in one query) and answers insert | update |
unchanged, or raises the row's refusal.
"""

from __future__ import annotations

from datetime import datetime

from gongji.domain.eligibility import insurance_ended_or_moved
from gongji.domain.errors import refuse
from gongji.services.binding.actor import Actor
from gongji.services.binding.unbinding import end_for_insurance_change
from gongji.services.clock import local_date
from gongji.services.policy.versions import policy_on

IMPORT_ACTOR = Actor("operator", "import")
PERSON_CREDENTIALS_DIFFER = "人员编号与公民身份号码不是同一人"
OUTCOME = {"insert": "inserted", "update": "updated", "unchanged": "unchanged"}


def person_verdict(existing, card_holder_id: int | None, row) -> str:  # noqa: ANN001
    """A persons row against the person registered with its ID number (`existing`, or
    None) and the holder of its card number: a row that contradicts the registry is
    refused."""
    if existing is not None and existing.psn_name != row.psn_name:
        raise refuse("NAME_MISMATCH")
    if existing is not None and existing.insutype != row.insutype:
        raise refuse("INSUTYPE_MISMATCH", f"已登记为 {existing.insutype}")
    if row.card_no is not None and card_holder_id is not None and (
            existing is None or card_holder_id != existing.id):
        raise refuse("CARD_IN_USE")
    if existing is None:
        return "insert"
    if (existing.psn_insu_stas, existing.insuplc_admdvs) != (row.stas, row.admdvs) or (
            row.card_no is not None and row.card_no != existing.card_no):
        return "update"
    return "unchanged"


def kinship_verdict(person_id: int | None, relative_id: int | None,
                    registered: str | None, row) -> str:  # noqa: ANN001
    """A kinships row against the two persons and what the relative is registered as."""
    if person_id is None or relative_id is None:
        raise refuse("PERSON_NOT_FOUND")
    if registered is None:
        return "insert"
    if registered != row.relation:
        raise refuse("KINSHIP_CONFLICT")
    return "unchanged"


def institution_verdict(existing, row) -> str:  # noqa: ANN001
    """An institutions row against the institution registered with its code."""
    if existing is None:
        return "insert"
    if (existing.fixmedins_type, existing.admdvs) != (row.kind, row.admdvs):
        raise refuse("INSTITUTION_EXISTS", "类型或医保区划与已登记的不同")
    return "unchanged" if existing.fixmedins_name == row.name else "update"


def check_credited_person(found_certno: str | None, row) -> None:  # noqa: ANN001
    """The person a credit row names, by 人员编号 or else 公民身份号码 (`found_certno` is
    theirs, None when nobody): named by both, both must be the same person."""
    if found_certno is None:
        raise refuse("PERSON_NOT_FOUND")
    if row.psn_no and row.certno and found_certno != row.certno:
        raise refuse("INVALID_INPUT", PERSON_CREDENTIALS_DIFFER)


def credit_ref_verdict(earlier, person_id: int, amount_fen: int) -> str:  # noqa: ANN001
    """A credit against the one booked before with its ref (`earlier`, or None): the same
    credit again changes nothing, another one under that ref is refused."""
    if earlier is None:
        return "insert"
    if (earlier.person_id, earlier.amount_fen) != (person_id, amount_fen):
        raise refuse("CREDIT_REF_CONFLICT")
    return "unchanged"


def credit_verdict(found_certno: str | None, account_id: int | None, earlier,  # noqa: ANN001
                   person_id: int | None, row) -> str:
    """A credits row: the person it names, their account, then its ref (the order
    reference.credit_person refuses in, so an import and the REST call agree)."""
    check_credited_person(found_certno, row)
    if account_id is None:
        raise refuse("NO_ACCOUNT")
    return credit_ref_verdict(earlier, person_id, row.amount_fen)


def end_bindings_if_policy(conn, person_id: int, before: object,  # noqa: ANN001
                           stas: str, admdvs: str, now: datetime) -> list[int]:
    """When insurance ends or moves and the person's (former) region has switched on the
    2026 rule, their bindings end (services/unbinding.end_for_insurance_change)."""
    changes = {"psn_insu_stas": stas, "insuplc_admdvs": admdvs}
    if (insurance_ended_or_moved(before, changes)
            and policy_on(conn, before.insuplc_admdvs,
                          local_date(now)).auto_end_on_insurance_change):
        return end_for_insurance_change(conn, person_id, IMPORT_ACTOR, now)
    return []
