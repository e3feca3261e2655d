"""Notices: a helper always learns of every draw on, and refund to, their account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, func, insert, select, update

from gongji.domain.decision import Decision
from gongji.domain.errors import refuse
from gongji.domain.idcard import mask_name
from gongji.domain.money import to_yuan, yuan_text
from gongji.domain.policy import INPATIENT
from gongji.services.clock import iso, local
from gongji.services.context import Context
from gongji.services.reads.paging import parse_limit
from gongji.services.reads.views import relation_to_you
from gongji.store import repo
from gongji.store.schema import notices, settlements
from gongji.store.writebehind import defer

_INSERT_NOTICES = insert(notices).inline()  # no RETURNING: written behind


def _when(now: datetime) -> str:
    return local(now).strftime("%Y年%m月%d日 %H:%M")


def _relative(relation: str, beneficiary: Row) -> str:
    """The beneficiary as the helper who reads the notice says it: "您的母亲 卓*"."""
    word = relation_to_you(relation, True, beneficiary.certno)
    return f"您的{word} {mask_name(beneficiary.psn_name)}"


def for_settlement(conn: Connection, patient: Row, inst: Row, decision: Decision,
                   settlement_id: int, now: datetime, *, scene: str | None = None) -> None:
    """`scene` "inpatient": the helper is told it was a hospital stay (住院)."""
    rows = []
    stay = "住院" if scene == INPATIENT else ""
    for binding_id, amount_fen in decision.allocation.helpers:
        helper = decision.helpers[binding_id]
        text = (f"{_relative(helper.relation, patient)} 于 {_when(now)} 在 "
                f"{inst.fixmedins_name} {stay}使用共济资金 {yuan_text(amount_fen)} 元")
        rows.append({"person_id": helper.helper_id, "kind": "settlement", "text": text,
                     "amount_fen": -amount_fen, "at": now, "settlement_id": settlement_id})
        if decision.quota_used_up(binding_id, amount_fen):
            rows.append(quota_used_up(helper.helper_id, helper.relation, patient, now)
                        | {"settlement_id": settlement_id})
    if rows:
        defer(conn, _INSERT_NOTICES, rows)  # with the settlement's commit round trip


def quota_used_up(helper_id: int, relation: str, beneficiary: Row, now: datetime) -> dict:
    """共济额度已用完: the draw that took the last of a binding's quota tells the helper,
    who may set a new one (the relative draws nothing more from this binding until then)."""
    text = (f"您为{_relative(relation, beneficiary)} 设置的共济额度已于 {_when(now)} 用完，"
            f"如需继续共济，请重新设置额度")
    return {"person_id": helper_id, "kind": "quota_used_up", "text": text, "amount_fen": 0,
            "at": now}


def for_quota_used_up(conn: Connection, helper_id: int, relation: str, beneficiary: Row,
                      premium_id: int, now: datetime) -> None:
    """The same notice when a premium took the last of the quota."""
    conn.execute(insert(notices).values(**quota_used_up(helper_id, relation, beneficiary, now),
                                        premium_id=premium_id))


def for_reversal(conn: Connection, patient: Row, inst: Row, parts: list[Row],
                 settlement_id: int, now: datetime) -> None:
    rows = [{"person_id": part.helper_id, "kind": "reversal",
             "text": (f"{_relative(part.relation, patient)} 在 {inst.fixmedins_name} "
                      f"的结算已于 {_when(now)} 撤销，退回共济资金 {yuan_text(part.amount_fen)} 元"),
             "amount_fen": part.amount_fen, "at": now, "settlement_id": settlement_id}
            for part in parts]
    if rows:
        conn.execute(insert(notices), rows)


def for_premium(conn: Connection, helper_id: int, relation: str, beneficiary: Row,
                year: int, amount_fen: int, premium_id: int, now: datetime) -> None:
    text = (f"您已于 {_when(now)} 为{_relative(relation, beneficiary)} 代缴 {year} 年度"
            f"城乡居民医保费 {yuan_text(amount_fen)} 元")
    conn.execute(insert(notices).values(person_id=helper_id, kind="premium", text=text,
                                        amount_fen=-amount_fen, at=now, premium_id=premium_id))


def for_premium_reversal(conn: Connection, helper_id: int, relation: str,
                         beneficiary: Row, year: int, amount_fen: int, premium_id: int,
                         now: datetime) -> None:
    text = (f"您为{_relative(relation, beneficiary)} 代缴的 {year} 年度城乡居民医保费已于 "
            f"{_when(now)} 撤销，退回 {yuan_text(amount_fen)} 元")
    conn.execute(insert(notices).values(person_id=helper_id, kind="premium_reversal",
                                        text=text, amount_fen=amount_fen, at=now,
                                        premium_id=premium_id))


# --- the person's own notices ---------------------------------------------------------------


def list_notices(ctx: Context, psn_no: str, before: int | None = None, limit: object = None,
                 unread_only: bool = False) -> dict:
    """Newest first: {"notices", "unread", "next_before"}; `before` is a notice id."""
    size = parse_limit(limit)
    with ctx.read() as uow:
        person_id = _person_id(uow.conn, psn_no)
        n = notices.c
        query = (select(n.id, n.kind, n.text, n.amount_fen, n.at, n.read_at,
                        settlements.c.setl_id, n.premium_id)
                 .select_from(notices.outerjoin(settlements, settlements.c.id == n.settlement_id))
                 .where(n.person_id == person_id).order_by(n.id.desc()).limit(size + 1))
        if before is not None:
            query = query.where(n.id < before)
        if unread_only:
            query = query.where(n.read_at.is_(None))
        rows = uow.conn.execute(query).all()
        unread = uow.conn.execute(select(func.count()).where(
            n.person_id == person_id, n.read_at.is_(None))).scalar_one()
    page = rows[:size]
    return {"notices": [_notice_view(r) for r in page], "unread": unread,
            "next_before": page[-1].id if len(rows) > size else None}


def _notice_view(row: Row) -> dict:
    return {"notice_id": row.id, "kind": row.kind, "text": row.text,
            "amount": to_yuan(row.amount_fen), "time": iso(row.at), "read": row.read_at is not None,
            "read_at": iso(row.read_at), "setl_id": row.setl_id, "premium_id": row.premium_id}


def mark_read(ctx: Context, psn_no: str, notice_id: int) -> dict:
    """Mark one of the person's notices read (again: no change); another's is not found."""
    now = ctx.now()
    with ctx.uow() as uow:
        person_id = _person_id(uow.conn, psn_no)
        n = notices.c
        row = uow.conn.execute(select(n.id, n.read_at).where(
            n.id == notice_id, n.person_id == person_id)).first()
        if row is None:
            raise refuse("NOTICE_NOT_FOUND")
        read_at = row.read_at
        if read_at is None:
            uow.conn.execute(update(notices).where(n.id == notice_id).values(read_at=now))
            read_at = now
        uow.commit()
    return {"notice_id": notice_id, "read": True, "read_at": iso(read_at)}


def _person_id(conn: Connection, psn_no: str) -> int:
    person = repo.known_person(conn, psn_no)
    return person.id
