"""2601 冲正: undo a message whose answer the institution never received.

A HIS that lost the answer of its 2207 (or a pharmacy its 2102, or a HIS its 2201 挂号)
cannot know whether it was done. It sends 2601 naming the original message (`omsgid`,
`oinfno`): if that message settled, the settlement is reversed exactly as 2208 / 2103 would
reverse it (same answer; a registration is cancelled as 2202 would); if it did not, nothing
moves. Either way the msgid is spent: the original, sent again or
arriving late, is refused (MSG_REVERSED) and can never settle.

The race with the original is closed by one unique key. The original's `run_once` claims
(fsi:CODE, msgid) in the idempotency table first thing in its unit of work; the correction
claims the same key (idempotency.spend) first thing in its own. Two inserts of one key on a
unique index wait for each other on PostgreSQL (SQLite has one writer), so the two units of
work serialise: either the original committed first and the correction finds its settlement
and reverses it, or the correction committed first and the original finds the key spent
(MSG_REVERSED) and moves nothing. Idempotency records are purged after their retention; a
spent msgid is also written to spent_msgids, which is never purged, and the gateway refuses
any exactly-once message whose msgid is in it.

The correction itself is exactly-once by its own msgid (the gateway runs it like a money code).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.domain.errors import refuse
from gongji.domain.text import check_printable
from gongji.domain.visit import VisitRef
from gongji.services.idempotent import gateway_scope
from gongji.services.settlement import settle, visits
from gongji.store import idempotency
from gongji.store.held import held
from gongji.store.schema import institutions, settlements, spent_msgids

# What each original code is undone as: (the code that undoes it, the institution type).
UNDONE_AS = {"2207": ("2208", "hospital"), "2102": ("2103", "pharmacy"),
             "2304": ("2305", "hospital"), "2201": ("2202", "hospital")}
REGISTRATION, REGISTRATION_UNDO = "2201", "2202"


@dataclass(frozen=True)
class Correction:
    psn_no: str
    omsgid: str
    oinfno: str


def _text(data: dict, name: str, longest: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > longest:
        raise refuse("INVALID_INPUT", f"{name} 须为 1–{longest} 个字符")
    return check_printable(value.strip(), name)


def parse_correction(data: dict) -> Correction:
    """input.data {psn_no, omsgid, oinfno}; an original code we cannot undo is refused here,
    before any unit of work."""
    oinfno = data.get("oinfno")
    if not isinstance(oinfno, str) or not oinfno.strip():
        raise refuse("INVALID_INPUT", "oinfno 必填")
    if oinfno.strip() not in UNDONE_AS:
        raise refuse("INFNO_UNSUPPORTED", f"2601 不能冲正 {oinfno.strip()[:8]}")
    return Correction(_text(data, "psn_no", 30), _text(data, "omsgid", 64), oinfno.strip())


def correct(conn: Connection, code: str, msgid: str, request: Correction,
            now: datetime) -> dict:
    """Reverse what `omsgid` settled at this institution, or spend `omsgid` for good."""
    if request.omsgid == msgid:
        raise refuse("INVALID_INPUT", "omsgid 不能是本报文自身的 msgid")
    undo_infno, inst_type = UNDONE_AS[request.oinfno]
    inst = settle.institution_for(conn, code, request.oinfno, inst_type)
    # First: the key the original claims. From here on the original has either committed
    # (its settlement is visible below) or will find the key spent.
    scope = gateway_scope(code)
    idempotency.spend(conn, scope, request.omsgid, now)
    if request.oinfno == REGISTRATION:
        return _undo_registration(conn, code, inst.id, request, msgid, now)
    original = conn.execute(select(settlements.c.setl_id, settlements.c.infno).where(
        settlements.c.institution_id == inst.id,
        settlements.c.msgid == request.omsgid)).first()
    if original is None:
        _spend(conn, inst.id, request, msgid, now)
        return _not_done(request)
    if original.infno != request.oinfno:
        raise refuse("SETTLEMENT_NOT_FOUND", f"报文 {request.omsgid} 不是 {request.oinfno} 结算")
    answer = settle.reverse(conn, code, undo_infno, original.setl_id, request.psn_no, now,
                            inst_type=inst_type)
    _spend_undone(conn, code, inst.id, request, msgid, now)
    return answer


def _not_done(request: Correction) -> dict:
    return {"omsgid": request.omsgid, "oinfno": request.oinfno, "psn_no": request.psn_no,
            "reversed": False, "msg_spent": True,
            "dscr": "原交易未办理，未动用资金；该报文号已作废，不能再使用"}


def _undo_registration(conn: Connection, code: str, institution_id: int,
                       request: Correction, msgid: str, now: datetime) -> dict:
    """2601 of a 2201: the visit that message registered is cancelled as 2202 would (answer
    and refusals the same: VISIT_SETTLED, VISIT_CANCELLED, VISIT_NOT_FOUND for another
    patient); a registration that never happened spends its msgid."""
    visit = visits.registered_by(conn, code, request.omsgid)
    if visit is None:
        _spend(conn, institution_id, request, msgid, now)
        return _not_done(request)
    answer = visits.cancel(conn, code, REGISTRATION_UNDO,
                           VisitRef(visit.mdtrt_id, request.psn_no, None), now)
    _spend_undone(conn, code, institution_id, request, msgid, now)
    return answer


def _spend_undone(conn: Connection, code: str, institution_id: int, request: Correction,
                  msgid: str, now: datetime) -> None:
    """Undone messages are spent too: a late retry of the original is refused, not answered
    with the settlement (or visit) that no longer stands."""
    idempotency.mark_spent(conn, gateway_scope(code), request.omsgid)
    _spend(conn, institution_id, request, msgid, now)


_SPEND = {name: insert_fn(spent_msgids).on_conflict_do_nothing(
              index_elements=["institution_id", "msgid"])
          for name, insert_fn in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def _spend(conn: Connection, institution_id: int, request: Correction, msgid: str,
           now: datetime) -> None:
    """omsgid is spent for good (the first correction that named it is the one recorded)."""
    conn.execute(_SPEND[conn.dialect.name], {
        "institution_id": institution_id, "msgid": request.omsgid, "oinfno": request.oinfno,
        "by_msgid": msgid, "spent_at": now})


_SPENT_AT = (select(spent_msgids.c.msgid)
             .join(institutions, institutions.c.id == spent_msgids.c.institution_id)
             .where(institutions.c.fixmedins_code == bindparam("code"),
                    spent_msgids.c.msgid == bindparam("msgid")))


def refuse_if_spent(conn: Connection, code: str, msgid: str) -> None:
    """An exactly-once message whose msgid a 2601 spent is refused, even once the
    idempotency record that first said so has been purged (one indexed read, or none
    when the batch looked it up with its others: settlement/prelock.py)."""
    rows = held(conn)
    if rows is not None and (code, msgid) in rows.msgids_checked:
        if (code, msgid) in rows.spent:
            raise refuse("MSG_REVERSED")
        return
    if conn.execute(_SPENT_AT, {"code": code, "msgid": msgid}).first() is not None:
        raise refuse("MSG_REVERSED")
