"""签到 9001 / 签退 9002, and the envelope's sign_no rule.

A sign-in belongs to one institution and is current until its 9002 or the end of its
Asia/Shanghai day, whichever comes first: real HIS sign in every morning (and a sign_no
kept overnight would be a credential that never expires). An envelope whose non-empty
`sign_no` is not a current sign-in of the calling institution is refused (SIGN_NO_INVALID)
before anything is done; an absent or empty one is accepted, as CONTRACT v2 says.

9001 and 9002 run exactly once per msgid (the gateway keys them like money codes): a 9001
whose answer was lost and is sent again gets the same sign_no back instead of opening a
second sign-in the HIS never learns of, and a retried 9002 gets its first answer instead
of SIGN_NO_INVALID for the sign-in it ended itself.

9002's `opter_no` is required but not compared with the sign-in's: one counter's operators
share the institution's sign-in, as HIS deployments sign in once per terminal and day.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from gongji.domain.errors import refuse
from gongji.domain.text import check_printable
from gongji.services.clock import inf_time, local, local_date
from gongji.store import repo
from gongji.store.schema import institutions, sign_ins

SIGN_NO_MAX = 30


@dataclass(frozen=True)
class SignIn:
    opter_no: str
    mac: str
    ip: str


@dataclass(frozen=True)
class SignOut:
    sign_no: str
    opter_no: str


def _field(given: dict, name: str, longest: int, *, required: bool) -> str:
    value = given.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value.strip()) > longest or (
            required and not value.strip()):
        need = f"1–{longest}" if required else f"至多 {longest}"
        raise refuse("INVALID_INPUT", f"{name} 须为{need}个字符")
    return check_printable(value.strip(), name)


def _member(given: dict, name: str) -> dict:
    member = given.get(name)
    if not isinstance(member, dict):
        raise refuse("INVALID_INPUT", f"input.{name} 须为对象")
    return member


def parse_sign_in(given: dict) -> SignIn:
    """input.signIn {opter_no, mac, ip}: the operator is required, mac and ip may be empty."""
    member = _member(given, "signIn")
    return SignIn(_field(member, "opter_no", 30, required=True),
                  _field(member, "mac", 64, required=False),
                  _field(member, "ip", 64, required=False))


def parse_sign_out(given: dict) -> SignOut:
    """input.signOut {sign_no, opter_no}."""
    member = _member(given, "signOut")
    return SignOut(_field(member, "sign_no", SIGN_NO_MAX, required=True),
                   _field(member, "opter_no", 30, required=True))


def _institution_id(conn: Connection, code: str) -> int:
    inst = repo.institution_by_code(conn, code)
    if inst is None:
        raise refuse("INSTITUTION_NOT_FOUND")
    return inst.id


def sign_in(conn: Connection, code: str, msgid: str, request: SignIn, now: datetime) -> dict:
    """9001: a new sign_no for this institution, current for the rest of today."""
    institution_id = _institution_id(conn, code)
    sign_no = f"{local(now):%Y%m%d%H%M%S}{secrets.token_hex(8).upper()}"  # 30 characters
    conn.execute(insert(sign_ins).values(
        sign_no=sign_no, institution_id=institution_id, opter_no=request.opter_no,
        mac=request.mac, ip=request.ip, msgid=msgid, signed_in_at=now,
        sign_date=local_date(now)))
    return {"signinoutb": {"sign_time": inf_time(now), "sign_no": sign_no}}


def _current(code_id: int, sign_no: str, now: datetime):  # noqa: ANN202 (a where clause)
    c = sign_ins.c
    return (c.sign_no == sign_no, c.institution_id == code_id, c.signed_out_at.is_(None),
            c.sign_date == local_date(now))


def sign_out(conn: Connection, code: str, msgid: str, request: SignOut, now: datetime) -> dict:
    """9002: ends a current sign-in of this institution (a guarded update: one 9002 wins)."""
    institution_id = _institution_id(conn, code)
    ended = conn.execute(update(sign_ins).where(*_current(institution_id, request.sign_no, now))
                         .values(signed_out_at=now, signout_msgid=msgid)).rowcount
    if ended != 1:
        raise refuse("SIGN_NO_INVALID")
    return {"signoutoutb": {"sign_time": inf_time(now)}}


_CURRENT_OF = (select(sign_ins.c.id)
               .join(institutions, institutions.c.id == sign_ins.c.institution_id)
               .where(institutions.c.fixmedins_code == bindparam("code"),
                      sign_ins.c.sign_no == bindparam("sign_no"),
                      sign_ins.c.signed_out_at.is_(None),
                      sign_ins.c.sign_date == bindparam("today")))


def require_current(conn: Connection, code: str, sign_no: str, now: datetime) -> None:
    """The envelope rule: a sign_no that is sent must be a current sign-in of the caller
    (one indexed read, on the unique sign_no)."""
    found = conn.execute(_CURRENT_OF, {"code": code, "sign_no": sign_no,
                                       "today": local_date(now)}).first()
    if found is None:
        raise refuse("SIGN_NO_INVALID")
