"""窗口查询: a clerk looks a person of the clerk's own region up by ID number and sees
what the person would see themself (counterparts masked, as always).

Every lookup that shows a clerk someone's data is written to the audit log (entity
"person", action "viewed_at_hall", what was shown), so the agency can answer who looked
at whose account and when; the operator reads it in the person's audit trail."""

from __future__ import annotations

from gongji.domain.errors import refuse
from gongji.domain.idcard import validate_certno
from gongji.services.binding import Actor, audit
from gongji.services.context import Context
from gongji.store import repo

VIEWED = "viewed_at_hall"


def person_at_hall(ctx: Context, certno: object, clerk: Actor, view: str) -> str:
    """The psn_no of the person with this ID number, if the clerk's region is theirs;
    the lookup is audited in the same unit of work."""
    number = validate_certno(certno)
    with ctx.uow() as uow:
        person = repo.person_by_certno(uow.conn, number)
        if person is None:
            raise refuse("PERSON_NOT_FOUND")
        if clerk.admdvs is None or person.insuplc_admdvs != clerk.admdvs:
            raise refuse("CLERK_REGION")
        audit(uow.conn, ctx.now(), "person", person.id, None, None, VIEWED, clerk, None, None,
              {"view": view, "clerk_admdvs": clerk.admdvs})
        uow.commit()
    return person.psn_no
