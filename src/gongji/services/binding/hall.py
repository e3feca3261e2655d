"""窗口查询: a clerk looks a person of the clerk's own region up by ID number and sees
what the person would see themself (counterparts masked, as always). A person of another
region is not found, exactly as an ID number nobody holds.

Every lookup that shows a clerk someone's data is written to the audit log (entity
"person", action "viewed_at_hall", what was shown), so the agency can answer who looked
at whose account and when; the operator reads it in the person's audit trail."""

from __future__ import annotations

from gongji.domain.policy_files import region_name
from gongji.services.binding.actor import Actor, AuditEvent, record
from gongji.services.binding.bindings import person_for_clerk
from gongji.services.context import Context

VIEWED = "viewed_at_hall"


def person_at_hall(ctx: Context, certno: object, clerk: Actor, view: str) -> str:
    """The psn_no of the person with this ID number, if the clerk's region is theirs;
    the lookup is audited in the same unit of work."""
    with ctx.uow() as uow:
        now = ctx.now()
        # another region's person: the unknown ID number's answer, and no audit row either
        person = person_for_clerk(uow.conn, certno, clerk, now)
        record(uow.conn, AuditEvent(now, "person", person.id, VIEWED, clerk, detail={
            "view": view, "clerk_admdvs": clerk.admdvs}))
        uow.commit()
    return person.psn_no


def with_region_name(person: dict) -> dict:
    """The record as the window reads it: the insurance region by its name (西藏阿里地区) beside
    its code, the name the region's policy carries (policy.name, the same in every version)."""
    return person | {"insuplc_name": region_name(person["insuplc_admdvs"])}
