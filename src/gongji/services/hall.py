"""窗口查询: a clerk looks a person of the clerk's own region up by ID number and sees
what the person would see themself (counterparts masked, as always)."""

from __future__ import annotations

from gongji.domain.errors import refuse
from gongji.domain.idcard import validate_certno
from gongji.services.context import Context
from gongji.store import repo


def person_at_hall(ctx: Context, certno: object, clerk_admdvs: str | None) -> str:
    """The psn_no of the person with this ID number, if the clerk's region is theirs."""
    number = validate_certno(certno)
    with ctx.read() as uow:
        person = repo.person_by_certno(uow.conn, number)
    if person is None:
        raise refuse("PERSON_NOT_FOUND")
    if clerk_admdvs is None or person.insuplc_admdvs != clerk_admdvs:
        raise refuse("CLERK_REGION")
    return person.psn_no
