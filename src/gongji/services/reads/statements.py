"""The patient's own settlements with the full breakdown: what each took from whom."""

from __future__ import annotations

from sqlalchemy import Connection, Row, and_, or_, select

from gongji.domain.idcard import mask_certno, mask_name
from gongji.domain.money import to_yuan
from gongji.services.clock import iso
from gongji.services.context import Context
from gongji.services.reads.paging import decode_cursor, encode_cursor, parse_limit, parse_period
from gongji.services.reads.views import relation_to_you, settlement_amounts
from gongji.store import repo
from gongji.store.schema import institutions, persons, settlement_mulaid, settlements

MAX_SETTLEMENTS = 500


def list_settlements(ctx: Context, psn_no: str, date_from: object = None,
                     date_to: object = None, cursor: object = None,
                     limit: object = None) -> dict:
    """Settlements dated in the period (inclusive Asia/Shanghai days), newest first."""
    period = parse_period(date_from, date_to)
    after = decode_cursor(cursor)
    size = parse_limit(limit, default=MAX_SETTLEMENTS, maximum=MAX_SETTLEMENTS)
    with ctx.read() as uow:
        conn = uow.conn
        person = repo.known_person(conn, psn_no)
        s = settlements.c
        query = (select(settlements, institutions.c.fixmedins_code,
                        institutions.c.fixmedins_name)
                 .join(institutions, institutions.c.id == s.institution_id)
                 .where(s.person_id == person.id)
                 .order_by(s.setl_time.desc(), s.id.desc()).limit(size + 1))
        if period.start is not None:
            query = query.where(s.setl_time >= period.start)
        if period.end is not None:
            query = query.where(s.setl_time < period.end)
        if after is not None:
            query = query.where(s.setl_time <= after.at, or_(
                s.setl_time < after.at, and_(s.setl_time == after.at, s.id < after.row_id)))
        rows = conn.execute(query).all()
        page = rows[:size]
        details = _mulaid(conn, [row.id for row in page])
    return {"settlements": [settlement_view(row, details.get(row.id, [])) for row in page],
            "next_cursor": (encode_cursor(page[-1].setl_time, page[-1].id)
                            if len(rows) > size else None)}


def _mulaid(conn: Connection, settlement_ids: list[int]) -> dict[int, list[dict]]:
    """Each settlement's helper lines, helpers masked, in the order they were drawn."""
    if not settlement_ids:
        return {}
    m = settlement_mulaid.c
    rows = conn.execute(
        select(m.settlement_id, m.binding_id, m.relation, m.amount_fen, persons.c.certno,
               persons.c.psn_name)
        .join(persons, persons.c.id == m.helper_id)
        .where(m.settlement_id.in_(settlement_ids)).order_by(m.settlement_id, m.seq)).all()
    found: dict[int, list[dict]] = {}
    for row in rows:
        found.setdefault(row.settlement_id, []).append({
            "helper_certno": mask_certno(row.certno), "helper_name": mask_name(row.psn_name),
            "relation": row.relation, "binding_id": row.binding_id,
            # the reader is the patient, the beneficiary: the helper's side inverted
            "relation_to_you": relation_to_you(row.relation, False, row.certno),
            "amount": to_yuan(row.amount_fen)})
    return found


def settlement_view(row: Row, mulaid_detail: list[dict]) -> dict:
    return {
        "setl_id": row.setl_id, "setl_time": iso(row.setl_time),
        "fixmedins_code": row.fixmedins_code, "fixmedins_name": row.fixmedins_name,
        "fund_scene": row.fund_scene,  # hospital (门诊), pharmacy (购药), inpatient (住院)
        **settlement_amounts(row),
        "mulaid_detail": mulaid_detail,
    }
