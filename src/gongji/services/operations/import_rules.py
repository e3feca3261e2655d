"""What both import paths (row by row, and the PostgreSQL bulk path) share."""

from __future__ import annotations

from datetime import datetime

from gongji.domain.eligibility import insurance_ended_or_moved
from gongji.domain.policy import get_policy
from gongji.services.binding.actor import Actor
from gongji.services.binding.unbinding import end_for_insurance_change

IMPORT_ACTOR = Actor("operator", "import")
PERSON_CREDENTIALS_DIFFER = "人员编号与公民身份号码不是同一人"


def end_bindings_if_policy(conn, person_id: int, before: object,  # noqa: ANN001
                           stas: str, admdvs: str, now: datetime) -> list[int]:
    """When insurance ends or moves and the person's (former) region has switched on the
    2026 rule, their bindings end (services/unbinding.end_for_insurance_change)."""
    changes = {"psn_insu_stas": stas, "insuplc_admdvs": admdvs}
    if (insurance_ended_or_moved(before, changes)
            and get_policy(before.insuplc_admdvs).auto_end_on_insurance_change):
        return end_for_insurance_change(conn, person_id, IMPORT_ACTOR, now)
    return []
