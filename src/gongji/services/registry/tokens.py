"""Who a token may be issued to: an existing person or institution, a clerk of a region."""

from __future__ import annotations

from gongji.domain.errors import refuse
from gongji.domain.policy_files import check_region
from gongji.services.context import Context
from gongji.store import repo

ROLES = ("person", "institution", "clerk")


def check_subject(ctx: Context, role: str, subject: str, admdvs: str | None) -> None:
    if role not in ROLES:
        raise refuse("INVALID_INPUT", "role 须为 person、institution 或 clerk")
    if not subject or len(subject) > 40 or not subject.isprintable():
        raise refuse("INVALID_INPUT", "subject 须为 1–40 个可打印字符")
    with ctx.read() as uow:
        if role == "person" and repo.person_by_psn_no(uow.conn, subject) is None:
            raise refuse("PERSON_NOT_FOUND")
        if role == "institution" and repo.institution_by_code(uow.conn, subject) is None:
            raise refuse("INSTITUTION_NOT_FOUND")
    if role == "clerk":
        if admdvs is None:
            raise refuse("INVALID_INPUT", "经办人员令牌须指定统筹区 admdvs")
        check_region(admdvs)
